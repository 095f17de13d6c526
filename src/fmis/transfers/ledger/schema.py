"""A node's tables (its own database) and the single-node orderer's tables.

Plain SQL so that a node runs as its own process against any PostgreSQL database; the Django
app's migration runs the same statements for the installation's local node, and its models map
these tables read-only.
"""

from __future__ import annotations

NODE_DDL = """
CREATE TABLE IF NOT EXISTS transfers_chain_meta (
    key text PRIMARY KEY,
    value bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS transfers_block (
    number bigint PRIMARY KEY CHECK (number >= 0),
    hash bytea NOT NULL UNIQUE,
    prev_hash bytea NOT NULL,
    tx_root bytea NOT NULL,
    tx_count integer NOT NULL CHECK (tx_count >= 0),
    log_size bigint NOT NULL,
    log_root bytea NOT NULL,
    state_root bytea NOT NULL,
    time_ms bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS transfers_block_log_size ON transfers_block (log_size);
CREATE TABLE IF NOT EXISTS transfers_tx (
    log_index bigint PRIMARY KEY CHECK (log_index >= 0),
    block_number bigint NOT NULL,
    position integer NOT NULL,
    seq bigint NOT NULL,
    tx_id text NOT NULL,
    contract text NOT NULL,
    function text NOT NULL,
    creator text NOT NULL,
    valid boolean NOT NULL,
    reason text NOT NULL,
    detail text NOT NULL,
    envelope bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_tx_tx_id ON transfers_tx (tx_id);
CREATE INDEX IF NOT EXISTS transfers_tx_block ON transfers_tx (block_number, position);
CREATE TABLE IF NOT EXISTS transfers_merkle_node (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS transfers_state (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    block_number bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS transfers_nonce (
    creator text NOT NULL,
    nonce text NOT NULL,
    tx_id text NOT NULL,
    PRIMARY KEY (creator, nonce)
);
CREATE TABLE IF NOT EXISTS transfers_cosign (
    tree_size bigint NOT NULL,
    signer text NOT NULL,
    root bytea NOT NULL,
    signature bytea NOT NULL,
    PRIMARY KEY (tree_size, signer)
);
CREATE TABLE IF NOT EXISTS transfers_member (
    cert_id text PRIMARY KEY,
    identity_id text NOT NULL,
    organisation text NOT NULL,
    region text NOT NULL,
    level text NOT NULL,
    role text NOT NULL,
    suite text NOT NULL,
    public_key text NOT NULL,
    certificate text NOT NULL,
    admitted_block bigint NOT NULL,
    revoked_block bigint,
    revoke_reason text NOT NULL
);
CREATE TABLE IF NOT EXISTS transfers_allocation (
    id text PRIMARY KEY,
    parent_id text,
    root_id text NOT NULL,
    from_region text NOT NULL,
    to_region text NOT NULL,
    fund_code text NOT NULL,
    direct boolean NOT NULL,
    func_code text NOT NULL,
    purpose text NOT NULL,
    doc_no text NOT NULL,
    fiscal_year integer NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    received boolean NOT NULL,
    received_block bigint,
    sub_allocated bigint NOT NULL,
    spent bigint NOT NULL,
    recovered bigint NOT NULL,
    created_block bigint NOT NULL,
    created_time bigint NOT NULL,
    creator text NOT NULL,
    CHECK (sub_allocated >= 0 AND spent >= 0 AND recovered >= 0
           AND sub_allocated + spent + recovered <= amount)
);
CREATE INDEX IF NOT EXISTS transfers_allocation_root ON transfers_allocation (root_id);
CREATE INDEX IF NOT EXISTS transfers_allocation_parent ON transfers_allocation (parent_id);
CREATE TABLE IF NOT EXISTS transfers_movement (
    log_index bigint NOT NULL,
    n smallint NOT NULL,
    allocation_id text NOT NULL,
    kind text NOT NULL,
    amount bigint NOT NULL,
    region text NOT NULL,
    detail jsonb NOT NULL,
    block_number bigint NOT NULL,
    time_ms bigint NOT NULL,
    PRIMARY KEY (log_index, n)
);
CREATE INDEX IF NOT EXISTS transfers_movement_alloc ON transfers_movement (allocation_id);
"""

ORDERER_DDL = """
CREATE TABLE IF NOT EXISTS transfers_order_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL
);
INSERT INTO transfers_order_head (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS transfers_order_log (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    msg_id text NOT NULL UNIQUE,
    data bytea NOT NULL,
    time_ms bigint NOT NULL
);
"""

NODE_TABLES = ("transfers_chain_meta", "transfers_block", "transfers_tx", "transfers_merkle_node", "transfers_state",
               "transfers_nonce", "transfers_cosign", "transfers_member", "transfers_allocation",
               "transfers_movement")


def install_node(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(NODE_DDL)
    conn.commit()


def install_orderer(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(ORDERER_DDL)
    conn.commit()

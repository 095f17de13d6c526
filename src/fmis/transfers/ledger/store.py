"""Reading and writing a node's database (plain SQL through a psycopg connection)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from fmis.transfers.ledger.merkle import Frontier, Hasher, perfect_parts


@dataclass
class Head:
    number: int  # last committed block (-1 before genesis)
    hash: bytes
    log_size: int
    state_root: bytes
    last_seq: int
    time_ms: int = 0  # the block's time (from the order)


class NodeStore:
    def __init__(self, conn):
        self.conn = conn

    # --- meta ------------------------------------------------------------------------------------

    def genesis_wire(self) -> bytes | None:
        row = self.conn.execute("SELECT value FROM transfers_chain_meta WHERE key = 'genesis'").fetchone()
        return bytes(row[0]) if row else None

    def head(self) -> Head:
        row = self.conn.execute("SELECT number, hash, log_size, state_root, last_seq, time_ms FROM transfers_block "
                                "ORDER BY number DESC LIMIT 1").fetchone()
        if row is None:
            return Head(-1, b"", 0, b"", 0)
        return Head(row[0], bytes(row[1]), row[2], bytes(row[3]), row[4], row[5])

    def frontier(self, hasher: Hasher, size: int) -> Frontier:
        parts = Frontier.parts_for(size)
        hashes = self.perfect_hashes(parts)
        return Frontier(hasher, size, [hashes[p] for p in parts])

    # --- reads for execution ---------------------------------------------------------------------

    def load_state(self, keys: list[str]) -> dict[str, dict]:
        rows = self.conn.execute("SELECT key, value FROM transfers_state WHERE key = ANY(%s)", (keys,)).fetchall()
        return {k: v for k, v in rows}

    def used_nonces(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(creator, nonce) -> id of the transaction that spent it, for the pairs already spent."""
        if not pairs:
            return {}
        rows = self.conn.execute(
            "SELECT n.creator, n.nonce, n.tx_id FROM transfers_nonce n JOIN unnest(%s::text[], %s::text[]) AS q(c, x)"
            " ON n.creator = q.c AND n.nonce = q.x", ([p[0] for p in pairs], [p[1] for p in pairs])).fetchall()
        return {(a, b): t for a, b, t in rows}

    def perfect_hashes(self, parts: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Hashes of complete subtrees, keyed by (level, index)."""
        if not parts:
            return {}
        rows = self.conn.execute(
            "SELECT m.level, m.idx, m.hash FROM transfers_merkle_node m "
            "JOIN unnest(%s::smallint[], %s::bigint[]) AS q(l, i) ON m.level = q.l AND m.idx = q.i",
            ([p[0] for p in parts], [p[1] for p in parts])).fetchall()
        return {(lv, ix): bytes(h) for lv, ix, h in rows}

    def range_oracle(self, ranges: list[tuple[int, int]]):
        """A function (start, end) -> hash of a complete subtree, preloaded for `ranges`."""
        needed: list[tuple[int, int]] = []
        for a, b in ranges:
            perfect_parts(a, b, needed)
        keys = [((b - a).bit_length() - 1, a // (b - a)) for a, b in needed]
        found = self.perfect_hashes(keys)

        def perfect(a: int, b: int) -> bytes:
            return found[((b - a).bit_length() - 1, a // (b - a))]

        return perfect

    # --- the block commit ------------------------------------------------------------------------

    def write_block(self, *, header: dict, block_hash: bytes, txs: list[tuple], merkle_nodes: list[tuple],
                    nonces: list[tuple[str, str, str]], writes: dict[str, dict], movements: list[tuple],
                    genesis: bytes | None = None) -> None:
        """Everything of one block, in the caller's transaction (bank movements are left out of
        ``transfers_movement``)."""
        cur = self.conn.cursor()
        if genesis is not None:
            cur.execute("INSERT INTO transfers_chain_meta (key, value) VALUES ('genesis', %s)", (genesis,))
        h = header
        cur.execute(
            "INSERT INTO transfers_block (number, hash, prev_hash, tx_root, tx_count, log_size, log_root, state_root,"
            " time_ms, first_seq, last_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (h["number"], block_hash, bytes.fromhex(h["prev_hash"]), bytes.fromhex(h["tx_root"]), h["tx_count"],
             h["log_size"], bytes.fromhex(h["log_root"]), bytes.fromhex(h["state_root"]), h["time_ms"],
             h["first_seq"], h["last_seq"]))
        # binary COPY: envelopes and hashes travel as raw bytes, not as hex text parsed by the server
        with cur.copy("COPY transfers_tx (log_index, block_number, position, seq, tx_id, contract, function, creator,"
                      " valid, reason, detail, envelope) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(TX_COPY_TYPES)
            for row in txs:
                cp.write_row(row)
        with cur.copy("COPY transfers_merkle_node (level, idx, hash) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(MERKLE_COPY_TYPES)
            for row in merkle_nodes:
                cp.write_row(row)
        if nonces:
            with cur.copy("COPY transfers_nonce (creator, nonce, tx_id) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(NONCE_COPY_TYPES)
                for row in nonces:
                    cp.write_row(row)
        movements = [m for m in movements if is_transfers_movement(m[3])]
        if movements:
            with cur.copy("COPY transfers_movement (log_index, n, allocation_id, kind, amount, region, detail,"
                          " block_number, time_ms) FROM STDIN") as cp:
                for row in movements:
                    cp.write_row(row)
        if writes:
            keys = sorted(writes)
            cur.execute(
                "INSERT INTO transfers_state (key, value, block_number) "
                "SELECT k, v::jsonb, %s FROM unnest(%s::text[], %s::text[]) AS q(k, v) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, block_number = EXCLUDED.block_number",
                (h["number"], keys, [json.dumps(writes[k], ensure_ascii=False) for k in keys]))
            self._project(cur, writes)

    def _project(self, cur, writes: dict[str, dict]) -> None:
        members = [(k[7:], v) for k, v in writes.items() if k.startswith("member/")]
        allocs = [v for k, v in writes.items() if k.startswith("alloc/")]
        if members:
            cur.executemany(
                "INSERT INTO transfers_member (cert_id, identity_id, organisation, region, level, role, suite,"
                " public_key, certificate, admitted_block, revoked_block, revoke_reason)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (cert_id) DO UPDATE SET"
                " revoked_block = EXCLUDED.revoked_block, revoke_reason = EXCLUDED.revoke_reason",
                [(cid, m["identity_id"], m["organisation"], m["region"], m["level"], m["role"], m["suite"],
                  m["public_key"], m["certificate"], m["admitted_block"], m["revoked_block"], m["revoke_reason"])
                 for cid, m in members])
        if allocs:
            cols = ALLOCATION_COLUMNS
            cur.executemany(
                f"INSERT INTO transfers_allocation ({', '.join(c for c, _ in cols)}) VALUES "
                f"({', '.join(['%s'] * len(cols))}) ON CONFLICT (id) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c, _ in cols if c != "id"),
                [tuple(a[f] for _, f in cols) for a in allocs])

    def add_cosigns(self, rows: list[tuple[int, str, bytes, bytes]]) -> None:
        if rows:
            self.conn.cursor().executemany(
                "INSERT INTO transfers_cosign (tree_size, signer, root, signature) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING", rows)


def is_transfers_movement(kind: str) -> bool:
    """Whether a movement belongs in ``transfers_movement``: bank movements (``bank.…``) have their
    own projection (``fmis.bankside.projection.project_block``)."""
    return not kind.startswith("bank.")


# column types of the binary COPYs in ``write_block`` (they must match the tables in schema.py)
TX_COPY_TYPES = ("int8", "int8", "int4", "int8", "text", "text", "text", "text", "bool", "text", "text", "bytea")
MERKLE_COPY_TYPES = ("int2", "int8", "bytea")
NONCE_COPY_TYPES = ("text", "text", "text")

# (column, state field) of the allocation projection
ALLOCATION_COLUMNS = (
    ("id", "id"), ("parent_id", "parent"), ("root_id", "root"), ("from_region", "from_region"),
    ("to_region", "to_region"), ("fund_code", "fund_code"), ("direct", "direct"), ("func_code", "func_code"),
    ("purpose", "purpose"), ("doc_no", "doc_no"), ("fiscal_year", "fiscal_year"), ("amount", "amount"),
    ("received", "received"), ("received_block", "received_block"), ("sub_allocated", "sub_allocated"),
    ("spent", "spent"), ("recovered", "recovered"), ("created_block", "created_block"),
    ("created_time", "created_time"), ("creator", "creator"),
)
MEMBER_FIELDS = ("identity_id", "organisation", "region", "level", "role", "suite", "public_key", "certificate",
                 "admitted_block", "revoked_block", "revoke_reason")


def jsonb(v):
    return Jsonb(v)

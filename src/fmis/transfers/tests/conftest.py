from __future__ import annotations

import os
import re
import uuid

import pytest

from fmis.transfers.ledger import dbutil
from fmis.transfers.ledger.consortium import MemberSpec, create_consortium

SUFFIX = re.sub(r"[^a-z0-9_]", "", os.environ.get("FMIS_TEST_DB_SUFFIX", "").strip("_").lower()) or "x"

DEMO_MEMBERS = [
    MemberSpec("990000", "示例省财政厅", "990000", "province", "finance"),
    MemberSpec("990100", "一市财政局", "990100", "city", "finance"),
    MemberSpec("990101", "一市一县财政局", "990101", "county", "finance"),
    MemberSpec("990102", "一市二县财政局", "990102", "county", "finance"),
    MemberSpec("SUP990000", "示例省监督局", "990000", "province", "supervision"),
]


@pytest.fixture(scope="session")
def admin_dsn():
    from django.conf import settings

    s = settings.DATABASES["default"]
    return dbutil.dsn_for("postgres", host=s["HOST"], port=s.get("PORT") or "", user=s["USER"],
                          password=s.get("PASSWORD") or "")


@pytest.fixture(scope="session")
def ledger_db(admin_dsn):
    """One database for the session's ledger tests; each node or orderer gets its own schema in it
    (creating and dropping whole databases costs seconds each on a busy server)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # each xdist worker gets its own database
    name = f"test_chain_{SUFFIX}_ledger{'_' + worker if worker else ''}"
    dsn = dbutil.create_database(admin_dsn, name, replace=True)
    yield dsn
    dbutil.drop_database(admin_dsn, name)


@pytest.fixture
def make_db(ledger_db):
    """make_db("n1") -> DSN of a fresh, empty schema standing for a node's own database."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    schemas = []

    def make(tag: str) -> str:
        schema = f"{tag}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ledger_db, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        schemas.append(schema)
        return make_conninfo(ledger_db, options=f"-c search_path={schema}")

    yield make
    with psycopg.connect(ledger_db, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def consortium():
    return create_consortium(consortium="test-990000", name="测试联盟", hash_name="sha256", members=DEMO_MEMBERS,
                             quorum=2, block_max_txs=50)


@pytest.fixture(scope="session")
def sm_consortium():
    specs = [MemberSpec(s.identity_id, s.organisation, s.region, s.level, s.role, "sm2") for s in DEMO_MEMBERS]
    return create_consortium(consortium="test-sm-990000", name="测试国密联盟", hash_name="sm3", members=specs,
                             quorum=2, block_max_txs=50)


class Chain:
    """An orderer database, node databases, and helpers to drive them in a test."""

    def __init__(self, consortium, make_db, nodes=1):
        from fmis.transfers.ledger.node import Node
        from fmis.transfers.ledger.pg_orderer import PgOrderer

        self.c = consortium
        self.make_db = make_db
        self.orderer = PgOrderer(make_db("ord"))
        self.orderer.submit(consortium.genesis, msg_id="genesis")
        self.Node = Node
        self.nodes = []
        self.node_dsns = []
        for i in range(nodes):
            self.add_node(self.c.members[i % len(self.c.members)].signer)

    def add_node(self, signer=None, dsn=None):
        dsn = dsn or self.make_db(f"n{len(self.node_dsns)}")
        node = self.Node(dsn=dsn, orderer=self.orderer, signer=signer, cut_after=0.0)
        self.nodes.append(node)
        self.node_dsns.append(dsn)
        return node

    def submit(self, tx):
        return self.orderer.submit(tx.wire, msg_id=tx.tx_id)

    def cut(self):
        """Ask for the block being assembled to be cut, then let every node apply everything."""
        from fmis.transfers.ledger.envelope import cut_marker

        for n in self.nodes:
            n.catch_up(idle_rounds=1, timeout=0.01)
        number = max(n.number for n in self.nodes) + 1
        data, mid = cut_marker(number, self.orderer.last_seq())
        self.orderer.submit(data, msg_id=mid)
        for n in self.nodes:
            n.catch_up(idle_rounds=2, timeout=0.01)

    def run(self, *txs):
        for t in txs:
            self.submit(t)
        self.cut()

    def tx(self, who, function, args, **kw):
        signer = self.c.ca_signer if who == "ca" else self.c.member(who).signer
        return self.c.tx(signer, function, args, **kw)

    def row(self, sql, params=(), node=0):
        conn = self.nodes[node].conn
        r = conn.execute(sql, params).fetchone()
        conn.commit()
        return r

    def rows(self, sql, params=(), node=0):
        conn = self.nodes[node].conn
        r = conn.execute(sql, params).fetchall()
        conn.commit()
        return r

    def result(self, tx, node=0):
        return self.row("SELECT valid, reason, detail FROM transfers_tx WHERE tx_id = %s ORDER BY log_index DESC "
                        "LIMIT 1", (tx.tx_id,), node)

    def alloc(self, alloc_id, node=0):
        import json as _json

        r = self.row("SELECT value FROM transfers_state WHERE key = %s", (f"alloc/{alloc_id}",), node)
        return None if r is None else (r[0] if isinstance(r[0], dict) else _json.loads(r[0]))

    def close(self):
        for n in self.nodes:
            n.close()
        self.orderer.close()


def allocation_args(**kw):
    base = {"from_region": "990000", "to_region": "990100", "amount": 100_000_000, "fund_code": "ZD2026001",
            "direct": True, "func_code": "2080801", "purpose": "困难群众救助补助资金", "doc_no": "示财社〔2026〕1号",
            "fiscal_year": 2026}
    base.update(kw)
    return base


@pytest.fixture
def chain(consortium, make_db):
    ch = Chain(consortium, make_db, nodes=1)
    yield ch
    ch.close()


# --- the application layer ------------------------------------------------------------------

@pytest.fixture
def province(make_region):
    p = make_region("990000", "示例省", 1)
    c1 = make_region("990100", "一市", 2, p)
    make_region("990101", "一市一县", 3, c1)
    make_region("990102", "一市二县", 3, c1)
    make_region("990200", "二市", 2, p)
    return p


@pytest.fixture
def users(province, make_role, make_user):
    from fmis.orgs.models import Region
    from fmis.transfers.functions import FUNCTIONS

    treasury = make_role("treasury", [f.code for f in FUNCTIONS], rules=[("region", "own_region_tree", [])])
    reader = make_role("reader", ["transfers.allocation.view", "transfers.trace.view", "transfers.stats.view"],
                       rules=[("region", "own_region_tree", [])])
    regions = {r.code: r for r in Region.objects.all()}
    return {
        "prov": make_user("prov", [treasury], region=regions["990000"]),
        "city": make_user("city", [treasury], region=regions["990100"]),
        "county": make_user("county", [treasury], region=regions["990101"]),
        "reader": make_user("reader", [reader], region=regions["990100"]),
    }


def _empty_ledger_tables():
    """The node's and the orderer's tables are not Django-managed: transactional tests do not flush them."""
    from django.db import connection

    from fmis.transfers.ledger.schema import NODE_TABLES

    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(NODE_TABLES)}, transfers_order_log")
        cur.execute("UPDATE transfers_order_head SET seq = 0")


@pytest.fixture
def ledger(users, province):
    """A consortium of four finance departments run by this installation (quorum 1: one local node)."""
    from fmis.transfers import local, services

    local.reset()
    _empty_ledger_tables()
    founders = [services.Founder("990000", "示例省财政厅"), services.Founder("990100", "一市财政局"),
                services.Founder("990101", "一市一县财政局"), services.Founder("990102", "一市二县财政局")]
    services.create_consortium(user=users["prov"], consortium="990000-test", name="示例省转移支付联盟", quorum=1,
                               block_max_txs=100, founders=founders)
    local.flush()
    yield
    local.reset()
    _empty_ledger_tables()

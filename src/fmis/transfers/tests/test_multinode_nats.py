"""The consortium on its real transport: three nats-server processes with mutual TLS and four node
processes, each with its own database, under a stream of signed allocations. One NATS server (the
stream's leader) is killed, one node is killed with SIGKILL and started again; every acknowledged
transaction ends up committed exactly once, every node holds the same blocks and state, and
``verify`` recomputes each node's chain without a mismatch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from fmis.transfers.ledger import dbutil
from fmis.transfers.ledger.cluster import Cluster, start_cluster
from fmis.transfers.ledger.nats_factory import config_for, orderer
from fmis.transfers.ledger.nats_orderer import SLOTS
from fmis.transfers.ledger.noded import write_key_file
from fmis.transfers.ledger.verify import verify_node
from fmis.transfers.tests.conftest import SUFFIX, allocation_args

SRC = str(Path(__file__).resolve().parents[3])
NODES = 4
FACTORY = "factory:fmis.transfers.ledger.nats_factory:orderer"


def wait_for(what: str, check: Callable[[], bool], timeout: float, detail: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}. {detail()}")
        time.sleep(0.2)


class NodeProcess:
    def __init__(self, index: int, dsn: str, key_file: Path, config: dict, log: Path):
        self.index, self.dsn, self.log = index, dsn, log
        self.args = [sys.executable, "-m", "fmis.transfers.ledger.noded", "--dsn", dsn, "--orderer", FACTORY,
                     "--orderer-config", json.dumps(config), "--key-file", str(key_file), "--cut-after", "0.05"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(self.args, env={**os.environ, "PYTHONPATH": SRC}, stdout=fh, stderr=fh,
                                         start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if not self.alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def head(self) -> tuple[int, int]:
        """(block number, log size) of the node's last block; (-1, 0) before the genesis."""
        try:
            with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                row = conn.execute("SELECT number, log_size FROM transfers_block ORDER BY number DESC LIMIT 1"
                                   ).fetchone()
        except psycopg.errors.UndefinedTable:
            return (-1, 0)
        return row or (-1, 0)

    def rows(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


class Load:
    """Threads submitting signed allocations through two connections (the threads of one connection
    share its stream messages); keeps what was acknowledged."""

    def __init__(self, consortium, config: dict, threads: int = 4, pause: float = 0.03):
        self.c, self.config, self.pause = consortium, config, pause
        self.acked: dict[str, int] = {}
        self.errors: list[BaseException] = []
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.clients: list = []
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, n: int) -> None:
        signer = self.c.member("990000").signer
        o = self.clients[n % len(self.clients)]
        i = 0
        try:
            while not self.stop_event.is_set():
                tx = self.c.tx(signer, "transfers.allocate",
                               allocation_args(amount=1000 + i, doc_no=f"示财社〔2026〕{n}-{i}号"))
                seq = o.submit(tx.wire, msg_id=tx.tx_id, timeout=60)
                with self.lock:
                    self.acked[tx.tx_id] = seq
                i += 1
                self.stop_event.wait(self.pause)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def start(self) -> None:
        self.clients = [orderer(**self.config) for _ in range(2)]
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(90)
        for o in self.clients:
            o.close()


def stream_leader(cluster: Cluster, stream: str) -> int:
    """The index of the server leading ``stream``, from the servers' monitoring endpoint."""
    for spec in cluster.servers:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{spec.http_port}/jsz?streams=true", timeout=2) as r:
                info = json.loads(r.read())
        except (OSError, ValueError):
            continue
        for account in info.get("account_details") or []:
            for st in account.get("stream_detail") or []:
                leader = (st.get("cluster") or {}).get("leader") if st.get("name") == stream else None
                if leader:
                    return next(i for i, s in enumerate(cluster.servers) if s.name == leader)
    raise AssertionError(f"no server reports a leader for stream {stream}")


@pytest.fixture
def rig(tmp_path, admin_dsn, consortium):
    """A 3-server TLS cluster, four node databases and node processes; everything is stopped and
    dropped afterwards, whatever the test did."""
    cluster = start_cluster(tmp_path / "nats", size=3, tls=True)
    names = [f"test_chain_{SUFFIX}_mn{i}" for i in range(NODES)]
    nodes: list[NodeProcess] = []
    try:
        stream = f"MN{uuid.uuid4().hex[:10].upper()}"
        config = config_for(cluster.urls, tls=cluster.client_tls, stream=stream, subject=f"order.{stream}")
        for i, name in enumerate(names):
            dsn = dbutil.create_database(admin_dsn, name, replace=True)
            key = tmp_path / f"node{i}.key.json"
            write_key_file(str(key), consortium.members[i].signer)
            nodes.append(NodeProcess(i, dsn, key, config, tmp_path / f"node{i}.log"))
        yield cluster, config, nodes
    finally:
        for n in nodes:
            n.stop()
        cluster.stop()
        for name in names:
            dbutil.drop_database(admin_dsn, name)


def test_four_nodes_on_a_tls_nats_cluster_survive_a_server_and_a_node_dying(rig, consortium):
    cluster, config, nodes = rig
    with orderer(**config) as o:
        assert o.submit(consortium.genesis, msg_id="genesis") == SLOTS  # the stream's first message, alone
    for n in nodes:
        n.start()

    def state() -> str:
        parts = [f"node {n.index}: head {n.head()}, {'running' if n.alive() else 'stopped'}; log: {n.tail()!r}"
                 for n in nodes]
        return f"NATS servers running: {cluster.running()}. " + " | ".join(parts)

    def all_alive() -> None:
        dead = [n for n in nodes if not n.alive()]
        assert not dead, f"node {dead[0].index} exited with {dead[0].proc.returncode}: {dead[0].tail()}"

    wait_for("every node to apply the genesis", lambda: all(n.head()[0] >= 0 for n in nodes), 60, state)
    load = Load(consortium, config)
    load.start()
    try:
        wait_for("the first blocks under load", lambda: load.count() >= 40 and all(n.head()[0] >= 1 for n in nodes),
                 45, state)
        all_alive()

        # one NATS server dies: the stream's leader, with publishes in flight
        leader = stream_leader(cluster, config["stream"])
        cluster.kill(leader)
        mark = load.count()
        wait_for("ordering to go on after the stream leader died", lambda: load.count() >= mark + 40, 45, state)
        assert cluster.running() == [i for i in range(3) if i != leader]

        # one node dies without a chance to finish its block
        victim = nodes[3]
        victim.kill()
        height_at_kill = victim.head()[0]
        mark = load.count()
        wait_for("the others to commit while the node is down",
                 lambda: load.count() >= mark + 40 and all(n.head()[0] > height_at_kill for n in nodes[:3]), 45, state)

        def sessions_gone() -> bool:  # the killed node's database session ends with its socket
            with psycopg.connect(victim.dsn, autocommit=True) as conn:
                return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND pid <> pg_backend_pid()").fetchone()[0] == 0

        wait_for("the killed node's database session to end", sessions_gone, 30)
        victim.start()
        mark = load.count()
        wait_for("the restarted node to commit again",
                 lambda: victim.head()[0] > height_at_kill and load.count() >= mark + 20, 45, state)
        all_alive()
    finally:
        load.finish()
    assert not load.errors, f"a submission failed: {load.errors[0]!r}"
    acked = dict(load.acked)
    total = 1 + len(acked)  # the genesis and every acknowledged allocation

    def converged() -> bool:
        heads = [n.head() for n in nodes]
        return all(h[1] >= total for h in heads) and len(set(heads)) == 1

    wait_for(f"all {NODES} nodes to commit {total} transactions and agree", converged, 60, state)
    all_alive()

    blocks = [n.rows("SELECT number, hash, prev_hash, state_root, log_root, tx_count FROM transfers_block "
                     "ORDER BY number") for n in nodes]
    for n, b in zip(nodes[1:], blocks[1:], strict=True):
        assert b == blocks[0], f"node {n.index} differs from node 0"
    assert len(blocks[0]) - 1 > height_at_kill  # the restarted node caught up past where it died
    for n in nodes:
        rows = n.rows("SELECT tx_id, seq, valid, reason FROM transfers_tx WHERE function = 'allocate'")
        by_id: dict[str, list] = {}
        for tx_id, seq, valid, reason in rows:
            by_id.setdefault(tx_id, []).append((seq, valid, reason))
        lost = set(acked) - set(by_id)
        assert not lost, f"node {n.index} lost {len(lost)} acknowledged transactions"
        twice = {k for k, v in by_id.items() if len(v) > 1}
        assert not twice, f"node {n.index} committed {len(twice)} transactions twice"
        for tx_id, seq in acked.items():
            assert by_id[tx_id] == [(seq, True, "")], (n.index, tx_id, by_id[tx_id])
        report = verify_node(n.dsn)
        assert report.ok, f"verify on node {n.index}: {report.mismatch}"
        assert report.transactions >= total and report.blocks == len(blocks[0])


def test_the_factory_refuses_half_a_tls_configuration(tmp_path):
    with pytest.raises(ValueError, match="tls_key, tls_ca"):
        orderer(urls=["tls://127.0.0.1:1"], tls_cert=str(tmp_path / "c.crt"))
    with pytest.raises(FileNotFoundError, match="tls_cert"):
        orderer(urls=["tls://127.0.0.1:1"], tls_cert=str(tmp_path / "c.crt"), tls_key=str(tmp_path / "c.key"),
                tls_ca=str(tmp_path / "ca.crt"))


def test_config_for_is_plain_json_that_names_the_client_files(tmp_path):
    from fmis.transfers.ledger.tls import TlsFiles

    files = TlsFiles(cert=tmp_path / "c.crt", key=tmp_path / "c.key", ca=tmp_path / "ca.crt")
    config = config_for("tls://127.0.0.1:4222", tls=files, stream="S", subject="s.order")
    assert json.loads(json.dumps(config)) == config
    assert config["urls"] == ["tls://127.0.0.1:4222"]
    assert (config["tls_cert"], config["tls_key"], config["tls_ca"]) == tuple(str(p) for p in (files.cert, files.key,
                                                                                             files.ca))
    assert "tls_cert" not in config_for(["nats://127.0.0.1:4222"])

"""Consortium ledger: end-to-end committed transactions per second and commit latency, chain
verification time, inclusion-proof time.

Run: .venv/bin/python benchmarks/chain.py [--orderer pg|nats] [--suites ed25519,sm2] [--nodes 2,4] [--txs 6000]
     [--clients 8] [--batch 1] [--verify-txs 100000] [--proofs 1000] [--skip-e2e] [--skip-verify]

Everything runs on the embedded PostgreSQL server (or ``DATABASE_URL``'s server) in databases named
``bench_chain_*`` (dropped and created again on each run).

End to end: a consortium (hash SHA-256 with Ed25519, SM3 with SM2), the single-node PostgreSQL
orderer (or, with ``--orderer nats``, a 3-server NATS JetStream cluster with mutual TLS started on
loopback for the run, a stream with three replicas per measurement), N node processes (``python -m fmis.transfers.ledger.noded``), each with its own database.
A city receives one large allocation; then ``--txs`` expenditure transactions, signed beforehand by
the city (clients sign on their own machines), are submitted by ``--clients`` threads, one
``submit`` (one orderer transaction) per envelope, or ``--batch`` envelopes per orderer transaction.
Every node validates each signature and certificate, executes the contract and commits blocks.
Committed tx/s = transactions ÷ (last commit on the slowest node − first submission). Commit
latency of a transaction = its block's commit time on the slowest node − the moment its submission
started. The raw orderer rate is the same clients submitting messages of the same size to an
orderer with no node reading (the ratio shows what the nodes cost); with NATS it is the raw
JetStream publish rate, measured on the same cluster in the same run.

Verification: one node applies ``--verify-txs`` transactions, ``verify`` recomputes the whole chain
and state (every signature re-checked); the 1,000,000-transaction figure is extrapolated linearly
from it and printed as such. Inclusion proofs: ``--proofs`` random proofs built from the node's
stored Merkle nodes and verified; the mean time per proof.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import psycopg

from fmis.transfers.ledger import dbutil, merkle, proofs
from fmis.transfers.ledger.consortium import MemberSpec, create_consortium
from fmis.transfers.ledger.envelope import make_tx
from fmis.transfers.ledger.node import Node
from fmis.transfers.ledger.noded import make_orderer, write_key_file
from fmis.transfers.ledger.ordering import Orderer
from fmis.transfers.ledger.pg_orderer import PgOrderer
from fmis.transfers.ledger.store import NodeStore
from fmis.transfers.ledger.verify import verify_node


def admin_dsn() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        p = urlparse(url)
        return dbutil.dsn_for("postgres", host=p.hostname or "", port=p.port or "", user=unquote(p.username or ""),
                              password=unquote(p.password or ""))
    from fmis.platform import embedded_db

    params = embedded_db.ensure_running()
    return dbutil.dsn_for("postgres", host=params["HOST"], port=params["PORT"], user=params["USER"])


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by each part of a run between two snapshots: the node processes, the database
    backends serving the nodes and the orderer (by database name), the NATS servers, this client
    process. Reads /proc, so the figures exist only where the database server runs on this machine."""

    def __init__(self, admin: str, nodes: list[int], nats: list[int]):
        self.admin, self.nodes, self.nats = admin, nodes, nats
        self.start = self._take()

    def _backends(self) -> dict[int, str]:
        try:
            with psycopg.connect(self.admin, autocommit=True) as conn:
                rows = conn.execute("SELECT pid, datname FROM pg_stat_activity WHERE datname LIKE 'bench_chain_%%' "
                                    "AND pid <> pg_backend_pid()").fetchall()
        except psycopg.Error:
            return {}
        return {pid: name for pid, name in rows}

    def _take(self) -> dict[str, dict[int, float]]:
        snap: dict[str, dict[int, float]] = {"nodes": {p: proc_cpu(p) for p in self.nodes},
                                             "orderer": {p: proc_cpu(p) for p in self.nats},
                                             "node_db": {}, "client": {0: time.process_time()}}
        for pid, name in self._backends().items():
            part = "orderer" if name in ("bench_chain_ord", "bench_chain_raw") else "node_db"
            snap[part][pid] = proc_cpu(pid)
        return snap

    def stop(self) -> dict[str, float]:
        end = self._take()
        return {part: sum(max(0.0, v - self.start[part].get(pid, 0.0)) for pid, v in end[part].items())
                for part in end}


def consortium_for(suite: str, nodes: int, block_max: int = 500):
    specs = [MemberSpec("990000", "示例省财政厅", "990000", "province", "finance", suite),
             MemberSpec("990100", "一市财政局", "990100", "city", "finance", suite)]
    specs += [MemberSpec(f"SUP{i}", f"监督节点{i}", "990000", "province", "supervision", suite)
              for i in range(max(0, nodes - 2))]
    return create_consortium(consortium=f"bench-{suite}", name="bench", hash_name="sha256" if suite == "ed25519"
                             else "sm3", members=specs, quorum=1, block_max_txs=block_max)


def _sign_chunk(job):
    consortium, hash_name, signer, alloc, start, count = job
    out = []
    for i in range(start, start + count):
        t = make_tx(signer=signer, consortium=consortium, hash_name=hash_name, function="transfers.expend",
                    args={"allocation": alloc, "amount": 1, "payee": f"收款人{i % 997}", "voucher_no": f"ZF{i:09d}"},
                    nonce=f"n{i}")
        out.append((t.wire, t.tx_id))
    return out


def presign(c, alloc: str, n: int) -> list[tuple[bytes, str]]:
    signer = c.member("990100").signer
    step = max(1, n // 16)
    jobs = [(c.config["consortium"], c.hash_name, signer, alloc, s, min(step, n - s)) for s in range(0, n, step)]
    with mp.get_context("fork").Pool(min(os.cpu_count() or 1, 4)) as pool:
        return [x for chunk in pool.map(_sign_chunk, jobs) for x in chunk]


def fund_city(c, orderer: Orderer) -> str:
    """Submit one large allocation from the province to the city and the city's receipt of it;
    returns the allocation's id (what the expenditure transactions spend)."""
    prov, city = c.member("990000").signer, c.member("990100").signer
    a = c.tx(prov, "transfers.allocate", {
        "from_region": "990000", "to_region": "990100", "amount": 10**15, "fund_code": "ZD", "direct": True,
        "func_code": "2080801", "purpose": "bench", "doc_no": "B-1", "fiscal_year": 2026})
    r = c.tx(city, "transfers.receive", {"allocation": a.tx_id})
    orderer.submit_many([(a.wire, a.tx_id), (r.wire, r.tx_id)])
    return a.tx_id


def funded_pg_order(admin: str, c) -> tuple[PgOrderer, str, str]:
    """A fresh PostgreSQL order holding the genesis and the city's funding, and a fresh database for
    one node: (orderer, node DSN, allocation id)."""
    o = PgOrderer(dbutil.create_database(admin, "bench_chain_vord", replace=True))
    dsn = dbutil.create_database(admin, "bench_chain_vnode", replace=True)
    o.submit(c.genesis, msg_id="genesis")
    return o, dsn, fund_city(c, o)


class PgBackend:
    """The single-node PostgreSQL orderer: one database per order."""

    label = "PostgreSQL (single node)"

    def __init__(self, admin: str):
        self.admin = admin
        self.made: list[str] = []

    def order(self, tag: str) -> tuple[str, dict]:
        name = f"bench_chain_{tag}"
        dsn = dbutil.create_database(self.admin, name, replace=True)
        PgOrderer(dsn).close()  # its tables, before any client or node connects
        self.made.append(name)
        return f"pg:{dsn}", {}

    def client(self, spec: str, config: dict) -> Orderer:
        return PgOrderer(spec.partition(":")[2], install=False)

    def server_pids(self) -> list[int]:
        return []  # the orderer's database backends are counted by database name

    def close(self) -> None:
        for name in self.made:
            dbutil.drop_database(self.admin, name)


class NatsBackend:
    """A 3-server NATS JetStream cluster with mutual TLS on loopback: one stream per order."""

    def __init__(self, directory: str, servers: int = 3, linger: float | None = None):
        from fmis.transfers.ledger.cluster import start_cluster

        self.linger = linger

        self.cluster = start_cluster(Path(directory) / "nats", size=servers, tls=True)
        self.label = f"NATS JetStream ({servers} servers, mutual TLS, replicas {min(3, servers)})"
        self.replicas = min(3, servers)

    def order(self, tag: str) -> tuple[str, dict]:
        from fmis.transfers.ledger.nats_factory import config_for

        stream = f"BENCH_{tag.upper()}_{uuid.uuid4().hex[:8].upper()}"
        return ("factory:fmis.transfers.ledger.nats_factory:orderer",
                config_for(self.cluster.urls, tls=self.cluster.client_tls, stream=stream,
                           subject=f"bench.{stream}", replicas=self.replicas, linger=self.linger))

    def client(self, spec: str, config: dict) -> Orderer:
        return make_orderer(spec, config)

    def server_pids(self) -> list[int]:
        return [s.process.pid for s in self.cluster.servers if s.process and s.process.poll() is None]

    def raw_rate(self, txs: int, clients: int, size: int) -> float:
        """Plain JetStream, no bundles: `clients` publishers each waiting for its acknowledgement."""
        from jetstream import raw_publish_rate

        return raw_publish_rate(self.cluster, messages=txs, size=size, clients=clients, replicas=self.replicas)

    def close(self) -> None:
        self.cluster.stop()


# a node process under cProfile counting CPU time of its main thread: argv = output file, noded's arguments
PROFILED_NODE = """
import cProfile, runpy, sys, time
out = sys.argv[1]
sys.argv = ["noded", *sys.argv[2:]]
profile = cProfile.Profile(time.thread_time)
profile.enable()
try:
    runpy.run_module("fmis.transfers.ledger.noded", run_name="__main__")
except SystemExit:
    pass
finally:
    profile.disable()
    profile.dump_stats(out)
"""


def submit_all(make_client: Callable[[], Orderer], items: list[tuple[bytes, str]], clients: int, batch: int,
               rate: float = 0.0) -> dict[str, float]:
    """Submit from `clients` threads (at most `rate` envelopes/s when given); returns the submission
    start time per message id."""
    started: dict[str, float] = {}
    chunks = [items[i:i + batch] for i in range(0, len(items), batch)]
    lock = threading.Lock()
    it = iter(enumerate(chunks))
    begin = time.time()

    o = make_client()  # one client process; its threads share one orderer client

    def worker():
        try:
            while True:
                with lock:
                    k, chunk = next(it, (0, None))
                if chunk is None:
                    return
                if rate:
                    due = begin + k * batch / rate
                    if due > time.time():
                        time.sleep(due - time.time())
                t0 = time.time()
                for _, mid in chunk:
                    started[mid] = t0
                if len(chunk) == 1:
                    o.submit(chunk[0][0], msg_id=chunk[0][1])
                else:
                    o.submit_many(chunk)
        finally:
            pass

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    o.close()
    return started


def wait_committed(dsns: list[str], count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while True:
                try:
                    n = conn.execute("SELECT coalesce(max(log_size), 0) FROM transfers_block").fetchone()[0]
                except psycopg.errors.UndefinedTable:
                    n = 0
                if n >= count:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"timed out waiting for {dsn}: {n}/{count}")
                time.sleep(0.1)


def e2e(admin: str, backend, suite: str, nodes: int, txs: int, clients: int, batch: int, workdir: str,
        rate: float = 0.0, cosign_interval: float = 0.0, node_profile: str = "", cut_after: float = 0.1) -> dict:
    c = consortium_for(suite, nodes)
    spec, config = backend.order("ord")
    node_dsns = [dbutil.create_database(admin, f"bench_chain_n{i}", replace=True) for i in range(nodes)]
    o = backend.client(spec, config)
    o.submit(c.genesis, msg_id="genesis")
    procs = []
    for i, dsn in enumerate(node_dsns):
        key = os.path.join(workdir, f"n{i}.json")
        write_key_file(key, c.members[i % len(c.members)].signer)
        run = ["-c", PROFILED_NODE, node_profile] if node_profile and i == 0 else ["-m", "fmis.transfers.ledger.noded"]
        procs.append(subprocess.Popen([sys.executable, *run, "--dsn", dsn,
                                       "--orderer", spec, "--orderer-config", json.dumps(config),
                                       "--key-file", key, "--cut-after", str(cut_after),
                                       *(["--cosign-interval", str(cosign_interval)] if cosign_interval else [])],
                                      env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                                      stderr=subprocess.DEVNULL))
    try:
        alloc = fund_city(c, o)
        wait_committed(node_dsns, 3, 60)
        with psycopg.connect(node_dsns[0]) as conn:
            base_block = conn.execute("SELECT max(number) FROM transfers_block").fetchone()[0]
        t_sign = time.perf_counter()
        items = presign(c, alloc, txs)
        sign_s = time.perf_counter() - t_sign
        size = statistics.mean(len(w) for w, _ in items)
        meter = CpuMeter(admin, [p.pid for p in procs], backend.server_pids())
        started = submit_all(lambda: backend.client(spec, config), items, clients, batch, rate)
        wait_committed(node_dsns, 3 + txs, 600)
        cpu = meter.stop()
        commits: dict[str, float] = {}
        heads = []
        invalid = 0
        for dsn in node_dsns:
            with psycopg.connect(dsn) as conn:
                rows = conn.execute(
                    "SELECT t.tx_id, extract(epoch FROM b.applied_at)::float8, t.valid FROM transfers_tx t "
                    "JOIN transfers_block b ON b.number = t.block_number WHERE t.block_number > %s",
                    (base_block,)).fetchall()
                heads.append(conn.execute("SELECT number, hash, state_root FROM transfers_block ORDER BY number DESC "
                                          "LIMIT 1").fetchone())
                blocks = conn.execute("SELECT count(*), avg(tx_count) FROM transfers_block WHERE number > %s",
                                      (base_block,)).fetchone()
            for tx_id, at, valid in rows:
                commits[tx_id] = max(commits.get(tx_id, 0.0), at)
                invalid += 0 if valid else 1
        lat = [commits[mid] - t0 for mid, t0 in started.items() if mid in commits]
        first = min(started.values())
        last = max(commits.values())
        assert all(h == heads[0] for h in heads), "nodes disagree"
        return {"suite": suite, "nodes": nodes, "txs": txs, "clients": clients, "batch": batch,
                "tps": txs / (last - first), "p50": pct(lat, 50), "p99": pct(lat, 99), "invalid": invalid,
                "blocks": blocks[0], "avg_block": float(blocks[1] or 0), "size": size, "sign_s": sign_s,
                "identical": True, "cpu_us": {part: v / txs * 1e6 for part, v in cpu.items()}}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        o.close()


def raw_orderer(backend, txs: int, clients: int, batch: int, size: int) -> float:
    if hasattr(backend, "raw_rate"):
        return backend.raw_rate(txs, clients, int(size))
    spec, config = backend.order("raw")
    items = [(os.urandom(int(size)), f"raw-{i}") for i in range(txs)]
    t0 = time.perf_counter()
    submit_all(lambda: backend.client(spec, config), items, clients, batch)
    return txs / (time.perf_counter() - t0)


def verify_bench(admin: str, n: int, proofs_n: int) -> dict:
    c = consortium_for("ed25519", 2)
    o, dsn, alloc = funded_pg_order(admin, c)
    items = presign(c, alloc, n)
    for i in range(0, n, 2000):
        o.submit_many(items[i:i + 2000])
    node = Node(dsn=dsn, orderer=o, signer=c.members[0].signer, cut_after=0.0, cosign=False)
    t0 = time.perf_counter()
    node.catch_up(idle_rounds=3, timeout=0.2, max_seconds=3600)
    apply_s = time.perf_counter() - t0
    size = node.frontier.size
    t0 = time.perf_counter()
    rep = verify_node(dsn)
    verify_s = time.perf_counter() - t0
    assert rep.ok, rep.mismatch
    store = NodeStore(node.conn)
    hasher = merkle.Hasher("sha256")
    root = node.frontier.root()
    leaves = {}
    idx = [random.randrange(size) for _ in range(proofs_n)]
    for i in idx:
        leaves[i] = store.perfect_hashes([(0, i)])[(0, i)]
    node.conn.commit()
    t0 = time.perf_counter()
    for i in idx:
        path = proofs.inclusion_path(store, hasher, i, size)
        assert merkle.verify_inclusion(hasher, i, size, leaves[i], path, root)
    proof_ms = (time.perf_counter() - t0) / proofs_n * 1000
    node.conn.commit()
    node.close()
    o.close()
    return {"txs": size, "apply_s": apply_s, "verify_s": verify_s, "per_million_s": verify_s * 1_000_000 / size,
            "proof_ms": proof_ms}


def print_run(ns, res: dict) -> None:
    offered = f"offered {ns.rate:.0f}/s" if ns.rate else "offered max"
    print(f"{res['suite']:8} nodes={res['nodes']} txs={res['txs']} clients={ns.clients} batch={ns.batch} "
          f"cosign every {f'{ns.cosign_interval:g} s' if ns.cosign_interval else 'block'} "
          f"{offered}: {res['tps']:8.0f} committed tx/s, p50 {res['p50'] * 1000:6.0f} ms, "
          f"p99 {res['p99'] * 1000:6.0f} ms; raw orderer {res['raw']:7.0f} msg/s "
          f"(ratio {res['tps'] / res['raw']:.2f}); {res['blocks']} blocks of "
          f"{res['avg_block']:.0f} tx; envelope {res['size']:.0f} B; invalid {res['invalid']}; "
          f"nodes identical; load average {res['load']:.1f}", flush=True)
    cu = res["cpu_us"]
    total = sum(cu.values())
    print(f"    CPU per committed tx: node processes {cu['nodes']:.0f} us ({cu['nodes'] / res['nodes']:.0f} "
          f"per node), their database backends {cu['node_db']:.0f} us, orderer "
          f"{cu['orderer']:.0f} us, client {cu['client']:.0f} us; total {total:.0f} us -> "
          f"{os.cpu_count()} cores would carry {os.cpu_count() * 1e6 / total:.0f} tx/s",
          flush=True)


def print_median(ns, runs: list[dict]) -> None:
    med = statistics.median
    r0 = runs[0]
    cpu = {part: med(r["cpu_us"][part] for r in runs) for part in r0["cpu_us"]}
    offered = f"offered {ns.rate:.0f}/s" if ns.rate else "offered max"
    each = ", ".join(f"{r['tps']:.0f}" for r in runs)
    print(f"MEDIAN of {len(runs)}: {r0['suite']} nodes={r0['nodes']} {offered}: "
          f"{med(r['tps'] for r in runs):.0f} committed tx/s (runs {each}), "
          f"p50 {med(r['p50'] for r in runs) * 1000:.0f} ms, p99 {med(r['p99'] for r in runs) * 1000:.0f} ms, "
          f"raw orderer {med(r['raw'] for r in runs):.0f} msg/s, CPU per tx {sum(cpu.values()):.0f} us "
          f"(nodes {cpu['nodes']:.0f}, node databases {cpu['node_db']:.0f}, orderer {cpu['orderer']:.0f}, "
          f"client {cpu['client']:.0f}), load average {med(r['load'] for r in runs):.1f}", flush=True)


class Phases:
    """Exclusive wall and CPU time per phase: wrapped functions charge their time to their phase,
    minus what the functions they call charge to theirs."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.stack: list[str] = []
        self.mark = (time.perf_counter(), time.thread_time())

    def charge(self) -> None:
        now = (time.perf_counter(), time.thread_time())
        top = self.stack[-1] if self.stack else "other (loop, block assembly)"
        self.wall[top] = self.wall.get(top, 0.0) + now[0] - self.mark[0]
        self.cpu[top] = self.cpu.get(top, 0.0) + now[1] - self.mark[1]
        self.mark = now

    def wrap(self, phase: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            self.charge()
            self.stack.append(phase)
            try:
                return fn(*args, **kwargs)
            finally:
                self.charge()
                self.stack.pop()

        return timed

    def patch(self, phase: str, owner, name: str) -> None:
        if hasattr(owner, name):
            setattr(owner, name, self.wrap(phase, getattr(owner, name)))


def profile_node(admin: str, suite: str, n: int) -> tuple[dict, dict, float]:
    """One node, in this process, applying `n` expenditure transactions already in a PostgreSQL
    order (full blocks, no co-signing): exclusive wall and CPU seconds per phase."""
    import fmis.platform.crypto as crypto_mod
    import fmis.transfers.ledger.executor as executor_mod
    import fmis.transfers.ledger.merkle as merkle_mod
    import fmis.transfers.ledger.node as node_mod

    c = consortium_for(suite, 4)
    o, dsn, alloc = funded_pg_order(admin, c)
    node = Node(dsn=dsn, orderer=o, signer=c.members[0].signer, cut_after=0.0, cosign=False)
    node.catch_up(idle_rounds=2, timeout=0.05)
    items = presign(c, alloc, n)
    for i in range(0, n, 2000):
        o.submit_many(items[i:i + 2000])
    ph = Phases()
    ph.patch("read the order", node.orderer, "read")
    ph.patch("classify", node_mod, "_classify")
    ph.patch("decode envelope", executor_mod, "parse")
    ph.patch("signature check", crypto_mod, "verify")
    ph.patch("certificate, role, nonce checks", node.executor, "_execute_one")
    for code, fn in list(node.executor.contracts.functions.items()):
        node.executor.contracts.functions[code] = ph.wrap("contract", fn)
    ph.patch("state and nonce reads (SQL)", node.store, "load_state")
    ph.patch("state and nonce reads (SQL)", node.store, "used_nonces")
    for name in ("leaf_data", "leaf_hashes", "state_root", "block_hash", "root_of"):
        ph.patch("hashing (leaves, Merkle, state, block)", node_mod, name)
    ph.patch("hashing (leaves, Merkle, state, block)", merkle_mod.Frontier, "append")
    ph.patch("SQL writes", node.store, "write_block")
    ph.patch("commit", node.conn, "commit")
    t0 = time.perf_counter()
    ph.mark = (t0, time.thread_time())
    node.catch_up(idle_rounds=2, timeout=0.05, max_seconds=3600)
    ph.charge()
    wall = time.perf_counter() - t0
    applied = node.frontier.size - 3
    node.close()
    o.close()
    for name in ("bench_chain_vord", "bench_chain_vnode"):
        dbutil.drop_database(admin, name)
    return ({k: v / applied * 1e6 for k, v in ph.wall.items()}, {k: v / applied * 1e6 for k, v in ph.cpu.items()},
            applied / wall)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orderer", choices=["pg", "nats"], default="pg",
                    help="pg: the single-node PostgreSQL orderer; nats: a 3-server JetStream cluster with TLS")
    ap.add_argument("--suites", default="ed25519,sm2")
    ap.add_argument("--nodes", default="2,4")
    ap.add_argument("--txs", type=int, default=6000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="offered load in envelopes/s (default: as fast as the clients go)")
    ap.add_argument("--runs", type=int, default=1, help="repeat each end-to-end measurement; prints the median")
    ap.add_argument("--cosign-interval", type=float, default=0.0,
                    help="the nodes' checkpoint interval in seconds of order time (0: a checkpoint per block)")
    ap.add_argument("--cut-after", type=float, default=0.1,
                    help="seconds a node lets transactions wait before asking for a block to be cut")
    ap.add_argument("--linger", type=float, default=None,
                    help="NATS: least seconds between two messages of one client's concurrent submits "
                         "(default: the orderer's)")
    ap.add_argument("--node-profile", default="", metavar="FILE",
                    help="run the first node under cProfile (CPU time) and write its statistics to FILE (pstats)")
    ap.add_argument("--verify-txs", type=int, default=100_000)
    ap.add_argument("--proofs", type=int, default=1000)
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--skip-verify", action="store_true")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="only profile one node applying N transactions per suite (phases, us per tx)")
    ns = ap.parse_args()
    admin = admin_dsn()
    if ns.profile:
        for suite in ns.suites.split(","):
            wall, cpu, rate = profile_node(admin, suite, ns.profile)
            print(f"{suite}: one node applied {ns.profile} transactions at {rate:.0f} tx/s "
                  f"(load average {os.getloadavg()[0]:.1f}); per transaction:", flush=True)
            for phase in sorted(wall, key=wall.get, reverse=True):
                print(f"    {phase:40} {wall[phase]:7.1f} us wall {cpu[phase]:7.1f} us CPU", flush=True)
            print(f"    {'total':40} {sum(wall.values()):7.1f} us wall {sum(cpu.values()):7.1f} us CPU", flush=True)
        return
    if not ns.skip_e2e:
        with tempfile.TemporaryDirectory() as workdir:
            backend = NatsBackend(workdir, linger=ns.linger) if ns.orderer == "nats" else PgBackend(admin)
            print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
                  f"orderer: {backend.label}", flush=True)
            try:
                for suite in ns.suites.split(","):
                    for n in [int(x) for x in ns.nodes.split(",")]:
                        runs = []
                        for _ in range(ns.runs):
                            res = e2e(admin, backend, suite, n, ns.txs, ns.clients, ns.batch, workdir, ns.rate,
                                      ns.cosign_interval, ns.node_profile, ns.cut_after)
                            res["raw"] = raw_orderer(backend, ns.txs, ns.clients, ns.batch, res["size"])
                            res["load"] = os.getloadavg()[0]
                            print_run(ns, res)
                            runs.append(res)
                        if len(runs) > 1:
                            print_median(ns, runs)
            finally:
                backend.close()
    if not ns.skip_verify:
        v = verify_bench(admin, ns.verify_txs, ns.proofs)
        how = "measured" if v["txs"] >= 1_000_000 else f"extrapolated linearly from {v['txs']:,}"
        print(f"verify: {v['txs']} transactions applied by one node in {v['apply_s']:.1f} s "
              f"({v['txs'] / v['apply_s']:.0f} tx/s); verify {v['verify_s']:.1f} s "
              f"-> 1,000,000 transactions ≈ {v['per_million_s']:.0f} s ({how})", flush=True)
        print(f"inclusion proof (tree of {v['txs']:,}): {v['proof_ms']:.2f} ms per proof, built from stored "
              f"nodes and verified", flush=True)
    for name in ("bench_chain_ord", "bench_chain_vord", "bench_chain_vnode",
                 *[f"bench_chain_n{i}" for i in range(8)]):
        dbutil.drop_database(admin, name)


if __name__ == "__main__":
    main()

"""Recompute a node's whole chain and state from its stored transactions and name the first
block or transaction that does not match.

The replay re-validates every transaction (signatures, certificates, contract rules) against a
fresh in-memory world state, recomputes each leaf, each block's Merkle root, the log's root
after each block, the state root, the block hash and the hash link, and compares every one with
what the node stored; at the end it compares the stored world state, the projections (members,
allocations, movements) and the nonce table with the replayed ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from fmis.transfers.ledger.encoding import decode
from fmis.transfers.ledger.executor import (
    ContractConfigError,
    Executor,
    Seen,
    StateView,
    block_hash,
    block_header,
    leaf_data,
    state_root,
)
from fmis.transfers.ledger.merkle import Frontier, root_of
from fmis.transfers.ledger.store import ALLOCATION_COLUMNS, MEMBER_FIELDS, is_transfers_movement


@dataclass
class Mismatch:
    where: str  # "block", "transaction", "state", "projection"
    block: int | None
    what: str
    log_index: int | None = None
    tx_id: str = ""

    def __str__(self) -> str:
        if self.where == "transaction":
            return f"block {self.block}, transaction {self.log_index} ({self.tx_id[:16]}): {self.what}"
        if self.where == "block":
            return f"block {self.block}: {self.what}"
        return f"{self.where}: {self.what}"


@dataclass
class Report:
    blocks: int = 0
    transactions: int = 0
    mismatch: Mismatch | None = None
    head_hash: str = ""
    state_root: str = ""
    log_root: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatch is None


class _Stop(Exception):
    def __init__(self, m: Mismatch):
        self.m = m


def verify_node(dsn_or_conn, *, progress: Callable[[int, int], None] | None = None) -> Report:
    conn = psycopg.connect(dsn_or_conn) if isinstance(dsn_or_conn, str) else dsn_or_conn
    try:
        return _verify(conn, progress)
    finally:
        if isinstance(dsn_or_conn, str):
            conn.close()


def _verify(conn, progress) -> Report:
    rep = Report()
    row = conn.execute("SELECT value FROM transfers_chain_meta WHERE key = 'genesis'").fetchone()
    if row is None:
        rep.notes.append("empty node: no genesis")
        return rep
    genesis = bytes(row[0])
    config = decode(genesis)["config"]
    try:
        ex = Executor(config)  # builds the contract tables from the genesis's contract modules
    except ContractConfigError as exc:
        rep.mismatch = Mismatch("block", 0, f"the genesis configuration is not runnable: {exc}")
        return rep
    hn = ex.hash_name
    state: dict[str, dict] = {}
    nonces: dict[tuple[str, str], str] = {}
    movements: dict[tuple[int, int], tuple] = {}
    frontier = Frontier(ex.hasher)
    prev_hash, sroot = b"\x00" * 32, b"\x00" * 32
    total = conn.execute("SELECT count(*) FROM transfers_block").fetchone()[0]
    conn.commit()
    blocks = conn.cursor(name="verify_blocks")
    blocks.itersize = 500
    tx_conn = conn  # the server-side cursor above and these queries share one transaction
    try:
        blocks.execute("SELECT number, hash, prev_hash, tx_root, tx_count, log_size, log_root, state_root, time_ms,"
                       " first_seq, last_seq FROM transfers_block ORDER BY number")
        for expected_number, b in enumerate(blocks):
            number, bhash, bprev, btx_root, btx_count, blog_size, blog_root, bstate, time_ms, first, last = b
            bhash, bprev, btx_root, blog_root, bstate = map(bytes, (bhash, bprev, btx_root, blog_root, bstate))
            if number != expected_number:
                raise _Stop(Mismatch("block", expected_number, "block missing from the chain"))
            txs = tx_conn.execute(
                "SELECT log_index, position, seq, tx_id, contract, function, creator, valid, reason, detail, envelope"
                " FROM transfers_tx WHERE block_number = %s ORDER BY position", (number,)).fetchall()
            nodes_before = frontier.size
            new_nodes: list[tuple[int, int, bytes]] = []
            leaves: list[bytes] = []
            if number == 0:
                if len(txs) != 1 or bytes(txs[0][10]) != genesis:
                    raise _Stop(Mismatch("block", 0, "the genesis transaction does not match the node's genesis"))
                writes = ex.genesis_writes()
                leaf = ex.hasher.leaf(genesis)
                leaves.append(leaf)
                new_nodes.extend(frontier.append(leaf))
                results = []
            else:
                view = StateView(lambda keys: {k: state[k] for k in keys if k in state})
                seen = Seen(lambda pairs: {p: nonces[p] for p in pairs if p in nonces})
                results = ex.execute(number, time_ms, [(t[2], bytes(t[10])) for t in txs], view, seen)
                writes = view.take_writes()
                for pos, (t, r) in enumerate(zip(txs, results, strict=True)):
                    log_index = t[0]
                    if log_index != frontier.size or t[1] != pos:
                        raise _Stop(Mismatch("transaction", number, "position in the log does not match",
                                             log_index, t[3]))
                    stored = (t[3], t[4], t[5], t[6], t[7], t[8], t[9])
                    recomputed = (r.tx_id, r.contract, r.function, r.creator, r.valid, r.reason, r.detail)
                    if stored != recomputed:
                        names = ("tx_id", "contract", "function", "creator", "valid", "reason", "detail")
                        diff = [n for n, a, c in zip(names, stored, recomputed, strict=True) if a != c]
                        raise _Stop(Mismatch("transaction", number,
                                             f"stored {', '.join(diff)} differ from re-execution of its envelope",
                                             log_index, t[3]))
                    leaf = ex.hasher.leaf(leaf_data(number, r))
                    leaves.append(leaf)
                    new_nodes.extend(frontier.append(leaf))
                    if r.nonce:
                        nonces[(r.creator, r.nonce)] = r.tx_id
                    for n, mv in enumerate(r.movements):
                        if not is_transfers_movement(mv.kind):
                            continue
                        movements[(log_index, n)] = (mv.allocation, mv.kind, mv.amount, mv.region, mv.detail,
                                                     number, time_ms)
            # stored Merkle nodes: a changed leaf is named here, before the block's root
            stored_nodes = {(lv, ix): bytes(h) for lv, ix, h in tx_conn.execute(
                "SELECT level, idx, hash FROM transfers_merkle_node WHERE level = 0 AND idx >= %s AND idx < %s",
                (nodes_before, frontier.size)).fetchall()}
            for lv, ix, h in new_nodes:
                if lv == 0 and stored_nodes.get((0, ix)) != h:
                    t = txs[ix - nodes_before]
                    raise _Stop(Mismatch("transaction", number,
                                         "its content does not match the leaf hash stored in the Merkle log",
                                         ix, t[3]))
            upper = [(lv, ix) for lv, ix, _ in new_nodes if lv > 0]
            if upper:
                got = {(lv, ix): bytes(h) for lv, ix, h in tx_conn.execute(
                    "SELECT m.level, m.idx, m.hash FROM transfers_merkle_node m JOIN unnest(%s::smallint[],"
                    " %s::bigint[]) AS q(l, i) ON m.level = q.l AND m.idx = q.i",
                    ([k[0] for k in upper], [k[1] for k in upper])).fetchall()}
                for lv, ix, h in new_nodes:
                    if lv > 0 and got.get((lv, ix)) != h:
                        raise _Stop(Mismatch("block", number, f"stored Merkle node (level {lv}, index {ix}) differs"))
            state.update(writes)
            sroot = state_root(hn, sroot, writes)
            header = block_header(number=number, prev_hash=prev_hash, tx_root=root_of(ex.hasher, leaves),
                                  tx_count=len(leaves), log_size=frontier.size, log_root=frontier.root(),
                                  state_root=sroot, time_ms=time_ms, first_seq=first, last_seq=last)
            stored_header = block_header(number=number, prev_hash=bprev, tx_root=btx_root, tx_count=btx_count,
                                         log_size=blog_size, log_root=blog_root, state_root=bstate,
                                         time_ms=time_ms, first_seq=first, last_seq=last)
            for k in ("prev_hash", "tx_root", "tx_count", "log_size", "log_root", "state_root"):
                if header[k] != stored_header[k]:
                    raise _Stop(Mismatch("block", number, f"header field {k} does not match the recomputed value"))
            h = block_hash(hn, header)
            if h != bhash:
                raise _Stop(Mismatch("block", number, "stored block hash does not match its header"))
            prev_hash = h
            rep.blocks += 1
            rep.transactions += len(leaves)
            if progress:
                progress(rep.blocks, total)
        blocks.close()
        conn.commit()
        _compare_final(conn, state, nonces, movements, rep)
        rep.head_hash, rep.state_root, rep.log_root = prev_hash.hex(), sroot.hex(), frontier.root().hex()
    except _Stop as stop:
        rep.mismatch = stop.m
        try:
            blocks.close()
        except psycopg.Error:
            pass
        conn.rollback()
    return rep


def _compare_final(conn, state, nonces, movements, rep: Report) -> None:
    stored = {k: v for k, v in conn.execute("SELECT key, value FROM transfers_state").fetchall()}
    for k in sorted(set(stored) | set(state)):
        if stored.get(k) != state.get(k):
            raise _Stop(Mismatch("state", None, f"world-state row {k} differs from the replayed state"))
    members = {r[0]: r[1:] for r in conn.execute(
        f"SELECT cert_id, {', '.join(MEMBER_FIELDS)} FROM transfers_member").fetchall()}
    expect = {k[7:]: tuple(v[f] for f in MEMBER_FIELDS) for k, v in state.items() if k.startswith("member/")}
    for k in sorted(set(members) | set(expect)):
        if members.get(k) != expect.get(k):
            raise _Stop(Mismatch("projection", None, f"member {k[:16]} differs from the world state"))
    cols = ALLOCATION_COLUMNS
    allocs = {r[0]: r for r in conn.execute(
        f"SELECT {', '.join(c for c, _ in cols)} FROM transfers_allocation").fetchall()}
    expect_a = {v["id"]: tuple(v[f] for _, f in cols) for k, v in state.items() if k.startswith("alloc/")}
    for k in sorted(set(allocs) | set(expect_a)):
        if allocs.get(k) != expect_a.get(k):
            raise _Stop(Mismatch("projection", None, f"allocation {k[:16]} differs from the world state"))
    stored_mv = {(r[0], r[1]): (r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in conn.execute(
        "SELECT log_index, n, allocation_id, kind, amount, region, detail, block_number, time_ms "
        "FROM transfers_movement").fetchall()}
    norm = {k: (*v[:4], json.loads(json.dumps(v[4])), *v[5:]) for k, v in movements.items()}
    for k in sorted(set(stored_mv) | set(norm)):
        if stored_mv.get(k) != norm.get(k):
            raise _Stop(Mismatch("projection", None, f"movement of transaction {k[0]} differs from the replay"))
    stored_n = {(a, b): t for a, b, t in conn.execute("SELECT creator, nonce, tx_id FROM transfers_nonce").fetchall()}
    if stored_n != nonces:
        raise _Stop(Mismatch("state", None, "the nonce table differs from the replay"))
    conn.commit()

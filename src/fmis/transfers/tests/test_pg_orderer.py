"""The single-node orderer: gap-free under concurrency, idempotent message ids, waking readers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fmis.transfers.ledger.ordering import Orderer
from fmis.transfers.ledger.pg_orderer import PgOrderer
from fmis.transfers.tests import orderer_conformance as conformance


@pytest.fixture
def orderer(make_db):
    o = PgOrderer(make_db("ord"))
    yield o
    o.close()


def test_implements_the_protocol(orderer):
    assert isinstance(orderer, Orderer)
    assert orderer.last_seq() == 0
    assert orderer.read(after=0, timeout=0.01) == []


def test_conformance(orderer):
    """The checks every orderer passes (the NATS orderer runs them too)."""
    made: list[PgOrderer] = []

    def make() -> PgOrderer:
        made.append(PgOrderer(orderer.dsn, install=False))
        return made[-1]

    try:
        conformance.check_all(make)
    finally:
        for o in made:
            o.close()


def test_concurrent_submitters_get_consecutive_numbers_and_duplicates_are_absorbed(orderer):
    ids = [f"m{i}" for i in range(200)]
    work = ids + ids[:50]  # 50 re-submissions racing with the first ones

    def submit(mid):
        return mid, orderer.submit(mid.encode(), msg_id=mid)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(submit, work))
    seqs: dict[str, set[int]] = {}
    for mid, seq in results:
        seqs.setdefault(mid, set()).add(seq)
    assert all(len(s) == 1 for s in seqs.values())  # a re-submission returns the first number
    got = sorted(next(iter(s)) for s in seqs.values())
    assert got == list(range(1, 201))  # no gaps, no duplicates
    assert orderer.last_seq() == 200
    read = []
    while len(read) < 200:
        batch = orderer.read(after=len(read), max_count=64, timeout=0.5)
        assert batch
        read.extend(batch)
    assert [m.seq for m in read] == list(range(1, 201))
    assert {m.msg_id: m.seq for m in read} == {mid: next(iter(s)) for mid, s in seqs.items()}
    assert all(m.data == m.msg_id.encode() for m in read)
    assert [m.time_ms for m in read] == sorted(m.time_ms for m in read)


def test_reader_wakes_when_a_message_arrives(orderer):
    got = []

    def reader():
        got.extend(orderer.read(after=0, timeout=5))

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.1)
    orderer.submit(b"x", msg_id="x")
    t.join(6)
    assert [m.msg_id for m in got] == ["x"]


def test_submit_many_is_gap_free_and_idempotent(orderer):
    orderer.submit(b"a", msg_id="a")
    seqs = orderer.submit_many([(b"b", "b"), (b"a", "a"), (b"c", "c"), (b"b", "b")])
    assert seqs == [2, 1, 3, 2]
    assert orderer.last_seq() == 3

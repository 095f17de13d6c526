"""What every ``Orderer`` must do, as checks any implementation's tests can run: positions
increase strictly (whether they are consecutive is the implementation's business), an id
submitted again keeps its first position, reads resume from any position read before.

``check_all(make)`` takes a factory returning a fresh, empty orderer (or one whose order is empty
as far as the given ``prefix`` of message ids goes: the checks only look at their own messages'
positions relative to ``last_seq()`` at their start).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from fmis.transfers.ledger.ordering import Orderer


def _ids(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"{tag}-{i}" for i in range(n)]


def read_all(orderer: Orderer, *, after: int, until: int, timeout: float = 10.0) -> list:
    out = []
    while after < until:
        got = orderer.read(after=after, max_count=500, timeout=timeout)
        assert got, f"no message after {after}, expected up to {until}"
        out.extend(got)
        after = got[-1].seq
    return out


def check_positions_and_idempotent(orderer: Orderer) -> None:
    start = orderer.last_seq()
    ids = _ids(5)
    seqs = [orderer.submit(f"payload {i}".encode(), msg_id=m) for i, m in enumerate(ids)]
    assert start < seqs[0] and seqs == sorted(set(seqs))  # strictly increasing, after what was there
    # the same id again: the first position, nothing appended
    assert orderer.submit(b"payload 2", msg_id=ids[2]) == seqs[2]
    assert orderer.last_seq() == seqs[-1]
    got = read_all(orderer, after=start, until=seqs[-1])
    assert [o.seq for o in got] == seqs
    assert [o.msg_id for o in got] == ids
    assert [o.data for o in got] == [f"payload {i}".encode() for i in range(5)]
    assert all(o.time_ms > 0 for o in got)
    assert [o.time_ms for o in got] == sorted(o.time_ms for o in got)


def check_read_bounds(orderer: Orderer) -> None:
    start = orderer.last_seq()
    seqs = [orderer.submit(m.encode(), msg_id=m) for m in _ids(7)]
    first = orderer.read(after=start, max_count=3, timeout=5)
    assert [o.seq for o in first] == seqs[:3]
    # reading from an arbitrary position, also backwards, gives the same messages again
    again = orderer.read(after=seqs[0], max_count=2, timeout=5)
    assert [(o.seq, o.data) for o in again] == [(o.seq, o.data) for o in first[1:3]]
    rest = read_all(orderer, after=seqs[2], until=seqs[-1])
    assert [o.seq for o in rest] == seqs[3:]
    # nothing more: an empty list after the timeout, not an error
    assert orderer.read(after=seqs[-1], max_count=10, timeout=0.3) == []


def check_concurrent_submitters(make: Callable[[], Orderer], *, threads: int = 4, each: int = 25) -> None:
    """Several submitters, each with its own connection: one total order, every message once, and
    each submitter's own messages in the order it submitted them."""
    probe = make()
    start = probe.last_seq()
    ids = [_ids(each) for _ in range(threads)]
    acked: dict[str, int] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(mine: list[str]) -> None:
        orderer = make()
        try:
            for m in mine:
                seq = orderer.submit(m.encode(), msg_id=m)
                with lock:
                    acked[m] = seq
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            orderer.close()

    workers = [threading.Thread(target=run, args=(mine,)) for mine in ids]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    got = read_all(probe, after=start, until=max(acked.values()))
    probe.close()
    assert len(got) == threads * each
    assert [o.seq for o in got] == sorted({o.seq for o in got})
    assert sorted(o.msg_id for o in got) == sorted(acked)
    assert {o.msg_id: o.seq for o in got} == acked
    position = {o.msg_id: o.seq for o in got}
    for mine in ids:
        assert [position[m] for m in mine] == sorted(position[m] for m in mine)


def check_all(make: Callable[[], Orderer]) -> None:
    orderer = make()
    try:
        check_positions_and_idempotent(orderer)
        check_read_bounds(orderer)
    finally:
        orderer.close()
    check_concurrent_submitters(make)

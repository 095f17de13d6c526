"""Failures of the ordering cluster: a killed stream leader loses and duplicates nothing; a restarted
server catches up with the stream."""

from __future__ import annotations

import threading
import time

import pytest

from fmis.transfers.ledger.cluster import _http
from fmis.transfers.ledger.nats_orderer import SLOTS
from fmis.transfers.tests import nats_fixtures
from fmis.transfers.tests import orderer_conformance as conformance

nats_cluster = nats_fixtures.nats_cluster  # the module's cluster fixture
make_orderer = nats_fixtures.make_orderer


def _leader_index(orderer, cluster) -> int:
    async def info():
        return await orderer._js.stream_info(orderer.stream)

    leader = orderer._call(info(), timeout=30).cluster.leader
    return next(i for i, s in enumerate(cluster.servers) if s.name == leader)


def _stream_messages_on(spec, stream: str) -> int | None:
    details = _http(spec, "/jsz?streams=true") or {}
    for account in details.get("account_details") or []:
        for st in account.get("stream_detail") or []:
            if st.get("name") == stream:
                return (st.get("state") or {}).get("messages")
    return None


def test_killing_the_stream_leader_under_load_loses_and_duplicates_nothing(make_orderer, nats_cluster):
    orderer = make_orderer()
    orderer.submit(b"first", msg_id="w-first")
    leader = _leader_index(orderer, nats_cluster)
    acked: dict[str, int] = {}
    errors: list[BaseException] = []
    stop = threading.Event()
    shared = make_orderer()  # threads submitting through one client: their envelopes travel in bundles
    clients = [make_orderer(), make_orderer(), shared, shared]  # connections reconnecting to the survivors

    def load(n: int) -> None:
        i = 0
        try:
            while not stop.is_set() or i < 40:
                msg_id = f"w{n}-{i}"
                acked[msg_id] = clients[n].submit(msg_id.encode(), msg_id=msg_id, timeout=60)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=load, args=(n,)) for n in range(len(clients))]
    for w in workers:
        w.start()
    time.sleep(0.5)
    nats_cluster.kill(leader)
    time.sleep(1.5)
    stop.set()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    assert not errors, errors
    # Each client submitting ids it had acknowledged before the failover again (unsure of its last
    # acks): the same positions, nothing appended.
    last = orderer.last_seq()
    for n in range(len(clients)):
        sample = sorted(m for m in acked if m.startswith(f"w{n}-"))[:10]
        assert [clients[n].submit(m.encode(), msg_id=m, timeout=60) for m in sample] == [acked[m] for m in sample]
    assert orderer.last_seq() == last == max(acked.values())

    got = conformance.read_all(orderer, after=0, until=last)
    assert [o.seq for o in got] == sorted({o.seq for o in got})
    assert len(got) == len(acked) + 1
    assert {o.msg_id: o.seq for o in got[1:]} == acked  # every acknowledged message, once, where acked
    assert all(o.data == o.msg_id.encode() for o in got[1:])
    messages = len({o.seq // SLOTS for o in got})
    assert messages < len(got)  # the shared client's threads did share messages

    # the killed server comes back and catches up with the stream from the new leader
    nats_cluster.restart(leader)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _stream_messages_on(nats_cluster.servers[leader], orderer.stream) != messages:
        time.sleep(0.3)
    assert _stream_messages_on(nats_cluster.servers[leader], orderer.stream) == messages


def test_submit_fails_clearly_without_a_quorum(make_orderer, nats_cluster):
    from fmis.transfers.ledger.ordering import OrderingError

    orderer = make_orderer()
    orderer.submit(b"before", msg_id="q-before")
    survivors = nats_cluster.running()
    victims = survivors[:2]
    for i in victims:
        nats_cluster.kill(i)
    try:
        with pytest.raises(OrderingError, match="not acknowledged"):
            orderer.submit(b"lost", msg_id="q-lost", timeout=4)
    finally:
        for i in victims:
            nats_cluster.restart(i)
        nats_cluster.wait_ready(timeout=60)
    # with the quorum back, the same id goes in (once)
    seq = orderer.submit(b"lost", msg_id="q-lost", timeout=60)
    assert orderer.submit(b"lost", msg_id="q-lost", timeout=60) == seq

"""The JetStream orderer against a real 3-server cluster with mutual TLS."""

from __future__ import annotations

import ssl
import threading

import nats
import pytest

from fmis.transfers.ledger.nats_orderer import BUNDLE, BUNDLE_MAX, SLOTS, NatsOrderer, expand, pack, unpack
from fmis.transfers.ledger.ordering import Orderer, OrderingError
from fmis.transfers.tests import nats_fixtures
from fmis.transfers.tests import orderer_conformance as conformance

nats_cluster = nats_fixtures.nats_cluster  # the module's cluster fixture
make_orderer = nats_fixtures.make_orderer



def test_is_an_orderer(make_orderer):
    assert isinstance(make_orderer(), Orderer)


def test_conformance(make_orderer):
    conformance.check_all(make_orderer)


def test_pipelined_submissions_keep_their_order_and_ids(make_orderer):
    orderer = make_orderer()
    items = [(f"tx {i}".encode(), f"p-{i}") for i in range(2500)]
    seqs = orderer.submit_many(items)
    assert seqs == sorted(set(seqs)) and seqs[0] > 0
    # bundles of at most BUNDLE_MAX envelopes: 3 stream messages, each envelope at its place in one
    assert sorted({s // SLOTS for s in seqs}) == [1, 2, 3]
    assert [s % SLOTS for s in seqs[:3]] == [0, 1, 2] and seqs[BUNDLE_MAX] == 2 * SLOTS
    # the same envelopes again (a submitter that lost its acknowledgements): same positions, nothing new
    assert orderer.submit_many(items[100:110]) == seqs[100:110]
    assert orderer.last_seq() == seqs[-1]
    got = conformance.read_all(orderer, after=0, until=seqs[-1])
    assert [(o.seq, o.msg_id, o.data) for o in got] == [(s, m, d) for s, (d, m) in zip(seqs, items, strict=True)]


def test_a_bundle_published_again_by_another_client_is_stored_once(make_orderer):
    items = [(f"tx {i}".encode(), f"again-{i}") for i in range(20)]
    first = make_orderer().submit_many(items)
    # a new client (a restarted process) sends the same envelopes in the same bundle: same message id
    assert make_orderer().submit_many(items) == first
    assert make_orderer().last_seq() == first[-1]


def test_an_id_given_twice_in_one_call_is_ordered_once(make_orderer):
    orderer = make_orderer()
    seqs = orderer.submit_many([(b"b", "b"), (b"a", "a"), (b"c", "c"), (b"b", "b")])
    assert seqs[0] == seqs[3] and len(set(seqs)) == 3
    got = conformance.read_all(orderer, after=0, until=max(seqs))
    assert [o.msg_id for o in got] == ["b", "a", "c"]


def test_concurrent_submits_travel_together(make_orderer):
    """Threads submitting at once share stream messages (group commit); each still gets its own
    position, returned only once the bundle is acknowledged."""
    orderer = make_orderer(linger=0.05)
    acked: dict[str, int] = {}

    def run(n: int) -> None:
        for i in range(10):
            acked[f"g{n}-{i}"] = orderer.submit(f"g{n}-{i}".encode(), msg_id=f"g{n}-{i}")

    workers = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(set(acked.values())) == 80
    assert len({s // SLOTS for s in acked.values()}) < 40  # far fewer messages than envelopes
    got = conformance.read_all(make_orderer(), after=0, until=max(acked.values()))
    assert {o.msg_id: o.seq for o in got} == acked
    assert all(o.data == o.msg_id.encode() for o in got)


def test_reading_resumes_inside_a_bundle(make_orderer):
    orderer = make_orderer()
    seqs = orderer.submit_many([(f"r{i}".encode(), f"r{i}") for i in range(10)])
    reader = make_orderer()
    assert [o.data for o in reader.read(after=0, max_count=4, timeout=5)] == [b"r0", b"r1", b"r2", b"r3"]
    assert [o.data for o in reader.read(after=seqs[3], max_count=3, timeout=5)] == [b"r4", b"r5", b"r6"]
    # a fresh reader resuming from the middle of the bundle (a node restarted after a block ended there)
    fresh = make_orderer()
    assert [o.seq for o in fresh.read(after=seqs[6], max_count=10, timeout=5)] == seqs[7:]


def test_bundle_framing_round_trips_and_refuses_what_is_not_whole(make_orderer):
    items = [(b"", "empty"), ("资金".encode(), "zh-身份"), (bytes(range(256)), "binary")]
    body = pack(items)
    assert unpack(body, 3) == [(m, d) for d, m in items]
    assert unpack(body, 2) is None  # the count must match
    assert unpack(body[:-1], 3) is None  # a cut-off frame
    assert unpack(body + b"x", 3) is None  # trailing bytes
    # a message that claims to be a bundle but is not well framed is one opaque envelope, alike everywhere
    odd = expand(7, b"not frames", {BUNDLE: "3", "Nats-Msg-Id": "odd"}, 1)
    assert [(o.seq, o.msg_id, o.data) for o in odd] == [(7 * SLOTS, "odd", b"not frames")]
    assert [o.seq for o in expand(7, body, {BUNDLE: "3"}, 1)] == [7 * SLOTS, 7 * SLOTS + 1, 7 * SLOTS + 2]
    assert expand(7, body, {BUNDLE: str(BUNDLE_MAX + 1)}, 1)[0].data == body  # more than a bundle may hold


def test_the_stream_is_replicated_and_append_only(make_orderer, nats_cluster):
    orderer = make_orderer()
    orderer.submit(b"x", msg_id="only")

    async def details():
        nc = await nats.connect(nats_cluster.urls, tls=nats_cluster.client_tls.client_context())
        try:
            js = nc.jetstream()
            info = await js.stream_info(orderer.stream)
            with pytest.raises(nats.js.errors.APIError):
                await js.delete_msg(orderer.stream, 1)
            with pytest.raises(nats.js.errors.APIError):
                await js.purge_stream(orderer.stream)
            return info
        finally:
            await nc.close()

    info = orderer._call(details(), timeout=30)
    assert info.config.num_replicas == 3
    assert len(info.cluster.replicas or []) == 2  # a leader and two followers
    assert info.state.messages == 1


def test_an_existing_stream_that_may_lose_messages_is_refused(make_orderer, nats_cluster):
    orderer = make_orderer()

    async def loosen():
        nc = await nats.connect(nats_cluster.urls, tls=nats_cluster.client_tls.client_context())
        try:
            js = nc.jetstream()
            cfg = (await js.stream_info(orderer.stream)).config
            cfg.max_age = 3600
            await js.update_stream(cfg)
        finally:
            await nc.close()

    orderer._call(loosen(), timeout=30)
    with pytest.raises(OrderingError, match="append-only"):
        NatsOrderer(nats_cluster.urls, stream=orderer.stream, subject=orderer.subject, tls=nats_cluster.client_tls,
                    connect_timeout=5)


def test_a_client_without_a_certificate_is_refused(nats_cluster):
    ctx = ssl.create_default_context(cafile=str(nats_cluster.client_tls.ca))  # trusts the CA, shows no cert
    with pytest.raises(Exception):  # noqa: B017 - refused during the handshake, whatever nats-py calls it
        NatsOrderer(nats_cluster.urls, stream="NOCERT", subject="order.nocert", tls=ctx, connect_timeout=3)


def test_a_closed_orderer_says_so(make_orderer):
    orderer = make_orderer()
    orderer.close()
    with pytest.raises(OrderingError, match="closed"):
        orderer.submit(b"late", msg_id="late")


def test_reading_in_small_batches_takes_every_delivered_message_in_order(make_orderer):
    writer = make_orderer()
    items = [(f"m {i}".encode(), f"b-{i}") for i in range(300)]
    seqs: list[int] = []
    for i in range(0, 300, 50):  # singles and bundles mixed in the stream
        seqs.append(writer.submit(items[i][0], msg_id=items[i][1]))
        seqs += writer.submit_many(items[i + 1:i + 50])
    reader = make_orderer()  # the same stream
    got, after = [], 0
    while len(got) < 300:
        batch = reader.read(after=after, max_count=7, timeout=5)
        assert batch, f"stalled after {after}"
        assert len(batch) <= 7 and [o.seq for o in batch] == seqs[len(got):len(got) + len(batch)]
        got.extend(batch)
        after = batch[-1].seq
    assert [(o.msg_id, o.data) for o in got] == [(m, d) for d, m in items]
    assert reader.read(after=seqs[-1], max_count=7, timeout=0.2) == []
    # reading again from an earlier position starts over from there
    again = reader.read(after=seqs[10], max_count=3, timeout=5)
    assert [o.seq for o in again] == seqs[11:14]


def test_a_read_that_fails_half_way_starts_again_from_its_position(make_orderer, monkeypatch):
    writer = make_orderer()
    seqs = writer.submit_many([(f"x{i}".encode(), f"x{i}") for i in range(10)])
    seqs += writer.submit_many([(f"y{i}".encode(), f"y{i}") for i in range(10)])
    reader = make_orderer()
    first = reader.read(after=0, max_count=4, timeout=5)  # six of the first bundle stay buffered

    async def lost_connection():
        raise OrderingError("connection lost")

    # the next read takes the six buffered envelopes, then fails before the second bundle
    monkeypatch.setattr(reader, "_ready_msg", lost_connection)
    with pytest.raises(OrderingError, match="connection lost"):
        reader.read(after=first[-1].seq, max_count=100, timeout=1)
    monkeypatch.undo()
    rest = conformance.read_all(reader, after=first[-1].seq, until=seqs[-1])
    assert [o.seq for o in first + rest] == seqs  # nothing the failed read had taken is lost

"""The JetStream orderer against a real 3-server cluster with mutual TLS."""

from __future__ import annotations

import ssl

import nats
import pytest

from fmis.transfers.ledger.nats_orderer import NatsOrderer
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
    items = [(f"tx {i}".encode(), f"p-{i}") for i in range(500)]
    seqs = orderer.submit_many(items)
    assert seqs == list(range(1, 501))
    # the same batch again (a submitter that lost its acknowledgements): same positions, nothing new
    assert orderer.submit_many(items[100:110]) == list(range(101, 111))
    assert orderer.last_seq() == 500
    got = conformance.read_all(orderer, after=0, until=500)
    assert [(o.msg_id, o.data) for o in got] == [(m, d) for d, m in items]


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
    writer.submit_many(items)
    reader = make_orderer()  # the same stream
    got, after = [], 0
    while len(got) < 300:
        batch = reader.read(after=after, max_count=7, timeout=5)
        assert batch, f"stalled after {after}"
        assert len(batch) <= 7 and [o.seq for o in batch] == list(range(after + 1, after + 1 + len(batch)))
        got.extend(batch)
        after = batch[-1].seq
    assert [(o.msg_id, o.data) for o in got] == [(m, d) for d, m in items]
    assert reader.read(after=300, max_count=7, timeout=0.2) == []
    # reading again from an earlier position starts over from there
    again = reader.read(after=10, max_count=3, timeout=5)
    assert [o.seq for o in again] == [11, 12, 13]

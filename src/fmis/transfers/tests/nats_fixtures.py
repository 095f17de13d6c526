"""A 3-server NATS cluster with mutual TLS on loopback, one per test module that imports it."""

from __future__ import annotations

import uuid

import pytest

from fmis.transfers.ledger.cluster import start_cluster
from fmis.transfers.ledger.nats_orderer import NatsOrderer


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory):
    cluster = start_cluster(tmp_path_factory.mktemp("nats"), size=3, tls=True)
    yield cluster
    cluster.stop()


@pytest.fixture
def make_orderer(nats_cluster):
    """A factory of orderers on a stream of this test's own."""
    stream = f"T{uuid.uuid4().hex[:10].upper()}"
    made: list[NatsOrderer] = []

    def make(**kw) -> NatsOrderer:
        orderer = NatsOrderer(nats_cluster.urls, stream=stream, subject=f"order.{stream}",
                              tls=nats_cluster.client_tls, **kw)
        made.append(orderer)
        return orderer

    yield make
    for orderer in made:
        orderer.close()

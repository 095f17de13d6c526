"""Raw JetStream rates on a local 3-server cluster with mutual TLS, and the consortium orderer's rates
on the same cluster: the ceiling the consortium's ordering can reach on this machine.

    .venv/bin/python benchmarks/jetstream.py [--messages 20000] [--single 1000] [--clients 32]
        [--size 600] [--runs 3] [--no-tls]

Each run uses fresh streams with three replicas and prints, as medians of the runs:

plain JetStream (nats-py, one message per envelope, each with a ``Nats-Msg-Id``)
  - one by one: one publisher waiting for each acknowledgement;
  - concurrent: ``--clients`` publishers on one connection, each waiting for its acknowledgement
    (what ``chain.py --orderer nats`` prints as the raw rate);
  - pipelined: ``publish_async`` with 2,000 in flight;
  - read: the plain stream read back in order through the orderer's ``read``;
through the orderer (``NatsOrderer``)
  - ``submit_many``: envelopes in bundles of up to 1,000 per stream message;
  - read: the bundled stream read back in order, envelopes per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import nats
from nats.js import api

from fmis.transfers.ledger.cluster import Cluster, start_cluster
from fmis.transfers.ledger.nats_orderer import NatsOrderer

PIPELINE = 2000


async def _plain_stream(cluster: Cluster, replicas: int = 3):
    tls = cluster.client_tls.client_context() if cluster.client_tls else None
    nc = await nats.connect(cluster.urls, tls=tls)
    js = nc.jetstream(timeout=10)
    stream = f"RAW{uuid.uuid4().hex[:8].upper()}"
    await js.add_stream(api.StreamConfig(  # configured as the orderer configures its stream
        name=stream, subjects=[f"raw.{stream}"], num_replicas=replicas, storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS, duplicate_window=600.0, max_msgs=-1, max_bytes=-1, max_age=0,
        deny_delete=True, deny_purge=True, discard=api.DiscardPolicy.NEW))
    return nc, js, stream


def raw_publish_rate(cluster: Cluster, *, messages: int, size: int, clients: int, replicas: int = 3) -> float:
    """Plain JetStream: `clients` publishers on one connection, each publishing one message of
    `size` bytes with a Nats-Msg-Id and waiting for its acknowledgement, to a fresh stream."""

    async def run() -> float:
        nc, js, stream = await _plain_stream(cluster, replicas)
        payload = os.urandom(size)
        todo = iter(range(messages))

        async def publisher() -> None:
            for i in todo:
                await js.publish(f"raw.{stream}", payload, stream=stream, headers={"Nats-Msg-Id": f"raw-{i}"})

        t0 = time.perf_counter()
        await asyncio.gather(*(publisher() for _ in range(clients)))
        rate = messages / (time.perf_counter() - t0)
        await nc.close()
        return rate

    return asyncio.run(run())


def raw_pipelined_rate(cluster: Cluster, *, messages: int, size: int) -> tuple[float, str]:
    """Plain JetStream with up to PIPELINE publishes in flight; returns the rate and the stream."""

    async def run() -> tuple[float, str]:
        nc, js, stream = await _plain_stream(cluster)
        payload = os.urandom(size)
        t0 = time.perf_counter()
        for start in range(0, messages, PIPELINE):
            futures = [await js.publish_async(f"raw.{stream}", payload, stream=stream,
                                              headers={"Nats-Msg-Id": f"p-{i}"})
                       for i in range(start, min(start + PIPELINE, messages))]
            await asyncio.gather(*futures)
        rate = messages / (time.perf_counter() - t0)
        await nc.close()
        return rate, stream

    return asyncio.run(run())


def read_rate(orderer: NatsOrderer) -> float:
    """Envelopes per second reading the whole order from the start."""
    total = orderer.last_seq()
    count, after = 0, 0
    t = time.perf_counter()
    while after < total:
        got = orderer.read(after=after, max_count=5000, timeout=5)
        count += len(got)
        after = got[-1].seq
    return count / (time.perf_counter() - t)


def one_run(cluster: Cluster, *, messages: int, size: int, single: int, clients: int) -> dict[str, float]:
    out: dict[str, float] = {}
    payload = os.urandom(size // 2).hex().encode()[:size]
    with NatsOrderer(cluster.urls, stream=f"S{uuid.uuid4().hex[:10].upper()}", subject=f"single.{uuid.uuid4().hex}",
                     tls=cluster.client_tls, linger=0) as alone:
        t = time.perf_counter()
        for i in range(single):
            alone.submit(payload, msg_id=f"s{i}")
        out["one by one with ack"] = single / (time.perf_counter() - t)
    out[f"{clients} concurrent publishers"] = raw_publish_rate(cluster, messages=messages, size=size, clients=clients)
    out["pipelined"], stream = raw_pipelined_rate(cluster, messages=messages, size=size)
    with NatsOrderer(cluster.urls, stream=stream, subject=f"raw.{stream}", tls=cluster.client_tls) as plain:
        out["read (messages)"] = read_rate(plain)
    stream = f"B{uuid.uuid4().hex[:10].upper()}"
    with NatsOrderer(cluster.urls, stream=stream, subject=f"bench.{stream}", tls=cluster.client_tls) as orderer:
        items = [(payload, f"p{i}") for i in range(messages)]
        t = time.perf_counter()
        for start in range(0, messages, PIPELINE):
            orderer.submit_many(items[start:start + PIPELINE], timeout=120)
        out["orderer submit_many (bundles)"] = messages / (time.perf_counter() - t)
        out["orderer read (envelopes)"] = read_rate(orderer)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=20000, help="messages per pipelined or concurrent run")
    p.add_argument("--single", type=int, default=1000, help="messages published one by one per run")
    p.add_argument("--clients", type=int, default=32, help="concurrent publishers")
    p.add_argument("--size", type=int, default=600, help="bytes per message (a signed transaction is ~450-600)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-tls", action="store_true")
    ns = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, start_cluster(Path(tmp), size=3, tls=not ns.no_tls) as cluster:
        results = [one_run(cluster, messages=ns.messages, size=ns.size, single=ns.single, clients=ns.clients)
                   for _ in range(ns.runs)]
    print(f"JetStream, 3 servers, replicas=3, {'plain' if ns.no_tls else 'mutual TLS'}, {ns.size}-byte envelopes, "
          f"median of {ns.runs} runs (load average {os.getloadavg()[0]:.1f})")
    for name in results[0]:
        print(f"  {name:32}: {statistics.median(r[name] for r in results):10,.0f} /s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

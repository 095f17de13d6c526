"""Raw JetStream rates on a local 3-server cluster with mutual TLS: the ceiling the consortium's
ordering can reach on this machine.

    .venv/bin/python benchmarks/jetstream.py [--messages 20000] [--size 600] [--runs 3] [--no-tls]

Prints, as medians of the runs: publish one by one waiting for each acknowledgement (msg/s),
pipelined publish through the orderer's ``submit_many`` (msg/s), and reading the whole stream back
through the orderer's ``read`` (msg/s). Each run uses a fresh stream with three replicas.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fmis.transfers.ledger.cluster import start_cluster
from fmis.transfers.ledger.nats_orderer import NatsOrderer


def one_run(cluster, *, messages: int, size: int, single: int) -> tuple[float, float, float]:
    stream = f"B{uuid.uuid4().hex[:10].upper()}"
    orderer = NatsOrderer(cluster.urls, stream=stream, subject=f"bench.{stream}", tls=cluster.client_tls)
    payload = os.urandom(size // 2).hex().encode()[:size]
    try:
        t = time.perf_counter()
        for i in range(single):
            orderer.submit(payload, msg_id=f"s{i}")
        one_by_one = single / (time.perf_counter() - t)

        items = [(payload, f"p{i}") for i in range(messages)]
        t = time.perf_counter()
        for start in range(0, messages, 2000):
            orderer.submit_many(items[start:start + 2000], timeout=120)
        pipelined = messages / (time.perf_counter() - t)

        total = orderer.last_seq()
        t = time.perf_counter()
        after = 0
        while after < total:
            got = orderer.read(after=after, max_count=5000, timeout=5)
            after = got[-1].seq
        reading = total / (time.perf_counter() - t)
    finally:
        orderer.close()
    return one_by_one, pipelined, reading


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=20000, help="messages per pipelined run")
    p.add_argument("--single", type=int, default=1000, help="messages published one by one per run")
    p.add_argument("--size", type=int, default=600, help="bytes per message (a signed transaction is ~600)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-tls", action="store_true")
    ns = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, start_cluster(Path(tmp), size=3, tls=not ns.no_tls) as cluster:
        results = [one_run(cluster, messages=ns.messages, size=ns.size, single=ns.single) for _ in range(ns.runs)]
    one, pipe, read = (statistics.median(r[i] for r in results) for i in range(3))
    print(f"JetStream, 3 servers, replicas=3, {'plain' if ns.no_tls else 'mutual TLS'}, {ns.size}-byte messages, "
          f"median of {ns.runs} runs")
    print(f"  publish one by one with ack : {one:10,.0f} msg/s")
    print(f"  publish pipelined           : {pipe:10,.0f} msg/s")
    print(f"  read in order               : {read:10,.0f} msg/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

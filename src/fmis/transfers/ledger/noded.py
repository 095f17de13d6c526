"""A node as its own process, without Django:

    python -m fmis.transfers.ledger.noded --dsn "dbname=chain_n1 host=/tmp/pg user=postgres" \\
        --orderer "pg:dbname=chain_ord host=/tmp/pg user=postgres" --key-file n1.key.json

``--orderer`` is ``pg:<dsn>`` (the single-node orderer) or ``factory:<module>:<callable>`` with
``--orderer-config '<JSON keyword arguments>'`` (how another orderer, e.g. NATS JetStream, plugs in).
The key file is the member's own key (it signs checkpoints): ``write_key_file`` makes one.
SIGTERM or SIGINT stops the node after the block it is applying.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading

from fmis.transfers.ledger.envelope import Signer
from fmis.transfers.ledger.node import run_node
from fmis.transfers.ledger.ordering import Orderer


def write_key_file(path: str, signer: Signer) -> None:
    """The member's key as JSON, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"cert_id": signer.creator, "suite": signer.suite, "private_key": signer.private_key.hex()}, fh)


def read_key_file(path: str) -> Signer:
    with open(path, encoding="utf-8") as fh:
        d = json.load(fh)
    return Signer(d["cert_id"], d["suite"], bytes.fromhex(d["private_key"]))


def make_orderer(spec: str, config: dict | None = None) -> Orderer:
    kind, _, rest = spec.partition(":")
    if kind == "pg":
        from fmis.transfers.ledger.pg_orderer import PgOrderer

        return PgOrderer(rest)
    if kind == "factory":
        module, _, name = rest.partition(":")
        return getattr(importlib.import_module(module), name)(**(config or {}))
    raise ValueError(f"unknown orderer {spec!r}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fmis-node")
    p.add_argument("--dsn", required=True, help="the node's own database")
    p.add_argument("--orderer", required=True, help="pg:<dsn> or factory:<module>:<callable>")
    p.add_argument("--orderer-config", default="{}", help="JSON keyword arguments for a factory orderer")
    p.add_argument("--key-file", default="", help="the member key that signs checkpoints")
    p.add_argument("--cut-after", type=float, default=0.2, help="seconds before asking for a block to be cut")
    p.add_argument("--cosign-interval", type=float, default=0.0,
                   help="sign a checkpoint once per this many seconds of order time (0: after every block)")
    ns = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s node %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    orderer = make_orderer(ns.orderer, json.loads(ns.orderer_config))
    try:
        run_node(dsn=ns.dsn, orderer=orderer, signer=read_key_file(ns.key_file) if ns.key_file else None,
                 stop=stop, cut_after=ns.cut_after, cosign_interval=ns.cosign_interval)
    finally:
        orderer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

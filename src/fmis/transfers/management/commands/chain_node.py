"""``fmis manage chain_node``: run this installation's node (or any node) until interrupted."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a ledger node: read the order, cut, validate, execute and commit blocks"

    def add_arguments(self, parser):
        parser.add_argument("--node", default="", help="the node's database DSN (default: this installation's)")
        parser.add_argument("--orderer", default="", help="pg:<dsn> or factory:<module>:<callable> (default: local)")
        parser.add_argument("--key-file", default="", help="member key file for co-signing checkpoints")
        parser.add_argument("--cut-after", type=float, default=0.2)

    def handle(self, *args, node, orderer, key_file, cut_after, **opts):
        from fmis.transfers import local
        from fmis.transfers.ledger.node import run_node
        from fmis.transfers.ledger.noded import read_key_file

        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        signer = read_key_file(key_file) if key_file else (local.node_signer() if not node else None)
        run_node(dsn=node or local.local_dsn(), orderer=local.orderer_from_spec(orderer) if orderer
                 else local.orderer(), signer=signer, stop=stop, cut_after=cut_after)

"""``fmis chain verify [--node DSN]``: recompute a node's chain and state; name the first mismatch."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Recompute a node's whole chain and state and name the first block or transaction that does not match"

    def add_arguments(self, parser):
        parser.add_argument("--node", default="", help="the node's database DSN (default: this installation's)")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, node, quiet, **opts):
        from fmis.transfers.ledger.verify import verify_node
        from fmis.transfers.local import local_dsn

        def progress(done, total):
            if not quiet and total and (done % 200 == 0 or done == total):
                self.stderr.write(f"\r{done}/{total} blocks", ending="")

        rep = verify_node(node or local_dsn(), progress=progress)
        if not quiet:
            self.stderr.write("")
        if rep.mismatch is not None:
            self.stdout.write(f"MISMATCH {rep.mismatch}")
            sys.exit(1)
        self.stdout.write(f"OK {rep.blocks} blocks, {rep.transactions} transactions; head {rep.head_hash}; "
                          f"log root {rep.log_root}; state root {rep.state_root}")
        for n in rep.notes:
            self.stdout.write(n)

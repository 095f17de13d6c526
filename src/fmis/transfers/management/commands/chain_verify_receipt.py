"""``fmis chain verify-receipt FILE [--ca CA.pem]``: check a receipt offline."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Verify a transaction receipt offline (inclusion proof, co-signed checkpoint, creator's signature)"
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--ca", default="", help="PEM of the consortium CA you trust")
        parser.add_argument("--quorum", type=int, default=1, help="require at least this many co-signatures")

    def handle(self, *args, file, ca, quorum, **opts):
        from fmis.transfers.ledger.proofs import verify_receipt

        with open(file, encoding="utf-8") as fh:
            receipt = json.load(fh)
        ca_pem = None
        if ca:
            with open(ca, encoding="utf-8") as fh:
                ca_pem = fh.read()
        check = verify_receipt(receipt, ca_pem=ca_pem, min_quorum=quorum)
        self.stdout.write(f"transaction {check.tx_id}")
        self.stdout.write(f"CA fingerprint (SHA-256) {check.ca_fingerprint}")
        self.stdout.write(f"co-signed by {len(check.signers)} member(s)")
        if check.ok:
            self.stdout.write("OK: the transaction is in the log the members co-signed")
            return
        for p in check.problems:
            self.stdout.write(f"FAIL: {p}")
        sys.exit(1)

"""``fmis manage bankside_verify_statement FILE [--ca CA.pem]``: check a signed statement offline."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Verify a signed statement bundle (.json, or the .zip with its xlsx) offline: the installation's "
            "signature, the totals, every transaction's inclusion proof against the co-signed checkpoint, and "
            "each line against its transaction")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--ca", default="", help="PEM of the consortium CA you trust")

    def handle(self, *args, file, ca, **opts):
        from fmis.bankside.bundle import verify_file

        with open(file, "rb") as fh:
            data = fh.read()
        ca_pem = None
        if ca:
            with open(ca, encoding="utf-8") as fh:
                ca_pem = fh.read()
        check = verify_file(data, ca_pem=ca_pem)
        self.stdout.write(f"statement of {check.account_no} from {check.first_day} to {check.last_day}: "
                          f"{check.lines} line(s), {check.transactions} transaction(s), ledger tree size "
                          f"{check.tree_size}")
        self.stdout.write(f"CA fingerprint (SHA-256) {check.ca_fingerprint}")
        if check.signer:
            self.stdout.write(f"signed by {check.signer}; checkpoint co-signed by {len(check.co_signers)} member(s)")
        if check.ok:
            self.stdout.write("OK: every line is proven by a transaction in the log the members co-signed")
            return
        for p in check.problems:
            self.stdout.write(f"FAIL: {p}")
        sys.exit(1)

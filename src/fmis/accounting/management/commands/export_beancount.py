"""Write an account set's posted books as a Beancount 3 ledger (both bases).

    fmis manage export_beancount --account-set CODE [--year 2026] [-o FILE]

Without ``-o`` the ledger goes to standard output. Check it with ``bean-check FILE`` and query it
with ``bean-query FILE``.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from fmis.accounting import beancount
from fmis.accounting.models import AccountSet
from fmis.platform.errors import DomainError


class Command(BaseCommand):
    help = "Export an account set (both bases, one year or all) as a Beancount ledger"

    def add_arguments(self, parser):
        parser.add_argument("--account-set", required=True, help="account set code (账套编码)")
        parser.add_argument("--year", type=int, default=None, help="fiscal year (default: all years)")
        parser.add_argument("-o", "--output", default="-", help="output file (default: standard output)")

    def handle(self, *args, **opts):
        aset = AccountSet.objects.filter(code=opts["account_set"]).first()
        if aset is None:
            raise CommandError(f"account set {opts['account_set']} does not exist")
        try:
            if opts["output"] == "-":
                stats = beancount.write_ledger(aset, sys.stdout, year=opts["year"])
            else:
                with open(opts["output"], "w", encoding="utf-8") as out:
                    stats = beancount.write_ledger(aset, out, year=opts["year"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"{aset.code}: {stats.accounts} accounts, {stats.openings} opening entries, "
                          f"{stats.transactions} vouchers, {stats.postings} postings")

"""``fmis manage bankside_statement_bundle --account NO --date YYYY-MM-DD [--previous N] --out FILE``:
write the signed statement of an account (operators on the server: the whole account, no user scope).
An ``--out`` ending in ``.zip`` also carries the statement's xlsx."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Write the signed statement bundle of one account for a day (and the previous days)"

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True)
        parser.add_argument("--date", required=True, help="the statement's last day, YYYY-MM-DD")
        parser.add_argument("--previous", type=int, default=0, help="number of days before it to include")
        parser.add_argument("--out", required=True, help="a .json or .zip file")

    def handle(self, *args, account, date, previous, out, **opts):
        from fmis.bankside import bundle, statements
        from fmis.bankside.models import StatementLine
        from fmis.platform.errors import DomainError

        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise CommandError(f"--date {date!r} is not a date YYYY-MM-DD") from None
        if not 0 <= previous <= 366:
            raise CommandError("--previous must be between 0 and 366")
        lines = StatementLine.objects.filter(account_no=account)
        if not lines.exists():
            raise CommandError(f"no statement lines for account {account}")
        st = statements.projected_statement(lines, account_no=account, day=day, previous_days=previous)
        try:
            if out.endswith(".zip"):
                data = bundle.zip_for_statement(st)
            else:
                data = bundle.bundle_bytes(bundle.bundle_for_statement(st))
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        with open(out, "wb") as fh:
            fh.write(data)
        self.stdout.write(f"{out}: {st.line_count} line(s), closing balance {st.closing} fen")

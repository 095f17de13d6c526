"""Suspend (使用 → 暂停) every user and role whose expiry date has come. Run it daily (cron)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from fmis.iam.services import expire_due


class Command(BaseCommand):
    help = "使用 → 暂停 for users and roles whose expiry date is today or earlier"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="treat this day (YYYY-MM-DD) as today")

    def handle(self, *args, **opts):
        on = None
        if opts.get("date"):
            try:
                on = dt.date.fromisoformat(opts["date"])
            except ValueError:
                raise CommandError(f"--date must be YYYY-MM-DD, not {opts['date']!r}") from None
        done = expire_due(on=on)
        self.stdout.write(f"suspended {len(done['users'])} user(s), {len(done['roles'])} role(s)")
        for username in done["users"]:
            self.stdout.write(f"  user {username}")
        for code in done["roles"]:
            self.stdout.write(f"  role {code}")

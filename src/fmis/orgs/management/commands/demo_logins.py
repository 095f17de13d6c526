"""``fmis demo_logins``: print the demo logins (username, role, organisation, password)."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand

from fmis.orgs import demo


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


class Command(BaseCommand):
    help = "Print the demo logins: username, role, region/agency/bank and password."

    def add_arguments(self, parser):
        parser.add_argument("--role", help="only users holding this role code, e.g. budget_division")

    def handle(self, *args, role: str | None = None, **options):
        rows = demo.demo_logins(role=role)
        if not rows:
            self.stdout.write("没有演示用户：请先运行 fmis seed。")
            return
        header = ("用户编码", "用户名称", "角色", "机构", "密码")
        table = [header] + [(r.username, r.name, r.roles, r.organisation, r.password) for r in rows]
        widths = [max(display_width(row[i]) for row in table) for i in range(len(header))]
        for n, row in enumerate(table):
            self.stdout.write("  ".join(pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))

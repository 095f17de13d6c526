"""``fmis seed --scale small|medium|large [--if-empty]``: load the deterministic demo province.

After the organisations, demo roles and users (``fmis.orgs.demo``), every other fmis app whose
``demo`` module defines ``seed_demo(*, scale, write)`` is called in INSTALLED_APPS order, so later
modules add their demo data (budgets, payments, ...) to the same province.
"""

from __future__ import annotations

import importlib

from django.apps import apps
from django.core.management.base import BaseCommand

from fmis.orgs import demo


def app_demo_seeders() -> list:
    out = []
    for cfg in apps.get_app_configs():
        if not cfg.name.startswith("fmis.") or cfg.name == "fmis.orgs":
            continue
        try:
            mod = importlib.import_module(f"{cfg.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name == f"{cfg.name}.demo":
                continue
            raise
        fn = getattr(mod, "seed_demo", None)
        if callable(fn):
            out.append((cfg.label, fn))
    return out


class Command(BaseCommand):
    help = "Load the deterministic demo province 示例省 (organisations, roles, users and other modules' demo data)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(demo.SCALES), default="small",
                            help="small: a few dozen agencies; medium: about 10,000; large: about 100,000")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing if the demo province already exists")

    def handle(self, *args, scale: str, if_empty: bool, **options):
        def write(text: str) -> None:
            self.stderr.write(text, ending="")
            self.stderr.flush()

        report = demo.seed(scale=scale, if_empty=if_empty, write=write)
        if report.skipped:
            self.stdout.write(f"{demo.DEMO_PROVINCE_NAME}（{demo.DEMO_PROVINCE_CODE}）已存在，未重复加载。")
            return
        created = "，".join(f"{k} +{v}" for k, v in report.created.items())
        self.stdout.write(f"{demo.DEMO_PROVINCE_NAME}（{demo.DEMO_PROVINCE_CODE}，{scale}）已加载：{created}")
        for label, fn in app_demo_seeders():
            self.stdout.write(f"{label}: 加载演示数据 ...")
            fn(scale=scale, write=write)

"""The standard statements and the unit expenditure detail on a large balance table.

Run (with a settings module that installs ``fmis.reports``):

    .venv/bin/python benchmarks/reports_statements.py [--combos 4000] [--runs 9]

Uses its own database (``fmis_bench_reports`` on the embedded server, or ``FMIS_DB_NAME``), creates
and migrates it, and builds once one account set for 2026 whose balance table looks like the books
of a unit with millions of voucher lines: every leaf account has a row per period, and the expense
and budget-expenditure accounts (5001, 5101, 7101xx, 7201xx) and 6001xx carry ``--combos``
auxiliary combinations each (functional class × economic class × fund type × project), with
monthly debits and credits, running cumulative amounts and closings. The rows are COPYed in
directly (the statements read only the balance table; posting is benchmarked by ledger.py).

Prints the number of balance rows of one period and the median latency over ``--runs`` of each
statement (``fmis.reports.selectors.statement``) for December and of the unit expenditure detail;
``--try-index`` measures them again with a candidate covering index on the balance table
(``(account_set_id, period_id) INCLUDE (account_id, opening, debit, credit, cum_debit, cum_credit,
closing)``, which lets one period be read by an index-only scan), dropped afterwards.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FMIS_DB_NAME", "fmis_bench_reports")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")

YEAR = 2026
REGION = "980300"
AGENCY = "980300001"
FUNC = ["2010101", "2010102", "2010150", "2050202", "2050203", "2080501", "2100201", "2130101"]
DEPT_ECO = ["30101", "30102", "30103", "30108", "30201", "30202", "30205", "30206", "30211", "30216", "30226", "30301"]
FUND = ["11", "12", "2"]
PROJECTS = [""] + [f"P{i:03d}" for i in range(1, 41)]
WIDE = ("5001", "5101", "7101", "7201", "6001")


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        from fmis.platform import embedded_db

        embedded_db.ensure_database(os.environ["FMIS_DB_NAME"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if "fmis.reports" not in settings.INSTALLED_APPS:
        sys.exit("fmis.reports is not in INSTALLED_APPS: run with a settings module that installs it")
    call_command("migrate", verbosity=0, interactive=False)


def world():
    from django.db import transaction

    from fmis.accounting import services
    from fmis.accounting.models import AccountSet
    from fmis.dictionary.services import preload_standard
    from fmis.iam.functions import sync_functions
    from fmis.iam.models import User
    from fmis.orgs.models import Agency, Region

    admin = User.objects.filter(username="bench_reports_admin").first()
    if admin is not None:
        return admin, AccountSet.objects.get(code="BR1")
    print("building the bench world ...", flush=True)
    preload_standard()
    sync_functions()
    with transaction.atomic():
        region = Region.objects.create(code=REGION, name="报表压测市", level=2)
        agency = Agency.objects.create(code=AGENCY, name="报表压测事业单位", region=region)
        admin = User.objects.create_user("bench_reports_admin", "Bench@2026x", name="压测管理员",
                                         user_type=User.UserType.SUPER, region=region)
    aset = services.create_account_set(data=services.AccountSetInput(
        code="BR1", name="报表压测账套", start_year=YEAR, agency_id=agency.pk), user=admin)
    return admin, aset


def combos(rnd: random.Random, n: int) -> list[dict]:
    seen, out = set(), []
    while len(out) < n:
        c = (rnd.choice(FUNC), rnd.choice(DEPT_ECO), rnd.choice(FUND), rnd.choice(PROJECTS))
        if c in seen:
            continue
        seen.add(c)
        aux = {"func": c[0], "dept_eco": c[1], "fund_type": c[2]}
        if c[3]:
            aux["project"] = c[3]
        out.append(aux)
    return out


def build(aset, n_combos: int) -> None:
    import json

    from django.db import connection

    from fmis.accounting.models import Account, Balance, Period
    from fmis.accounting.services import aux_hash

    if Balance.objects.filter(account_set=aset).exists():
        return
    print("writing the balance rows ...", flush=True)
    rnd = random.Random(7)
    periods = list(Period.objects.filter(account_set=aset, year=YEAR).order_by("number").values_list("pk", "number"))
    buf = io.StringIO()
    rows = 0
    for acc in Account.objects.filter(account_set=aset, is_leaf=True).order_by("code"):
        keys = combos(rnd, n_combos) if acc.code.startswith(WIDE) else [{}]
        for aux in keys:
            closing = cum_d = cum_c = Decimal(0)
            aux_text, ahash = json.dumps(aux, ensure_ascii=False), aux_hash(aux)
            for pk, number in periods:
                d = Decimal(rnd.randint(0, 500000)) / 100 if number <= 12 else Decimal(0)
                c = Decimal(rnd.randint(0, 500000)) / 100 if number <= 12 else Decimal(0)
                opening = closing
                closing = opening + d - c
                cum_d += d
                cum_c += c
                buf.write(f"{aset.pk}\t{pk}\t{acc.pk}\t{ahash}\t{aux_text}\t{opening}\t{d}\t{c}\t{cum_d}\t{cum_c}"
                          f"\t{closing}\n")
                rows += 1
    buf.seek(0)
    with connection.cursor() as cur:
        with cur.copy("COPY accounting_balance (account_set_id, period_id, account_id, aux_hash, aux, opening, debit, "
                      "credit, cum_debit, cum_credit, closing) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        cur.execute("VACUUM ANALYZE accounting_balance")
    print(f"{rows:,} balance rows written")


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--combos", type=int, default=4000)
    p.add_argument("--runs", type=int, default=9)
    p.add_argument("--try-index", action="store_true")
    ns = p.parse_args()
    setup_django()
    from django.db import connection

    admin, aset = world()
    build(aset, ns.combos)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounting_balance b JOIN accounting_period p ON p.id = b.period_id "
                    "WHERE b.account_set_id = %s AND p.year = %s AND p.number = 12", [aset.pk, YEAR])
        print(f"balance rows of one period: {cur.fetchone()[0]:,}\n")
    measure(admin, aset, ns.runs)
    if ns.try_index:
        connection.ensure_connection()
        with connection.cursor() as cur:
            cur.execute("CREATE INDEX bench_reports_cover ON accounting_balance (account_set_id, period_id) "
                        "INCLUDE (account_id, opening, debit, credit, cum_debit, cum_credit, closing)")
            cur.execute("VACUUM ANALYZE accounting_balance")
        try:
            print("\nwith the covering index:")
            measure(admin, aset, ns.runs)
        finally:
            with connection.cursor() as cur:
                cur.execute("DROP INDEX bench_reports_cover")


def measure(admin, aset, runs: int) -> None:
    from fmis.reports.selectors import statement, statement_defs, unit_expenditure

    for d in statement_defs():
        ms = median_ms(lambda d=d: statement(user=admin, account_set_id=aset.pk, code=d.code, year=YEAR, period=12),
                       runs)
        print(f"{d.form_no:<10} {d.name:<14} {ms:8.1f} ms")
    ms = median_ms(lambda: unit_expenditure(user=admin, account_set_id=aset.pk, year=YEAR, period=12), runs)
    print(f"{'':<10} {'单位支出明细表':<14} {ms:8.1f} ms")

if __name__ == "__main__":
    main()

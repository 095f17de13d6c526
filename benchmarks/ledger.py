"""Government books at scale: bulk posting, trial balance, statements, detail ledger, Beancount.

Run: .venv/bin/python benchmarks/ledger.py [--vouchers 1000000] [--beancount-vouchers 100000]
                                          [--batch 25000] [--runs 7] [--skip-beancount] [--try-index]

Uses its own database (``fmis_bench_ledger`` on the embedded server, or ``FMIS_DB_NAME``), creates
and migrates it, and builds once (kept between runs; a set whose size differs is refused: drop the
database to rebuild) two account sets of one budget unit for 2026:

- ``BL1``: ``--vouchers`` vouchers (about 4 lines each, both bases: quota arrivals, authorized
  and direct payments, salaries accrued and paid, depreciation, service income, refunds), spread
  over the twelve months, with auxiliary values (functional and economic classes, fund type,
  pay mode, department, project) on the expense and budget-expenditure lines;
- ``BL2``: ``--beancount-vouchers`` vouchers of the same kind, for the Beancount comparison.

Both are loaded through ``fmis.accounting.bulk.import_vouchers`` in batches of ``--batch``
vouchers (validate, insert, number, post, move the balances, with every trigger on); each batch's
lines are also COPYed into an unindexed table, so the posting throughput is printed against a
plain COPY of the same rows. Then it prints the median over ``--runs`` of: the trial balance
(first-level and leaf level, a December period), the balance sheet through ``fmis.reports`` (when
that module is installed), the current detail ledger of one account for one month, and one page
(50 lines) of a one-account detail ledger in SQL (``--try-index`` adds it with a candidate index,
dropped afterwards); finally the trial balance of ``BL2`` recomputed by ``bean-query`` with its
cache off against ours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FMIS_DB_NAME", "fmis_bench_ledger")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")

YEAR = 2026
REGION = "980200"
AGENCY = "980200001"
# a unit works in a few functional classes and a dozen economic classes
FUNC = ["2010101", "2010102", "2010150", "2010601", "2010602", "2010650"]
GOV_ECO = ["50101", "50102", "50103", "50201", "50202", "50205", "50206", "50209", "50299", "50306"]
FUND = ["11", "12", "2"]
DEPARTMENTS = [f"D{i:02d}" for i in range(1, 11)]
PROJECTS = [f"P{i:03d}" for i in range(1, 11)]
CENT = Decimal("0.01")


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        from fmis.platform import embedded_db

        embedded_db.ensure_database(os.environ["FMIS_DB_NAME"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def figures_table() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_ledger_figures (key text PRIMARY KEY, value jsonb NOT NULL)")


def save_figure(key: str, value: dict) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("INSERT INTO bench_ledger_figures VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
                    "EXCLUDED.value", [key, json.dumps(value)])


def load_figure(key: str) -> dict | None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT value FROM bench_ledger_figures WHERE key = %s", [key])
        row = cur.fetchone()
    return (json.loads(row[0]) if isinstance(row[0], str) else row[0]) if row else None


def world():
    """The region, unit, an administrator and the departments/projects (created once)."""
    from django.db import transaction

    from fmis.dictionary.services import preload_standard
    from fmis.iam.functions import sync_functions
    from fmis.iam.models import User
    from fmis.orgs.models import Agency, Region

    admin = User.objects.filter(username="bench_ledger_admin").first()
    if admin is not None:
        return admin, Agency.objects.get(code=AGENCY)
    print("building the bench world ...", flush=True)
    preload_standard()
    sync_functions()
    with transaction.atomic():
        region = Region.objects.create(code=REGION, name="账务压测市", level=2)
        agency = Agency.objects.create(code=AGENCY, name="账务压测事业单位", region=region)
        admin = User.objects.create_user("bench_ledger_admin", "Bench@2026x", name="压测管理员",
                                         user_type=User.UserType.SUPER, region=region)
    return admin, agency


def account_set(code: str, name: str, agency, admin, primary: bool):
    from fmis.accounting import services
    from fmis.accounting.models import AccountSet, AuxItem

    aset = AccountSet.objects.filter(code=code).first()
    if aset is None:
        aset = services.create_account_set(data=services.AccountSetInput(
            code=code, name=name, start_year=YEAR, agency_id=agency.pk, is_primary=primary), user=admin)
        AuxItem.objects.bulk_create(
            [AuxItem(account_set=aset, element="department", code=c, name=f"部门{c}") for c in DEPARTMENTS]
            + [AuxItem(account_set=aset, element="project", code=c, name=f"项目{c}") for c in PROJECTS])
    return aset


# --- the generator ---------------------------------------------------------------------------------

def money(rnd: random.Random, lo: int, hi: int) -> Decimal:
    return (Decimal(rnd.randint(lo, hi)) * CENT).quantize(CENT)


def voucher_lines(rnd: random.Random, ref: str, on: dt.date):
    """One realistic voucher (both bases where cash moves in the budget) as BulkLines."""
    from fmis.accounting.bulk import BulkLine

    kind = rnd.random()
    func, eco, fund = rnd.choice(FUNC), rnd.choice(GOV_ECO), rnd.choice(FUND[:2])
    dept = rnd.choice(DEPARTMENTS)
    a = money(rnd, 1_000, 5_000_000)
    exp_aux = {"func": func, "gov_eco": eco, "fund_type": fund, "department": dept}
    if rnd.random() < 0.2:
        exp_aux["project"] = rnd.choice(PROJECTS)

    def L(code, d=None, c=None, summary="", aux=None):
        return BulkLine(voucher_ref=ref, date=on, account_code=code, debit=d or 0, credit=c or 0, summary=summary,
                        aux=aux or {})

    if kind < 0.35:  # office expense paid from the zero-balance account
        s = "零余额账户支付办公费"
        return [L("5001", a, summary=s, aux=exp_aux), L("1011", c=a, aux={"fund_type": fund}),
                L("720101", a, aux={"func": func, "gov_eco": eco, "fund_type": fund, "pay_mode": "authorized"}),
                L("800101", c=a, aux={"fund_type": fund})]
    if kind < 0.55:  # direct payment by the treasury
        s = "财政直接支付"
        return [L("5001", a, summary=s, aux=exp_aux), L("4001", c=a, aux={"func": func, "fund_type": fund,
                                                                          "pay_mode": "direct"}),
                L("720101", a, aux={"func": func, "gov_eco": eco, "fund_type": fund, "pay_mode": "direct"}),
                L("600101", c=a, aux={"func": func, "fund_type": fund, "pay_mode": "direct"})]
    if kind < 0.65:  # quota arrival
        s = "授权支付额度到账"
        return [L("1011", a * 4, summary=s, aux={"fund_type": fund}),
                L("4001", c=a * 4, aux={"func": func, "fund_type": fund, "pay_mode": "authorized"}),
                L("800101", a * 4, aux={"fund_type": fund}),
                L("600101", c=a * 4, aux={"func": func, "fund_type": fund, "pay_mode": "authorized"})]
    if kind < 0.75:  # salaries accrued and paid (five lines: business and administrative expense)
        b = money(rnd, 1_000, 3_000_000)
        s = "计提并发放工资"
        return [L("5001", a, summary=s, aux=exp_aux), L("5101", b, aux={**exp_aux, "gov_eco": "50101"}),
                L("1011", c=a + b, aux={"fund_type": fund}),
                L("720101", a + b, aux={"func": func, "gov_eco": "50101", "fund_type": fund, "pay_mode": "authorized"}),
                L("800101", c=a + b, aux={"fund_type": fund})]
    if kind < 0.85:  # depreciation (financial only, three lines)
        b = money(rnd, 1_000, 500_000)
        s = "计提固定资产折旧"
        return [L("5001", a, summary=s, aux=exp_aux), L("5101", b, aux=exp_aux), L("1602", c=a + b)]
    if kind < 0.95:  # service income received
        s = "收到事业收入"
        return [L("1002", a, summary=s), L("4101", c=a), L("800102", a), L("610102", c=a)]
    s = "购置办公设备"  # asset bought from the zero-balance account
    return [L("1601", a, summary=s), L("1011", c=a, aux={"fund_type": fund}),
            L("720101", a, aux={"func": func, "gov_eco": "50206", "fund_type": fund, "pay_mode": "authorized"}),
            L("800101", c=a, aux={"fund_type": fund})]


def month_batches(n: int, batch: int, seed: int):
    """(batch number, month, lines) for n vouchers spread evenly over the year."""
    rnd = random.Random(seed)
    per_month = [n // 12 + (1 if m < n % 12 else 0) for m in range(12)]
    bno = 0
    for m, count in enumerate(per_month, start=1):
        last_day = (dt.date(YEAR + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)).day
        done = 0
        while done < count:
            k = min(batch, count - done)
            lines = []
            for i in range(k):
                on = dt.date(YEAR, m, 1 + (done + i) * last_day // count)
                lines += voucher_lines(rnd, f"{m:02d}-{done + i + 1:07d}", on)
            bno += 1
            yield bno, m, lines
            done += k


COPY_TABLE = "bench_copy_lines"


def copy_plain(lines) -> float:
    """COPY the same rows into an unindexed table; returns seconds."""
    from django.db import connection, transaction

    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur, cur.copy(f"COPY {COPY_TABLE} FROM STDIN") as copy:
        for li in lines:
            copy.write_row((li.voucher_ref, li.date, li.period_number, li.category_code, li.attachments,
                            li.summary, li.account_code, li.debit, li.credit, json.dumps(li.aux)))
    return time.perf_counter() - t0


def build_set(aset, admin, n: int, batch: int, seed: int, label: str) -> dict:
    from django.db import connection

    from fmis.accounting import bulk
    from fmis.accounting.models import Voucher

    have = Voucher.objects.filter(account_set=aset).count()
    if have:
        if have != n:
            raise SystemExit(f"{aset.code} holds {have:,} vouchers, not {n:,}: drop the database "
                             f"(fmis db psql, DROP DATABASE {os.environ['FMIS_DB_NAME']}) and run again")
        return load_figure(f"post:{aset.code}") or {}
    with connection.cursor() as cur:
        cur.execute(f"""DROP TABLE IF EXISTS {COPY_TABLE};
            CREATE TABLE {COPY_TABLE} (ref text, vdate date, period_no smallint, category_code text,
                attachments integer, summary text, account_code text, debit numeric(20, 2),
                credit numeric(20, 2), aux jsonb)""")
    print(f"{label}: loading {n:,} vouchers in batches of {batch:,} ...", flush=True)
    t_bulk = t_copy = 0.0
    total_lines = 0
    started = time.perf_counter()
    for bno, month, lines in month_batches(n, batch, seed):
        t0 = time.perf_counter()
        res = bulk.import_vouchers(account_set_id=aset.pk, lines=lines, batch_key=f"bench-{seed}-{bno}", user=admin)
        dt_bulk = time.perf_counter() - t0
        dt_copy = copy_plain(lines)
        t_bulk += dt_bulk
        t_copy += dt_copy
        total_lines += res.lines
        print(f"  batch {bno:3d} (month {month:2d}): {res.vouchers:,} vouchers, {res.lines:,} lines, "
              f"bulk {res.lines / dt_bulk:,.0f} lines/s, COPY {res.lines / dt_copy:,.0f} lines/s; "
              f"{total_lines:,} lines in {time.perf_counter() - started:,.0f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {COPY_TABLE}")
    fig = {"vouchers": n, "lines": total_lines, "bulk_s": t_bulk, "copy_s": t_copy, "batch": batch}
    save_figure(f"post:{aset.code}", fig)
    return fig


# --- measurements ----------------------------------------------------------------------------------

def median_ms(fn, runs: int) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def balance_sheet_fn(admin, aset):
    """A callable computing the balance sheet through fmis.reports, or (None, reason)."""
    from django.conf import settings

    if "fmis.reports" not in settings.INSTALLED_APPS:
        return None, "fmis.reports is not in INSTALLED_APPS"
    try:
        from fmis.reports.selectors import statement
    except ImportError as exc:
        return None, f"fmis.reports.selectors.statement is not available ({exc})"
    errors = []
    for code in ("balance_sheet", "会政财01表", "zcfzb", "BS"):
        try:
            statement(user=admin, account_set_id=aset.pk, code=code, year=YEAR, period=12)
        except Exception as exc:  # noqa: BLE001 - trying the statement codes the module may use
            errors.append(f"{code}: {exc}")
            continue
        return (lambda code=code: statement(user=admin, account_set_id=aset.pk, code=code, year=YEAR, period=12)), code
    return None, "no balance-sheet code accepted: " + "; ".join(errors)


PAGE_SQL = """
WITH page AS (
    SELECT v.date, v.series, v.number, l.line_no, l.summary, l.debit, l.credit, l.aux
    FROM accounting_voucherline l JOIN accounting_voucher v ON v.id = l.voucher_id
    WHERE l.account_id = %(account)s AND v.period_id = %(period)s AND v.status = 'posted'
    ORDER BY v.date, v.series, v.number, l.line_no
    LIMIT 50
)
SELECT page.*, (SELECT coalesce(sum(opening), 0) FROM accounting_balance
                 WHERE period_id = %(period)s AND account_id = %(account)s)
       + sum(debit - credit) OVER (ORDER BY date, series, number, line_no) AS balance
FROM page ORDER BY date, series, number, line_no
"""
CANDIDATE_INDEX = ("CREATE INDEX bench_acc_voucher_page ON accounting_voucher "
                   "(period_id, date, series, number) WHERE status = 'posted'")


def measure(aset, admin, runs: int, try_index: bool) -> None:
    from django.db import connection

    from fmis.accounting import selectors
    from fmis.accounting.models import Account, Period

    tb1 = median_ms(lambda: selectors.trial_balance(user=admin, aset_id=aset.pk, year=YEAR, number=12, level=1), runs)
    tb3 = median_ms(lambda: selectors.trial_balance(user=admin, aset_id=aset.pk, year=YEAR, number=12, level=3), runs)
    print(f"trial balance, first level, period 12:      {tb1:8.1f} ms")
    print(f"trial balance, leaf level, period 12:       {tb3:8.1f} ms")
    fn, info = balance_sheet_fn(admin, aset)
    if fn is None:
        print(f"balance sheet (资产负债表): not measured: {info}")
    else:
        print(f"balance sheet (资产负债表, code {info}):   {median_ms(fn, runs):8.1f} ms")
    june = Period.objects.get(account_set=aset, year=YEAR, number=6)
    for code in ("1602", "5101"):
        acc = Account.objects.get(account_set=aset, code=code)
        ms = median_ms(lambda code=code: selectors.detail_ledger(user=admin, aset_id=aset.pk, code=code, year=YEAR,
                                                                 number_from=6, number_to=6), max(3, runs // 2))
        print(f"detail ledger {code}, June, all lines (export selector): {ms:8.1f} ms")
        for n in (1, 10):
            ms = median_ms(lambda code=code, n=n: selectors.detail_ledger_page(
                user=admin, aset_id=aset.pk, code=code, year=YEAR, number_from=6, number_to=6, page=n), runs)
            print(f"detail ledger {code}, June, screen page {n} of 100 lines: {ms:8.1f} ms")

        def page(acc=acc):
            with connection.cursor() as cur:
                cur.execute(PAGE_SQL, {"account": acc.pk, "period": june.pk})
                return cur.fetchall()

        print(f"detail ledger {code}, June, one page of 50 (SQL):   {median_ms(page, runs):8.1f} ms")
        if try_index:
            with connection.cursor() as cur:
                cur.execute(CANDIDATE_INDEX)
                cur.execute("ANALYZE accounting_voucher")
            try:
                print(f"  ... with {CANDIDATE_INDEX[13:]}: {median_ms(page, runs):8.1f} ms")
            finally:
                with connection.cursor() as cur:
                    cur.execute("DROP INDEX bench_acc_voucher_page")


def beancount_vs_ours(aset, admin, runs: int) -> None:
    from fmis.accounting import beancount, selectors

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{aset.code}.beancount"
        t0 = time.perf_counter()
        with open(path, "w", encoding="utf-8") as out:
            beancount.write_ledger(aset, out, year=YEAR)
        print(f"Beancount export of {aset.code}: {path.stat().st_size / 1e6:,.1f} MB in "
              f"{time.perf_counter() - t0:,.1f} s", flush=True)
        bq = Path(sys.executable).with_name("bean-query")
        env = {**os.environ, "BEANCOUNT_DISABLE_LOAD_CACHE": "1"}
        query = "SELECT account, sum(number) AS total GROUP BY account ORDER BY account"
        times = []
        for _ in range(max(1, min(runs, 3))):
            t0 = time.perf_counter()
            done = subprocess.run([str(bq), "-f", "csv", str(path), query], env=env, capture_output=True, text=True,
                                  check=False)
            times.append(time.perf_counter() - t0)
            if done.returncode != 0:
                raise SystemExit(f"bean-query failed: {done.stderr[:2000]}")
        theirs = statistics.median(times) * 1000
    ours = median_ms(lambda: selectors.trial_balance(user=admin, aset_id=aset.pk, year=YEAR, number=12, level=3), runs)
    print(f"trial balance of {aset.code}: bean-query (cache off) {theirs:,.0f} ms, ours {ours:,.1f} ms, "
          f"ratio {theirs / ours:,.0f}×")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vouchers", type=int, default=1_000_000)
    p.add_argument("--beancount-vouchers", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=25_000)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--skip-beancount", action="store_true")
    p.add_argument("--try-index", action="store_true")
    ns = p.parse_args()
    setup_django()
    figures_table()
    admin, agency = world()
    big = account_set("BL1", "压测账套（大）", agency, admin, True)
    fig = build_set(big, admin, ns.vouchers, ns.batch, 1, "BL1")
    if fig:
        print(f"\nposting {fig['lines']:,} lines ({fig['vouchers']:,} vouchers, batches of {fig['batch']:,}): "
              f"bulk path {fig['lines'] / fig['bulk_s']:,.0f} lines/s, plain COPY {fig['lines'] / fig['copy_s']:,.0f} "
              f"lines/s, ratio COPY/bulk {fig['bulk_s'] / fig['copy_s']:.1f}")
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE accounting_voucherline")
        cur.execute("VACUUM ANALYZE accounting_voucher")
        cur.execute("VACUUM ANALYZE accounting_balance")
        cur.execute("SELECT count(*) FROM accounting_balance WHERE account_set_id = %s", [big.pk])
        print(f"balance rows of BL1: {cur.fetchone()[0]:,}\n")
    measure(big, admin, ns.runs, ns.try_index)
    if not ns.skip_beancount:
        small = account_set("BL2", "压测账套（Beancount 对照）", agency, admin, False)
        build_set(small, admin, ns.beancount_vouchers, ns.batch, 2, "BL2")
        print()
        beancount_vs_ours(small, admin, ns.runs)


if __name__ == "__main__":
    main()

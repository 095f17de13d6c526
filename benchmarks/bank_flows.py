"""Bank flows: importing 1,000,000 flow lines through the exchange centre, against a plain COPY of
the same rows, and the supervision reports over 10,000 accounts and those flows.

Run:
    .venv/bin/python benchmarks/bank_flows.py [--lines 1000000] [--accounts 10000] [--days 20] [--runs 5]

Uses its own database (``fmis_bench_bankflows`` on the embedded server, or ``FMIS_DB_NAME``), dropped
and rebuilt on every run. Set-up: one region, 100 supervising departments with their units (one
account each, ``--accounts`` in all, across 3 banks, inserted in bulk: set-up is not what is
measured). The flows are written by the bank simulator's CSV writer as one message per bank and
day (``--days`` days × 3 banks), then:

1. imported with ``services.import_message`` (staging COPY, one statement that checks the lines,
   inserts the flows and maintains the daily and running totals, commit), file after file, timed
   as a whole: lines per second, and where the time went (reading and COPY into the staging table;
   the checking and inserting statement; everything else: permission checks, the batch row, the
   audit record, the commit);
2. the baselines, each one COPY and one commit per message file, of exactly the same record lines:
   a plain ``COPY … FROM STDIN (FORMAT csv)`` into a table of the same ten columns without any
   index or constraint (the target's baseline: ratio ≥ 0.3), and a COPY into a table shaped like
   the flows table (same columns, indexes and check constraints, the bank, batch and date filled in
   by column defaults; no validation, no de-duplication, no account lookup, no totals), which shows
   what the table's own indexes cost;
3. peak memory: the process's peak RSS before and after the import (``ru_maxrss``), and the
   largest Python allocation peak during one import (``tracemalloc``);
4. each report's median time over ``--runs`` runs for a user without restriction and for a
   province reader restricted by region (target under 1 s each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FMIS_DB_NAME", "fmis_bench_bankflows")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")

REGION = "980300"
BANKS = (("971", "基准工商银行"), ("972", "基准农业银行"), ("973", "基准建设银行"))


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        import psycopg

        from fmis.platform import embedded_db

        params = embedded_db.ensure_running()
        name = os.environ["FMIS_DB_NAME"]
        with psycopg.connect(host=params["HOST"], user=params["USER"], dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command

    if not apps.is_installed("fmis.bankaccounts"):
        sys.exit("fmis.bankaccounts is not installed: run with a settings module that includes it")
    call_command("migrate", verbosity=0, interactive=False)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(accounts: int, start: dt.date) -> tuple[list[tuple[str, str]], object, object]:
    """Region, agencies, banks, accounts (bulk) and two users; returns [(bank code, account no)]."""
    from fmis.bankaccounts.models import BankAccount
    from fmis.iam.functions import sync_functions
    from fmis.iam.models import DataRule, Function, Role, RoleFunction, User, UserRole
    from fmis.orgs.models import Agency, Bank, Region

    sync_functions()
    region = Region.objects.create(code=REGION, name="基准市", level=2)
    banks = [Bank.objects.create(code=c, name=n) for c, n in BANKS]
    depts = Agency.objects.bulk_create([Agency(code=f"{REGION}{101 + d:03d}", name=f"基准部门{d + 1}", region=region)
                                        for d in range(100)])
    per = max(accounts // 100 - 1, 0)
    units = Agency.objects.bulk_create([Agency(code=f"{dep.code}{k + 1:03d}", name=f"{dep.name}下属单位{k + 1}",
                                               region=region, parent=dep) for dep in depts for k in range(per)])
    agencies = (depts + units)[:accounts]
    by_code = {a.code: a for a in depts}
    rows = []
    for i, a in enumerate(agencies):
        bank = banks[i % 3]
        dept = a if a.parent_id is None else by_code[a.code[:9]]
        rows.append(BankAccount(number=f"{bank.code}{a.code:0>15}", name=f"{a.name}账户", agency=a, department=dept,
                                region=region, bank=bank, nature="general" if a.parent_id else "basic",
                                currency="CNY" if i % 10 else "USD", opened_on=start - dt.timedelta(days=365),
                                opening_balance=Decimal("100000.00"), initialized_on=start - dt.timedelta(days=1)))
    BankAccount.objects.bulk_create(rows, batch_size=5000)
    clerk = User.objects.create(username="bench_treasury", name="基准国库处", region=region)
    reader = User.objects.create(username="bench_reader", name="基准查询", region=region)
    treasury_role = Role.objects.create(code="bench_bank_treasury", name="基准国库处")
    reader_role = Role.objects.create(code="bench_bank_reader", name="基准查询")
    codes = list(Function.objects.filter(code__startswith="bankaccounts").values_list("pk", "code"))
    RoleFunction.objects.bulk_create([RoleFunction(role=treasury_role, function_id=pk) for pk, _c in codes])
    RoleFunction.objects.bulk_create([RoleFunction(role=reader_role, function_id=pk) for pk, c in codes
                                      if c.endswith("view")])
    for role in (treasury_role, reader_role):
        DataRule.objects.create(role=role, dimension="region", kind="own_region_tree", values=[])
    UserRole.objects.create(user=clerk, role=treasury_role)
    UserRole.objects.create(user=reader, role=reader_role)
    return [(r.bank.code, r.number, r.currency) for r in rows], clerk, reader


def write_files(folder: Path, accounts: list, lines: int, days: list[dt.date]) -> list[Path]:
    """One CSV flows message per bank and day, `lines` records in all, every account every few days."""
    from fmis.banksim import flows as sim

    per_file = lines // (len(days) * 3)
    extra = lines - per_file * len(days) * 3
    by_bank = {code: [a for a in accounts if a[0] == code] for code, _n in BANKS}
    paths = []
    n = 0
    for d_i, day in enumerate(days):
        for b_i, (code, _name) in enumerate(BANKS):
            count = per_file + (1 if d_i * 3 + b_i < extra else 0)
            accts = by_bank[code]
            base = dt.datetime.combine(day, dt.time(8))

            def rows(count=count, accts=accts, base=base, day=day, code=code, d_i=d_i):
                for k in range(count):
                    _b, number, currency = accts[(k * 7 + d_i) % len(accts)]
                    cents = 100 + (k * 7919) % 2_000_000
                    yield sim.Flow(number, f"{code}{day:%Y%m%d}{k:08d}", base + dt.timedelta(seconds=k % 36000),
                                   "C" if k % 3 == 0 else "D", Decimal(cents) / 100, currency, Decimal("0.00"),
                                   "某某供应商有限公司", "6222020000123456", "采购付款")

            path = folder / f"{code}_{day:%Y%m%d}.csv"
            with open(path, "wb") as fh:
                fh.writelines(sim.iter_flows_csv(code, day, rows()))
            paths.append(path)
            n += count
    assert n == lines
    return paths


def plain_copy(paths: list[Path]) -> float:
    """COPY the same record lines into a plain table (same columns, no index, no constraint), one
    COPY and one commit per message file."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("""CREATE TABLE IF NOT EXISTS bench_plain_flows (account_no varchar(32), serial_no varchar(64),
                       tx_time timestamp, direction varchar(1), amount numeric(20, 2), currency varchar(3),
                       balance numeric(20, 2), counterparty_name varchar(200), counterparty_account varchar(40),
                       summary varchar(200))""")
        cur.execute("TRUNCATE bench_plain_flows")
    t0 = time.perf_counter()
    for path in paths:  # one transaction per file, as the import commits once per message
        with transaction.atomic(), connection.cursor() as cur, open(path, "rb") as fh:
            _copy_body(cur, fh, "bench_plain_flows")
    return time.perf_counter() - t0


COLUMNS = ("account_no, serial_no, tx_time, direction, amount, currency, balance, counterparty_name, "
           "counterparty_account, summary")


def _copy_body(cur, fh, table: str) -> None:
    fh.readline()
    fh.readline()  # the two header lines
    with cur.cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN WITH (FORMAT csv)") as cp:
        while chunk := fh.read(256 * 1024):
            cp.write(chunk)


def shaped_copy(paths: list[Path]) -> float:
    """COPY the same record lines into a table shaped like the flows table (its columns, indexes
    and check constraints; bank, batch, account and date from column defaults set per file), one
    COPY and one commit per message file."""
    from django.db import connection, transaction

    from fmis.orgs.models import Bank

    banks = dict(Bank.objects.values_list("code", "pk"))
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_shaped_flows")
        cur.execute("CREATE TABLE bench_shaped_flows (LIKE bankaccounts_bankflow INCLUDING ALL)")
        # the imported flows belong to registered accounts: a non-null account keeps the rows out of
        # the partial index on unregistered accounts, as in the import
        cur.execute("ALTER TABLE bench_shaped_flows ALTER batch_id SET DEFAULT 0, ALTER account_id SET DEFAULT 0")
    t0 = time.perf_counter()
    for path in paths:
        code, day = path.stem.split("_")
        with transaction.atomic(), connection.cursor() as cur, open(path, "rb") as fh:
            cur.execute(f"ALTER TABLE bench_shaped_flows ALTER bank_id SET DEFAULT {int(banks[code])}, "
                        f"ALTER tx_date SET DEFAULT '{dt.datetime.strptime(day, '%Y%m%d').date()}'")
            _copy_body(cur, fh, "bench_shaped_flows")
    return time.perf_counter() - t0


class Phases:
    """Wall time spent in the import's phases (wrapping the service's internal steps)."""

    def __init__(self):
        self.copy = self.load = self.commit = 0.0

    def install(self, services, connection) -> None:
        def timed_step(fn, attr):
            def run(*a, **k):
                t0 = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    setattr(self, attr, getattr(self, attr) + time.perf_counter() - t0)
            return run

        services._copy_message = timed_step(services._copy_message, "copy")
        services._insert_flows = timed_step(services._insert_flows, "load")
        connection._commit = timed_step(connection._commit, "commit")

    def uninstall(self, connection) -> None:
        del connection._commit


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    setup_django()
    from django.db import connection

    from fmis.bankaccounts import selectors, services
    from fmis.iam.models import User

    today = dt.date.today()
    days = [today - dt.timedelta(days=args.days - i) for i in range(args.days)]
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    t0 = time.perf_counter()
    accounts, clerk, reader = build(args.accounts, days[0])
    print(f"set-up: {len(accounts):,} accounts in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory(prefix="fmis-bench-flows-") as tmp:
        t0 = time.perf_counter()
        paths = write_files(Path(tmp), accounts, args.lines, days)
        size = sum(p.stat().st_size for p in paths)
        print(f"messages: {len(paths)} CSV files, {args.lines:,} lines, {size / 2**20:.0f} MB, "
              f"written in {time.perf_counter() - t0:.1f} s")
        rss_before = rss_mb()
        phases = Phases()
        phases.install(services, connection)
        tracemalloc.start()
        py_peak = 0
        t0 = time.perf_counter()
        inserted = 0
        for path in paths:
            tracemalloc.reset_peak()
            with open(path, "rb") as fh:
                r = services.import_message(user=clerk, stream=fh, filename=path.name, max_bytes=1 << 30)
            inserted += r.inserted
            py_peak = max(py_peak, tracemalloc.get_traced_memory()[1])
        import_s = time.perf_counter() - t0
        phases.uninstall(connection)
        tracemalloc.stop()
        rss_after = rss_mb()
        assert inserted == args.lines, inserted
        copy_s = plain_copy(paths)
        shaped_s = shaped_copy(paths)
        # a second delivery of one file changes nothing
        with open(paths[0], "rb") as fh:
            assert services.import_message(user=clerk, stream=fh, max_bytes=1 << 30).redelivered
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM bankaccounts_accountday")
        day_rows = cur.fetchone()[0]
        cur.execute("DROP TABLE IF EXISTS bench_plain_flows, bench_shaped_flows")
    imp_rate, copy_rate, shaped_rate = args.lines / import_s, args.lines / copy_s, args.lines / shaped_s
    print(f"\nmachine load (1, 5, 15 min) before the import: {load_before}")
    print(f"import through the exchange centre: {import_s:.1f} s, {imp_rate:,.0f} lines/s")
    other = import_s - phases.copy - phases.load - phases.commit
    print(f"  reading + COPY into the staging table {phases.copy:.1f} s; checking + inserting statement "
          f"{phases.load:.1f} s; commit {phases.commit:.1f} s; the rest (permissions, batch row, audit) {other:.1f} s")
    print(f"plain COPY of the same lines:        {copy_s:.1f} s, {copy_rate:,.0f} lines/s")
    print(f"ratio import / plain COPY: {imp_rate / copy_rate:.2f}  (target >= 0.3)")
    print(f"COPY into a table shaped like the flows table (its indexes and checks): {shaped_s:.1f} s, "
          f"{shaped_rate:,.0f} lines/s; ratio import / that COPY: {imp_rate / shaped_rate:.2f}")
    print(f"peak RSS: {rss_before:.0f} MB before the import, {rss_after:.0f} MB after "
          f"(+{rss_after - rss_before:.0f} MB); Python allocation peak during one import: {py_peak / 2**20:.1f} MB")
    print(f"daily totals: {day_rows:,} account-day rows")

    superuser = User.objects.create(username="bench_super", name="基准超级用户", user_type=User.UserType.SUPER)
    number = accounts[len(accounts) // 2][1]
    agency_code = f"{REGION}150"
    reports = [
        ("财政资金部门分布表", "department", {}),
        ("财政资金预算单位分布表（全部单位）", "unit", {}),
        ("财政资金预算单位分布表（余额大于 100000）", "unit", {"balance_gt": Decimal(100000)}),
        ("财政资金银行分布表", "bank", {}),
        ("账户初始化余额构成表（一个部门）", "initial", {"agency": agency_code}),
        ("账户交易流水明细表（一个账户，全期）", "flows", {"number": number}),
        ("账户余额明细表（一个部门）", "balances", {"agency": agency_code}),
        ("预算单位账户统计表", "counts", {}),
        ("账户变更情况统计表", "changes", {}),
        ("账户变更情况明细表", "change_detail", {}),
    ]
    print(f"\nreports over {len(accounts):,} accounts and {args.lines:,} flows (median of {args.runs} runs):")
    print(f"  {'report':<40} {'unrestricted':>14} {'region reader':>14}")
    for label, name, extra in reports:
        f = selectors.Filters(date_from=days[0], date_to=today, **extra)
        _fn, fn = selectors.REPORTS[name]
        times = []
        for user in (superuser, reader):
            times.append(timed(lambda fn=fn, user=user, f=f: fn(user=user, filters=f), args.runs))
        print(f"  {label:<40} {times[0] * 1000:>11.0f} ms {times[1] * 1000:>11.0f} ms")
    for label, fn in (("账户核对：未登记账户", lambda u: selectors.unregistered_accounts(user=u, date_from=days[0],
                                                                                  date_to=today)),
                      ("账户核对：无流水账户", lambda u: list(selectors.silent_accounts(user=u, date_from=days[-1],
                                                                                  date_to=today)[:500])),
                      ("账户核对：余额不符", lambda u: selectors.balance_mismatches(user=u, day=today)),
                      ("流水缺勤表（20 天）", lambda u: selectors.absence(user=u, date_from=days[0], date_to=days[-1]))):
        times = [timed(lambda fn=fn, u=u: fn(u), args.runs) for u in (superuser, reader)]
        print(f"  {label:<40} {times[0] * 1000:>11.0f} ms {times[1] * 1000:>11.0f} ms")
    print(f"\nmachine load after the reports: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

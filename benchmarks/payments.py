"""Treasury payments from application to settlement, against pgbench on the same server.

Run: .venv/bin/python benchmarks/payments.py [--workers 16] [--seconds 15] [--runs 3] [--spread 10000]
     [--mode both|batched|per-item] [--batch 20] [--sets hot,spread]

Uses its own database (``fmis_bench_pay`` on the embedded server, or ``FMIS_DB_NAME``), creates
and migrates it, and creates once a region, 100 budget units, an agent bank with its accounts, a
hot set of 10 indicators and a spread set of ``--spread`` indicators (``--fresh`` rebuilds them).
N worker processes each loop: create a payment application, submit it (reservation on the
indicator), approve it on the review chain (voucher generated, signed with SM2 and queued in the
outbox), and apply the bank's receipt through the service (consumption) — no simulator, no HTTP.
Two paths: per item (every step one service call) and batched, the way a treasury works at volume
(units submit one by one; the treasury approves a batch in one review action, 批量审核; the
vouchers go to the bank as one message per bank, 批量发送; the bank answers with one receipt batch,
回单批量报文). Every payment keeps its own rows, movements, events and audit records either way.
For each set it prints settled payments per second and the p50/p99 latency of one whole cycle,
then runs pgbench (tpcb-like, scale 10, the same number of clients, the same server) and prints
the ratio settled payments/s ÷ pgbench tps, and the SQL statements and transactions per settled
payment. Each figure is the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FMIS_DB_NAME", "fmis_bench_pay")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")

REGION = "980100"
AGENCIES = 100
YEAR = 2026
PGBENCH_DB = "fmis_bench_pgbench"


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        from fmis.platform import embedded_db

        embedded_db.ensure_database(os.environ["FMIS_DB_NAME"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def build(spread: int, fresh: bool) -> dict:
    """The bench world (created once): returns ids of users and of the two indicator sets."""
    from django.db import transaction

    from fmis.dictionary.services import preload_standard
    from fmis.iam.functions import all_functions, sync_functions
    from fmis.iam.models import DataRule, Function, Role, RoleFunction, User, UserRole
    from fmis.indicators.models import Indicator, Movement
    from fmis.orgs.models import Agency, Bank, Region
    from fmis.treasury import services

    region = Region.objects.filter(code=REGION).first()
    if region is not None and fresh:
        raise SystemExit("--fresh: drop the database first (dropdb fmis_bench_pay) and run again")
    if region is None:
        print("building the bench world ...", flush=True)
        preload_standard()
        sync_functions()
        with transaction.atomic():
            region = Region.objects.create(code=REGION, name="压测市", level=2)
            agencies = Agency.objects.bulk_create(
                [Agency(code=f"{REGION}{i:03d}", name=f"压测单位{i}", region=region) for i in range(AGENCIES)])
            bank = Bank.objects.create(code="BB1", name="压测银行")
            codes = [f.code for f in all_functions()]

            def role(code, fns, dim, kind):
                r = Role.objects.create(code=code, name=code)
                for fc in fns:
                    RoleFunction.objects.create(role=r, function=Function.objects.get(code=fc))
                DataRule.objects.create(role=r, dimension=dim, kind=kind, values=[])
                return r

            unit = role("bench_unit", [c for c in codes if c.startswith(("treasury.application.", "treasury.plan."))],
                        "region", "own_region_tree")
            trs = role("bench_trs", [c for c in codes if c.startswith("treasury.")], "region", "own_region_tree")
            bnk = role("bench_bank", [c for c in codes if c.startswith("treasury.bank.")] + ["treasury.voucher.view"],
                       "bank", "own_bank")
            admin = User.objects.create_user("bench_admin", "Bench@2026x", name="admin", user_type=User.UserType.SUPER,
                                             region=region)
            for name, r, extra in (("bench_unit", unit, {"region": region}), ("bench_trs", trs, {"region": region}),
                                   ("bench_bank", bnk, {"bank": bank, "org_type": User.OrgType.BANK})):
                u = User.objects.create_user(name, "Bench@2026x", name=name, **extra)
                UserRole.objects.create(user=u, role=r)
            for a in agencies:
                services.set_payer_account(region_id=region.pk, agency_id=a.pk, pay_mode="authorized",
                                           bank_id=bank.pk, account_no=f"62220000{a.pk:08d}",
                                           account_name=f"{a.name}零余额账户", user=admin)
            sets = [("HOT", 10), ("SPR", spread)]
            total = Decimal("1000000000.00")
            for prefix, n in sets:
                inds = Indicator.objects.bulk_create([Indicator(
                    fiscal_year=YEAR, region=region, agency=agencies[i % AGENCIES], code=f"{prefix}{i:06d}",
                    title=f"压测指标{i}", func_code="2010101", gov_eco_code="50201", dept_eco_code="30201",
                    fund_type="1", indicator_type="1", pay_mode="authorized", status="executable", total=total,
                    created_by=admin) for i in range(n)], batch_size=2000)
                Movement.objects.bulk_create([Movement(indicator=i, kind="issue", d_total=total, created_by=admin)
                                              for i in inds], batch_size=2000)
    users = {u.username: u.pk for u in User.objects.filter(username__in=["bench_unit", "bench_trs", "bench_bank"])}
    hot = list(Indicator.objects.filter(region__code=REGION, code__startswith="HOT").values_list("pk", flat=True))
    spr = list(Indicator.objects.filter(region__code=REGION, code__startswith="SPR").values_list("pk", flat=True))
    return {"users": users, "hot": hot, "spread": spr}


def _count_statements():
    """A connection wrapper counting the SQL statements this process sends (BEGIN/COMMIT excluded)."""
    counter = [0]

    def wrapper(execute, sql, params, many, context):
        counter[0] += 1
        return execute(sql, params, many, context)

    return counter, wrapper


def worker(args) -> dict:
    """One process: settle payments until the deadline; returns latencies (seconds) and counts.

    ``per-item``: each payment is created, submitted, approved and settled by its own service calls
    (four transactions), the bank answering each voucher with one receipt message.
    ``batched``: the unit still creates and submits each application on its own; the treasury
    approves `batch` of them in one review action (批量审核: one transaction, vouchers grouped into
    one message per bank, 批量发送), and the bank answers that message with one receipt batch
    (回单批量报文: one transaction, all-or-nothing). A payment's latency runs from its creation to
    the commit of the receipt batch that settled it.
    """
    n, indicator_ids, users, deadline, mode, batch = args
    import django

    django.setup()
    from django.db import connection

    from fmis.iam.models import User
    from fmis.platform.errors import DomainError
    from fmis.platform.models import OutboxMessage
    from fmis.treasury import services
    from fmis.treasury.models import PaymentVoucher

    unit, trs, bank = (User.objects.get(pk=users[k]) for k in ("bench_unit", "bench_trs", "bench_bank"))
    rnd = random.Random(n * 7919 + os.getpid())
    latencies: list[float] = []
    counter, wrapper = _count_statements()
    seq = 0
    transactions = 0

    def new_application():
        ind = rnd.choice(indicator_ids)
        amount = (Decimal(rnd.randint(100, 500000)) / 100).quantize(Decimal("0.01"))
        app = services.create_application(user=unit, indicator_id=ind, payee_name="压测收款人",
                                          payee_account="6228480012345678", payee_bank="压测开户行",
                                          amount=amount, settle_mode="1", purpose="压测", plan_month=6)
        services.submit_application(application_id=app.pk, user=unit)
        return app, amount

    try:
        with connection.execute_wrapper(wrapper):
            while time.time() < deadline:
                try:
                    if mode == "per-item":
                        t0 = time.perf_counter()
                        app, amount = new_application()
                        services.approve_application(application_id=app.pk, user=trs)
                        v = PaymentVoucher.objects.only("number", "bank_id").select_related("bank").get(
                            application_id=app.pk)
                        seq += 1
                        services.apply_receipt(message={
                            "message_type": "receipt", "version": "1.0", "bank_code": v.bank.code,
                            "serial_no": f"W{os.getpid()}-{n}-{seq}-{time.time_ns()}", "voucher_no": v.number,
                            "result": "success", "amount": str(amount), "value_date": f"{YEAR}-06-15"}, user=bank)
                        transactions += 4
                        latencies.append(time.perf_counter() - t0)
                        continue
                    started, amounts = {}, {}
                    for _ in range(batch):
                        t0 = time.perf_counter()
                        app, amount = new_application()
                        started[app.pk], amounts[app.pk] = t0, amount
                    result = services.approve_applications(application_ids=list(started), user=trs)
                    for f in result["failed"]:
                        print(f"worker {n}: {f['code']} {f['message']}", file=sys.stderr)
                    for msg in OutboxMessage.objects.filter(topic=services.VOUCHER_BATCH_TOPIC,
                                                            key__in=result["messages"]):
                        seq += 1
                        entries = []
                        for v in msg.payload["vouchers"]:
                            entries.append({"serial_no": f"W{os.getpid()}-{n}-{seq}-{len(entries)}-{time.time_ns()}",
                                            "voucher_no": v["voucher_no"], "result": "success",
                                            "amount": v["amount"], "value_date": f"{YEAR}-06-15"})
                        services.apply_receipts(message={
                            "message_type": "receipt_batch", "version": "1.0", "bank_code": msg.payload["bank_code"],
                            "batch_no": f"RB{os.getpid()}-{n}-{seq}", "receipts": entries}, user=bank)
                    done = time.perf_counter()
                    transactions += 2 * batch + 1 + len(result["messages"])
                    latencies.extend(done - started[pk] for pk in result["approved"])
                except DomainError as exc:
                    print(f"worker {n}: {exc.code} {exc.message}", file=sys.stderr)
                    continue
    finally:
        connection.close()
    return {"latencies": latencies, "statements": counter[0], "transactions": transactions}


def run_set(name: str, ids: list[int], users: dict, workers: int, seconds: float, mode: str, batch: int) -> dict:
    from django.db import connections

    connections.close_all()
    start = time.time() + 1.0  # let the processes start
    deadline = start + seconds
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        results = pool.map(worker, [(i, ids, users, deadline, mode, batch) for i in range(workers)])
    lat = sorted(x for r in results for x in r["latencies"])
    elapsed = time.time() - start
    statements = sum(r["statements"] for r in results)
    transactions = sum(r["transactions"] for r in results)
    if not lat:
        return {"set": name, "settled": 0, "per_second": 0.0, "p50_ms": float("nan"), "p99_ms": float("nan"),
                "statements": float("nan"), "transactions": float("nan")}
    return {"set": name, "settled": len(lat), "per_second": len(lat) / elapsed,
            "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "statements": statements / len(lat), "transactions": transactions / len(lat)}


def pgbench(clients: int, seconds: int) -> float:
    """tpcb-like pgbench on the same server; returns tps."""
    from fmis.platform import embedded_db

    params = embedded_db.ensure_running()
    embedded_db.ensure_database(PGBENCH_DB)
    binary = str(embedded_db._pg_bin("pgbench"))
    base = [binary, "-h", params["HOST"], "-U", params["USER"]]
    if params.get("PORT"):
        base += ["-p", params["PORT"]]
    init = embedded_db._as_server_user([*base, "-i", "-s", "10", "-q", PGBENCH_DB])
    subprocess.run(init, check=True, capture_output=True)
    run = embedded_db._as_server_user([*base, "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
                                       "-T", str(seconds), PGBENCH_DB])
    out = subprocess.run(run, check=True, capture_output=True, text=True).stdout
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out) or re.search(r"tps = ([0-9.]+)", out)
    if not m:
        raise RuntimeError(f"could not read pgbench's tps:\n{out}")
    return float(m.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--spread", type=int, default=10000)
    p.add_argument("--mode", choices=["batched", "per-item", "both"], default="both",
                   help="batched: 批量审核 + one voucher message per bank + receipt batches (default: both)")
    p.add_argument("--batch", type=int, default=20, help="applications per batch approval / receipt batch")
    p.add_argument("--sets", default="hot,spread")
    p.add_argument("--fresh", action="store_true")
    ns = p.parse_args()
    setup_django()
    world = build(ns.spread, ns.fresh)
    modes = ["per-item", "batched"] if ns.mode == "both" else [ns.mode]
    sets = [x for x in ns.sets.split(",") if x]
    figures: dict[tuple[str, str], list[dict]] = {(m, x): [] for m in modes for x in sets}
    tps: list[float] = []
    for run in range(1, ns.runs + 1):
        for mode in modes:
            for name in sets:
                r = run_set(name, world[name], world["users"], ns.workers, ns.seconds, mode, ns.batch)
                figures[(mode, name)].append(r)
                print(f"run {run} {mode:8s} {name:6s}: {r['settled']} settled, {r['per_second']:.1f}/s, "
                      f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, {r['statements']:.1f} statements "
                      f"and {r['transactions']:.2f} transactions per payment", flush=True)
        tps.append(pgbench(ns.workers, int(ns.seconds)))
        print(f"run {run} pgbench: {tps[-1]:.0f} tps ({ns.workers} clients, tpcb-like, scale 10)", flush=True)
    pg = statistics.median(tps)
    print(f"\nmedians of {ns.runs} runs, {ns.workers} workers, {ns.seconds:.0f} s each:")
    for mode in modes:
        label = ("per-item path: one service call per step and per payment" if mode == "per-item" else
                 f"batched path: units submit one by one, the treasury approves {ns.batch} per review action "
                 "(批量审核), one voucher message per bank (批量发送), one receipt batch back (回单批量报文)")
        print(f"  {label}")
        for name in sets:
            rs = figures[(mode, name)]
            per_s = statistics.median(r["per_second"] for r in rs)
            print(f"    {name:6s} set ({len(world[name]):>5} indicators): {per_s:8.1f} settled payments/s  "
                  f"p50 {statistics.median(r['p50_ms'] for r in rs):6.0f} ms  "
                  f"p99 {statistics.median(r['p99_ms'] for r in rs):6.0f} ms  "
                  f"{statistics.median(r['statements'] for r in rs):5.1f} SQL statements/payment "
                  f"(+ BEGIN/COMMIT of {statistics.median(r['transactions'] for r in rs):.2f} transactions)  "
                  f"ratio to pgbench {per_s / pg:.3f}")
    print(f"  pgbench: {pg:.0f} tps")


if __name__ == "__main__":
    main()

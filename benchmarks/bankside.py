"""Agent-bank budget business (seed 004): payments through the full flow on the loopback consortium,
statements of 100,000 payments in a day, signed statement bundles.

Run: .venv/bin/python benchmarks/bankside.py [--flow 1000] [--runs 3] [--big 100000] [--block 5000]
     [--repeat 5] [--skip-big]

Uses its own database (``fmis_bench_bankside`` on the embedded server, or ``FMIS_DB_NAME``), dropped
and created again on each run. This installation founds a consortium (SHA-256, Ed25519; a finance
member and an agent-bank member, quorum 1) whose genesis enables the bank-side contracts; its
local node runs on the single-node PostgreSQL orderer on loopback, as ``fmis demo`` does.

(a) Flow: ``--flow`` payments of one managed merchant to a managed customer per run, each signed
    with the bank member's key and written to the outbox with its audit record
    (``bankside.ledger.submit``), delivered to the orderer, executed by the node (signature and
    certificate checks, the contract, block commit, co-signature) and projected into the finance
    side's tables (``Payment``, ``StatementLine``). Payments per second = payments ÷ (projection of
    the last one − signing of the first); also the time of each phase and the number of payments the
    ledger refused (expected 0). Median of ``--runs`` runs (one day each).
(b) Statements: ``--big`` payments of another merchant on one day, executed by the same contracts in
    memory in blocks of ``--block`` transactions (no signing or ordering: that is what (a) measures)
    and projected by ``projection.project_block``; the bookkeeping records are copied into the node's
    world state for reconciliation. Then, median of ``--repeat``: the statement's figures (opening,
    totals, count: SQL aggregates), its first page of 100 lines, streaming every line, the xlsx
    export (write-only workbook), and ``reconcile_with_ledger``.
(c) Bundle: the signed statement of run 1's day of (a) (one line per payment plus nothing else),
    built (one checkpoint, an inclusion path per transaction) and verified; median of 3.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FMIS_DB_NAME", "fmis_bench_bankside")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")

REGION = "990000"
BANK = f"BANK{REGION}"
MODULES = ["fmis.transfers.ledger.contracts", "fmis.bankside.contracts"]
FLOW_DAY = dt.date(2026, 11, 2)
BIG_DAY = dt.date(2026, 11, 20)


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
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


# --- the consortium and the flow ---------------------------------------------------------------------


class Flow:
    def __init__(self):
        from fmis.bankside.ledger import Acting
        from fmis.iam.models import User
        from fmis.orgs.models import Region
        from fmis.transfers import keys as keystore
        from fmis.transfers import local, services
        from fmis.transfers.ledger import envelope as env
        from fmis.transfers.models import MemberKey

        Region.objects.get_or_create(code=REGION, defaults={"name": "示例省", "level": 1})
        self.user = User.objects.create_superuser("bench_bankside", "Passw0rd!x", name="基准")
        founders = [services.Founder(REGION, "示例省财政厅"), services.Founder(REGION, "基准代理银行", role="bank")]
        services.create_consortium(user=self.user, consortium="bench-bankside", name="基准联盟", quorum=1,
                                   founders=founders, contract_modules=MODULES)
        local.flush()
        self.acting = {}
        for k in MemberKey.objects.all():
            signer = env.Signer(k.cert_id, k.suite, keystore.unseal(k.private_key))
            self.acting[k.role] = Acting(k.identity_id, k.region, k.role, signer)
        self.local = local

    def submit(self, role: str, function: str, args: dict) -> str:
        from fmis.bankside import ledger

        return ledger.submit(user=self.user, acting=self.acting[role], ledger_function=function, args=args,
                             action=function)

    def drain(self) -> None:
        from fmis.platform import outbox
        from fmis.transfers.local import TOPIC

        while outbox.deliver(topic=TOPIC, limit=1000)[0]:
            pass

    def apply(self) -> None:
        assert self.local.apply_pending(max_seconds=600) is True
        self.local.apply_pending()  # the co-signature of the last block

    def setup(self, amount: int) -> None:
        for role, fn, args in (
            ("finance", "bankside.define_business_type", {"code": "utilities", "name": "水电费",
                                                          "budget_types": ["water", "electricity"]}),
            ("bank", "bankside.register_merchant", {"merchant_no": "M-FLOW", "name": "基准预算单位", "agency_code": "990001",
                                                    "agency_name": "基准预算单位", "account_no": "A-FLOW",
                                                    "currency": "CNY", "managed": True}),
            ("bank", "bankside.open_account", {"account_no": "C-FLOW", "name": "基准自来水公司", "kind": "customer",
                                               "merchant_no": "M-FLOW", "currency": "CNY", "managed": True}),
            ("finance", "bankside.set_rule", {"merchant_no": "M-FLOW", "business_type": "utilities"}),
            ("bank", "bankside.fund", {"account_no": "A-FLOW", "amount": amount, "currency": "CNY",
                                       "reference": "Q-FLOW", "date": (FLOW_DAY - dt.timedelta(days=1)).isoformat()}),
        ):
            self.submit(role, fn, args)
        self.drain()
        self.apply()

    def run(self, run: int, n: int, rng: random.Random) -> dict:
        from fmis.bankside.models import Payment
        from fmis.transfers.models import LedgerTx

        day = (FLOW_DAY + dt.timedelta(days=run)).isoformat()
        before = Payment.objects.count()
        t0 = time.perf_counter()
        ids = [self.submit("bank", "bankside.pay", pay_args(f"F{run}-{i}", "M-FLOW", "C-FLOW", rng.randint(100, 50_000),
                                                            day, i))
               for i in range(n)]
        t1 = time.perf_counter()
        self.drain()
        t2 = time.perf_counter()
        self.apply()
        t3 = time.perf_counter()
        projected = Payment.objects.count() - before
        refused = LedgerTx.objects.filter(tx_id__in=ids, valid=False).count()
        return {"rate": n / (t3 - t0), "sign": t1 - t0, "deliver": t2 - t1, "apply": t3 - t2, "projected": projected,
                "refused": refused}


def pay_args(key: str, merchant: str, customer: str, amount: int, day: str, i: int) -> dict:
    return {"voucher_id": f"V{key}", "merchant_no": merchant, "business_type": "utilities", "budget_type": "water",
            "bank_code": BANK, "bank_serial": f"S{key}", "payee_account": customer, "payee_name": "基准自来水公司",
            "amount": amount, "currency": "CNY", "date": day,
            "time": f"{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}", "purpose": "水费"}


# --- 100,000 payments in a day, executed in memory and projected ------------------------------------


class Memory:
    """The bank-side contracts on an in-memory world state, block by block."""

    FINANCE = {"identity_id": REGION, "region": REGION, "role": "finance"}
    BANK = {"identity_id": BANK, "region": REGION, "role": "bank"}

    def __init__(self, first_block: int):
        self.state: dict[str, dict] = {}
        self.block = first_block
        self.n = 0

    def run_block(self, calls: list[tuple[dict, str, dict]]) -> tuple[dict, list]:
        from fmis.bankside import contracts
        from fmis.transfers.ledger.contracts import Call

        self.block += 1
        writes: dict[str, dict] = {}
        movements: list = []

        def put(key: str, value: dict) -> None:
            self.state[key] = value
            writes[key] = value

        for member, fn, args in calls:
            self.n += 1
            tx_id = f"{self.block:016x}{self.n:048x}"
            out: list = []
            contracts.FUNCTIONS[fn](Call(tx_id, args, member["identity_id"], member, self.block,
                                         1_700_000_000_000 + self.n, {}, self.state.get, put, out))
            movements += [(tx_id, k, mv) for k, mv in enumerate(out)]
        return writes, movements


def build_big(n: int, block_size: int, rng: random.Random) -> dict:
    from fmis.bankside import projection

    mem = Memory(first_block=10_000_000)
    setup = [
        (Memory.FINANCE, "bankside.define_business_type", {"code": "utilities", "name": "水电费",
                                                           "budget_types": ["water", "electricity"]}),
        (Memory.BANK, "bankside.register_merchant", {"merchant_no": "M-BIG", "name": "大额预算单位",
                                                     "agency_code": "990002", "agency_name": "大额预算单位",
                                                     "account_no": "A-BIG", "currency": "CNY", "managed": True}),
        (Memory.BANK, "bankside.open_account", {"account_no": "C-BIG", "name": "基准电力公司", "kind": "customer",
                                                "merchant_no": "M-BIG", "currency": "CNY", "managed": True}),
        (Memory.FINANCE, "bankside.set_rule", {"merchant_no": "M-BIG", "business_type": "utilities"}),
        (Memory.BANK, "bankside.fund", {"account_no": "A-BIG", "amount": 60 * n * 1_000, "currency": "CNY",
                                        "reference": "Q-BIG", "date": (BIG_DAY - dt.timedelta(days=1)).isoformat()}),
    ]
    t0 = time.perf_counter()
    executed = projected = 0.0
    calls = setup
    done = 0
    while calls:
        a = time.perf_counter()
        writes, movements = mem.run_block(calls)
        b = time.perf_counter()
        projection.project_block(block=mem.block, writes=writes, movements=movements)
        c = time.perf_counter()
        executed, projected = executed + b - a, projected + c - b
        m = min(block_size, n - done)
        calls = [(Memory.BANK, "bankside.pay", pay_args(f"B{done + i}", "M-BIG", "C-BIG", rng.randint(100, 100_000),
                                                        BIG_DAY.isoformat(), done + i)) for i in range(m)]
        done += m
    write_state(mem.state)
    return {"build": time.perf_counter() - t0, "execute": executed, "project": projected,
            "balance": mem.state["bank/account/A-BIG"]["balance"]}


def write_state(state: dict[str, dict]) -> None:
    """The in-memory world state's bank keys into the node's ``transfers_state`` (for reconciliation;
    the node never applies these blocks, so nothing else reads them)."""
    import psycopg
    from psycopg.types.json import Jsonb

    from fmis.transfers.local import local_dsn

    with (psycopg.connect(local_dsn()) as conn,
          conn.cursor().copy("COPY transfers_state (key, value, block_number) FROM STDIN") as cp):
        for key, value in state.items():
            if key.startswith("bank/") and not key.startswith("bank/biztype/"):
                cp.write_row((key, Jsonb(value), value.get("block") or 0))


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flow", type=int, default=1000, help="payments per flow run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big", type=int, default=100_000, help="payments in the one-day statement")
    ap.add_argument("--block", type=int, default=5000, help="transactions per block when building them")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-big", action="store_true")
    opts = ap.parse_args()
    rng = random.Random(8)
    setup_django()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    from fmis.bankside import bundle, statements
    from fmis.bankside.models import StatementLine

    flow = Flow()
    flow.setup(amount=60 * opts.flow * opts.runs * 1_000)
    results = [flow.run(r, opts.flow, rng) for r in range(opts.runs)]
    print(f"\n(a) payments through the full flow, {opts.flow} per run, {opts.runs} runs")
    for i, r in enumerate(results, 1):
        print(f"  run {i}: {r['rate']:,.0f} payments/s (sign+outbox {ms(r['sign'])}, deliver {ms(r['deliver'])}, "
              f"execute+project {ms(r['apply'])}, i.e. {opts.flow / r['apply']:,.0f}/s); projected {r['projected']}, "
              f"refused {r['refused']}")
    print(f"  median {median([r['rate'] for r in results]):,.0f} payments/s; refused in all runs: "
          f"{sum(r['refused'] for r in results)}")

    lines = StatementLine.objects.all()
    st = statements.projected_statement(lines, account_no="A-FLOW", day=FLOW_DAY)
    t_build, b = timed(lambda: bundle.bundle_for_statement(st), 3)
    size = len(bundle.bundle_bytes(b))
    t_verify, check = timed(lambda: bundle.verify_bundle(b), 3)
    print(f"\n(c) signed statement bundle of {st.line_count} lines ({len(b['transactions'])} transactions, "
          f"tree size {b['statement']['tree_size']}, {size / 1e6:.1f} MB of JSON)")
    print(f"  build {ms(t_build)}, verify {ms(t_verify)} (median of 3); verifies: {check.ok} {check.problems[:3]}")

    if opts.skip_big:
        return
    print(f"\n(b) statement of {opts.big:,} payments in one day for one merchant")
    built = build_big(opts.big, opts.block, rng)
    print(f"  data: {ms(built['build'])} (contracts in memory {ms(built['execute'])}, projection "
          f"{ms(built['project'])}), {StatementLine.objects.filter(account_no='A-BIG').count():,} lines on A-BIG")
    rep = opts.repeat
    t_fig, big = timed(lambda: statements.projected_statement(lines, account_no="A-BIG", day=BIG_DAY), rep)
    t_page, page = timed(lambda: big.page(offset=0, limit=100), rep)
    t_stream, count = timed(lambda: sum(1 for _ in big.iter_lines()), max(1, rep // 2))
    t_xlsx, data = timed(lambda: statements.xlsx_bytes(big), max(1, rep // 2))
    prev = statements.projected_statement(lines, account_no="A-BIG", day=BIG_DAY + dt.timedelta(days=1),
                                          previous_days=1)
    t_rec, diffs = timed(lambda: statements.reconcile_with_ledger("A-BIG", BIG_DAY, BIG_DAY), max(1, rep // 2))
    print(f"  figures (opening, totals, count) {ms(t_fig)}: opening {big.opening}, decrease {big.decrease}, "
          f"{big.line_count:,} lines; closing = ledger balance: {prev.closing == built['balance']}")
    print(f"  first page of 100 lines {ms(t_page)} ({len(page)} lines)")
    print(f"  every line streamed {ms(t_stream)} ({count:,} lines)")
    print(f"  xlsx export {ms(t_xlsx)} ({len(data) / 1e6:.1f} MB)")
    print(f"  reconcile with the ledger {ms(t_rec)}: {len(diffs)} difference(s)")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""Random sequences of payments, refunds and funding: balances never go negative, the suspense
account holds exactly the outstanding suspense bookings, and statements equal the bookkeeping."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmis.bankside import statements
from fmis.bankside.core_banking import CoreBanking, payment_args, refund_args
from fmis.bankside.tests.harness import BANK, build_world
from fmis.bankside.tests.harness import payment_args as pargs
from fmis.transfers.ledger.contracts import Refused

DAYS = ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
ACCOUNTS = ["A-M1", "C1", "BGL-CNY"]

ops = st.lists(st.tuples(st.sampled_from(["ledger", "suspense", "unmanaged", "core", "refund", "fund"]),
                         st.integers(min_value=-5, max_value=600_000), st.integers(0, 3), st.booleans()),
               max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_payments_never_overdraw_and_statements_equal_the_bookkeeping(seq):
    h = build_world()
    core = CoreBanking("B001")
    core.open("A-M2", balance=1_000_000)
    core.open("EXT")  # C2 is not held at the core: its refunds fail and return the funds
    funded, paid_out, outstanding = 1_000_000, 0, {}
    for n, (op, amount, day_i, flag) in enumerate(seq, start=1):
        day = DAYS[day_i]
        try:
            if op == "fund":
                h.call("bankside.fund", {"account_no": "A-M1", "amount": amount, "currency": "CNY",
                                         "reference": f"Q{n}", "date": day}, BANK)
                funded += amount
            elif op == "refund":
                if not outstanding:
                    continue
                pid = min(outstanding)
                p = h.payment(pid)
                h.call("bankside.refund_suspense", refund_args(core, p, day=day), BANK)
                if h.payment(pid)["status"] == "paid":
                    paid_out += p["amount"]
                del outstanding[pid]
            elif op == "core":
                args = payment_args(core, pargs(n, merchant_no="M2", amount=amount, date=day),
                                    merchant_account="A-M2")
                h.call("bankside.pay", args, BANK)
            else:
                payee = {"ledger": "C1", "suspense": "EXT" if flag else "C2", "unmanaged": "C2"}[op]
                pid = h.call("bankside.pay", pargs(n, payee_account=payee, amount=amount, date=day), BANK)
                if h.payment(pid)["status"] == "suspense_booked":
                    outstanding[pid] = amount
        except Refused as exc:
            assert exc.code in {"bank.insufficient_funds", "bank.amount_invalid"}, exc
            assert amount <= 0 or exc.code == "bank.insufficient_funds"
        for a in ACCOUNTS:
            assert h.balance(a) >= 0
        assert h.balance("BGL-CNY") == sum(outstanding.values())
        assert sum(h.balance(a) for a in ACCOUNTS) == funded - paid_out
    assert core.balance("A-M2") >= 0
    records = h.records()
    for account in [*ACCOUNTS, "A-M2", "EXT", "C2"]:
        whole = statements.account_statement(h.movements, account_no=account, day=DAYS[-1], previous_days=3)
        assert statements.reconcile(whole, records) == []
        if account in ACCOUNTS:
            assert whole.opening == 0 and whole.closing == h.balance(account)
        daily = [statements.account_statement(h.movements, account_no=account, day=d) for d in DAYS]
        assert sum(s.decrease for s in daily) == whole.decrease
        assert sum(s.increase for s in daily) == whole.increase
        assert sum(s.core_debit + s.core_credit for s in daily) == whole.core_debit + whole.core_credit
        for prev, nxt in itertools.pairwise(daily):
            assert prev.closing == nxt.opening
            assert statements.reconcile(nxt, records) == []
    m2 = statements.account_statement(h.movements, account_no="A-M2", day=DAYS[-1], previous_days=3)
    assert m2.core_debit == 1_000_000 - core.balance("A-M2")

"""The finance side's projection of the ledger's bank-side results, and its scoped reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fmis.bankside import functions as F_
from fmis.bankside import projection, selectors, statements
from fmis.bankside.core_banking import CoreBanking, payment_args, refund_args
from fmis.bankside.models import FlowRule, Merchant, Payment, PreApplication, StatementLine
from fmis.bankside.tests.harness import BANK, FINANCE, build_world
from fmis.bankside.tests.harness import payment_args as pargs
from fmis.platform.errors import NotFound
from fmis.platform.money import to_fen


def scenario():
    h = build_world()
    core = CoreBanking("B001")
    core.open("A-M2", balance=100_000)
    core.open("EXT")
    h.call("bankside.pay", pargs(1, amount=1_500), BANK)
    sus = h.call("bankside.pay", pargs(2, amount=700, payee_account="EXT"), BANK)
    h.call("bankside.refund_suspense", refund_args(core, h.payment(sus), day="2026-11-21"), BANK)
    h.call("bankside.pay", payment_args(core, pargs(3, merchant_no="M2", amount=900), merchant_account="A-M2"), BANK)
    pre = h.call("bankside.submit_pre_application", {"merchant_no": "M1", "business_type": "tax", "amount": 2_000,
                                                     "currency": "CNY", "purpose": "个税"}, BANK)
    h.call("bankside.review_pre_application", {"pre_application": pre, "decision": "approved"}, FINANCE)
    h.call("bankside.pay", pargs(4, business_type="tax", budget_type="iit", amount=2_000, pre_application=pre,
                                 date="2026-11-21"), BANK)
    h.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities", "limit": 10_000}, FINANCE)
    return h


def project_all(h):
    for block, tx, writes, mvs in h.log:
        projection.project_block(block=block, writes=writes, movements=[(tx, n, mv) for n, mv in enumerate(mvs)])


@pytest.mark.django_db
def test_projection_mirrors_the_ledger_and_is_idempotent():
    h = scenario()
    project_all(h)
    counts = (Merchant.objects.count(), Payment.objects.count(), PreApplication.objects.count(),
              FlowRule.objects.count(), StatementLine.objects.count())
    project_all(h)  # again: nothing changes
    assert counts == (Merchant.objects.count(), Payment.objects.count(), PreApplication.objects.count(),
                      FlowRule.objects.count(), StatementLine.objects.count())
    assert counts[:4] == (2, 4, 1, 4)
    m1 = Merchant.objects.get(merchant_no="M1")
    assert to_fen(m1.balance) == h.balance("A-M1") == 1_000_000 - 1_500 - 700 - 2_000
    assert {p.voucher_id: (p.branch, p.status) for p in Payment.objects.all()} == {
        "V000001": ("ledger", "paid"), "V000002": ("suspense", "paid"), "V000003": ("core", "paid"),
        "V000004": ("ledger", "paid")}
    sus = Payment.objects.get(voucher_id="V000002")
    assert sus.refund_core_serial and sus.amount == Decimal("7.00")
    assert Payment.objects.get(voucher_id="V000004").pre_application.status == "approved"
    current = FlowRule.objects.get(merchant__merchant_no="M1", business_type__code="utilities", current=True)
    assert (current.version, current.limit) == (2, Decimal("100.00"))
    assert FlowRule.objects.filter(merchant__merchant_no="M1", business_type__code="utilities").count() == 2
    assert StatementLine.objects.count() == len(h.movements)


@pytest.mark.django_db
def test_statement_from_the_projection_equals_the_ledger_statement(make_role, make_user):
    h = scenario()
    project_all(h)
    user = make_user("fin", roles=[make_role("R", [F_.STATEMENT_VIEW])])
    for account in ("A-M1", "C1", "BGL-CNY", "A-M2", "EXT"):
        for day, prev in (("2026-11-20", 0), ("2026-11-21", 0), ("2026-11-21", 2)):
            got = selectors.statement(user=user, account_no=account, day=dt.date.fromisoformat(day),
                                      previous_days=prev)
            want = statements.account_statement(h.movements, account_no=account, day=day, previous_days=prev)
            assert (got.opening, got.increase, got.decrease, got.core_debit, got.core_credit, got.closing) == (
                want.opening, want.increase, want.decrease, want.core_debit, want.core_credit, want.closing)
            assert statements.reconcile(got, h.records()) == []
    bgl = selectors.statement(user=user, account_no="BGL-CNY", day=dt.date(2026, 11, 21), previous_days=1)
    assert bgl.closing == 0 and bgl.increase == 700


@pytest.mark.django_db
def test_reads_are_scoped_by_agency(make_role, make_user):
    h = scenario()
    project_all(h)
    role = make_role("U", [F_.PAYMENT_VIEW, F_.STATEMENT_VIEW, F_.MERCHANT_VIEW],
                     rules=[("agency", "values", ["990002"])])
    user = make_user("unit2", roles=[role])
    assert [m.merchant_no for m in selectors.merchants(user=user)] == ["M2"]
    assert [p.voucher_id for p in selectors.payments(user=user)] == ["V000003"]
    with pytest.raises(NotFound):
        selectors.statement(user=user, account_no="A-M1", day=dt.date(2026, 11, 21))
    st = selectors.statement(user=user, account_no="A-M2", day=dt.date(2026, 11, 20))
    assert st.core_debit == 900
    nobody = make_user("nobody", roles=[make_role("N", [])])
    assert not selectors.payments(user=nobody).exists()


@pytest.mark.django_db
def test_the_projection_remembers_the_last_block_it_applied_and_never_goes_back():
    h = scenario()
    assert projection.last_projected_block() == 0
    project_all(h)
    last = h.log[-1][0]
    assert projection.last_projected_block() == last
    block, tx, writes, mvs = h.log[0]
    projection.project_block(block=block, writes=writes, movements=[(tx, n, mv) for n, mv in enumerate(mvs)])
    assert projection.last_projected_block() == last


# --- exception flows (seed 004 §54) ----------------------------------------------------------------


def exception_scenario():
    h = build_world()
    core = CoreBanking("B001")
    core.open("A-M2", balance=100_000)
    core.open("EXT")
    h.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities",
                                 "exceptions": {"correction": "direct"}}, FINANCE)
    p1 = h.call("bankside.pay", pargs(1, amount=10_000), BANK)
    p2 = h.call("bankside.pay", pargs(2, amount=3_000, payee_account="EXT"), BANK)
    h.call("bankside.refund_suspense", refund_args(core, h.payment(p2), day="2026-11-20"), BANK)
    h.call("bankside.return_payment", {"payment": p1, "amount": 4_000, "date": "2026-11-21", "bank_serial": "R1",
                                       "reason": "退票"}, BANK)
    app = h.call("bankside.submit_case_application", {"kind": "mistaken_refund", "payment": p2, "amount": 3_000,
                                                      "reason": "错缴"}, BANK)
    h.call("bankside.review_case_application", {"application": app, "decision": "approved"}, FINANCE)
    r = core.debit(request_id="r2", account_no="EXT", amount=3_000, currency="CNY")
    h.call("bankside.refund_mistaken", {"payment": p2, "amount": 3_000, "date": "2026-11-21", "bank_serial": "R2",
                                        "reason": "错缴", "application": app, "core": r.as_args()}, BANK)
    h.call("bankside.correct_payment", {"payment": p1, "date": "2026-11-21", "reason": "更正",
                                        "changes": {"func_class": "2010302", "purpose": "水费（更正）"}}, BANK)
    auth = h.call("bankside.register_authorisation", {
        "merchant_no": "M1", "business_type": "utilities", "budget_type": "water", "customer_account": "C1",
        "customer_name": "自来水公司", "limit": 2_000, "total_limit": 5_000, "valid_from": "2026-11-01",
        "valid_to": None, "reference": "AUTH-1"}, BANK)
    h.call("bankside.collect", {"authorisation": auth, "amount": 1_200, "currency": "CNY", "date": "2026-11-21",
                                "bank_serial": "K1", "purpose": "水费"}, BANK)
    return h, {"p1": p1, "p2": p2, "app": app, "auth": auth}


@pytest.mark.django_db
def test_exception_cases_are_projected_idempotently():
    from fmis.bankside.models import CaseApplication, CollectionAuthorisation, ExceptionCase

    h, ids = exception_scenario()
    project_all(h)

    def state():
        return (sorted(ExceptionCase.objects.values_list("kind", "status", "amount", "mode", "branch")),
                list(CaseApplication.objects.values_list("status", "case_ledger_id")),
                list(CollectionAuthorisation.objects.values_list("collected", "collections", "status")),
                sorted(Payment.objects.values_list("voucher_id", "status", "returned_amount", "corrections",
                                                   "func_class")),
                StatementLine.objects.count())

    first = state()
    project_all(h)
    assert state() == first
    cases, apps, auths, payments, lines = first
    assert cases == [("collection", "booked", Decimal("12.00"), "direct", "ledger"),
                     ("correction", "booked", Decimal("0.00"), "direct", "ledger"),
                     ("mistaken_refund", "booked", Decimal("30.00"), "approval", "suspense"),
                     ("return", "booked", Decimal("40.00"), "direct", "ledger")]
    refund = ExceptionCase.objects.get(kind="mistaken_refund")
    assert refund.application.ledger_id == ids["app"] and refund.payment.ledger_id == ids["p2"]
    assert refund.core_serial
    assert apps == [("approved", refund.ledger_id)]
    assert auths == [(Decimal("12.00"), 1, "active")]
    assert payments == [("V000001", "partly_returned", Decimal("40.00"), 1, "2010302"),
                        ("V000002", "returned", Decimal("30.00"), 0, "2010301")]
    corr = ExceptionCase.objects.get(kind="correction")
    assert corr.before == {"func_class": "2010301", "purpose": "水费"}
    assert corr.after == {"func_class": "2010302", "purpose": "水费（更正）"}
    assert lines == len(h.movements)
    assert FlowRule.objects.get(merchant__merchant_no="M1", business_type__code="utilities",
                                current=True).exceptions["correction"] == "direct"
    m1 = Merchant.objects.get(merchant_no="M1")
    assert to_fen(m1.balance) == h.balance("A-M1") == 1_000_000 - 10_000 - 3_000 + 4_000 + 3_000 - 1_200


@pytest.mark.django_db
def test_projected_statements_reconcile_with_the_cases(make_role, make_user):
    h, _ = exception_scenario()
    project_all(h)
    user = make_user("fin", roles=[make_role("R", [F_.STATEMENT_VIEW])])
    for account in ("A-M1", "C1", "BGL-CNY", "EXT"):
        for day, prev in (("2026-11-20", 0), ("2026-11-21", 0), ("2026-11-21", 2)):
            got = selectors.statement(user=user, account_no=account, day=dt.date.fromisoformat(day),
                                      previous_days=prev)
            want = statements.account_statement(h.movements, account_no=account, day=day, previous_days=prev)
            assert (got.opening, got.increase, got.decrease, got.core_debit, got.core_credit) == (
                want.opening, want.increase, want.decrease, want.core_debit, want.core_credit)
            assert statements.reconcile(got, h.records()) == []
    assert selectors.statement(user=user, account_no="BGL-CNY", day=dt.date(2026, 11, 21), previous_days=1).closing == 0


@pytest.mark.django_db
def test_lines_of_one_block_keep_the_order_of_its_transactions_not_of_their_ids():
    """Two payments in one block: the later one in the block has the smaller tx id; the statement
    lists them (and their running balances) in ledger order."""
    h = build_world()
    h.call("bankside.pay", pargs(1, amount=1_000), BANK)
    h.call("bankside.pay", pargs(2, amount=2_000), BANK)
    for block, tx, writes, mvs in h.log[:-2]:
        projection.project_block(block=block, writes=writes, movements=[(tx, n, mv) for n, mv in enumerate(mvs)])
    # one block: `second` comes after `first` in the block but its id sorts first
    (_, _, w1, m1), (_, _, w2, m2) = h.log[-2:]
    late, early = "0" * 64, "f" * 64
    assert late < early
    movements = [(early, n, mv) for n, mv in enumerate(m1)] + [(late, n, mv) for n, mv in enumerate(m2)]
    projection.project_block(block=999, writes={**w1, **w2}, movements=movements)
    lines = list(StatementLine.objects.filter(account_no="A-M1", block=999).order_by(*statements.LINE_ORDER))
    assert [ln.tx_id for ln in lines] == [early, late]
    assert [to_fen(ln.balance) for ln in lines] == [1_000_000 - 1_000, 1_000_000 - 3_000]

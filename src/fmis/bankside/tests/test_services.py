"""Bank-side services through a real local consortium: a province finance member, a city finance
member and the agent bank 901, which joined through ``join_consortium_as_bank``. Every branch of
seed 004's method, pre-applications, bad input, scope and the persisted core banking."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from fmis.bankside import functions as F_
from fmis.bankside import selectors, services
from fmis.bankside.core_banking import db_core
from fmis.bankside.models import (
    CoreAccount,
    CoreEntry,
    FlowRule,
    Merchant,
    Payment,
    PreApplication,
    StatementLine,
)
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord

MODULES = ["fmis.transfers.ledger.contracts", "fmis.bankside.contracts"]
FINANCE_FUNCTIONS = [f.code for f in F_.FUNCTIONS if f.code.startswith("bankside.finance.")
                     or f.code.endswith("view")] + ["transfers.member.join", "transfers.member.approve",
                                                    "transfers.consortium.manage"]
BANK_FUNCTIONS = [f.code for f in F_.FUNCTIONS if f.code.startswith("bankside.bank.") or f.code.endswith("view")]
DAY = dt.date(2026, 11, 20)


class Env:
    def __init__(self, users, banks):
        self.users = users
        self.banks = banks

    def __getitem__(self, key):
        return self.users[key]


def _empty_ledger():
    from fmis.transfers import local
    from fmis.transfers.tests.conftest import _empty_ledger_tables

    local.reset()
    _empty_ledger_tables()


@pytest.fixture
def env(province, make_role, make_user, make_agency):
    """The consortium with the bank as a member, users of the finance side and of two banks, and
    two agencies. Transactional tests only (the local node writes on its own connections)."""
    from fmis.orgs.models import Bank, Region
    from fmis.transfers import local
    from fmis.transfers import services as transfers

    _empty_ledger()
    regions = {r.code: r for r in Region.objects.all()}
    banks = {"901": Bank.objects.create(code="901", name="示例代理银行"),
             "902": Bank.objects.create(code="902", name="另一代理银行")}
    make_agency("990000001", regions["990000"], "示例省教育厅")
    make_agency("990000002", regions["990000"], "示例省卫生健康委")
    finance = make_role("treasury", FINANCE_FUNCTIONS, rules=[("region", "own_region_tree", [])])
    bank = make_role("bank_operator", BANK_FUNCTIONS, rules=[("bank", "own_bank", [])])
    users = {
        "fin": make_user("fin", [finance], region=regions["990000"]),
        "city": make_user("cityfin", [finance], region=regions["990100"]),
        "op": make_user("op901", [bank], org_type="bank", bank=banks["901"], region=regions["990000"]),
        "op2": make_user("op902", [bank], org_type="bank", bank=banks["902"], region=regions["990000"]),
    }
    transfers.create_consortium(user=users["fin"], consortium="990000-bankside", name="示例省联盟", quorum=1,
                                founders=[transfers.Founder("990000", "示例省财政厅"),
                                          transfers.Founder("990100", "一市财政局")],
                                contract_modules=MODULES)
    local.flush()
    jr = services.join_consortium_as_bank(user=users["fin"], bank_code="901")
    transfers.approve_join_request(user=users["fin"], request_id=jr.pk)
    local.flush()
    yield Env(users, banks)
    _empty_ledger()


def info(n: int, **kw) -> dict:
    base = {"voucher_id": f"V{n:06d}", "merchant_no": "M1", "business_type": "utilities", "budget_type": "water",
            "bank_serial": f"S{n:06d}", "payee_account": "C1", "payee_name": "自来水公司",
            "amount": Decimal("15.00"), "currency": "CNY", "date": DAY, "time": dt.time(9, 30),
            "voucher_type": "ZF", "voucher_no": f"ZF{n:04d}", "fund_nature": "一般公共预算",
            "payment_method": "直接支付", "func_class": "2050201", "settlement_method": "转账",
            "taxpayer_id": "91990000MA000001", "purpose": "水费", "rate": "1",
            "agency_code": "990000001", "agency_name": "示例省教育厅"}
    base.update(kw)
    return base


def setup_business(env, *, funded: Decimal = Decimal("1000.00")) -> None:
    """Business types, merchants M1 (managed) and M2 (not managed, core account), customers C1
    (managed) and C2 (not), the suspense account, rules and funds."""
    fin, op = env["fin"], env["op"]
    services.define_business_type(user=fin, code="utilities", name="水电费", budget_types=["water", "electricity"])
    services.define_business_type(user=fin, code="tax", name="个税", budget_types=["iit"])
    services.register_merchant(user=op, merchant_no="M1", name="示例省教育厅", agency_code="990000001",
                               account_no="A-M1", managed=True)
    services.register_merchant(user=op, merchant_no="M2", name="示例省卫生健康委", agency_code="990000002",
                               account_no="A-M2", managed=False)
    services.open_account(user=op, kind="customer", account_no="C1", name="自来水公司", merchant_no="M1")
    services.open_account(user=op, kind="customer", account_no="C2", name="某电力公司", merchant_no="M1",
                          managed=False)
    services.open_account(user=op, kind="suspense", account_no="BGL-CNY", name="待清算内部账户")
    services.set_rule(user=fin, merchant_no="M1", business_type="utilities")
    services.set_rule(user=fin, merchant_no="M1", business_type="tax", pre_application="pre_application")
    services.set_rule(user=fin, merchant_no="M2", business_type="utilities")
    services.open_core_account(user=op, account_no="A-M2", name="示例省卫生健康委", opening_balance=Decimal("500.00"))
    services.open_core_account(user=op, account_no="C2", name="某电力公司")
    services.fund(user=op, account_no="A-M1", amount=funded, reference="Q2026001", date=DAY)


def _state_counts():
    return (Payment.objects.count(), StatementLine.objects.count(), CoreEntry.objects.count(),
            Merchant.objects.get(merchant_no="M1").balance)


# --- membership ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_bank_joins_with_its_own_code_and_cannot_join_twice(env):
    from fmis.transfers.models import Member

    m = Member.objects.get(identity_id="901")
    assert (m.role, m.region, m.organisation) == ("bank", "990000", "示例代理银行")
    with pytest.raises(Conflict) as e:
        services.join_consortium_as_bank(user=env["fin"], bank_code="901")
    assert e.value.code == "bankside.bank_already_member"
    with pytest.raises(ValidationFailed) as e:
        services.join_consortium_as_bank(user=env["fin"], bank_code="999")
    assert e.value.field == "bank_code"
    with pytest.raises(DomainError):
        services.join_consortium_as_bank(user=env["op"], bank_code="902")  # a bank operator may not


# --- the three branches ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_both_managed_decrease_the_merchant_and_increase_the_customer(env):
    setup_business(env)
    out = services.pay(user=env["op"], **info(1, amount=Decimal("123.45")))
    assert out.status == "valid" and out.block
    p = Payment.objects.get(ledger_id=out.tx_id)
    assert (p.branch, p.status, p.amount, p.rule_version) == ("ledger", "paid", Decimal("123.45"), 1)
    assert (p.fund_nature, p.func_class, p.taxpayer_id, p.time) == ("一般公共预算", "2050201", "91990000MA000001",
                                                                     dt.time(9, 30))
    assert Merchant.objects.get(merchant_no="M1").balance == Decimal("876.55")
    lines = {(ln.account_no, ln.kind): ln.amount for ln in StatementLine.objects.filter(ref=out.tx_id)}
    assert lines == {("A-M1", "bank.decrease"): Decimal("123.45"), ("C1", "bank.increase"): Decimal("123.45")}
    assert AuditRecord.objects.filter(action="bankside.pay", object_id=out.tx_id).exists()
    # the statement of the customer reconciles with the bookkeeping result
    st = selectors.statement(user=env["fin"], account_no="C1", day=DAY)
    assert (st.opening, st.increase, st.decrease, st.closing) == (0, 12_345, 0, 12_345)


@pytest.mark.django_db(transaction=True)
def test_customer_unmanaged_books_through_suspense_then_the_refund_clears_it(env):
    setup_business(env)
    out = services.pay(user=env["op"], **info(2, payee_account="C2", payee_name="某电力公司",
                                                budget_type="electricity", amount=Decimal("70.00")))
    p = Payment.objects.get(ledger_id=out.tx_id)
    assert (p.branch, p.status) == ("suspense", "suspense_booked")
    assert list(selectors.suspense_awaiting_refund(user=env["op"])) == [p]
    services.refund_suspense(user=env["op"], payment=p.ledger_id, date=DAY)
    p.refresh_from_db()
    assert p.status == "paid" and p.refund_core_serial.startswith("901C")
    assert db_core("901").balance("C2") == 7_000
    entry = CoreEntry.objects.get(request_id=f"refund-{p.ledger_id}")
    assert (entry.operation, entry.status, entry.amount) == ("credit", "ok", Decimal("70.00"))
    st = selectors.statement(user=env["fin"], account_no="BGL-CNY", day=DAY)
    assert (st.increase, st.decrease, st.closing) == (7_000, 7_000, 0)  # the suspense account nets to zero
    with pytest.raises(Conflict) as e:
        services.refund_suspense(user=env["op"], payment=p.ledger_id, date=DAY)
    assert e.value.code == "bank.not_in_suspense"


@pytest.mark.django_db(transaction=True)
def test_a_refused_core_payout_returns_the_funds_to_the_merchant(env):
    setup_business(env)
    CoreAccount.objects.filter(account_no="C2").update(frozen=True)
    out = services.pay(user=env["op"], **info(3, payee_account="C2", budget_type="electricity",
                                                amount=Decimal("10.00")))
    services.refund_suspense(user=env["op"], payment=out.tx_id, date=DAY)
    p = Payment.objects.get(ledger_id=out.tx_id)
    assert p.status == "returned"
    assert Merchant.objects.get(merchant_no="M1").balance == Decimal("1000.00")


@pytest.mark.django_db(transaction=True)
def test_merchant_unmanaged_takes_the_traditional_core_path(env):
    setup_business(env)
    out = services.pay(user=env["op"], **info(4, merchant_no="M2", agency_code="990000002",
                                                amount=Decimal("200.00")))
    p = Payment.objects.get(ledger_id=out.tx_id)
    assert (p.branch, p.status) == ("core", "paid") and p.core_serial.startswith("901C")
    assert db_core("901").balance("A-M2") == 30_000
    assert CoreEntry.objects.get(request_id="pay-S000004").status == "ok"
    # the core refuses an overdraft: the payment is recorded as failed, nothing is debited
    out = services.pay(user=env["op"], **info(5, merchant_no="M2", amount=Decimal("300.01")))
    p = Payment.objects.get(ledger_id=out.tx_id)
    assert (p.branch, p.status, p.core_serial) == ("core", "failed", "")
    assert db_core("901").balance("A-M2") == 30_000
    summary = {(r["agency_code"], r["business_type"], r["budget_type"]): r
               for r in selectors.execution_summary(user=env["fin"])}
    row = summary[("990000002", "utilities", "water")]
    assert (row["count"], row["paid"], row["failed"]) == (2, Decimal("200.00"), Decimal("300.01"))


# --- pre-applications ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pre_application_required_missing_rejected_and_approved(env):
    setup_business(env)
    op, fin = env["op"], env["fin"]
    tax = info(6, business_type="tax", budget_type="iit", payee_account="C1", amount=Decimal("50.00"))
    before = _state_counts()
    with pytest.raises(ValidationFailed) as e:
        services.pay(user=op, **tax)
    assert (e.value.code, e.value.field) == ("bank.pre_application_required", "pre_application")
    assert "预申请" in e.value.message
    rejected = services.submit_pre_application(user=op, merchant_no="M1", business_type="tax",
                                               amount=Decimal("50.00"), purpose="十一月个税")
    with pytest.raises(ValidationFailed) as e:  # a rejection needs a comment
        services.review_pre_application(user=fin, pre_application=rejected.tx_id, approve=False)
    assert e.value.field == "comment"
    with pytest.raises(NotFound):  # the city is not the rule's approver region
        services.review_pre_application(user=env["city"], pre_application=rejected.tx_id, approve=True)
    services.review_pre_application(user=fin, pre_application=rejected.tx_id, approve=False, comment="金额有误")
    assert PreApplication.objects.get(ledger_id=rejected.tx_id).status == "rejected"
    assert selectors.pre_application_status(user=op, ledger_id=rejected.tx_id)["comment"] == "金额有误"
    with pytest.raises(ValidationFailed) as e:
        services.pay(user=op, **tax, pre_application=rejected.tx_id)
    assert e.value.code == "bank.pre_application_not_approved"
    assert _state_counts() == before

    approved = services.submit_pre_application(user=op, merchant_no="M1", business_type="tax",
                                               amount=Decimal("50.00"), purpose="十一月个税")
    services.review_pre_application(user=fin, pre_application=approved.tx_id, approve=True)
    with pytest.raises(Conflict):
        services.review_pre_application(user=fin, pre_application=approved.tx_id, approve=True)
    with pytest.raises(ValidationFailed) as e:
        services.pay(user=op, **{**tax, "amount": Decimal("50.01")}, pre_application=approved.tx_id)
    assert e.value.code == "bank.pre_application_exceeded"
    out = services.pay(user=op, **tax, pre_application=approved.tx_id)
    p = Payment.objects.get(ledger_id=out.tx_id)
    assert p.pre_application.ledger_id == approved.tx_id and p.status == "paid"
    with pytest.raises(Conflict) as e:
        services.pay(user=op, **info(7, business_type="tax", budget_type="iit", amount=Decimal("1.00")),
                     pre_application=approved.tx_id)
    assert e.value.code == "bank.pre_application_used"


@pytest.mark.django_db(transaction=True)
def test_the_ledger_refuses_a_pre_application_that_the_projection_had_not_seen_used(env):
    """The contract has the last word: two payments queued on one approved pre-application."""
    from fmis.transfers import local

    setup_business(env)
    op, fin = env["op"], env["fin"]
    pre = services.submit_pre_application(user=op, merchant_no="M1", business_type="tax",
                                          amount=Decimal("50.00"), purpose="个税")
    services.review_pre_application(user=fin, pre_application=pre.tx_id, approve=True)
    a = services.pay(user=op, apply=False, **info(8, business_type="tax", budget_type="iit"), pre_application=pre.tx_id)
    b = services.pay(user=op, apply=False, **info(9, business_type="tax", budget_type="iit"), pre_application=pre.tx_id)
    assert (a.status, b.status) == ("pending", "pending")
    local.flush()
    outcomes = [services.ledger.outcome(t.tx_id) for t in (a, b)]
    assert [o.status for o in outcomes] == ["valid", "invalid"]
    err = services.refusal(outcomes[1].reason, outcomes[1].detail)
    assert (err.code, err.field, isinstance(err, Conflict)) == ("bank.pre_application_used", "pre_application", True)
    assert Payment.objects.filter(business_type__code="tax").count() == 1


# --- flow rules --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_new_rule_version_needs_a_reason_and_applies_to_later_payments(env):
    setup_business(env)
    fin, op = env["fin"], env["fin"]
    with pytest.raises(ValidationFailed) as e:
        services.set_rule(user=fin, merchant_no="M1", business_type="utilities", limit=Decimal("100.00"))
    assert e.value.field == "reason"
    services.set_rule(user=fin, merchant_no="M1", business_type="utilities", limit=Decimal("100.00"),
                      required_fields=["purpose", "taxpayer_id"], reason="限额管理")
    rules = FlowRule.objects.filter(merchant__merchant_no="M1", business_type__code="utilities").order_by("version")
    assert [(r.version, r.current, r.limit) for r in rules] == [(1, False, None), (2, True, Decimal("100.00"))]
    op = env["op"]
    with pytest.raises(ValidationFailed) as e:
        services.pay(user=op, **info(10, amount=Decimal("100.01")))
    assert e.value.code == "bank.over_limit"
    with pytest.raises(ValidationFailed) as e:
        services.pay(user=op, **info(11, purpose="", taxpayer_id=""))
    assert e.value.code == "bank.field_required" and {x["field"] for x in e.value.errors} == {"purpose",
                                                                                               "taxpayer_id"}
    assert Payment.objects.get(ledger_id=services.pay(user=op, **info(12)).tx_id).rule_version == 2


# --- bad input: a clear error, nothing recorded --------------------------------------------------------


BAD_INPUT = [
    ({"merchant_no": "NOPE"}, "bank.merchant_unknown", "merchant_no"),
    ({"business_type": "nope"}, "bank.business_type_unknown", "business_type"),
    ({"budget_type": "iit"}, "bank.budget_type_mismatch", "budget_type"),
    ({"payee_name": ""}, "bank.field_required", "payee_name"),
    ({"voucher_id": None}, "bank.field_required", "voucher_id"),
    ({"amount": Decimal(0)}, "bank.amount_invalid", "amount"),
    ({"amount": Decimal("-5.00")}, "bank.amount_invalid", "amount"),
    ({"amount": Decimal("1.001")}, "bank.amount_invalid", "amount"),
    ({"amount": 1.5}, "bank.amount_invalid", "amount"),
    ({"currency": "USD"}, "bank.currency_mismatch", "currency"),
    ({"currency": "rmb"}, "args.invalid", "currency"),
    ({"payee_account": "A-M1"}, "args.invalid", "payee_account"),
    ({"date": "2026-13-01"}, "args.invalid", "date"),
    ({"bank_code": "902"}, "bank.not_own_merchant", "bank_code"),
    ({"amount": Decimal("1000.01")}, "bank.insufficient_funds", "amount"),
]


@pytest.mark.django_db(transaction=True)
def test_bad_budget_information_is_refused_before_the_ledger(env):
    from fmis.transfers.models import LedgerTx

    setup_business(env)
    before, txs = _state_counts(), LedgerTx.objects.count()
    for change, code, field in BAD_INPUT:
        with pytest.raises(DomainError) as e:
            services.pay(user=env["op"], **info(20, **change))
        assert (e.value.code, e.value.field) == (code, field), change
        assert e.value.message and re.search(r"[\u4e00-\u9fff]", e.value.message)
    assert _state_counts() == before and LedgerTx.objects.count() == txs


@pytest.mark.django_db(transaction=True)
def test_duplicate_bank_serial_and_voucher_are_refused_and_nothing_is_recorded(env):
    setup_business(env)
    services.pay(user=env["op"], **info(21))
    before = _state_counts()
    with pytest.raises(Conflict) as e:
        services.pay(user=env["op"], **info(22, bank_serial="S000021"))
    assert (e.value.code, e.value.field) == ("bank.duplicate_serial", "bank_serial")
    with pytest.raises(Conflict) as e:
        services.pay(user=env["op"], **info(23, voucher_id="V000021"))
    assert e.value.code == "bank.duplicate_voucher"
    assert _state_counts() == before


@pytest.mark.django_db(transaction=True)
def test_other_inputs_are_validated(env):
    setup_business(env)
    op, fin = env["op"], env["fin"]
    with pytest.raises(ValidationFailed) as e:
        services.fund(user=op, account_no="A-M2", amount=Decimal("1.00"), reference="R1", date=DAY)
    assert e.value.code == "bank.account_not_managed"
    with pytest.raises(Conflict) as e:
        services.fund(user=op, account_no="A-M1", amount=Decimal("1.00"), reference="Q2026001", date=DAY)
    assert (e.value.code, e.value.field) == ("bank.duplicate_reference", "reference")  # refused by the ledger
    with pytest.raises(ValidationFailed) as e:
        services.register_merchant(user=op, merchant_no="M3", name="x", agency_code="123", account_no="A-M3",
                                   managed=True)
    assert e.value.field == "agency_code"
    with pytest.raises(Conflict) as e:
        services.open_account(user=op, kind="customer", account_no="C1", name="重复", merchant_no="M1")
    assert (e.value.code, e.value.field) == ("bank.account_exists", "account_no")
    with pytest.raises(ValidationFailed) as e:
        services.submit_pre_application(user=op, merchant_no="M1", business_type="utilities",
                                        amount=Decimal("1.00"), purpose="x")
    assert e.value.code == "bank.pre_application_not_required"
    with pytest.raises(ValidationFailed) as e:
        services.define_business_type(user=fin, code="x y", name="", budget_types=[])
    assert {x["field"] for x in e.value.errors} == {"code", "name", "budget_types"}
    with pytest.raises(Conflict):
        services.open_core_account(user=op, account_no="A-M2", name="重复")


# --- scope ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_bank_user_cannot_act_for_another_banks_merchant(env):
    setup_business(env)
    op2 = env["op2"]
    before = _state_counts()
    with pytest.raises(ValidationFailed) as e:
        services.pay(user=op2, **info(30, bank_code="902"))
    assert e.value.code == "bank.merchant_unknown"
    with pytest.raises(ValidationFailed):
        services.fund(user=op2, account_no="A-M1", amount=Decimal("1.00"), reference="X1", date=DAY)
    with pytest.raises(ValidationFailed):
        services.submit_pre_application(user=op2, merchant_no="M1", business_type="tax", amount=Decimal("1.00"),
                                        purpose="x")
    out = services.pay(user=env["op"], **info(31, payee_account="C2", budget_type="electricity"))
    with pytest.raises(NotFound):
        services.refund_suspense(user=op2, payment=out.tx_id)
    with pytest.raises(PermissionDenied):  # a finance user is not a bank user
        services.pay(user=env["fin"], **info(32))
    assert _state_counts()[0] == before[0] + 1
    assert not selectors.payments(user=op2).exists() and selectors.payments(user=env["op"]).count() == 1


# --- the persisted core banking -----------------------------------------------------------------------


@pytest.mark.django_db
def test_db_core_is_idempotent_and_refuses_a_reused_request_id():
    from fmis.bankside.core_banking import CoreConflict

    core = db_core("901")
    core.open("X1", balance=10_000)
    r1 = core.debit(request_id="r1", account_no="X1", amount=4_000, currency="CNY")
    assert (r1.status, r1.amount) == ("ok", 4_000) and r1.core_serial.startswith("901C")
    assert core.debit(request_id="r1", account_no="X1", amount=4_000, currency="CNY") == r1
    assert core.balance("X1") == 6_000
    with pytest.raises(CoreConflict):
        core.debit(request_id="r1", account_no="X1", amount=4_001, currency="CNY")
    r2 = core.debit(request_id="r2", account_no="X1", amount=6_001, currency="CNY")
    assert (r2.status, r2.code, r2.core_serial) == ("failed", "core.insufficient_funds", "")
    assert core.debit(request_id="r3", account_no="NOPE", amount=1, currency="CNY").code == "core.account_unknown"
    assert core.debit(request_id="r4", account_no="X1", amount=1, currency="USD").code == "core.currency_mismatch"
    assert core.credit(request_id="r5", account_no="X1", amount=0, currency="CNY").code == "core.amount_invalid"
    ref = core.refund(request_id="back1", original_request_id="r1")
    assert ref.status == "ok" and core.balance("X1") == 10_000
    assert core.refund(request_id="back1", original_request_id="r1") == ref
    again = core.refund(request_id="back2", original_request_id="r1")
    assert (again.status, again.code) == ("failed", "core.already_refunded") and core.balance("X1") == 10_000
    assert core.refund(request_id="back3", original_request_id="r2").code == "core.refund_no_debit"
    serials = [e.core_serial for e in core.journal() if e.core_serial]
    assert len(serials) == len(set(serials)) == 2
    assert db_core("902").debit(request_id="r1", account_no="X1", amount=1, currency="CNY").code == \
        "core.account_unknown"  # another bank's core: its own accounts and request ids


# --- every refusal of the contracts has a Chinese message ---------------------------------------------


def test_every_contract_refusal_code_is_mapped():
    source = (Path(services.__file__).parent / "contracts.py").read_text()
    codes = set(re.findall(r'Refused\(\s*"([a-z_.]+)"', source))
    assert codes and codes <= set(services.REFUSALS), codes - set(services.REFUSALS)
    err = services.refusal("args.invalid", "time must be HH:MM:SS")
    assert (err.field, err.message) == ("time", "时间：数据格式不正确")
    err = services.refusal("bank.field_required", "the rule (version 2) requires purpose, taxpayer_id")
    assert err.field == "purpose" and "用途、纳税人识别号" in err.message


def test_write_functions_do_not_fall_under_the_readers_pattern():
    """Readers hold ``bankside.*view``: no finance or bank action may match it."""
    import fnmatch

    actions = [f.code for f in F_.FUNCTIONS if f.code.startswith(("bankside.finance.", "bankside.bank."))]
    assert actions and not [c for c in actions if fnmatch.fnmatchcase(c, "bankside.*view")]

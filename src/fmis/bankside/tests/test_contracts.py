"""The bank-side contracts of seed 004, executed directly through ``Call`` objects."""

from __future__ import annotations

import pytest

from fmis.bankside import contracts, statements
from fmis.bankside.core_banking import CoreBanking, payment_args, refund_args
from fmis.bankside.tests.harness import BANK, CITY_FINANCE, FINANCE, OTHER_BANK, build_world
from fmis.bankside.tests.harness import payment_args as pargs
from fmis.transfers.ledger.contracts import Refused


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def core():
    c = CoreBanking("B001")
    c.open("A-M2", balance=500_000)
    c.open("C2")
    return c


def refused(h, function, args, member, code):
    before = h.snapshot()
    with pytest.raises(Refused) as exc:
        h.call(function, args, member)
    assert exc.value.code == code, exc.value
    assert exc.value.message
    assert h.snapshot() == before, "a refused transaction changed the world state"
    return exc.value


# --- the branches of the seed's method ---------------------------------------------------------------


def test_both_have_the_function_decrease_merchant_increase_customer(world):
    pid = world.call("bankside.pay", pargs(1, amount=12_345), BANK)
    p = world.payment(pid)
    assert (p["branch"], p["status"], p["rule_version"]) == ("ledger", "paid", 1)
    assert world.balance("A-M1") == 1_000_000 - 12_345
    assert world.balance("C1") == 12_345
    assert world.balance("BGL-CNY") == 0
    assert [(b["kind"], b["account"], b["amount"], b["balance"]) for b in p["bookkeeping"]] == [
        ("bank.decrease", "A-M1", 12_345, 987_655), ("bank.increase", "C1", 12_345, 12_345)]
    mvs = [m for m in world.movements if m.allocation == pid]
    assert [(m.kind, m.detail["account"], m.amount) for m in mvs] == [
        ("bank.decrease", "A-M1", 12_345), ("bank.increase", "C1", 12_345)]
    assert world.state["bank/serial/B001/S00000001"] == {"payment": pid}


@pytest.mark.parametrize("payee", ["C2", "EXT-9"], ids=["customer-unmanaged", "customer-not-on-ledger"])
def test_customer_lacks_the_function_books_through_suspense_then_refund_clears_it(world, core, payee):
    if payee == "EXT-9":
        core.open("EXT-9")
    pid = world.call("bankside.pay", pargs(1, payee_account=payee, amount=30_000), BANK)
    p = world.payment(pid)
    assert (p["branch"], p["status"]) == ("suspense", "suspense_booked")
    assert world.balance("A-M1") == 970_000
    assert world.balance("BGL-CNY") == 30_000
    # the core pays the customer out, the result goes onto the ledger and clears the suspense account
    args = refund_args(core, p, day="2026-11-20")
    world.call("bankside.refund_suspense", args, BANK)
    p = world.payment(pid)
    assert p["status"] == "paid" and p["refund"]["status"] == "ok"
    assert world.balance("BGL-CNY") == 0
    assert world.balance("A-M1") == 970_000
    assert core.balance(payee) == 30_000
    assert [b["kind"] for b in p["bookkeeping"]] == ["bank.decrease", "bank.increase", "bank.decrease",
                                                     "bank.core_credit"]
    st = statements.account_statement(world.movements, account_no="BGL-CNY", day="2026-11-20")
    assert (st.increase, st.decrease, st.closing) == (30_000, 30_000, 0)
    # a refund cannot be recorded twice; retrying at the core returns the same result
    assert refund_args(core, p, day="2026-11-20") == args
    refused(world, "bankside.refund_suspense", args, BANK, "bank.not_in_suspense")
    assert core.balance(payee) == 30_000


def test_refund_refused_by_the_core_returns_the_funds_to_the_merchant(world, core):
    pid = world.call("bankside.pay", pargs(1, payee_account="EXT-UNKNOWN", amount=5_000), BANK)
    args = refund_args(core, world.payment(pid), day="2026-11-21")
    assert args["core"]["status"] == "failed"
    world.call("bankside.refund_suspense", args, BANK)
    p = world.payment(pid)
    assert p["status"] == "returned"
    assert world.balance("BGL-CNY") == 0
    assert world.balance("A-M1") == 1_000_000
    st = statements.account_statement(world.movements, account_no="A-M1", day="2026-11-21", previous_days=2)
    assert (st.opening, st.increase, st.decrease, st.closing) == (0, 1_005_000, 5_000, 1_000_000)
    assert statements.reconcile(st, world.records()) == []


def test_merchant_lacks_the_function_takes_the_traditional_core_debit(world, core):
    refused(world, "bankside.pay", pargs(1, merchant_no="M2", payee_account="C1"), BANK,
            "bank.core_result_required")
    args = payment_args(core, pargs(1, merchant_no="M2", payee_account="C1", amount=20_000), merchant_account="A-M2")
    pid = world.call("bankside.pay", args, BANK)
    p = world.payment(pid)
    assert (p["branch"], p["status"]) == ("core", "paid")
    assert p["core"]["core_serial"] == "B001C0000000001"
    assert core.balance("A-M2") == 480_000
    assert world.balance("A-M2") == 0 and world.balance("C1") == 0  # no ledger balance moved
    assert [(b["kind"], b["account"], b["amount"]) for b in p["bookkeeping"]] == [("bank.core_debit", "A-M2", 20_000)]
    # a retried submission does not debit the core twice and is refused on the ledger as a duplicate
    again = payment_args(core, pargs(1, merchant_no="M2", payee_account="C1", amount=20_000), merchant_account="A-M2")
    assert again == args and core.balance("A-M2") == 480_000
    refused(world, "bankside.pay", again, BANK, "bank.duplicate_serial")
    # a core result for another amount is refused
    bad = {**pargs(2, merchant_no="M2", amount=7), "core": {**args["core"], "request_id": "x"}}
    refused(world, "bankside.pay", bad, BANK, "bank.core_result_mismatch")


def test_traditional_debit_refused_by_the_core_is_recorded_as_failed(world, core):
    args = payment_args(core, pargs(1, merchant_no="M2", amount=900_000), merchant_account="A-M2")
    assert args["core"]["status"] == "failed"
    pid = world.call("bankside.pay", args, BANK)
    p = world.payment(pid)
    assert (p["branch"], p["status"], p["bookkeeping"]) == ("core", "failed", [])
    assert core.balance("A-M2") == 500_000


# --- pre-applications ------------------------------------------------------------------------------


def tax(n, **over):
    return pargs(n, business_type="tax", budget_type="iit", purpose="代扣个税", **over)


def pre(h, amount=50_000, member=BANK):
    return h.call("bankside.submit_pre_application", {"merchant_no": "M1", "business_type": "tax",
                                                      "amount": amount, "currency": "CNY", "purpose": "11月个税"},
                  member)


def test_pre_application_required_and_missing(world):
    refused(world, "bankside.pay", tax(1), BANK, "bank.pre_application_required")
    refused(world, "bankside.pay", tax(1, pre_application="f" * 64), BANK, "bank.pre_application_unknown")


def test_pre_application_submitted_or_rejected_blocks_the_payment(world):
    pid = pre(world)
    assert world.state[f"bank/preapp/{pid}"]["status"] == "submitted"
    refused(world, "bankside.pay", tax(1, pre_application=pid), BANK, "bank.pre_application_not_approved")
    refused(world, "bankside.review_pre_application", {"pre_application": pid, "decision": "rejected"}, FINANCE,
            "bank.field_required")  # a rejection needs a reason
    world.call("bankside.review_pre_application", {"pre_application": pid, "decision": "rejected",
                                                   "comment": "缺少附件"}, FINANCE)
    assert world.state[f"bank/preapp/{pid}"]["status"] == "rejected"
    e = refused(world, "bankside.pay", tax(1, pre_application=pid), BANK, "bank.pre_application_not_approved")
    assert "rejected" in e.message
    refused(world, "bankside.review_pre_application", {"pre_application": pid, "decision": "approved"}, FINANCE,
            "bank.pre_application_reviewed")


def test_approved_pre_application_lets_one_payment_through(world):
    pid = pre(world, amount=50_000)
    refused(world, "bankside.review_pre_application", {"pre_application": pid, "decision": "approved"},
            CITY_FINANCE, "bank.not_reviewer")
    world.call("bankside.review_pre_application", {"pre_application": pid, "decision": "approved"}, FINANCE)
    refused(world, "bankside.pay", tax(1, pre_application=pid, amount=50_001), BANK, "bank.pre_application_exceeded")
    refused(world, "bankside.pay", tax(1, pre_application=pid, taxpayer_id=""), BANK, "bank.field_required")
    pay_id = world.call("bankside.pay", tax(1, pre_application=pid, amount=40_000), BANK)
    assert world.payment(pay_id)["pre_application"] == pid
    assert world.state[f"bank/preapp/{pid}"]["payment"] == pay_id
    assert world.balance("C1") == 40_000
    refused(world, "bankside.pay", tax(2, pre_application=pid, amount=1), BANK, "bank.pre_application_used")


def test_pre_application_for_another_business_type_or_not_required(world):
    refused(world, "bankside.submit_pre_application", {"merchant_no": "M1", "business_type": "utilities",
                                                       "amount": 1, "currency": "CNY", "purpose": "x"},
            BANK, "bank.pre_application_not_required")
    world.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities",
                                     "pre_application": "application"}, FINANCE)
    pid = world.call("bankside.submit_pre_application", {"merchant_no": "M1", "business_type": "utilities",
                                                         "amount": 100, "currency": "CNY", "purpose": "x"}, BANK)
    world.call("bankside.review_pre_application", {"pre_application": pid, "decision": "approved"}, FINANCE)
    refused(world, "bankside.pay", tax(1, pre_application=pid, amount=100), BANK, "bank.pre_application_mismatch")


# --- rules ---------------------------------------------------------------------------------------


def test_rules_are_versioned_and_old_payments_keep_theirs(world):
    first = world.call("bankside.pay", pargs(1), BANK)
    world.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities", "limit": 5_000,
                                     "required_fields": ["voucher_no", "func_class"], "reason": "加强控制"}, FINANCE)
    rule = world.state["bank/rule/M1/utilities"]
    assert rule["version"] == 2
    assert world.state["bank/rule/M1/utilities/1"]["limit"] is None
    assert world.state["bank/rule/M1/utilities/2"] == rule
    assert world.payment(first)["rule_version"] == 1
    refused(world, "bankside.pay", pargs(2, amount=5_001), BANK, "bank.over_limit")
    e = refused(world, "bankside.pay", pargs(2, amount=100, func_class=""), BANK, "bank.field_required")
    assert "func_class" in e.message and "version 2" in e.message
    second = world.call("bankside.pay", pargs(2, amount=5_000), BANK)
    assert world.payment(second)["rule_version"] == 2


def test_rule_needs_known_merchant_and_business_type_and_valid_fields(world):
    refused(world, "bankside.set_rule", {"merchant_no": "M9", "business_type": "utilities"}, FINANCE,
            "bank.merchant_unknown")
    refused(world, "bankside.set_rule", {"merchant_no": "M1", "business_type": "gas"}, FINANCE,
            "bank.business_type_unknown")
    refused(world, "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities",
                                         "required_fields": ["amount"]}, FINANCE, "args.invalid")
    refused(world, "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities",
                                         "pre_application": "maybe"}, FINANCE, "args.invalid")
    refused(world, "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities", "limit": 0},
            FINANCE, "bank.amount_invalid")


def test_rule_missing_refuses_the_payment(world):
    refused(world, "bankside.pay", pargs(1, merchant_no="M2", business_type="tax", budget_type="iit"), BANK,
            "bank.rule_missing")


# --- bad input: clear refusal, nothing recorded -----------------------------------------------------


BAD_PAYMENTS = [
    ({"merchant_no": "M404"}, "bank.merchant_unknown"),
    ({"business_type": "gas"}, "bank.business_type_unknown"),
    ({"budget_type": "iit"}, "bank.budget_type_mismatch"),
    ({"amount": 0}, "bank.amount_invalid"),
    ({"amount": -100}, "bank.amount_invalid"),
    ({"amount": True}, "bank.amount_invalid"),
    ({"amount": "100"}, "bank.amount_invalid"),
    ({"amount": 2**60}, "bank.amount_invalid"),
    ({"currency": "USD"}, "bank.currency_mismatch"),
    ({"currency": "usd"}, "args.invalid"),
    ({"payee_name": ""}, "bank.field_required"),
    ({"bank_serial": ""}, "bank.field_required"),
    ({"voucher_id": None}, "bank.field_required"),
    ({"date": "2026-13-01"}, "args.invalid"),
    ({"time": "25:00:00"}, "args.invalid"),
    ({"rate": "1,0"}, "args.invalid"),
    ({"purpose": "x" * 201}, "args.invalid"),
    ({"bank_code": "B002"}, "bank.not_own_merchant"),
    ({"amount": 1_000_001}, "bank.insufficient_funds"),
    ({"payee_account": "BGL-CNY"}, "args.invalid"),
    ({"payee_account": "A-M1"}, "args.invalid"),
]


@pytest.mark.parametrize(("over", "code"), BAD_PAYMENTS, ids=[c + ":" + next(iter(o)) for o, c in BAD_PAYMENTS])
def test_bad_payment_is_refused_with_nothing_recorded(world, over, code):
    refused(world, "bankside.pay", pargs(1, **over), BANK, code)


def test_duplicate_serial_and_voucher_are_refused(world):
    world.call("bankside.pay", pargs(1), BANK)
    refused(world, "bankside.pay", pargs(2, bank_serial="S00000001"), BANK, "bank.duplicate_serial")
    refused(world, "bankside.pay", pargs(2, voucher_id="V000001"), BANK, "bank.duplicate_voucher")


def test_currency_mismatch_on_the_payee_account(world):
    world.call("bankside.open_account", {"account_no": "C-USD", "name": "外币客户", "kind": "customer",
                                         "merchant_no": "M1", "currency": "USD", "managed": True}, BANK)
    refused(world, "bankside.pay", pargs(1, payee_account="C-USD"), BANK, "bank.currency_mismatch")


def test_suspense_booking_needs_a_suspense_account_in_the_currency():
    from fmis.bankside.tests.harness import Harness
    h = Harness()
    h.call("bankside.define_business_type", {"code": "utilities", "name": "水电费", "budget_types": ["water"]},
           FINANCE)
    h.call("bankside.register_merchant", {"merchant_no": "M1", "name": "x", "agency_code": "1", "agency_name": "x",
                                          "account_no": "A-M1", "currency": "CNY", "managed": True}, BANK)
    h.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities"}, FINANCE)
    h.call("bankside.fund", {"account_no": "A-M1", "amount": 100, "currency": "CNY", "reference": "r",
                             "date": "2026-11-19"}, BANK)
    refused(h, "bankside.pay", pargs(1, payee_account="EXT", amount=100), BANK, "bank.suspense_missing")


def test_another_bank_cannot_act_for_the_merchant(world):
    refused(world, "bankside.pay", pargs(1, bank_code="B001"), OTHER_BANK, "bank.not_own_merchant")
    pid = world.call("bankside.pay", pargs(1, payee_account="EXT"), BANK)
    refused(world, "bankside.refund_suspense", {"payment": pid, "date": "2026-11-20", "core": {
        "request_id": "r1", "status": "ok", "core_serial": "X1", "amount": 10_000}}, OTHER_BANK,
        "bank.not_own_merchant")
    refused(world, "bankside.fund", {"account_no": "A-M1", "amount": 1, "currency": "CNY", "reference": "r",
                                     "date": "2026-11-20"}, OTHER_BANK, "bank.not_own_account")


def test_roles(world):
    assert set(contracts.ROLES) == set(contracts.FUNCTIONS)
    refused(world, "bankside.pay", pargs(1), FINANCE, "role.forbidden")
    refused(world, "bankside.set_rule", {"merchant_no": "M1", "business_type": "tax"}, BANK, "role.forbidden")


def test_fund_and_registration_refusals(world):
    refused(world, "bankside.fund", {"account_no": "C2", "amount": 1, "currency": "CNY", "reference": "r",
                                     "date": "2026-11-20"}, BANK, "bank.account_not_managed")
    refused(world, "bankside.fund", {"account_no": "A-M1", "amount": 1, "currency": "USD", "reference": "r",
                                     "date": "2026-11-20"}, BANK, "bank.currency_mismatch")
    refused(world, "bankside.fund", {"account_no": "NOPE", "amount": 1, "currency": "CNY", "reference": "r",
                                     "date": "2026-11-20"}, BANK, "bank.account_unknown")
    refused(world, "bankside.fund", {"account_no": "A-M1", "amount": 1, "currency": "CNY", "reference": "Q-1",
                                     "date": "2026-11-20"}, BANK, "bank.duplicate_reference")
    refused(world, "bankside.register_merchant", {"merchant_no": "M1", "name": "x", "agency_code": "1",
                                                  "agency_name": "x", "account_no": "NEW", "currency": "CNY",
                                                  "managed": True}, BANK, "bank.merchant_exists")
    refused(world, "bankside.open_account", {"account_no": "BGL-2", "name": "x", "kind": "suspense",
                                             "currency": "CNY"}, BANK, "bank.account_exists")


# --- statements ------------------------------------------------------------------------------------


def test_daily_statements_reconcile_to_the_bookkeeping(world, core):
    core.open("EXT")
    ids = [world.call("bankside.pay", pargs(1, amount=1_000, date="2026-11-20"), BANK),
           world.call("bankside.pay", pargs(2, amount=2_000, date="2026-11-20", payee_account="EXT"), BANK),
           world.call("bankside.pay", pargs(3, amount=4_000, date="2026-11-21"), BANK)]
    world.call("bankside.refund_suspense", refund_args(core, world.payment(ids[1]), day="2026-11-21"), BANK)
    m1 = world.state["bank/merchant/M1"]
    day1 = statements.merchant_statement(world.movements, merchant=m1, day="2026-11-20")
    assert (day1.opening, day1.increase, day1.decrease, day1.closing) == (1_000_000, 0, 3_000, 997_000)
    assert [ln.balance for ln in day1.lines] == [999_000, 997_000]
    day2 = statements.merchant_statement(world.movements, merchant=m1, day="2026-11-21")
    assert (day2.opening, day2.decrease, day2.closing) == (997_000, 4_000, 993_000)
    assert day2.closing == world.balance("A-M1")
    both = statements.merchant_statement(world.movements, merchant=m1, day="2026-11-21", previous_days=1)
    assert (both.opening, both.decrease, len(both.lines)) == (1_000_000, 7_000, 3)
    for st in (day1, day2, both):
        assert statements.reconcile(st, world.records()) == []
    cust = statements.customer_statement(world.movements, account_no="C1", day="2026-11-21", previous_days=1)
    assert (cust.increase, cust.closing) == (5_000, world.balance("C1"))
    ext = statements.customer_statement(world.movements, account_no="EXT", day="2026-11-21")
    assert (ext.core_credit, ext.increase) == (2_000, 0)
    assert statements.reconcile(ext, world.records()) == []
    assert both.as_rows()[0][0] == "日期" and len(both.as_rows()) == 4
    # a statement that does not match the bookkeeping says where
    assert statements.reconcile(day1, []) == ["bank.decrease: statement 3000 fen, bookkeeping 0 fen"]


# --- prefetch --------------------------------------------------------------------------------------


def test_arg_keys_name_the_keys_a_payment_reads(world):
    read: list[str] = []
    world.state = _SpyDict(world.state, read.append)
    args = pargs(7, payee_account="EXT")
    world.call("bankside.pay", args, BANK)
    keys = set(contracts.arg_keys("bankside.pay", args))
    # beyond the prefetched keys a payment reads only what the merchant record names
    assert set(read) - keys <= {"bank/account/A-M1", "bank/suspense/B001/CNY", "bank/account/BGL-CNY"}
    assert contracts.arg_keys("transfers.expend", {"allocation": "x"}) == []


class _SpyDict(dict):
    def __init__(self, data, spy):
        super().__init__(data)
        self._spy = spy

    def get(self, key, default=None):
        self._spy(key)
        return super().get(key, default)

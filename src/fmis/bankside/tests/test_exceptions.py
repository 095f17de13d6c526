"""Exception flows of seed 004 §54 on the ledger: fund returns, entrusted collection, payment
corrections and mistaken-payment refunds, each configurable per merchant and business type."""

from __future__ import annotations

import pytest

from fmis.bankside import contracts, statements
from fmis.bankside.core_banking import CoreBanking, payment_args, refund_args
from fmis.bankside.tests.harness import BANK, CITY_FINANCE, FINANCE, OTHER_BANK, build_world
from fmis.bankside.tests.harness import payment_args as pargs
from fmis.transfers.ledger.contracts import Refused

DAY = "2026-11-21"


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def core():
    c = CoreBanking("B001")
    c.open("A-M2", balance=500_000)
    c.open("C2")
    c.open("EXT", balance=0)
    return c


def refused(h, function, args, member, code):
    before = h.snapshot()
    with pytest.raises(Refused) as exc:
        h.call(function, args, member)
    assert exc.value.code == code, exc.value
    assert exc.value.message
    assert h.snapshot() == before, "a refused transaction changed the world state"
    return exc.value


def modes(h, merchant="M1", business_type="utilities", **kinds):
    h.call("bankside.set_rule", {"merchant_no": merchant, "business_type": business_type, "exceptions": kinds},
           FINANCE)


def give_back(pid, n, amount, **over):
    return {"payment": pid, "amount": amount, "date": DAY, "bank_serial": f"R{n:07d}", "reason": "收款人账户已销户",
            **over}


def authorisation(**over):
    args = {"merchant_no": "M1", "business_type": "utilities", "budget_type": "water", "customer_account": "C1",
            "customer_name": "自来水公司", "limit": 5_000, "total_limit": 8_000, "valid_from": "2026-11-01",
            "valid_to": "2026-12-31", "reference": "AUTH-1"}
    args.update(over)
    return args


def collection(auth, n, amount, **over):
    return {"authorisation": auth, "amount": amount, "currency": "CNY", "date": DAY, "bank_serial": f"K{n:07d}",
            "purpose": "11月水费", **over}


def correction(pid, **changes):
    return {"payment": pid, "date": DAY, "reason": "功能分类录入错误",
            "changes": changes or {"func_class": "2010302"}}


def check_statements(h, accounts=("A-M1", "C1", "C2", "BGL-CNY", "A-M2", "EXT")):
    """Every account's statement reconciles with the recorded bookkeeping, and its latest closing is
    the account's balance in the world state; the suspense account nets to zero."""
    for account in accounts:
        for day, prev in (("2026-11-20", 0), (DAY, 0), (DAY, 3)):
            st = statements.account_statement(h.movements, account_no=account, day=day, previous_days=prev)
            assert statements.reconcile(st, h.records()) == [], (account, day, prev)
        key = f"bank/account/{account}"
        if key in h.state:
            assert st.closing == h.balance(account), account
    assert h.balance("BGL-CNY") == 0


# --- rule configuration -------------------------------------------------------------------------


def test_rules_carry_a_mode_per_exception_kind_with_defaults(world):
    rule = world.state["bank/rule/M1/utilities"]
    assert rule["exceptions"] == contracts.DEFAULT_CASE_MODES
    modes(world, collection="forbidden", correction="direct")
    rule = world.state["bank/rule/M1/utilities"]
    assert rule["version"] == 2
    assert rule["exceptions"] == {"return": "direct", "collection": "forbidden", "correction": "direct",
                                  "mistaken_refund": "approval"}
    assert world.state["bank/rule/M1/utilities/1"]["exceptions"]["collection"] == "direct"
    # a rule recorded before exception flows existed behaves as the defaults
    assert contracts.case_mode({"version": 1}, "correction") == "approval"
    for bad in ({"returns": "direct"}, {"return": "sometimes"}, ["return"]):
        refused(world, "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities", "exceptions": bad},
                FINANCE, "args.invalid")


@pytest.mark.parametrize("kind", contracts.CASE_KINDS)
def test_a_forbidden_kind_is_refused_with_nothing_written(world, kind):
    pid = world.call("bankside.pay", pargs(1), BANK)
    aid = world.call("bankside.register_authorisation", authorisation(), BANK)
    modes(world, **{kind: "forbidden"})
    call = {"return": ("bankside.return_payment", give_back(pid, 1, 100)),
            "mistaken_refund": ("bankside.refund_mistaken", give_back(pid, 1, 100)),
            "collection": ("bankside.collect", collection(aid, 1, 100)),
            "correction": ("bankside.correct_payment", correction(pid))}[kind]
    e = refused(world, *call, BANK, "bank.case_forbidden")
    assert kind in e.message and "version 2" in e.message
    app = {"kind": kind, "reason": "x", "amount": 100, "changes": {"func_class": "2010302"},
           **({"authorisation": aid} if kind == "collection" else {"payment": pid})}
    refused(world, "bankside.submit_case_application", app, BANK, "bank.case_forbidden")
    if kind == "collection":
        refused(world, "bankside.register_authorisation", authorisation(reference="AUTH-2"), BANK,
                "bank.case_forbidden")


# --- fund returns (资金退回) ------------------------------------------------------------------------


def test_return_of_a_ledger_payment_decreases_the_payee_and_increases_the_merchant(world):
    pid = world.call("bankside.pay", pargs(1, amount=10_000), BANK)
    first = world.call("bankside.return_payment", give_back(pid, 1, 4_000), BANK)
    c = world.case(first)
    assert (c["kind"], c["status"], c["branch"], c["mode"], c["amount"]) == ("return", "booked", "ledger",
                                                                             "direct", 4_000)
    assert [(b["kind"], b["account"], b["amount"], b["balance"]) for b in c["bookkeeping"]] == [
        ("bank.decrease", "C1", 4_000, 6_000), ("bank.increase", "A-M1", 4_000, 994_000)]
    assert (c["before"], c["after"]) == ({"status": "paid", "returned": 0},
                                         {"status": "partly_returned", "returned": 4_000})
    p = world.payment(pid)
    assert (p["status"], p["returned"], p["cases"]) == ("partly_returned", 4_000, [first])
    assert world.state["bank/serial/B001/R0000001"] == {"case": first}
    # partial returns add up; never beyond what was paid
    e = refused(world, "bankside.return_payment", give_back(pid, 2, 6_001), BANK, "bank.over_return")
    assert "already returned 4000" in e.message
    second = world.call("bankside.return_payment", give_back(pid, 2, 6_000), BANK)
    assert world.payment(pid)["status"] == "returned" and world.payment(pid)["returned"] == 10_000
    assert world.payment(pid)["cases"] == [first, second]
    assert world.balance("C1") == 0 and world.balance("A-M1") == 1_000_000
    refused(world, "bankside.return_payment", give_back(pid, 3, 1), BANK, "bank.payment_not_returnable")
    check_statements(world)


def test_return_of_a_suspense_payment_is_the_cores_recorded_debit_through_the_suspense_account(world, core):
    pid = world.call("bankside.pay", pargs(1, payee_account="EXT", amount=30_000), BANK)
    refused(world, "bankside.return_payment", give_back(pid, 1, 10_000), BANK, "bank.payment_not_returnable")
    world.call("bankside.refund_suspense", refund_args(core, world.payment(pid), day="2026-11-20"), BANK)
    assert core.balance("EXT") == 30_000
    refused(world, "bankside.return_payment", give_back(pid, 1, 10_000), BANK, "bank.core_result_required")
    result = core.debit(request_id="return-R0000001", account_no="EXT", amount=10_000, currency="CNY")
    cid = world.call("bankside.return_payment", give_back(pid, 1, 10_000, core=result.as_args()), BANK)
    c = world.case(cid)
    assert (c["status"], c["branch"], c["core"]["core_serial"]) == ("booked", "suspense", result.core_serial)
    assert [(b["kind"], b["account"], b["amount"]) for b in c["bookkeeping"]] == [
        ("bank.core_debit", "EXT", 10_000), ("bank.increase", "BGL-CNY", 10_000),
        ("bank.decrease", "BGL-CNY", 10_000), ("bank.increase", "A-M1", 10_000)]
    assert world.balance("A-M1") == 1_000_000 - 20_000
    assert world.balance("BGL-CNY") == 0 and core.balance("EXT") == 20_000
    assert world.payment(pid)["status"] == "partly_returned"
    check_statements(world)


def test_a_return_the_core_refused_is_recorded_as_failed_and_moves_nothing(world, core):
    pid = world.call("bankside.pay", pargs(1, payee_account="EXT", amount=3_000), BANK)
    world.call("bankside.refund_suspense", refund_args(core, world.payment(pid), day="2026-11-20"), BANK)
    before = world.balance("A-M1")
    failed = core.debit(request_id="return-R1", account_no="EXT", amount=5_000, currency="CNY")
    assert failed.status == "failed"
    refused(world, "bankside.return_payment", give_back(pid, 1, 3_000, core=failed.as_args()), BANK,
            "bank.core_result_mismatch")
    refused(world, "bankside.return_payment", give_back(pid, 1, 5_000, core=failed.as_args()), BANK,
            "bank.over_return")
    core.accounts["EXT"].frozen = True
    frozen = core.debit(request_id="return-R2", account_no="EXT", amount=3_000, currency="CNY")
    cid = world.call("bankside.return_payment", give_back(pid, 1, 3_000, core=frozen.as_args()), BANK)
    c = world.case(cid)
    assert (c["status"], c["bookkeeping"], c["after"]) == ("failed", [], {"status": "paid", "returned": 0})
    assert world.balance("A-M1") == before
    assert world.payment(pid)["status"] == "paid"


def test_return_of_a_core_payment_is_the_cores_recorded_credit_to_the_merchant(world, core):
    args = payment_args(core, pargs(1, merchant_no="M2", amount=20_000), merchant_account="A-M2")
    pid = world.call("bankside.pay", args, BANK)
    assert core.balance("A-M2") == 480_000
    result = core.credit(request_id="return-R0000001", account_no="A-M2", amount=20_000, currency="CNY")
    cid = world.call("bankside.return_payment", give_back(pid, 1, 20_000, core=result.as_args()), BANK)
    c = world.case(cid)
    assert [(b["kind"], b["account"], b["amount"], b["balance"]) for b in c["bookkeeping"]] == [
        ("bank.core_credit", "A-M2", 20_000, None)]
    assert core.balance("A-M2") == 500_000 and world.balance("A-M2") == 0
    assert world.payment(pid)["status"] == "returned"
    st = statements.account_statement(world.movements, account_no="A-M2", day=DAY, previous_days=1)
    assert (st.core_debit, st.core_credit) == (20_000, 20_000)
    assert statements.reconcile(st, world.records()) == []


def test_a_return_never_takes_a_balance_below_zero(world):
    pid = world.call("bankside.pay", pargs(1, amount=10_000), BANK)
    # the customer's account has since been drawn on (outside these flows): only 2,000 fen are left
    world.state["bank/account/C1"] = {**world.state["bank/account/C1"], "balance": 2_000}
    e = refused(world, "bankside.return_payment", give_back(pid, 1, 2_001), BANK, "bank.insufficient_funds")
    assert "C1" in e.message
    world.call("bankside.return_payment", give_back(pid, 1, 2_000), BANK)
    assert world.balance("C1") == 0


# --- mistaken-payment refunds (错缴资金退回) --------------------------------------------------------


def test_mistaken_refund_under_approval(world):
    pid = world.call("bankside.pay", pargs(1, amount=8_000), BANK)
    # the default rule puts mistaken refunds under approval: missing, submitted, rejected, approved
    refused(world, "bankside.refund_mistaken", give_back(pid, 1, 8_000), BANK, "bank.case_application_required")
    refused(world, "bankside.refund_mistaken", give_back(pid, 1, 8_000, application="e" * 64), BANK,
            "bank.case_application_unknown")
    app_args = {"kind": "mistaken_refund", "payment": pid, "amount": 8_000, "reason": "收款人错误"}
    refused(world, "bankside.submit_case_application", {**app_args, "amount": 8_001}, BANK, "bank.over_return")
    rejected = world.call("bankside.submit_case_application", app_args, BANK)
    a = world.state[f"bank/caseapp/{rejected}"]
    assert (a["status"], a["approver_region"], a["kind"], a["case"]) == ("submitted", "990000", "mistaken_refund",
                                                                         None)
    refused(world, "bankside.refund_mistaken", give_back(pid, 1, 8_000, application=rejected), BANK,
            "bank.case_application_not_approved")
    refused(world, "bankside.review_case_application", {"application": rejected, "decision": "rejected"}, FINANCE,
            "bank.field_required")
    world.call("bankside.review_case_application", {"application": rejected, "decision": "rejected",
                                                    "comment": "证明材料不全"}, FINANCE)
    e = refused(world, "bankside.refund_mistaken", give_back(pid, 1, 8_000, application=rejected), BANK,
                "bank.case_application_not_approved")
    assert "rejected" in e.message
    refused(world, "bankside.review_case_application", {"application": rejected, "decision": "approved"}, FINANCE,
            "bank.case_application_reviewed")

    approved = world.call("bankside.submit_case_application", {**app_args, "amount": 5_000}, BANK)
    refused(world, "bankside.review_case_application", {"application": approved, "decision": "approved"},
            CITY_FINANCE, "bank.not_reviewer")
    world.call("bankside.review_case_application", {"application": approved, "decision": "approved"}, FINANCE)
    assert world.state[f"bank/caseapp/{approved}"]["reviewer"] == "990000"
    refused(world, "bankside.refund_mistaken", give_back(pid, 1, 5_001, application=approved), BANK,
            "bank.case_application_exceeded")
    refused(world, "bankside.return_payment", give_back(pid, 1, 5_000, application=approved), BANK,
            "bank.case_application_not_required")  # returns are direct under this rule
    cid = world.call("bankside.refund_mistaken", give_back(pid, 1, 5_000, application=approved), BANK)
    c = world.case(cid)
    assert (c["kind"], c["mode"], c["application"], c["status"]) == ("mistaken_refund", "approval", approved,
                                                                     "booked")
    assert world.state[f"bank/caseapp/{approved}"]["case"] == cid
    assert world.balance("C1") == 3_000 and world.payment(pid)["status"] == "partly_returned"
    refused(world, "bankside.refund_mistaken", give_back(pid, 2, 1_000, application=approved), BANK,
            "bank.case_application_used")
    check_statements(world)


def test_a_case_application_is_for_one_kind_and_one_payment(world):
    p1 = world.call("bankside.pay", pargs(1, amount=8_000), BANK)
    p2 = world.call("bankside.pay", pargs(2, amount=8_000), BANK)
    modes(world, **{"return": "approval"})
    app = world.call("bankside.submit_case_application", {"kind": "return", "payment": p1, "amount": 8_000,
                                                          "reason": "退票"}, BANK)
    world.call("bankside.review_case_application", {"application": app, "decision": "approved"}, FINANCE)
    refused(world, "bankside.return_payment", give_back(p2, 1, 8_000, application=app), BANK,
            "bank.case_application_mismatch")
    refused(world, "bankside.refund_mistaken", give_back(p1, 1, 8_000, application=app), BANK,
            "bank.case_application_mismatch")
    refused(world, "bankside.submit_case_application", {"kind": "collection", "payment": p1, "amount": 1,
                                                        "reason": "x"}, BANK, "bank.field_required")
    modes(world, **{"return": "direct", "mistaken_refund": "direct"})
    refused(world, "bankside.submit_case_application", {"kind": "return", "payment": p1, "amount": 1,
                                                        "reason": "x"}, BANK, "bank.case_application_not_required")
    # the current rule decides: once direct, the bank books the refund itself
    cid = world.call("bankside.refund_mistaken", give_back(p2, 1, 8_000), BANK)
    assert world.case(cid)["mode"] == "direct" and world.case(cid)["rule_version"] == 3


# --- entrusted collection (委托收款) ----------------------------------------------------------------


def test_collection_under_a_registered_authorisation_with_limits(world):
    aid = world.call("bankside.register_authorisation", authorisation(), BANK)
    auth = world.state[f"bank/auth/{aid}"]
    assert (auth["status"], auth["collected"], auth["limit"], auth["total_limit"]) == ("active", 0, 5_000, 8_000)
    refused(world, "bankside.register_authorisation", authorisation(), BANK, "bank.duplicate_reference")
    first = world.call("bankside.collect", collection(aid, 1, 5_000), BANK)
    c = world.case(first)
    assert (c["kind"], c["branch"], c["status"], c["authorisation"], c["payment"]) == (
        "collection", "ledger", "booked", aid, None)
    assert [(b["kind"], b["account"], b["amount"]) for b in c["bookkeeping"]] == [
        ("bank.decrease", "A-M1", 5_000), ("bank.increase", "C1", 5_000)]
    assert world.balance("A-M1") == 995_000 and world.balance("C1") == 5_000
    refused(world, "bankside.collect", collection(aid, 2, 5_001), BANK, "bank.over_limit")
    refused(world, "bankside.collect", collection(aid, 1, 100), BANK, "bank.duplicate_serial")
    e = refused(world, "bankside.collect", collection(aid, 2, 3_001), BANK, "bank.over_limit")
    assert "5000 fen collected" in e.message
    refused(world, "bankside.collect", collection(aid, 2, 100, date="2027-01-01"), BANK, "bank.authorisation_expired")
    refused(world, "bankside.collect", collection(aid, 2, 100, date="2026-10-31"), BANK, "bank.authorisation_expired")
    refused(world, "bankside.collect", collection(aid, 2, 100, currency="USD"), BANK, "bank.currency_mismatch")
    world.call("bankside.collect", collection(aid, 2, 3_000), BANK)
    assert world.state[f"bank/auth/{aid}"]["collected"] == 8_000
    refused(world, "bankside.collect", collection(aid, 3, 1), BANK, "bank.over_limit")
    world.call("bankside.revoke_authorisation", {"authorisation": aid, "reason": "合同终止"}, BANK)
    assert world.state[f"bank/auth/{aid}"]["status"] == "revoked"
    refused(world, "bankside.revoke_authorisation", {"authorisation": aid, "reason": "x"}, BANK,
            "bank.authorisation_inactive")
    refused(world, "bankside.collect", collection(aid, 3, 1), BANK, "bank.authorisation_inactive")
    check_statements(world)


def test_collection_by_a_customer_without_the_function_goes_through_suspense_and_the_core(world, core):
    aid = world.call("bankside.register_authorisation", authorisation(customer_account="C2", customer_name="电力公司",
                                                                      budget_type="electricity"), BANK)
    refused(world, "bankside.collect", collection(aid, 1, 4_000), BANK, "bank.core_result_required")
    result = core.credit(request_id="collect-K0000001", account_no="C2", amount=4_000, currency="CNY")
    cid = world.call("bankside.collect", collection(aid, 1, 4_000, core=result.as_args()), BANK)
    c = world.case(cid)
    assert (c["branch"], c["status"]) == ("suspense", "booked")
    assert [b["kind"] for b in c["bookkeeping"]] == ["bank.decrease", "bank.increase", "bank.decrease",
                                                     "bank.core_credit"]
    assert world.balance("A-M1") == 996_000 and world.balance("BGL-CNY") == 0 and core.balance("C2") == 4_000
    check_statements(world)


def test_collection_from_a_merchant_without_the_function_is_the_cores_debit(world, core):
    world.call("bankside.set_rule", {"merchant_no": "M2", "business_type": "utilities"}, FINANCE)
    aid = world.call("bankside.register_authorisation", authorisation(merchant_no="M2", reference="A2"), BANK)
    result = core.debit(request_id="collect-K1", account_no="A-M2", amount=900_000, currency="CNY")
    cid = world.call("bankside.collect", collection(aid, 1, 5_000, core={**result.as_args(), "amount": 5_000}),
                     BANK)
    assert world.case(cid)["status"] == "failed" and world.state[f"bank/auth/{aid}"]["collected"] == 0
    result = core.debit(request_id="collect-K2", account_no="A-M2", amount=5_000, currency="CNY")
    cid = world.call("bankside.collect", collection(aid, 2, 5_000, core=result.as_args()), BANK)
    c = world.case(cid)
    assert (c["branch"], c["status"]) == ("core", "booked")
    assert [(b["kind"], b["account"]) for b in c["bookkeeping"]] == [("bank.core_debit", "A-M2")]
    assert core.balance("A-M2") == 495_000 and world.state[f"bank/auth/{aid}"]["collected"] == 5_000


def test_collection_never_overdraws_the_merchant(world):
    aid = world.call("bankside.register_authorisation", authorisation(limit=2_000_000, total_limit=None), BANK)
    refused(world, "bankside.collect", collection(aid, 1, 1_000_001), BANK, "bank.insufficient_funds")


def test_authorisation_registration_refusals(world):
    refused(world, "bankside.register_authorisation", authorisation(merchant_no="M404"), BANK,
            "bank.merchant_unknown")
    refused(world, "bankside.register_authorisation", authorisation(budget_type="iit"), BANK,
            "bank.budget_type_mismatch")
    refused(world, "bankside.register_authorisation", authorisation(customer_account="A-M1"), BANK, "args.invalid")
    refused(world, "bankside.register_authorisation", authorisation(customer_account="BGL-CNY"), BANK,
            "args.invalid")
    refused(world, "bankside.register_authorisation", authorisation(valid_to="2026-10-01"), BANK, "args.invalid")
    refused(world, "bankside.register_authorisation", authorisation(total_limit=4_999), BANK, "args.invalid")
    refused(world, "bankside.register_authorisation", authorisation(limit=0), BANK, "bank.amount_invalid")
    refused(world, "bankside.register_authorisation", authorisation(), OTHER_BANK, "bank.not_own_merchant")
    refused(world, "bankside.register_authorisation", authorisation(merchant_no="M2", business_type="tax", budget_type="iit", reference="A2"), BANK,
            "bank.rule_missing")
    world.call("bankside.open_account", {"account_no": "C-USD", "name": "外币", "kind": "customer",
                                         "merchant_no": "M1", "currency": "USD", "managed": True}, BANK)
    refused(world, "bankside.register_authorisation", authorisation(customer_account="C-USD"), BANK,
            "bank.currency_mismatch")


def test_collection_under_approval(world):
    modes(world, collection="approval")
    aid = world.call("bankside.register_authorisation", authorisation(), BANK)
    refused(world, "bankside.collect", collection(aid, 1, 1_000), BANK, "bank.case_application_required")
    app = world.call("bankside.submit_case_application", {"kind": "collection", "authorisation": aid,
                                                          "amount": 1_000, "reason": "12月水费"}, BANK)
    world.call("bankside.review_case_application", {"application": app, "decision": "approved"}, FINANCE)
    cid = world.call("bankside.collect", collection(aid, 1, 1_000, application=app), BANK)
    assert world.case(cid)["application"] == app and world.balance("C1") == 1_000


# --- payment corrections (支付更正) ----------------------------------------------------------------


def test_correction_changes_classification_only_and_keeps_before_and_after(world):
    pid = world.call("bankside.pay", pargs(1, amount=10_000), BANK)
    modes(world, correction="direct")
    balances = (world.balance("A-M1"), world.balance("C1"))
    moved = len(world.movements)
    changes = {"func_class": "2010302", "budget_type": "electricity", "fund_nature": "112", "purpose": "电费"}
    cid = world.call("bankside.correct_payment", correction(pid, **changes), BANK)
    c = world.case(cid)
    assert (c["kind"], c["amount"], c["bookkeeping"], c["status"]) == ("correction", 0, [], "booked")
    assert c["before"] == {"func_class": "2010301", "budget_type": "water", "fund_nature": "111", "purpose": "水费"}
    assert c["after"] == changes
    p = world.payment(pid)
    assert {k: p[k] for k in changes} == changes
    assert (p["amount"], p["status"], p["corrections"], p["cases"]) == (10_000, "paid", 1, [cid])
    assert (world.balance("A-M1"), world.balance("C1")) == balances and len(world.movements) == moved
    refused(world, "bankside.correct_payment", correction(pid, purpose="电费"), BANK, "bank.correction_no_change")
    refused(world, "bankside.correct_payment", correction(pid, budget_type="iit"), BANK, "bank.budget_type_mismatch")
    refused(world, "bankside.correct_payment", correction(pid, amount=1), BANK, "args.invalid")
    refused(world, "bankside.correct_payment", {**correction(pid), "changes": {}}, BANK, "args.invalid")
    refused(world, "bankside.correct_payment", correction(pid, func_class="x" * 21), BANK, "args.invalid")
    refused(world, "bankside.correct_payment", {**correction(pid), "reason": ""}, BANK, "bank.field_required")
    # a field the rule requires cannot be corrected to nothing
    world.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities",
                                     "required_fields": ["func_class"], "exceptions": {"correction": "direct"}},
               FINANCE)
    refused(world, "bankside.correct_payment", correction(pid, func_class=""), BANK, "bank.field_required")


def test_correction_under_approval_must_match_the_approved_changes(world):
    pid = world.call("bankside.pay", pargs(1), BANK)
    refused(world, "bankside.correct_payment", correction(pid), BANK, "bank.case_application_required")
    app = world.call("bankside.submit_case_application", {"kind": "correction", "payment": pid, "reason": "更正",
                                                          "changes": {"func_class": "2010302"}}, BANK)
    assert world.state[f"bank/caseapp/{app}"]["changes"] == {"func_class": "2010302"}
    world.call("bankside.review_case_application", {"application": app, "decision": "approved"}, FINANCE)
    refused(world, "bankside.correct_payment", {**correction(pid, func_class="2010399"), "application": app}, BANK,
            "bank.case_application_mismatch")
    cid = world.call("bankside.correct_payment", {**correction(pid), "application": app}, BANK)
    assert world.case(cid)["mode"] == "approval" and world.payment(pid)["func_class"] == "2010302"


# --- bad input: clear refusal, nothing recorded ------------------------------------------------------


BAD_RETURNS = [
    ({"payment": None}, "bank.field_required"),
    ({"payment": "f" * 64}, "bank.payment_unknown"),
    ({"payment": 7}, "args.invalid"),
    ({"amount": 0}, "bank.amount_invalid"),
    ({"amount": -1}, "bank.amount_invalid"),
    ({"amount": 1.5}, "bank.amount_invalid"),
    ({"amount": 10_001}, "bank.over_return"),
    ({"date": "2026-11-19"}, "args.invalid"),
    ({"date": "21/11/2026"}, "args.invalid"),
    ({"reason": ""}, "bank.field_required"),
    ({"reason": "x" * 201}, "args.invalid"),
    ({"bank_serial": ""}, "bank.field_required"),
    ({"bank_serial": "S00000001"}, "bank.duplicate_serial"),  # the payment's own serial
    ({"bank_serial": "流水"}, "args.invalid"),
]


@pytest.mark.parametrize(("over", "code"), BAD_RETURNS, ids=[c + ":" + next(iter(o)) for o, c in BAD_RETURNS])
def test_bad_return_is_refused_with_nothing_recorded(world, over, code):
    pid = world.call("bankside.pay", pargs(1, amount=10_000), BANK)
    refused(world, "bankside.return_payment", {**give_back(pid, 1, 10_000), **over}, BANK, code)


def test_another_bank_or_the_finance_side_cannot_book_cases(world):
    pid = world.call("bankside.pay", pargs(1), BANK)
    refused(world, "bankside.return_payment", give_back(pid, 1, 100), OTHER_BANK, "bank.not_own_merchant")
    refused(world, "bankside.return_payment", give_back(pid, 1, 100), FINANCE, "role.forbidden")
    refused(world, "bankside.review_case_application", {"application": "a" * 64, "decision": "approved"}, BANK,
            "role.forbidden")


def test_failed_payments_cannot_be_returned_or_corrected(world, core):
    args = payment_args(core, pargs(1, merchant_no="M2", amount=900_000), merchant_account="A-M2")
    pid = world.call("bankside.pay", args, BANK)
    assert world.payment(pid)["status"] == "failed"
    result = core.credit(request_id="x", account_no="A-M2", amount=1, currency="CNY")
    refused(world, "bankside.return_payment", give_back(pid, 1, 1, core=result.as_args()), BANK,
            "bank.payment_not_returnable")
    modes(world, merchant="M2", correction="direct")
    refused(world, "bankside.correct_payment", correction(pid), BANK, "bank.payment_not_correctable")


def test_roles_and_arg_keys_cover_the_new_functions():
    assert set(contracts.ROLES) == set(contracts.FUNCTIONS)
    for fn in ("bankside.return_payment", "bankside.collect", "bankside.correct_payment", "bankside.refund_mistaken",
               "bankside.register_authorisation", "bankside.revoke_authorisation",
               "bankside.submit_case_application"):
        assert contracts.ROLES[fn] == frozenset({"bank"})
    assert contracts.ROLES["bankside.review_case_application"] == frozenset({"finance"})
    keys = contracts.arg_keys("bankside.return_payment", {"payment": "p1", "application": "a1"})
    assert {"bank/payment/p1", "bank/caseapp/a1"} <= set(keys)
    assert "bank/auth/x" in contracts.arg_keys("bankside.collect", {"authorisation": "x"})


# --- everything together reconciles -------------------------------------------------------------------


def test_statements_reconcile_over_every_kind_of_case(world, core):
    modes(world, correction="direct", mistaken_refund="direct")
    p1 = world.call("bankside.pay", pargs(1, amount=10_000, date="2026-11-20"), BANK)
    p2 = world.call("bankside.pay", pargs(2, amount=6_000, payee_account="EXT", date="2026-11-20"), BANK)
    world.call("bankside.refund_suspense", refund_args(core, world.payment(p2), day="2026-11-20"), BANK)
    world.call("bankside.return_payment", give_back(p1, 1, 2_500), BANK)
    world.call("bankside.refund_mistaken", give_back(p1, 2, 1_500), BANK)
    r = core.debit(request_id="r3", account_no="EXT", amount=6_000, currency="CNY")
    world.call("bankside.refund_mistaken", give_back(p2, 3, 6_000, core=r.as_args()), BANK)
    world.call("bankside.correct_payment", correction(p1), BANK)
    aid = world.call("bankside.register_authorisation", authorisation(), BANK)
    world.call("bankside.collect", collection(aid, 1, 700), BANK)
    assert world.payment(p1)["returned"] == 4_000 and world.payment(p2)["status"] == "returned"
    assert world.balance("A-M1") == 1_000_000 - 10_000 - 6_000 + 4_000 + 6_000 - 700
    check_statements(world)
    m1 = world.state["bank/merchant/M1"]
    st = statements.merchant_statement(world.movements, merchant=m1, day=DAY)
    assert (st.opening, st.increase, st.decrease) == (1_000_000 - 16_000, 10_000, 700)

"""The payment flow through the services: application → review → voucher → receipts, with the
indicator's figures checked against its movements at every step, and every refusal leaving
nothing changed."""

from decimal import Decimal

import pytest

from fmis.indicators import ledger
from fmis.indicators.models import Indicator, Movement
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import EventRecord, OutboxMessage
from fmis.treasury import services
from fmis.treasury.models import (
    BankReceipt,
    PaymentApplication,
    PaymentPlan,
    PaymentVoucher,
    ProcurementPlan,
    Refund,
)
from fmis.treasury.tests.conftest import apply, make_indicator, receipt, to_voucher

pytestmark = pytest.mark.django_db
D = Decimal
# without the indicators' control table the treasury refuses any difference itself
MISMATCH_CODES = {"treasury.classification_mismatch", "indicators.control.class_mismatch",
                  "indicators.control.fund_type_mismatch", "indicators.control.pay_mode_mismatch"}


def figures(ind):
    ind = Indicator.objects.get(pk=ind.pk)
    assert ledger.check_ledger(ind.pk) == []
    return ind.total, ind.reserved, ind.consumed, ind.available


def snapshot(ind):
    return (figures(ind), Movement.objects.filter(indicator=ind).count(), PaymentApplication.objects.count(),
            BankReceipt.objects.count(), EventRecord.objects.count(), OutboxMessage.objects.count())


def test_apply_submit_approve_pay_in_full(world):
    w = world
    app = apply(w, "1200.50")
    assert app.status == "draft" and app.number.startswith("SQ9901002026")
    assert (app.func_code, app.fund_type, app.pay_mode) == ("2010101", "1", "authorized")
    services.submit_application(application_id=app.pk, user=w.accountant)
    assert figures(w.indicator) == (D("10000.00"), D("1200.50"), D("0.00"), D("8799.50"))
    services.approve_application(application_id=app.pk, user=w.treasurer)
    app.refresh_from_db()
    v = app.voucher
    assert app.status == "voucher_issued" and v.amount == D("1200.50") and v.bank == w.bank
    assert v.payer_account == "6222000011112222"
    assert services.verify_voucher_message(v.message) and v.message["signature"]["suite"] == "sm2"
    msg = OutboxMessage.objects.get(topic="bank.voucher", key=v.number)
    assert msg.payload == v.message
    tampered = {**v.message, "amount": "9999.00"}
    assert not services.verify_voucher_message(tampered)

    out = services.apply_receipt(message=receipt(v, "S1", "1200.50"), user=w.banker)
    assert out["voucher_status"] == "paid" and out["duplicate"] is False
    assert figures(w.indicator) == (D("10000.00"), D("0.00"), D("1200.50"), D("8799.50"))
    app.refresh_from_db()
    assert app.status == "paid"
    ev = EventRecord.objects.get(name="treasury.payment_settled")
    p = ev.payload
    assert (p["amount"], p["fiscal_year"], p["region_code"], p["agency_code"], p["func_code"], p["gov_eco_code"],
            p["dept_eco_code"], p["fund_type"], p["pay_mode"], p["indicator_code"], p["voucher_no"],
            p["source_type"], p["source_no"], p["date"]) == (
        "1200.50", 2026, "990100", "990100101", "2010101", "50201", "30201", "1", "authorized", "IND-1",
        v.number, "treasury.bank_receipt", "S1", "2026-03-15")


def test_partial_then_failure_releases_the_rest(world):
    w = world
    v = to_voucher(w, "500.00")
    r1 = services.apply_receipt(message=receipt(v, "P1", "200.00"), user=w.banker)
    assert r1["voucher_status"] == "partly_paid" and r1["remaining"] == "300.00"
    r2 = services.apply_receipt(message=receipt(v, "P2", "300.00", result="failed"), user=w.banker)
    assert r2["voucher_status"] == "partly_paid" and r2["remaining"] == "0.00"
    assert figures(w.indicator) == (D("10000.00"), D("0.00"), D("200.00"), D("9800.00"))
    v.refresh_from_db()
    assert v.application.status == "partly_paid" and v.paid == D("200.00") and v.released == D("300.00")
    with pytest.raises(Conflict) as err:
        services.apply_receipt(message=receipt(v, "P3", "1.00"), user=w.banker)
    assert err.value.code == "treasury.voucher_closed"


def test_failure_releases_everything(world):
    w = world
    v = to_voucher(w, "700.00")
    out = services.apply_receipt(message=receipt(v, "F1", "700.00", result="failed"), user=w.banker)
    assert out["voucher_status"] == "failed"
    assert figures(w.indicator) == (D("10000.00"), D("0.00"), D("0.00"), D("10000.00"))
    assert PaymentApplication.objects.get(pk=v.application_id).status == "failed"


def test_return_and_reject_release_the_reservation(world):
    w = world
    app = apply(w, "300.00")
    services.submit_application(application_id=app.pk, user=w.accountant)
    services.return_application(application_id=app.pk, user=w.treasurer, reason="附件不全")
    app.refresh_from_db()
    assert (app.status, app.return_reason) == ("draft", "附件不全")
    assert figures(w.indicator)[1:] == (D("0.00"), D("0.00"), D("10000.00"))
    services.submit_application(application_id=app.pk, user=w.accountant)
    assert figures(w.indicator)[1] == D("300.00")
    services.reject_application(application_id=app.pk, user=w.treasurer, reason="不符合规定")
    app.refresh_from_db()
    assert app.status == "rejected"
    assert figures(w.indicator)[1:] == (D("0.00"), D("0.00"), D("10000.00"))
    with pytest.raises(ValidationFailed):
        services.return_application(application_id=app.pk, user=w.treasurer, reason="")


def test_unit_cannot_approve_and_bank_sees_only_its_vouchers(world):
    w = world
    app = apply(w, "10.00")
    services.submit_application(application_id=app.pk, user=w.accountant)
    with pytest.raises(PermissionDenied):
        services.approve_application(application_id=app.pk, user=w.accountant)
    services.approve_application(application_id=app.pk, user=w.treasurer)
    from fmis.treasury import selectors

    assert list(selectors.vouchers_for(user=w.banker).values_list("number", flat=True)) == [app.voucher.number]
    assert selectors.applications_for(user=w.accountant).count() == 1


def test_numbers_are_unique_per_region_and_year(world):
    w = world
    numbers = {apply(w, "1.00").number for _ in range(5)}
    assert len(numbers) == 5


# --- bad input: a clear error, nothing changed ----------------------------------------------------

@pytest.mark.parametrize("field,value", [("func_code", "2010102"), ("gov_eco_code", "50202"), ("dept_eco_code", "30202"),
                                         ("fund_type", "2"), ("pay_mode", "direct")])
def test_classification_not_matching_the_indicator(world, field, value):
    before = snapshot(world.indicator)
    with pytest.raises(ValidationFailed) as err:
        apply(world, "10.00", **{field: value})
    assert err.value.code in MISMATCH_CODES and err.value.field == field
    assert snapshot(world.indicator) == before


def test_non_executable_indicator(world):
    w = world
    ind = make_indicator(w, "IND-D", status="distributed")
    before = snapshot(ind)
    with pytest.raises(Conflict) as err:
        apply(w, "10.00", indicator=ind)
    assert err.value.code == "treasury.indicator_not_executable"
    assert snapshot(ind) == before


def test_frozen_indicator_cannot_be_reserved(world):
    w = world
    app = apply(w, "10.00")
    ledger.move(indicator_id=w.indicator.pk, kind=Movement.Kind.FREEZE, amount=D("10000.00"), user=w.admin)
    before = snapshot(w.indicator)
    with pytest.raises(Conflict) as err:
        services.submit_application(application_id=app.pk, user=w.accountant)
    assert err.value.code == "indicator.insufficient" and "冻结" in err.value.message
    assert snapshot(w.indicator) == before
    assert PaymentApplication.objects.get(pk=app.pk).status == "draft"


def test_amount_over_available(world):
    w = world
    first, second = apply(w, "6000.00"), apply(w, "4000.01")
    services.submit_application(application_id=first.pk, user=w.accountant)
    before = snapshot(w.indicator)
    with pytest.raises(Conflict) as err:  # the reservation itself refuses
        services.submit_application(application_id=second.pk, user=w.accountant)
    assert err.value.code == "indicator.insufficient" and err.value.field == "amount"
    assert snapshot(w.indicator) == before
    from fmis.platform.workflow.models import ReviewInstance

    assert not ReviewInstance.objects.filter(object_id=second.pk, doc_type="treasury.payment_application").exists()
    with pytest.raises(Conflict) as err:  # and so does the application, when it is already too large
        apply(w, "4000.01")
    assert err.value.code == "indicator.insufficient"
    assert snapshot(w.indicator) == before


@pytest.mark.parametrize("account", ["12345", "6228-4800-1234-5678", "62284800123456789012345678901234567",
                                     "ABCDEFGH12"])
def test_malformed_payee_account(world, account):
    before = snapshot(world.indicator)
    with pytest.raises(ValidationFailed) as err:
        apply(world, "10.00", payee_account=account)
    assert err.value.code == "treasury.payee_account_invalid" and err.value.field == "payee_account"
    assert snapshot(world.indicator) == before


def test_other_units_indicator_is_not_found(world):
    w = world
    ind = make_indicator(w, "IND-O", agency=w.other_agency)
    with pytest.raises(NotFound):
        apply(w, "10.00", indicator=ind)


def test_duplicate_receipt_answers_the_original(world):
    w = world
    v = to_voucher(w, "100.00")
    first = services.apply_receipt(message=receipt(v, "D1", "60.00"), user=w.banker)
    before = snapshot(w.indicator)
    again = services.apply_receipt(message=receipt(v, "D1", "60.00"), user=w.banker)
    assert again == {**first, "duplicate": True}
    assert snapshot(w.indicator) == before
    with pytest.raises(Conflict) as err:
        services.apply_receipt(message=receipt(v, "D1", "61.00"), user=w.banker)
    assert err.value.code == "treasury.serial_reused"
    assert snapshot(w.indicator) == before


def test_receipt_for_unknown_voucher_or_exceeding(world):
    w = world
    v = to_voucher(w, "100.00")
    before = snapshot(w.indicator)
    with pytest.raises(NotFound) as err:
        services.apply_receipt(message=receipt(v, "U1", "1.00", voucher_no="PZ000"), user=w.banker)
    assert err.value.code == "treasury.voucher_unknown" and err.value.field == "voucher_no"
    with pytest.raises(Conflict) as err:
        services.apply_receipt(message=receipt(v, "U2", "100.01"), user=w.banker)
    assert err.value.code == "treasury.receipt_exceeds"
    assert snapshot(w.indicator) == before


def test_receipt_from_another_bank_is_refused(world, make_user, make_role):
    from fmis.iam.models import User, UserRole
    from fmis.orgs.models import Bank

    w = world
    v = to_voucher(w, "100.00")
    other = Bank.objects.create(code="B02", name="另一银行")
    intruder = make_user("bank2", bank=other, org_type=User.OrgType.BANK, region=w.region)
    role = make_role("bank_op2", ["treasury.bank.receipt"], rules=[("bank", "own_bank", [])])
    UserRole.objects.create(user=intruder, role=role)
    with pytest.raises(PermissionDenied):
        services.apply_receipt(message=receipt(v, "X1", "1.00"), user=intruder)
    with pytest.raises(NotFound):
        services.apply_receipt(message=receipt(v, "X1", "1.00", bank_code="B02"), user=intruder)
    assert BankReceipt.objects.count() == 0


@pytest.mark.parametrize("change,field", [
    ({"amount": "12.3"}, "amount"), ({"amount": 12}, "amount"), ({"result": "ok"}, "result"),
    ({"value_date": "2026-13-01"}, "value_date"), ({"serial_no": ""}, "serial_no"), ({"extra": 1}, "extra"),
    ({"message_type": "refund"}, "message_type"),
])
def test_malformed_bank_message_names_the_field(world, change, field):
    w = world
    v = to_voucher(w, "100.00")
    before = snapshot(w.indicator)
    with pytest.raises(ValidationFailed) as err:
        services.apply_receipt(message={**receipt(v, "M1", "10.00"), **change}, user=w.banker)
    assert err.value.code == "treasury.bank_message_invalid" and err.value.field == field
    assert field in err.value.message
    assert snapshot(w.indicator) == before


def test_missing_field_is_named(world):
    w = world
    v = to_voucher(w, "100.00")
    msg = receipt(v, "M2", "10.00")
    del msg["voucher_no"]
    with pytest.raises(ValidationFailed) as err:
        services.apply_receipt(message=msg, user=w.banker)
    assert err.value.field == "voucher_no" and "缺少字段 voucher_no" in err.value.message


# --- plans --------------------------------------------------------------------------------------

def test_payment_plan_limits_applications_when_enabled(world):
    w = world
    services.set_config(region_id=w.region.pk, fiscal_year=2026, payment_plan_enabled=True,
                        procurement_plan_enabled=False, user=w.treasurer)
    app = apply(w, "300.00")
    with pytest.raises(Conflict) as err:
        services.submit_application(application_id=app.pk, user=w.accountant)
    assert err.value.code == "treasury.plan_missing"
    plan = services.create_payment_plan(indicator_id=w.indicator.pk, month=3, amount="1000.00", user=w.accountant)
    with pytest.raises(PermissionDenied):
        services.approve_payment_plan(plan_id=plan.pk, approved="500.00", user=w.accountant)
    services.approve_payment_plan(plan_id=plan.pk, approved="500.00", user=w.treasurer)
    services.submit_application(application_id=app.pk, user=w.accountant)
    assert PaymentPlan.objects.get(pk=plan.pk).used == D("300.00")
    app2 = apply(w, "200.01")
    before = snapshot(w.indicator)
    with pytest.raises(Conflict) as err:
        services.submit_application(application_id=app2.pk, user=w.accountant)
    assert err.value.code == "treasury.plan_insufficient"
    assert snapshot(w.indicator) == before
    services.return_application(application_id=app.pk, user=w.treasurer, reason="改月份")
    assert PaymentPlan.objects.get(pk=plan.pk).used == D("0.00")
    services.submit_application(application_id=app2.pk, user=w.accountant)
    with pytest.raises(Conflict):
        services.approve_payment_plan(plan_id=plan.pk, approved="200.00", user=w.treasurer)


def test_procurement_plan_limits_when_enabled(world):
    w = world
    services.set_config(region_id=w.region.pk, fiscal_year=2026, payment_plan_enabled=False,
                        procurement_plan_enabled=True, signing_suite="ed25519", user=w.treasurer)
    pp = services.create_procurement_plan(indicator_id=w.indicator.pk, number="CG-1", item="计算机",
                                          amount="800.00", user=w.accountant)
    a1 = apply(w, "500.00", procurement_plan_id=pp.pk)
    services.submit_application(application_id=a1.pk, user=w.accountant)
    a2 = apply(w, "300.01", procurement_plan_id=pp.pk)
    with pytest.raises(Conflict) as err:
        services.submit_application(application_id=a2.pk, user=w.accountant)
    assert err.value.code == "treasury.procurement_insufficient"
    assert ProcurementPlan.objects.get(pk=pp.pk).used == D("500.00")
    services.approve_application(application_id=a1.pk, user=w.treasurer)
    a1.refresh_from_db()
    assert a1.voucher.message["signature"]["suite"] == "ed25519"
    assert services.verify_voucher_message(a1.voucher.message)


# --- refunds, corrections, clearing -------------------------------------------------------------

def refund_msg(v, serial, amount):
    return {"message_type": "refund", "version": "1.0", "bank_code": v.bank.code, "serial_no": serial,
            "voucher_no": v.number, "amount": amount, "value_date": "2026-03-15", "reason": "收款人账户已销户"}


def test_refund_returns_money_and_is_bounded(world):
    w = world
    v = to_voucher(w, "400.00")
    services.apply_receipt(message=receipt(v, "R0", "400.00"), user=w.banker)
    out = services.apply_refund_message(message=refund_msg(v, "RF1", "150.00"), user=w.banker)
    assert out["refunded"] == "150.00"
    assert figures(w.indicator) == (D("10000.00"), D("0.00"), D("250.00"), D("9750.00"))
    assert services.apply_refund_message(message=refund_msg(v, "RF1", "150.00"), user=w.banker)["duplicate"]
    before = snapshot(w.indicator)
    with pytest.raises(Conflict) as err:
        services.apply_refund_message(message=refund_msg(v, "RF2", "250.01"), user=w.banker)
    assert err.value.code == "treasury.refund_exceeds"
    assert snapshot(w.indicator) == before
    r = services.record_refund(voucher_id=v.pk, amount="250.00", serial_no="RF3", reason="重复支付", user=w.treasurer)
    assert r.number.startswith("TK")
    assert figures(w.indicator)[2] == D("0.00")
    ev = EventRecord.objects.filter(name="treasury.payment_refunded").order_by("id")
    assert [e.payload["amount"] for e in ev] == ["150.00", "250.00"]
    assert Refund.objects.filter(voucher=v).count() == 2


def test_correction_moves_consumption_through_review(world):
    w = world
    v = to_voucher(w, "400.00")
    services.apply_receipt(message=receipt(v, "C0", "400.00"), user=w.banker)
    target = make_indicator(w, "IND-2", "1000.00", gov_eco_code="50299")
    c = services.create_correction(voucher_id=v.pk, to_indicator_id=target.pk, amount="100.00", reason="科目错误",
                                   user=w.treasurer)
    services.submit_correction(correction_id=c.pk, user=w.treasurer)
    with pytest.raises(PermissionDenied):  # the one who entered it may not review it
        services.act_on_correction(correction_id=c.pk, action="approve", user=w.treasurer)
    from fmis.treasury.tests.conftest import make_user_like

    reviewer = make_user_like(w.treasurer, "trs2")
    services.act_on_correction(correction_id=c.pk, action="approve", user=reviewer)
    c.refresh_from_db()
    assert c.status == "done"
    assert figures(w.indicator)[2] == D("300.00") and figures(target)[2] == D("100.00")
    ev = EventRecord.objects.get(name="treasury.payment_corrected").payload
    assert (ev["amount"], ev["from"]["indicator_code"], ev["to"]["gov_eco_code"]) == ("100.00", "IND-1", "50299")
    with pytest.raises(Conflict):
        services.create_correction(voucher_id=v.pk, to_indicator_id=target.pk, amount="300.01", reason="x",
                                   user=w.treasurer)


def test_clearing_reconciles_with_the_bank_statement(world):
    import datetime as dt

    w = world
    v1 = to_voucher(w, "100.00")
    v2 = to_voucher(w, "200.00")
    services.apply_receipt(message=receipt(v1, "K1", "100.00"), user=w.banker)
    services.apply_receipt(message=receipt(v2, "K2", "150.00"), user=w.banker)
    services.apply_refund_message(message=refund_msg(v1, "K3", "10.00"), user=w.banker)
    day = dt.date(2026, 3, 15)
    st = services.run_clearing(region_id=w.region.pk, bank_id=w.bank.pk, date=day, user=w.treasurer)
    assert (st.paid_count, st.paid_total, st.refund_total, st.net_total, st.reconciled) == (
        2, D("250.00"), D("10.00"), D("240.00"), False)
    entries = [{"serial_no": "K1", "voucher_no": v1.number, "kind": "pay", "amount": "100.00"},
               {"serial_no": "K2", "voucher_no": v2.number, "kind": "pay", "amount": "150.00"},
               {"serial_no": "K3", "voucher_no": v1.number, "kind": "refund", "amount": "10.00"}]
    statement = {"message_type": "statement", "version": "1.0", "bank_code": "B01", "date": "2026-03-15",
                 "entries": entries}
    services.receive_statement(message=statement, user=w.banker)
    st = services.run_clearing(region_id=w.region.pk, bank_id=w.bank.pk, date=day, user=w.treasurer)
    assert st.reconciled and st.differences == [] and st.bank_total == D("240.00")
    entries[1]["amount"] = "160.00"
    entries.append({"serial_no": "K9", "voucher_no": v2.number, "kind": "pay", "amount": "5.00"})
    services.receive_statement(message=statement, user=w.banker)
    st = services.run_clearing(region_id=w.region.pk, bank_id=w.bank.pk, date=day, user=w.treasurer)
    assert not st.reconciled
    assert {(d["serial_no"], d["ours"], d["bank"]) for d in st.differences} == {("K2", "150.00", "160.00"),
                                                                                 ("K9", None, "5.00")}
    assert PaymentVoucher.objects.get(pk=v2.pk).paid == D("150.00")

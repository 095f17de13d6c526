"""Batch approval (批量审核), voucher batches per bank (批量发送) and receipt batches (回单批量报文)."""

from decimal import Decimal

import pytest

from fmis.indicators import ledger
from fmis.indicators.models import Indicator
from fmis.platform import audit
from fmis.platform.errors import PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord, EventRecord, OutboxMessage
from fmis.treasury import messages, services
from fmis.treasury.models import BankReceipt, PaymentApplication, PaymentVoucher
from fmis.treasury.tests.conftest import apply, to_voucher

pytestmark = pytest.mark.django_db


def submitted(w, n: int, amount: str = "100.00", indicator=None) -> list[PaymentApplication]:
    apps = []
    for _ in range(n):
        app = apply(w, amount, indicator)
        services.submit_application(application_id=app.pk, user=w.accountant)
        apps.append(app)
    return apps


def batch(voucher_numbers_amounts, bank_code="B01", batch_no="RB0001", **extra) -> dict:
    receipts = []
    for serial, number, amount, *rest in voucher_numbers_amounts:
        e = {"serial_no": serial, "voucher_no": number, "result": rest[0] if rest else "success", "amount": amount,
             "value_date": "2026-03-15"}
        if rest and rest[0] == "failed":
            e["reason"] = "收款账户状态异常"
        receipts.append(e)
    return {"message_type": "receipt_batch", "version": "1.0", "bank_code": bank_code, "batch_no": batch_no,
            "receipts": receipts, **extra}


def test_batch_approval_issues_each_voucher_and_one_message_per_bank(world):
    w = world
    apps = submitted(w, 3)
    draft = apply(w, "50.00")  # never submitted: refused, nothing changes
    records_before = AuditRecord.objects.count()
    result = services.approve_applications(application_ids=[apps[2].pk, draft.pk, apps[0].pk, apps[1].pk],
                                           user=w.treasurer, comment="同意")
    assert result["approved"] == [apps[2].pk, apps[0].pk, apps[1].pk]  # in the order asked
    assert [f["application_id"] for f in result["failed"]] == [draft.pk]
    assert result["failed"][0]["code"] == "workflow.not_submitted"
    assert result["vouchers"] == 3 and len(result["messages"]) == 1
    draft.refresh_from_db()
    assert draft.status == PaymentApplication.Status.DRAFT and not PaymentVoucher.objects.filter(application=draft)
    vouchers = list(PaymentVoucher.objects.filter(application__in=apps).order_by("pk"))
    assert len(vouchers) == 3
    assert all(v.application.status == PaymentApplication.Status.VOUCHER_ISSUED for v in vouchers)
    # no single voucher messages: one batch for the bank, every voucher in it signed on its own
    assert not OutboxMessage.objects.filter(topic=services.VOUCHER_TOPIC).exists()
    msg = OutboxMessage.objects.get(topic=services.VOUCHER_BATCH_TOPIC)
    assert msg.key == result["messages"][0]
    messages.validate("voucher_batch", msg.payload)
    assert msg.payload["count"] == 3 and msg.payload["bank_code"] == "B01"
    assert sorted(v["voucher_no"] for v in msg.payload["vouchers"]) == sorted(v.number for v in vouchers)
    assert all(services.verify_voucher_message(v) for v in msg.payload["vouchers"])
    # each application keeps its own audit records (review step, approval, voucher issue), chained
    actions = list(AuditRecord.objects.order_by("id").values_list("action", flat=True))[records_before:]
    for action in ("workflow.approve", "treasury.application.approve", "treasury.voucher.issue"):
        assert actions.count(action) == 3, action
    assert audit.verify().ok
    # and its own completion event
    assert EventRecord.objects.filter(name="workflow.completed").count() == 3


def test_batch_approval_needs_the_review_function_and_valid_input(world):
    w = world
    apps = submitted(w, 1)
    with pytest.raises(PermissionDenied):
        services.approve_applications(application_ids=[apps[0].pk], user=w.accountant)
    with pytest.raises(ValidationFailed) as exc:
        services.approve_applications(application_ids=[], user=w.treasurer)
    assert exc.value.code == "treasury.batch_empty"
    with pytest.raises(ValidationFailed) as exc:
        services.approve_applications(application_ids=["x"], user=w.treasurer)
    assert exc.value.code == "treasury.batch_ids_invalid"
    apps[0].refresh_from_db()
    assert apps[0].status == PaymentApplication.Status.SUBMITTED


def test_out_of_scope_application_is_refused_in_a_batch(world, make_region, make_agency):
    w = world
    other_region = make_region("980100", "别的市")
    agency = make_agency("980100101", other_region, "外地单位")
    ind = w.indicator_like("FAR-1", region=other_region, agency=agency)
    from fmis.treasury.tests.conftest import make_user_like

    far_acc = make_user_like(w.accountant, "far_acc")
    far_acc.agency = agency
    far_acc.save()
    services.set_payer_account(region_id=other_region.pk, agency_id=agency.pk, pay_mode="authorized",
                               bank_id=w.bank.pk, account_no="6222000011113333", account_name="外地零余额",
                               user=w.admin)
    far = apply(w, "10.00", ind, user=far_acc)
    services.submit_application(application_id=far.pk, user=far_acc)
    mine = submitted(w, 1)[0]
    result = services.approve_applications(application_ids=[far.pk, mine.pk], user=w.treasurer)
    assert result["approved"] == [mine.pk]
    assert result["failed"][0]["application_id"] == far.pk
    assert result["failed"][0]["code"] == "treasury.application_not_found"
    far.refresh_from_db()
    assert far.status == PaymentApplication.Status.SUBMITTED


def test_receipt_batch_pays_every_voucher_in_one_go_and_is_idempotent(world):
    w = world
    v1, v2, v3 = (to_voucher(w, a) for a in ("100.00", "200.00", "300.00"))
    msg = batch([("S1", v1.number, "100.00"), ("S2", v2.number, "120.00"), ("S3", v2.number, "80.00", "failed"),
                 ("S4", v3.number, "300.00")])
    out = services.apply_receipts(message=msg, user=w.banker)
    assert out["count"] == 4 and out["duplicates"] == 0
    assert [r["voucher_status"] for r in out["results"]] == ["paid", "partly_paid", "partly_paid", "paid"]
    for v in (v1, v2, v3):
        v.refresh_from_db()
    assert (v1.paid, v2.paid, v2.released, v3.paid) == (Decimal("100.00"), Decimal("120.00"), Decimal("80.00"),
                                                        Decimal("300.00"))
    ind = Indicator.objects.get(pk=w.indicator.pk)
    assert ind.consumed == Decimal("520.00") and ind.reserved == 0
    assert ledger.check_ledger(ind.pk) == []
    assert EventRecord.objects.filter(name=services.EVENT_SETTLED).count() == 3
    assert BankReceipt.objects.count() == 4
    # the same message again, or one of its receipts alone: nothing changes
    again = services.apply_receipts(message=msg, user=w.banker)
    assert again["duplicates"] == 4
    single = {"message_type": "receipt", "version": "1.0", "bank_code": "B01", **msg["receipts"][0]}
    assert services.apply_receipt(message=single, user=w.banker)["duplicate"] is True
    assert BankReceipt.objects.count() == 4
    assert Indicator.objects.get(pk=w.indicator.pk).consumed == Decimal("520.00")
    assert audit.verify().ok


def test_receipt_batch_is_all_or_nothing_with_every_bad_line_named(world):
    w = world
    v1, v2 = to_voucher(w, "100.00"), to_voucher(w, "50.00")
    before = Indicator.objects.get(pk=w.indicator.pk)
    records = AuditRecord.objects.count()
    msg = batch([("S1", v1.number, "100.00"), ("S2", "PZ-NOPE", "10.00"), ("S3", v2.number, "60.00")])
    with pytest.raises(ValidationFailed) as exc:
        services.apply_receipts(message=msg, user=w.banker)
    assert exc.value.code == "treasury.receipt_batch_refused"
    assert [(e["line"], e["code"]) for e in exc.value.errors] == [(2, "treasury.voucher_unknown"),
                                                                  (3, "treasury.receipt_exceeds")]
    assert not BankReceipt.objects.exists()
    after = Indicator.objects.get(pk=w.indicator.pk)
    assert (after.reserved, after.consumed) == (before.reserved, before.consumed)
    assert AuditRecord.objects.count() == records and not EventRecord.objects.filter(name=services.EVENT_SETTLED)
    v1.refresh_from_db()
    assert v1.paid == 0


def test_receipt_batch_refuses_malformed_duplicates_and_reused_serials(world):
    w = world
    v1 = to_voucher(w, "100.00")
    with pytest.raises(ValidationFailed) as exc:
        services.apply_receipts(message=batch([("S1", v1.number, "1.5")]), user=w.banker)
    assert exc.value.field == "receipts[0].amount"
    with pytest.raises(ValidationFailed) as exc:
        services.apply_receipts(message=batch([("S1", v1.number, "10.00"), ("S1", v1.number, "10.00")]),
                                user=w.banker)
    assert exc.value.code == "treasury.batch_duplicate_serial" and exc.value.line == 2
    services.apply_receipts(message=batch([("S1", v1.number, "10.00")]), user=w.banker)
    with pytest.raises(ValidationFailed) as exc:  # same serial, other content: the whole message is refused
        services.apply_receipts(message=batch([("S2", v1.number, "10.00"), ("S1", v1.number, "20.00")]),
                                user=w.banker)
    assert exc.value.errors[0]["code"] == "treasury.serial_reused"
    assert list(BankReceipt.objects.values_list("serial_no", flat=True)) == ["S1"]
    with pytest.raises(PermissionDenied):
        services.apply_receipts(message=batch([("S9", v1.number, "10.00")], bank_code="B99"), user=w.banker)


def test_batch_endpoints(world, client):
    w = world
    apps = submitted(w, 2)
    client.force_login(w.treasurer)
    r = client.post("/api/v1/treasury/application-batches/approve",
                    {"application_ids": [a.pk for a in apps], "comment": "同意"}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["approved"] == [a.pk for a in apps] and r.json()["vouchers"] == 2
    numbers = [a.voucher.number for a in PaymentApplication.objects.filter(pk__in=[a.pk for a in apps]).order_by("pk")]
    body = batch([(f"X{i}", n, "100.00") for i, n in enumerate(numbers)])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    r = client.post("/api/v1/treasury/bank/receipts/batch", body, content_type="application/json", **auth)
    assert r.status_code == 200, r.content
    assert [x["voucher_status"] for x in r.json()["results"]] == ["paid", "paid"]
    bad = batch([("Y1", "NOPE", "1.00")])
    r = client.post("/api/v1/treasury/bank/receipts/batch", bad, content_type="application/json", **auth)
    assert r.status_code in (400, 404, 422) and r.json()["code"] == "treasury.receipt_batch_refused"
    assert r.json()["errors"][0]["line"] == 1

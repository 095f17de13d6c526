"""The real simulator process against the live application: vouchers go out through the outbox,
receipts come back through the bank API (paid, partly paid, failed), the daily statement
reconciles with the clearing."""

from __future__ import annotations

import json
import time
import urllib.request
from decimal import Decimal

import pytest
from django.utils import timezone

from fmis.indicators import ledger
from fmis.indicators.models import Indicator
from fmis.platform import outbox
from fmis.treasury import services
from fmis.treasury.models import BankReceipt, PaymentApplication, PaymentVoucher
from fmis.treasury.tests.conftest import to_voucher

FINAL = {"paid", "failed"}


@pytest.fixture
def simulator(banksim):
    return banksim(fail_rate=0.25, partial_rate=0.3, seed=11)


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def closed(v: PaymentVoucher) -> bool:
    return v.status in FINAL or (v.status == "partly_paid" and v.released > 0)


def wait_until_settled(numbers: list[str], seconds: float = 90) -> list[PaymentVoucher]:
    deadline = time.monotonic() + seconds
    while True:
        vouchers = list(PaymentVoucher.objects.filter(number__in=numbers).order_by("id"))
        if all(closed(v) for v in vouchers):
            return vouchers
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled in time: {[(v.number, v.status) for v in vouchers]}")
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_vouchers_out_receipts_back(simulator, world):
    w = world
    amounts = [Decimal(f"{100 + 37 * i}.{i:02d}") for i in range(12)]
    vouchers = [to_voucher(w, str(a)) for a in amounts]
    sent, failed = outbox.deliver(topic="bank.voucher")
    assert (sent, failed) == (12, 0)
    settled = wait_until_settled([v.number for v in vouchers])

    statuses = {v.status for v in settled}
    assert statuses == {"paid", "partly_paid", "failed"}, statuses
    for v in settled:
        assert v.paid + v.released == v.amount
        app = PaymentApplication.objects.get(pk=v.application_id)
        assert app.status == v.status
        if v.status == "partly_paid":
            assert 0 < v.paid < v.amount
    ind = Indicator.objects.get(pk=w.indicator.pk)
    assert ledger.check_ledger(ind.pk) == []
    assert ind.reserved == Decimal("0.00")
    assert ind.consumed == sum((v.paid for v in settled), Decimal("0.00"))
    assert ind.available == ind.total - ind.consumed

    # the bank gets the same voucher again (an outbox redelivery): it is not paid twice
    receipts = BankReceipt.objects.count()
    status, body = post(f"{simulator}/vouchers", settled[0].message)
    assert (status, body["duplicate"]) == (200, True)
    time.sleep(0.5)
    assert BankReceipt.objects.count() == receipts

    # a refund from the bank, then the day's statement reconciles with the clearing
    paid = next(v for v in settled if v.status == "paid")
    status, body = post(f"{simulator}/refunds", {"voucher_no": paid.number, "amount": "10.00", "reason": "账户销户"})
    assert status == 200 and body["status"] == 200, body
    status, body = post(f"{simulator}/statements", {"date": timezone.localdate().isoformat()})
    assert status == 200 and [s["status"] for s in body["statements"]] == [200], body
    st = services.run_clearing(region_id=w.region.pk, bank_id=w.bank.pk, date=timezone.localdate(),
                               user=w.treasurer)
    assert st.reconciled and st.differences == []
    assert st.net_total == ind.consumed - Decimal("10.00")
    assert Indicator.objects.get(pk=ind.pk).consumed == ind.consumed - Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_malformed_and_foreign_messages_are_refused_over_http(live_server, world):
    w = world
    v = to_voucher(w, "50.00")
    url = f"{live_server.url}/api/v1/treasury/bank/receipts"

    def send(body, token=w.token):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    good = {"message_type": "receipt", "version": "1.0", "bank_code": "B01", "serial_no": "H1",
            "voucher_no": v.number, "result": "success", "amount": "50.00", "value_date": "2026-03-15"}
    status, body = send(b"{not json")
    assert status == 422 and body["code"] == "treasury.bank_message_invalid"
    status, body = send({**good, "amount": "50"})
    assert status == 422 and body["field"] == "amount"
    status, body = send({**good, "voucher_no": "PZ-NOPE"})
    assert status == 404 and body["code"] == "treasury.voucher_unknown"
    status, body = send(good, token="fmis_wrong")
    assert status in (401, 403)  # an unknown token authenticates nobody
    assert BankReceipt.objects.count() == 0
    status, first = send(good)
    assert status == 200 and first["voucher_status"] == "paid"
    status, again = send(good)
    assert status == 200 and again == {**first, "duplicate": True}
    assert BankReceipt.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_batch_approval_one_message_to_the_bank_one_receipt_batch_back(simulator, world):
    """批量审核 → one voucher batch per bank through the outbox → the simulator pays them and posts
    one receipt batch (paid, partly paid and failed receipts in one message) → all applied."""
    w = world
    apps = []
    for i in range(10):
        app = services.create_application(user=w.accountant, indicator_id=w.indicator.pk, payee_name="某某公司",
                                          payee_account="6228480012345678", payee_bank="示例银行营业部",
                                          amount=f"{50 + 13 * i}.{i:02d}", settle_mode="1", purpose="办公用品",
                                          plan_month=3)
        services.submit_application(application_id=app.pk, user=w.accountant)
        apps.append(app)
    result = services.approve_applications(application_ids=[a.pk for a in apps], user=w.treasurer)
    assert len(result["approved"]) == 10 and len(result["messages"]) == 1
    assert outbox.deliver(topic="bank.voucher") == (0, 0)
    assert outbox.deliver(topic="bank.voucher_batch") == (1, 0)
    numbers = list(PaymentVoucher.objects.filter(application__in=apps).values_list("number", flat=True))
    settled = wait_until_settled(numbers)
    assert {v.status for v in settled} >= {"paid"}
    for v in settled:
        assert v.paid + v.released == v.amount
    ind = Indicator.objects.get(pk=w.indicator.pk)
    assert ledger.check_ledger(ind.pk) == [] and ind.reserved == Decimal("0.00")
    assert ind.consumed == sum((v.paid for v in settled), Decimal("0.00"))
    assert BankReceipt.objects.filter(voucher__in=settled).count() >= 10

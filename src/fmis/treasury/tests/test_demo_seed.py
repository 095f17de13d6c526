"""The demo treasury: configuration, zero-balance accounts, the simulator endpoint and payment
applications in each state; deterministic, idempotent, consistent with the indicator ledger and the
unit's books. The last test follows a demo payment from application to receipt."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from fmis.accounting.models import AccountSet, EventPosting, Voucher
from fmis.accounting.services import check_balances
from fmis.iam.models import User
from fmis.indicators.ledger import check_ledger
from fmis.indicators.models import Indicator
from fmis.orgs import demo as orgs_demo
from fmis.platform.models import OutboxMessage
from fmis.treasury import demo, services
from fmis.treasury.models import (
    BankEndpoint,
    BankReceipt,
    PayerAccount,
    PaymentApplication,
    PaymentVoucher,
    TreasuryConfig,
)


def snapshot() -> dict:
    return {
        "config": list(TreasuryConfig.objects.order_by("region__code").values_list(
            "region__code", "fiscal_year", "payment_plan_enabled", "signing_suite")),
        "accounts": list(PayerAccount.objects.order_by("region__code", "agency__code", "pay_mode").values_list(
            "region__code", "agency__code", "pay_mode", "bank__code", "account_no", "account_name")),
        "endpoints": list(BankEndpoint.objects.order_by("bank__code").values_list("bank__code", "url", "is_active")),
        "applications": list(PaymentApplication.objects.order_by("number").values_list(
            "number", "agency__code", "indicator__code", "status", "amount", "purpose", "pay_mode")),
        "vouchers": list(PaymentVoucher.objects.order_by("number").values_list("number", "status", "amount", "paid")),
        "receipts": list(BankReceipt.objects.order_by("serial_no").values_list("serial_no", "result", "amount")),
        "outbox": list(OutboxMessage.objects.order_by("key").values_list("topic", "key", "status")),
        "indicators": list(Indicator.objects.order_by("code").values_list("code", "total", "reserved", "consumed")),
    }


@pytest.mark.django_db
def test_demo_treasury_is_deterministic_idempotent_and_consistent(monkeypatch):
    monkeypatch.setenv(demo.BANKSIM_PORT_ENV, "9876")
    orgs_demo.seed(scale="small")
    demo.seed_demo(scale="small", write=None)
    first = snapshot()
    assert first["endpoints"] == [("901", "http://127.0.0.1:9876/vouchers", True)]
    statuses = sorted(r[3] for r in first["applications"])
    assert statuses == sorted(["draft", "submitted", "paid"] * demo.UNITS_WITH_APPLICATIONS)
    assert [v[1:] for v in first["vouchers"]] == [("paid", Decimal("23500.00"), Decimal("23500.00"))] * 2
    assert [r[1] for r in first["receipts"]] == ["success", "success"]
    assert {o[2] for o in first["outbox"] if o[0] == "bank.voucher"} == {"sent"}  # the seed played the bank
    # a direct-payment account per region, an authorized one per demo agency, all at the demo bank
    assert {a[3] for a in first["accounts"]} == {demo.DEMO_BANK_CODE}
    assert sum(1 for a in first["accounts"] if a[2] == "direct") == len(orgs_demo.plan("small").regions)
    for ind in Indicator.objects.all():
        assert check_ledger(ind.pk) == []
        apps = PaymentApplication.objects.filter(indicator=ind)
        assert ind.reserved == sum((a.amount for a in apps if a.status == "submitted"), Decimal(0))
        assert ind.consumed == sum((a.amount for a in apps if a.status == "paid"), Decimal(0))
    for aset in AccountSet.objects.all():
        assert check_balances(aset.pk) == []

    assert demo.seed_demo(scale="small", write=None) == {"config": 0, "applications": 0}
    assert snapshot() == first


@pytest.mark.django_db
def test_seed_points_the_bank_at_the_simulator_port_of_the_demo(monkeypatch):
    orgs_demo.seed(scale="small")
    monkeypatch.delenv(demo.BANKSIM_PORT_ENV, raising=False)
    assert demo.point_bank_at_simulator() is True
    assert BankEndpoint.objects.get(bank__code="901").url == "http://127.0.0.1:8765/vouchers"
    assert demo.point_bank_at_simulator() is False
    assert demo.point_bank_at_simulator(port=8800) is True
    assert BankEndpoint.objects.get(bank__code="901").url == "http://127.0.0.1:8800/vouchers"


@pytest.mark.django_db
def test_banksim_token_replaces_the_previous_one():
    from fmis.iam.models import ApiToken
    from fmis.iam.tokens import hash_token

    orgs_demo.seed(scale="small")
    raw1 = demo.banksim_token()
    raw2 = demo.banksim_token()
    assert raw1 != raw2
    tokens = ApiToken.objects.filter(user__username=demo.DEMO_BANK_OPERATOR, name=demo.TOKEN_NAME)
    assert tokens.count() == 2
    assert tokens.get(key_hash=hash_token(raw1)).revoked_at is not None
    assert tokens.get(key_hash=hash_token(raw2)).revoked_at is None


@pytest.mark.django_db
def test_whole_demo_seed_then_a_payment_from_application_to_receipt_into_the_units_books():
    from fmis.orgs.management.commands.seed import app_demo_seeders

    orgs_demo.seed(scale="small")
    labels = [label for label, fn in app_demo_seeders()]
    assert {"indicators", "treasury", "accounting"} <= set(labels)
    for _label, fn in app_demo_seeders():
        fn(scale="small", write=None)

    unit = "990000101"
    app = PaymentApplication.objects.get(agency__code=unit, status="submitted")
    treasurer = User.objects.get(username="prov_treasury")
    from fmis.platform.workflow.selectors import inbox_pending

    assert app.pk in set(inbox_pending(user=treasurer, doc_type=services.APP_DOC).values_list("object_id", flat=True))
    app = services.approve_application(application_id=app.pk, user=treasurer, comment="同意")
    assert app.status == "voucher_issued"
    voucher = PaymentVoucher.objects.select_related("bank").get(application=app)
    assert voucher.bank.code == demo.DEMO_BANK_CODE
    assert OutboxMessage.objects.get(topic="bank.voucher", key=voucher.number).status == "pending"

    banker = User.objects.get(username=demo.DEMO_BANK_OPERATOR)
    services.apply_receipt(user=banker, message={
        "message_type": "receipt", "version": "1.0", "bank_code": voucher.bank.code, "serial_no": "T0001",
        "voucher_no": voucher.number, "result": "success", "amount": str(voucher.amount),
        "value_date": timezone.localdate().isoformat()})
    app.refresh_from_db()
    assert app.status == "paid"
    assert check_ledger(app.indicator_id) == []
    aset = AccountSet.objects.get(agency__code=unit, is_primary=True)
    posting = EventPosting.objects.get(account_set=aset, event_name="treasury.payment_settled",
                                       source_no="T0001")
    assert posting.outcome == "posted"
    v = Voucher.objects.get(pk=posting.voucher_id)
    assert v.is_machine and v.status == "posted"
    assert v.lines.filter(account__code__startswith="5001", debit=voucher.amount).exists()
    assert check_balances(aset.pk) == []

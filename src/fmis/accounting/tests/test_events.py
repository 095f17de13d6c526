"""Business events become machine vouchers in the unit's books, in the publisher's transaction."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import transaction

from fmis.accounting import services
from fmis.accounting.models import Balance, EventPosting, Voucher
from fmis.accounting.tests.conftest import YEAR
from fmis.platform import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(db):
    services.ensure_default_rules()


def payment(books, **kw):
    base = {"amount": Decimal("1200.00"), "fiscal_year": YEAR, "region_code": books.region.code,
            "agency_code": books.agency.code, "func_code": "2010101", "gov_eco_code": "50201",
            "dept_eco_code": "30201", "fund_type": "11", "pay_mode": "authorized", "indicator_id": 7,
            "indicator_code": "ZB-001", "voucher_id": 3, "voucher_no": "W0003", "payee_name": "某公司",
            "source_type": "treasury.bank_receipt", "source_id": 41, "source_no": "R-41",
            "date": dt.date(YEAR, 3, 20)}
    base.update(kw)
    return base


def closing(code, number=3):
    return sum((b.closing for b in Balance.objects.filter(period__number=number, account__code=code)),
               Decimal("0.00"))


def test_authorized_payment_settled_posts_paired_voucher(books, rules):
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books))
    v = Voucher.objects.get(account_set=books.aset, is_machine=True)
    assert v.status == "posted" and v.rule_code == "PAY-AUTH-I"
    assert (v.source_type, v.source_id, v.source_no) == ("treasury.bank_receipt", "41", "R-41")
    lines = {(x.basis, x.account.code, x.debit, x.credit) for x in v.lines.select_related("account")}
    amt, z = Decimal("1200.00"), Decimal("0.00")
    assert lines == {("financial", "5001", amt, z), ("financial", "1011", z, amt),
                     ("budgetary", "720101", amt, z), ("budgetary", "800101", z, amt)}
    expense = v.lines.get(account__code="5001")
    assert expense.aux["func"] == "2010101" and expense.aux["gov_eco"] == "50201"
    assert closing("5001") == amt and closing("800101") == -amt
    assert EventPosting.objects.get().outcome == "posted"
    assert services.check_balances(books.aset.pk) == []


def test_quota_direct_payment_refund_and_correction(books, rules):
    with transaction.atomic():
        events.publish("indicators.quota_arrived", {
            "amount": Decimal("5000.00"), "fiscal_year": YEAR, "region": books.region.code,
            "agency": books.agency.code, "indicator_id": 7, "indicator_code": "ZB-001", "func_code": "2010101",
            "fund_type": "11", "pay_mode": "authorized", "project_code": "", "source_type": "indicators.indicator",
            "source_id": 7, "source_no": "ZB-001", "date": "2026-03-01"})
        events.publish("indicators.quota_arrived", {
            "amount": Decimal("800.00"), "fiscal_year": YEAR, "region": books.region.code,
            "agency": books.agency.code, "indicator_code": "ZB-002", "pay_mode": "direct", "source_id": 8,
            "source_type": "indicators.indicator", "date": "2026-03-01"})
        events.publish("treasury.payment_settled", payment(books, pay_mode="direct", amount=Decimal("300.00"),
                                                           project_code="P01", source_id=42))
        events.publish("treasury.payment_refunded", payment(books, amount=Decimal("100.00"),
                                                            source_type="treasury.refund", source_id=5))
        events.publish("treasury.payment_corrected", payment(
            books, amount=Decimal("50.00"), source_type="treasury.correction", source_id=9,
            **{"from": {"func_code": "2010101", "gov_eco_code": "50201", "dept_eco_code": "30201",
                        "fund_type": "11", "indicator_code": "ZB-001"},
               "to": {"func_code": "2010199", "gov_eco_code": "50201", "dept_eco_code": "30201",
                      "fund_type": "11", "indicator_code": "ZB-003"}}))
    outcomes = list(EventPosting.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["posted", "skipped", "posted", "posted", "posted"]
    assert closing("1011") == Decimal("5100.00")          # 5000 arrived + 100 refunded
    assert closing("4001") == Decimal("-5300.00")         # 5000 quota + 300 direct payment
    assert closing("600101") == Decimal("-5000.00") and closing("600102") == Decimal("-300.00")
    assert closing("720101") == Decimal("200.00")         # 300 paid − 100 refunded, correction nets out
    assert closing("5001") == Decimal("200.00")
    assert closing("800101") == Decimal("5100.00")
    moved = Balance.objects.filter(period__number=3, account__code="720101", aux__func="2010199").get()
    assert moved.closing == Decimal("50.00")
    assert services.check_balances(books.aset.pk) == []


def test_rollback_of_publisher_leaves_no_voucher(books, rules):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        events.publish("treasury.payment_settled", payment(books))
        assert Voucher.objects.filter(is_machine=True).count() == 1
        raise Boom
    assert Voucher.objects.count() == 0 and Balance.objects.count() == 0 and EventPosting.objects.count() == 0


def test_unit_without_books_is_recorded_not_raised(books, rules):
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books, agency_code="999999999"))
    ep = EventPosting.objects.get()
    assert ep.outcome == "no_account_set" and Voucher.objects.count() == 0


def test_audited_waiting_mode_and_duplicate_event(books, rules):
    services.update_account_set(account_set_id=books.aset.pk, machine_auto_post=False, user=books.admin)
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books))
        events.publish("treasury.payment_settled", payment(books))
    v = Voucher.objects.get(is_machine=True)
    assert v.status == "audited" and Balance.objects.count() == 0
    assert list(EventPosting.objects.order_by("id").values_list("outcome", flat=True)) == ["posted", "skipped"]
    services.post_voucher(voucher_id=v.pk, user=books.auditor)
    assert closing("5001") == Decimal("1200.00")


def test_closed_period_event_goes_to_next_open_period(books, rules):
    from fmis.accounting.models import Period

    for n in (1, 2, 3):
        services.close_period(period_id=Period.objects.get(account_set=books.aset, year=YEAR, number=n).pk,
                              user=books.auditor)
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books))
    v = Voucher.objects.get(is_machine=True)
    assert v.period.number == 4 and v.date == dt.date(YEAR, 4, 1)


def test_event_before_books_can_be_reposted(books, rules, client):
    from fmis.accounting.models import AccountSet

    AccountSet.objects.filter(pk=books.aset.pk).update(is_enabled=False)
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books))
    ep = EventPosting.objects.get()
    assert ep.outcome == "no_account_set"
    services.update_account_set(account_set_id=books.aset.pk, is_enabled=True, user=books.admin)
    client.force_login(books.admin)
    assert client.get("/accounting/rules/").status_code == 200
    resp = client.post(f"/api/v1/accounting/events/{ep.pk}/repost")
    assert resp.status_code == 200 and resp.json()["outcome"] == "posted"
    ep.refresh_from_db()
    assert ep.resolved_by_id is not None and Voucher.objects.filter(is_machine=True).count() == 1
    assert client.post(f"/api/v1/accounting/events/{ep.pk}/repost").status_code == 409
    # a unit accountant of another agency does not see it
    client.force_login(books.outsider)
    assert client.post(f"/api/v1/accounting/events/{ep.pk}/repost").status_code == 403


def test_rules_are_data(books, rules, client):
    """Changing a rule row changes the entries of the next event; no code involved."""
    from fmis.accounting.models import PostingRule
    from fmis.platform.errors import ValidationFailed

    spec = services.rule_spec(PostingRule.objects.get(code="PAY-AUTH-I"))
    spec["lines"][0]["account_code"] = "5101"
    client.force_login(books.admin)
    assert client.get("/accounting/rules/", {"edit": "PAY-AUTH-I"}).status_code == 200
    resp = client.post("/accounting/rules/", {"op": "save_rule", "spec": json.dumps(spec)})
    assert resp.status_code == 302
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books))
    assert closing("5101") == Decimal("1200.00") and closing("5001") == 0
    with pytest.raises(ValidationFailed):
        services.save_rule(spec={**spec, "lines": [{"basis": "x", "side": "debit", "account_code": "5001"}]},
                           user=books.admin)
    # a rule whose account does not exist in the books: recorded as failed, the publisher still commits
    spec["code"], spec["priority"] = "BROKEN", 1
    spec["lines"][0]["account_code"] = "5999"
    services.save_rule(spec=spec, user=books.admin)
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books, source_id=99))
    failed = EventPosting.objects.get(source_id="99")
    assert failed.outcome == "failed" and "5999" in failed.message


def test_finance_department_books_get_no_unit_rule(books, rules):
    from fmis.accounting.models import AccountSet

    fd = services.create_account_set(data=services.AccountSetInput(
        code="9001", name="总预算会计", start_year=YEAR, region_id=books.region.pk), user=books.admin)
    assert AccountSet.objects.get(pk=fd.pk).agency_id is None
    with transaction.atomic():
        events.publish("indicators.quota_arrived", {
            "amount": Decimal("10.00"), "fiscal_year": YEAR, "region": books.region.code, "agency": "",
            "pay_mode": "authorized", "source_type": "indicators.indicator", "source_id": 1, "date": "2026-03-01"})
    ep = EventPosting.objects.get()
    assert ep.account_set_id == fd.pk and ep.outcome == "no_rule" and Voucher.objects.count() == 0


def test_machine_voucher_page_shows_its_source(books, rules, client):
    with transaction.atomic():
        events.publish("treasury.payment_settled", payment(books, application_id=77, application_no="SQ-77"))
    v = Voucher.objects.get(is_machine=True)
    client.force_login(books.entrant)
    page = client.get(f"/accounting/vouchers/{v.pk}/").content.decode()
    assert "R-41" in page and "SQ-77" in page and "W0003" in page and "PAY-AUTH-I" in page

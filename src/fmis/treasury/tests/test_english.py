"""The treasury screens in English (language cookie): lists, details, forms, plans, clearing and
settings carry English labels (statuses, payment modes, settlement methods and document type
names included), and the only Chinese left on a page is data (names, purposes, reasons)."""

import datetime as dt
import io

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from fmis.platform.tests.english import chinese_left, english_client
from fmis.treasury import services
from fmis.treasury.models import (
    PaymentPlan,
)
from fmis.treasury.tests.conftest import apply, make_indicator, receipt, to_voucher


@pytest.fixture(autouse=True)
def restore_language():
    """A request activates its language in this thread; give the next test the default back."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def documents(world):
    """One of everything the treasury screens list: a draft application, a paid voucher with a
    refund and a correction, a clearing sheet, a payment plan, a procurement plan and settings."""
    w = world
    draft = apply(w, "55.00", purpose="差旅费")
    voucher = to_voucher(w, "300.00")
    services.apply_receipt(message=receipt(voucher, "SN-1", "300.00"), user=w.banker)
    services.record_refund(voucher_id=voucher.pk, amount="40.00", serial_no="RF-1", reason="收款人账户有误",
                           value_date=dt.date(2026, 3, 16), user=w.treasurer)
    target = make_indicator(w, "IND-2")
    correction = services.create_correction(voucher_id=voucher.pk, to_indicator_id=target.pk, amount="10.00",
                                            reason="科目用错", user=w.treasurer)
    clearing = services.run_clearing(region_id=w.region.pk, bank_id=w.bank.pk, date=dt.date(2026, 3, 15),
                                     user=w.treasurer)
    services.create_payment_plan(indicator_id=target.pk, month=4, amount="500.00", user=w.accountant)
    services.create_procurement_plan(indicator_id=target.pk, number="CG-1", item="办公设备", amount="200.00",
                                     user=w.accountant)
    services.set_config(region_id=w.region.pk, fiscal_year=2026, payment_plan_enabled=False,
                        procurement_plan_enabled=False, signing_suite="sm2", user=w.admin)
    services.set_bank_endpoint(bank_id=w.bank.pk, url="http://bank.example/vouchers", user=w.admin)
    voucher.refresh_from_db()
    data = {w.region.name, w.agency.name, w.other_agency.name, w.bank.name, w.indicator.title, target.title,
            w.treasurer.name, w.accountant.name, w.banker.name, w.admin.name, draft.payee_name, draft.payee_bank,
            draft.purpose, voucher.application.purpose, voucher.payer_name, "收款人账户有误", "科目用错", "办公设备",
            "示例市财政零余额账户", "国库处审核"}
    return {"draft": draft, "voucher": voucher, "correction": correction, "clearing": clearing, "data": data}


def page(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, url
    return resp.content.decode()


@pytest.mark.django_db
def test_application_screens_read_in_english(world, documents):
    web = english_client(world.treasurer)
    draft, data = documents["draft"], documents["data"]

    html = page(web, "/treasury/applications/")
    assert "<h1>Payment application</h1>" in html
    for label in ("<th>Application</th>", "<th>Agency</th>", "<th>Indicator</th>", "<th>Payee</th>",
                  "<th>Amount</th>", "<th>Payment mode</th>", "<th>Status</th>", "<th>Entered at</th>"):
        assert label in html, label
    assert "New payment application" in html and "Number, name or purpose" in html and "All statuses" in html
    assert ">Export<" in html and "No matching records" not in html
    assert chinese_left(html, data) == set()
    resp = web.get("/treasury/applications/?export=xlsx")
    header = next(load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert header == ("Application", "Agency", "Indicator", "Payee", "Amount", "Payment mode", "Status", "Entered at")

    html = page(web, f"/treasury/applications/{draft.pk}/")
    for label in ("Payment application · " + draft.number, "<dt>Payee account</dt>", "<dt>Payee bank</dt>",
                  "<dt>Settlement method</dt>", "<dt>Purpose</dt>", "<dt>Functional classification</dt>",
                  "<dt>Government / department economic classification</dt>", "<dt>Fund type</dt>",
                  "<dt>Payment plan month</dt>", "Back to list", ">Edit<", "Submit for review"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/treasury/applications/new/")
    for label in ("<h1>New payment application</h1>", "Payee name *", "Payee account *", "Payee bank *",
                  "Settlement method *", "Payment plan month *",
                  "Government economic classification (blank: the indicator&#x27;s)", ">Save<", ">Cancel<"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, f"/treasury/applications/{draft.pk}/edit/")
    assert f"Edit payment application {draft.number}" in html and "Department economic classification" in html
    assert chinese_left(html, data) == set()

    # a message after a write follows the language too
    resp = web.post(f"/treasury/applications/{draft.pk}/submit/", follow=True)
    html = resp.content.decode()
    assert f"Submitted; the amount is reserved on the indicator: {draft.number}" in html
    assert chinese_left(html, data) == set()


@pytest.mark.django_db
def test_voucher_refund_and_correction_screens_read_in_english(world, documents):
    web = english_client(world.treasurer)
    v, c, data = documents["voucher"], documents["correction"], documents["data"]

    html = page(web, "/treasury/vouchers/")
    assert "<h1>Payment voucher</h1>" in html
    for label in ("<th>Voucher number</th>", "<th>Application</th>", "<th>Agent bank</th>",
                  "<th>Voucher amount</th>", "<th>Paid</th>", "<th>Refunded</th>"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, f"/treasury/vouchers/{v.pk}/")
    for label in ("Payment voucher · " + v.number, "<dt>Payer account</dt>", "<dt>Released after failure</dt>",
                  "<dt>Corrected</dt>", "<dt>Paid</dt>", "<dt>Refunded</dt>", "<dt>Signature</dt>", "Verified", "<h3>Bank receipts</h3>",
                  "<th>Serial number</th>", "<th>Value date</th>", "<h3>Refund</h3>", "<th>Refund number</th>",
                  "<h3>Corrections</h3>", "<th>Correction number</th>", "<th>Corrected indicator</th>",
                  "Record refund", "Payment correction"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, f"/treasury/vouchers/{v.pk}/refund/")
    assert f"Record refund: {v.number}" in html and "Refundable amount 260.00" in html
    assert "Refund amount *" in html and "Bank serial number *" in html and "Reason for refund *" in html
    assert chinese_left(html, data) == set()

    html = page(web, f"/treasury/vouchers/{v.pk}/correction/")
    assert f"Payment correction: {v.number}" in html and "Correctable amount" in html
    assert "Corrected indicator *" in html and "Correction amount *" in html and "Reason for correction *" in html
    assert chinese_left(html, data) == set()

    html = page(web, "/treasury/refunds/")
    for label in ("<h1>Refund</h1>", "<th>Refund number</th>", "<th>Bank serial number</th>", "<th>Date</th>",
                  "<th>Reason</th>"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/treasury/corrections/")
    for label in ("<h1>Payment correction</h1>", "<th>Correction number</th>", "<th>Original indicator</th>",
                  "<th>Corrected indicator</th>"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, f"/treasury/corrections/{c.pk}/")
    for label in ("Payment correction · " + c.number, "<dt>Original indicator</dt>", "<dt>Correction amount</dt>",
                  "<dt>Reason for correction</dt>", "Back to list"):
        assert label in html, label
    assert chinese_left(html, data) == set()


@pytest.mark.django_db
def test_clearing_plan_and_settings_screens_read_in_english(world, documents):
    web = english_client(world.treasurer)
    s, data = documents["clearing"], documents["data"]

    html = page(web, "/treasury/clearings/")
    for label in ("<h1>Clearing</h1>", "<th>Clearing number</th>", "<th>Payments</th>", "<th>Amount paid</th>",
                  "<th>Net clearing amount</th>", "<th>Reconciliation</th>", "Not reconciled", "Run clearing"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, f"/treasury/clearings/{s.pk}/")
    for label in ("Clearing sheet · " + s.number, "<dt>Clearing date</dt>", "<dt>Bank statement amount</dt>",
                  "No bank statement received", "<dt>Reconciliation result</dt>", "<h3>Differences</h3>",
                  "<h3>Vouchers</h3>", "<th>Receipts</th>", " items · "):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/treasury/clearings/run/")
    assert "<h1>Run clearing</h1>" in html and "Clearing date *" in html and "Region *" in html
    assert chinese_left(html, data) == set()

    html = page(web, "/treasury/plans/")
    for label in ("<h1>Payment plan</h1>", "<th>Month</th>", "<th>Requested amount</th>", "<th>Approved amount</th>",
                  "<th>Used amount</th>", ">Approve<", "Apply for a payment plan", "New procurement plan"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    for url, title, field in (("/treasury/plans/new/", "Apply for a payment plan", "Requested amount *"),
                              ("/treasury/plans/procurement/new/", "New procurement plan", "Procurement item *")):
        html = page(web, url)
        assert f"<h1>{title}</h1>" in html and field in html, url
        assert chinese_left(html, data) == set()

    plan = PaymentPlan.objects.get()
    html = page(web, f"/treasury/plans/{plan.pk}/approve/")
    assert f"Approve payment plan: {plan.indicator.code}, month 4" in html and "Approved amount *" in html
    resp = web.post(f"/treasury/plans/{plan.pk}/approve/", {"approved": "450.00"}, follow=True)
    assert "Payment plan approved" in resp.content.decode()

    html = page(web, "/treasury/config/")
    for label in ("<h1>Treasury settings</h1>", "Plan control and signature suite", "<th>Procurement plan</th>",
                  "<td>Disabled</td>", "Enforce payment plans", "Enforce procurement plans", "<h2>Zero-balance account</h2>",
                  "<td>Finance</td>", "<th>Account name</th>", "<h2>Bank message endpoint</h2>",
                  "Message endpoint URL *", "Agency (blank for the finance zero-balance account)"):
        assert label in html, label
    assert chinese_left(html, data) == set()


@pytest.mark.django_db
def test_chinese_stays_the_default(world, documents):
    c = Client()
    c.force_login(world.treasurer)
    html = page(c, f"/treasury/vouchers/{documents['voucher'].pk}/")
    assert "<h3>更正</h3>" in html and "失败退回额度" in html and "Released after failure" not in html
    assert {"付款账户", "失败退回额度", "银行回单"} <= chinese_left(html, documents["data"])
    html = page(c, "/treasury/config/")
    assert "<td>不启用</td>" in html and "<td>财政</td>" in html


def test_catalog_holds_the_labels_still_to_be_marked():
    with translation.override("en"):
        assert translation.gettext("部分支付") == "Partly paid"
        assert translation.gettext("已生成凭证") == "Voucher issued"
        assert translation.pgettext("status", "录入") == "Draft"
        assert translation.gettext("公务卡支付") == "Official card"
        assert translation.pgettext("corrections", "更正") == "Corrections"

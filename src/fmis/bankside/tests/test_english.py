"""The agent-bank screens in English (language cookie), against a real local consortium: merchants,
business types, flow rules (history and form, exception flows included), pre-applications and their
review, payments, suspense refunds, execution, statements, core banking and the exception flows
(cases, entrusted-collection authorisations, case applications and their forms) carry English
labels, statuses and choice names, and the only Chinese left on a page is data."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from fmis.bankside import cases, services
from fmis.bankside.models import (
    CaseApplication,
    CaseKind,
    CollectionAuthorisation,
    CoreEntry,
    ExceptionCase,
    FlowRule,
    Payment,
    PreApplication,
    StatementLine,
)
from fmis.bankside.tests.test_services import DAY, env, info, setup_business  # noqa: F401
from fmis.platform.tests.english import CJK, chinese_left, english_client

DATA_APPS = ("bankside", "orgs", "iam", "transfers")


def stored_text() -> set[str]:
    """Every Chinese value stored in the tables these screens read (names, purposes, reasons,
    core messages, JSON before/after values): data, not labels."""
    out: set[str] = set()

    def add(value):
        if isinstance(value, str) and CJK.search(value):
            out.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                add(v)
        elif isinstance(value, list):
            for v in value:
                add(v)

    for label in DATA_APPS:
        for model in apps.get_app_config(label).get_models():
            fields = [f.attname for f in model._meta.concrete_fields
                      if isinstance(f, (models.CharField, models.TextField, models.JSONField))]
            if fields:
                for row in model.objects.values_list(*fields):
                    for value in row:
                        add(value)
    return out


def page(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.content.decode()


def header(client, url: str) -> tuple:
    resp = client.get(url)
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats"), url
    return next(load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0].iter_rows(values_only=True))


@pytest.fixture(autouse=True)
def restore_language():
    """A request activates its language in this thread; give the next test the default back."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def business(env):  # noqa: F811
    """Everything the agent-bank screens list, booked through the services on the consortium: a ledger,
    a suspense and a core payment, a pending and an approved pre-application, a second rule version
    with its exception flows, a fund return, a correction under an approved case application, a
    pending case application, and an entrusted collection under an authorisation."""
    fin, op = env["fin"], env["op"]
    setup_business(env)
    services.set_rule(user=fin, merchant_no="M1", business_type="utilities", limit=Decimal("900.00"),
                      required_fields=["purpose"], reason="调整限额",
                      exceptions={"return": "direct", "mistaken_refund": "forbidden"})
    services.pay(user=op, **info(1, amount=Decimal("120.00")))
    services.pay(user=op, **info(2, payee_account="C2", payee_name="某电力公司", budget_type="electricity",
                                 amount=Decimal("30.00")))
    services.pay(user=op, **info(3, merchant_no="M2", agency_code="990000002", agency_name="示例省卫生健康委",
                                 amount=Decimal("40.00")))
    approved = services.submit_pre_application(user=op, merchant_no="M1", business_type="tax",
                                               amount=Decimal("60.00"), purpose="个人所得税").tx_id
    services.review_pre_application(user=fin, pre_application=approved, approve=True)
    pending = services.submit_pre_application(user=op, merchant_no="M1", business_type="tax",
                                              amount=Decimal("70.00"), purpose="个税补缴").tx_id
    v1 = Payment.objects.get(voucher_id="V000001").ledger_id
    returned = cases.return_payment(user=op, payment=v1, amount=Decimal("20.00"), date=DAY, bank_serial="R1",
                                    reason="收款人账户已销户").tx_id
    changes = {"func_class": "2050202", "purpose": "水费（更正）"}
    app = cases.submit_case_application(user=op, kind="correction", payment=v1, changes=changes,
                                        reason="功能分类错误").tx_id
    cases.review_case_application(user=fin, application=app, decision="approved")
    corrected = cases.correct_payment(user=op, payment=v1, changes=changes, date=DAY, reason="功能分类错误",
                                      application=app).tx_id
    waiting = cases.submit_case_application(user=op, kind="correction", payment=v1,
                                            changes={"fund_nature": "政府性基金"}, reason="资金性质错误").tx_id
    auth = cases.register_authorisation(user=op, merchant_no="M1", business_type="utilities", budget_type="water",
                                        customer_account="C1", customer_name="自来水公司", limit="50.00",
                                        total_limit="200.00", valid_from=DAY, reference="AUTH-1").tx_id
    collected = cases.collect(user=op, authorisation=auth, amount="35.00", date=DAY, bank_serial="K1",
                              purpose="水费代扣").tx_id
    assert PreApplication.objects.get(ledger_id=pending).status == "submitted"
    assert CaseApplication.objects.get(ledger_id=waiting).status == "submitted"
    assert ExceptionCase.objects.filter(status="booked").count() == 3
    return {"v1": v1, "returned": returned, "corrected": corrected, "collected": collected, "pending": pending,
            "approved": approved, "auth": auth, "data": stored_text()}


@pytest.mark.django_db(transaction=True)
def test_finance_screens_read_in_english(env, business):  # noqa: F811
    web, data = english_client(env["fin"]), business["data"]

    html = page(web, "/bankside/merchants/")
    for label in ("<h1>Merchants and accounts</h1>", "<th>Merchant no.</th>", "<th>Merchant name</th>",
                  "<th>Agency</th>", "<th>Agent bank</th>", "<th>Financial account</th>",
                  "<th>Has the management function</th>", "<td>Yes</td>", "<td>No</td>",
                  "Merchant no., name or agency code", ">Export<"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/merchants/?export=xlsx")[:3] == ("Merchant no.", "Merchant name", "Agency code")

    html = page(web, "/bankside/business-types/")
    for label in ("<h1>Business type</h1>", "<th>Business type code</th>", "<th>Business type name</th>",
                  "<th>Budget type</th>", "<th>Version</th>", "Define a business type"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    html = page(web, "/bankside/business-types/new/")
    assert "<h1>Define a business type</h1>" in html and "Budget types (comma separated" in html
    assert "Submit to the ledger" in html and ">Cancel<" in html
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/rules/?merchant=M1&history=1")
    for label in ("<h1>Flow rules</h1>", "<th>Merchant</th>", "<th>Application required</th>",
                  "<th>Limit per payment</th>", "<th>Required fields</th>", "<th>Reviewing region</th>",
                  "<th>Exception flows</th>", "<th>Current</th>", "Include earlier versions", "Set a flow rule",
                  "<td>None required</td>", "<td>Pre-application</td>", ">Edit<", ">History<",
                  "Fund return: Direct", "Entrusted collection: Direct",
                  "Payment correction: Finance review required", "Mistaken-payment refund: Not allowed"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/rules/?export=xlsx")[:5] == (
        "Merchant no.", "Business type", "Version", "Current", "Application required")

    html = page(web, "/bankside/rules/set/?merchant=M1&business_type=utilities")
    for label in ("<h1>Change the flow rule (makes version 3)</h1>", "Merchant no. *", "Application required *",
                  "Limit per payment (yuan, empty for none)", "Required fields</label>", "Fund type",
                  "Functional classification", "Reason (required when changing the current rule)",
                  "Fund return", "Entrusted collection", "Payment correction", "Mistaken-payment refund",
                  ">Direct<", ">Finance review required<", ">Not allowed<", ">None required<", ">Application<"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/pre-applications/")
    for label in ("<h1>Pre-application</h1>", "<th>Ledger id</th>", "<th>Kind</th>", "<th>Amount applied for</th>",
                  "<th>Rule version</th>", "<th>Review comment</th>", "<td>Pending</td>", "<td>Approved</td>",
                  "All statuses", "Merchant no. or purpose", ">To review<"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/pre-applications/?export=xlsx")[:2] == ("Ledger id", "Kind")

    html = page(web, f"/bankside/pre-applications/{business['pending']}/")
    for label in ("<dt>Reviewing region</dt>", "<dt>Used by payment</dt>", "<dt>Submitted in block / Reviewed in block</dt>",
                  "<h2>Review</h2>", ">Approve<", ">Return<", "Comment (required to reject)", "Submit the decision",
                  'aria-label="Decision"'):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/review/")
    assert "<h1>Pre-application review</h1>" in html and "Submit the decision" in html
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/payments/")
    for label in ("<h1>Budget payment</h1>", "<th>Payment voucher id</th>", "<th>Bank serial number</th>",
                  "<th>Bookkeeping path</th>", "<td>Increase/decrease bookkeeping</td>",
                  "<td>Through the suspense account</td>", "<td>Core banking debit</td>", "<td>Paid</td>",
                  "<td>Awaiting suspense refund</td>", "<td>Partly returned</td>", "All paths",
                  ">Partly returned<", ">Returned to the merchant<"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/payments/?export=xlsx")[:3] == ("Date", "Time", "Merchant no.")

    html = page(web, f"/bankside/payments/{business['v1']}/")
    for label in ("<h2>Budget information</h2>", "<dt>Payment voucher id</dt>", "<dt>Fund type</dt>",
                  "<dt>Functional classification</dt>", "<dt>Taxpayer id</dt>", "<h2>Flow and result</h2>",
                  '<dd data-testid="payment-status">Partly returned</dd>', "<dd>Increase/decrease bookkeeping</dd>", "<dt>Flow rule version</dt>",
                  "(None required, Limit per payment 900.00, required purpose)", "<dt>Ledger transaction id</dt>",
                  "<h2>Bookkeeping (increase / decrease)</h2>", "<td>Increase</td>", "<td>Decrease</td>",
                  "<th>Balance</th>", "(Rate 1)"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/execution/")
    for label in ("<h1>Execution summary</h1>", "<th>Agency code</th>", "<th>Count</th>",
                  "<th>Awaiting suspense refund</th>", "<th>Returned to the merchant</th>", "<th>Failed</th>",
                  ">Total<", "Agency code or name"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/execution/?export=xlsx")[:2] == ("Agency code", "Agency name")

    html = page(web, f"/bankside/statements/?account=A-M1&date={DAY.isoformat()}&previous=2")
    for label in ("<h1>Statement</h1>", "<dt>Period</dt>", "<dt>Opening balance</dt>", "<dt>Total increases</dt>",
                  "<dt>Closing balance</dt>", "<dt>Core debits</dt>", "<td>Increase</td>", "<td>Decrease</td>",
                  "Previous days", ">Generate<"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    html = page(web, "/bankside/statements/?account=&date=")
    assert "Enter an account number and a date" in html and chinese_left(html, data) == set()

    html = page(web, "/bankside/cases/")
    for label in ("<h1>Exception cases</h1>", "<th>Case kind</th>", "<th>Original payment voucher</th>",
                  "<th>Mode</th>", "<th>Reason / purpose</th>", "<td>Fund return</td>", "<td>Payment correction</td>",
                  "<td>Entrusted collection</td>", "<td>Direct</td>", "<td>After approval</td>", "<td>Booked</td>",
                  "All kinds", ">Fund return<"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/cases/?export=xlsx")[:3] == ("Date", "Case kind", "Merchant no.")

    html = page(web, f"/bankside/cases/{business['corrected']}/")
    for label in ("<h1>Payment correction <small>Booked</small></h1>", "<dt>Original payment</dt>",
                  "CNY, returned 20.00, Partly returned)", "<dt>Mode</dt>", "After approval (Application <code>",
                  "<h2>Before and after</h2>", "<th>Item</th>", "<th>Before</th>", "<th>After</th>", ">Back<"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/cases/authorisations/")
    for label in ("<h1>Entrusted-collection authorisations</h1>", "<th>Authorisation no.</th>",
                  "<th>Total limit</th>", "<th>Collected</th>", "<th>Validity</th>", "<td>Valid</td>"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/cases/authorisations/?export=xlsx")[-5:] == (
        "Collections", "Valid from", "Valid to", "Status", "Ledger id")

    html = page(web, "/bankside/cases/applications/")
    for label in ("<h1>Exception case applications</h1>", "<th>Original payment / authorisation</th>",
                  "<th>Changes</th>", "<th>Reviewing region</th>", "<td>Pending</td>", "<td>Approved (",
                  ">handled<", ">Approve<", ">Return<", 'placeholder="Review comment"'):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/cases/applications/?export=xlsx")[:2] == ("Case kind", "Merchant no.")


@pytest.mark.django_db(transaction=True)
def test_bank_screens_and_forms_read_in_english_and_chinese_stays_the_default(env, business):  # noqa: F811
    web, data = english_client(env["op"]), business["data"]

    for url, title, fields in (
        ("/bankside/merchants/new/", "Register a merchant", ("Merchant no. *", "Agency code *", "Currency *")),
        ("/bankside/accounts/new/", "Open a customer or suspense account",
         ("Account kind *", ">Customer account<", "Suspense account (BGL/CGL)", "Merchant no. (customer accounts)")),
        ("/bankside/funds/new/", "Fund a merchant account", ("Merchant financial account *", "Funding reference *")),
        ("/bankside/pre-applications/new/", "Submit a pre-application", ("Amount applied for (yuan) *",)),
        ("/bankside/payments/new/", "Enter a budget payment",
         ("Payment voucher id *", "Payee account *", "Payment mode", "Pre-application id (when the flow rule")),
        ("/bankside/core/new/", "Open a core banking account", ("Opening balance (yuan)", ">Open<")),
        ("/bankside/cases/new/return/", "Fund return", ("Original payment ledger id *", "Bank serial number *")),
        ("/bankside/cases/new/mistaken_refund/", "Mistaken-payment refund", ("Reason *",)),
        ("/bankside/cases/new/correction/", "Payment correction", ("Reason for correction *",)),
        ("/bankside/cases/new/collection/", "Entrusted collection", ("Purpose *",)),
        ("/bankside/cases/authorisations/new/", "Register an entrusted-collection authorisation",
         ("Valid from *", "Authorisation no. *", "Total limit (yuan)")),
        ("/bankside/cases/applications/new/", "Submit an exception case application",
         (">Fund return<", ">Mistaken-payment refund<", "Reason *")),
    ):
        html = page(web, url)
        assert f"<h1>{title}</h1>" in html, url
        for field in fields:
            assert field in html, (url, field)
        assert ">Cancel<" in html, url
        assert chinese_left(html, data) == set(), url

    html = page(web, "/bankside/merchants/")
    assert "Register a merchant" in html and "Open a customer or suspense account" in html
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/suspense/")
    for label in ("<h1>Suspense account refunds</h1>", "<th>Payee account</th>", 'aria-label="Refund date"',
                  ">Refund<", "Voucher id, serial or payee"):
        assert label in html, label
    assert chinese_left(html, data) == set()

    html = page(web, "/bankside/core/")
    for label in ("<h1>Core banking</h1>", "<h2>Core banking accounts</h2>", "<h2>Core banking journal</h2>",
                  "<th>Frozen</th>", "<th>Request id</th>", "<td>Debit</td>", "<td>Succeeded</td>",
                  "Open a core banking account", "Export the journal"):
        assert label in html, label
    assert chinese_left(html, data) == set()
    assert header(web, "/bankside/core/?export=xlsx")[:3] == ("Request id", "Action", "Account number")

    html = page(web, "/bankside/cases/authorisations/")
    assert ">Collect<" in html and 'placeholder="Reason for revoking"' in html and ">Revoke<" in html
    assert chinese_left(html, data) == set()
    html = page(web, "/bankside/cases/applications/")
    assert "Submit an application" in html and chinese_left(html, data) == set()

    # a write's message follows the language too
    resp = web.post("/bankside/cases/new/return/", {"payment": business["v1"], "amount": "5.00",
                                                    "date": DAY.isoformat(), "bank_serial": "R2", "reason": "退票"},
                    follow=True)
    html = resp.content.decode()
    assert "Fund return: committed in block" in html
    assert chinese_left(html, data | {"退票"}) == set()
    resp = web.post(f"/bankside/cases/authorisations/{business['auth']}/revoke/", {"reason": "合同终止"}, follow=True)
    html = resp.content.decode()
    assert "Revoke the authorisation: committed in block" in html and "<td>Revoked</td>" in html
    assert chinese_left(html, data | {"合同终止"}) == set()

    # without the cookie the same screens stay Chinese
    c = Client()
    c.force_login(env["fin"])
    html = page(c, "/bankside/rules/?merchant=M1&history=1")
    assert "资金退回：直接办理" in html and "错缴资金退回：不允许" in html and "Fund return" not in html
    html = page(c, f"/bankside/cases/{business['corrected']}/")
    assert "（申请 <code>" in html and "已退回 25.00" in html and "<small>已办结</small>" in html
    assert {"变更前后", "办理方式"} <= chinese_left(html, data)


def test_catalog_names_the_choices_and_keeps_the_punctuation_apart():
    with translation.override("en"):
        assert [str(label) for _v, label in CaseKind.choices] == [
            "Fund return", "Entrusted collection", "Payment correction", "Mistaken-payment refund"]
        assert str(Payment.Status.SUSPENSE_BOOKED.label) == "Awaiting suspense refund"
        assert str(StatementLine.Kind.CORE_CREDIT.label) == "Core credits"
        assert str(CoreEntry.Operation.REFUND.label) == "Reversal"
        assert str(CollectionAuthorisation.Status.REVOKED.label) == "Revoked"
        assert str(FlowRule.Flow.APPLICATION.label) == "Application"
        assert str(PreApplication.Status.APPROVED.label) == "Approved"
        assert translation.pgettext("punctuation", "（") == " ("
        assert translation.pgettext("bankside", "余额") == "Balance"
    with translation.override(settings.LANGUAGE_CODE):
        assert str(FlowRule.Flow.APPLICATION.label) == "申请"
        assert translation.pgettext("punctuation", "（") == "（"

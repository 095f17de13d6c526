"""Read-only screens: scoped lists, statement generation and xlsx exports."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from fmis.bankside import functions as F_
from fmis.bankside.models import CoreAccount, Payment, PreApplication
from fmis.bankside.tests.test_projection import project_all, scenario
from fmis.bankside.tests.test_services import DAY, env, info, setup_business  # noqa: F401

ALL = [F_.MERCHANT_VIEW, F_.RULE_VIEW, F_.PRE_APPLICATION_VIEW, F_.PAYMENT_VIEW, F_.STATEMENT_VIEW]


@pytest.fixture
def projected(db):
    h = scenario()
    project_all(h)
    return h


@pytest.mark.django_db
def test_lists_render_for_finance_staff(client, projected, make_role, make_user):
    client.force_login(make_user("fin", roles=[make_role("F", ALL)]))
    r = client.get("/bankside/merchants/")
    assert r.status_code == 200 and "一号预算单位" in r.text and "二号预算单位" in r.text
    r = client.get("/bankside/rules/?history=1&merchant=M1")
    assert r.status_code == 200 and r.text.count("<tr>") == 1 + 3  # header + two utilities versions + tax
    r = client.get("/bankside/pre-applications/?status=approved")
    assert r.status_code == 200 and "个税" in r.text
    r = client.get("/bankside/payments/?branch=suspense")
    assert r.status_code == 200 and "V000002" in r.text and "V000001" not in r.text
    r = client.get("/bankside/payments/?export=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert ws.max_row == 1 + 4


@pytest.mark.django_db
def test_statement_screen_and_export(client, projected, make_role, make_user):
    client.force_login(make_user("fin", roles=[make_role("F", ALL)]))
    r = client.get("/bankside/statements/?account=BGL-CNY&date=2026-11-21&previous=1")
    assert r.status_code == 200
    assert "增计" in r.text and "减计" in r.text and "7.00" in r.text
    r = client.get("/bankside/statements/?account=A-M1&date=2026-11-21&previous=2&export=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    rows = list(wb["明细"].values)
    assert rows[0][0] == "日期" and len(rows) == 1 + 4  # funding, two payments, the tax payment
    summary = dict(wb["对账单"].values)
    assert summary["账号"] == "A-M1" and summary["减计合计(元)"] == 42.0  # 15.00 + 7.00 + 20.00
    r = client.get("/bankside/statements/?account=NOPE&date=2026-11-21")
    assert r.status_code == 200 and "账户不存在或无权查看" in r.text


@pytest.mark.django_db
def test_statement_lines_are_paged_and_totals_cover_the_period(client, projected, make_role, make_user,
                                                               monkeypatch):
    from fmis.bankside import views

    monkeypatch.setattr(views, "STATEMENT_PAGE_SIZE", 3)
    client.force_login(make_user("fin", roles=[make_role("F", ALL)]))
    url = "/bankside/statements/?account=A-M1&date=2026-11-21&previous=2"
    first, second = client.get(url).text, client.get(url + "&page=2").text

    def rows(html: str) -> int:
        return html.split('data-testid="statement-lines"')[1].split("</tbody>")[0].count("<tr>") - 1

    assert (rows(first), rows(second)) == (3, 1)  # 4 lines: 3 + 1, header row excluded
    assert "第 1 / 2 页" in first and "第 2 / 2 页" in second
    assert "42.00" in second  # the period's decrease total on every page
    api = client.get("/api/v1/bankside/statements?account=A-M1&date=2026-11-21&previous_days=2&offset=3&limit=2")
    body = api.json()
    assert body["line_count"] == 4 and len(body["lines"]) == 1 and body["decrease"] == 4_200


@pytest.mark.django_db
def test_screens_need_the_function_and_respect_scope(client, projected, make_role, make_user):
    client.force_login(make_user("none", roles=[make_role("N", [])]))
    assert client.get("/bankside/payments/").status_code == 403
    client.force_login(make_user("unit2", roles=[make_role("U", ALL, rules=[("agency", "values", ["990002"])])]))
    r = client.get("/bankside/payments/")
    assert "V000003" in r.text and "V000001" not in r.text
    r = client.get("/bankside/statements/?account=A-M1&date=2026-11-21")
    assert "账户不存在或无权查看" in r.text


@pytest.mark.django_db
def test_api_lists_and_statement_are_scoped(client, projected, make_role, make_user):
    client.force_login(make_user("fin", roles=[make_role("F", ALL)]))
    r = client.get("/api/v1/bankside/payments?branch=core")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 1 and body["items"][0]["merchant_no"] == "M2"
    assert body["items"][0]["amount"] == "9.00"
    r = client.get("/api/v1/bankside/statements?account=BGL-CNY&date=2026-11-21&previous_days=1")
    st = r.json()
    assert (st["increase"], st["decrease"], st["closing"]) == (700, 700, 0) and len(st["lines"]) == 2
    assert client.get("/api/v1/bankside/merchants").json()["count"] == 2
    client.force_login(make_user("unit2", roles=[make_role("U", ALL, rules=[("agency", "values", ["990002"])])]))
    assert client.get("/api/v1/bankside/statements?account=A-M1&date=2026-11-21").status_code == 404
    assert client.get("/api/v1/bankside/merchants").json()["count"] == 1
    client.force_login(make_user("none", roles=[make_role("N", [])]))
    assert client.get("/api/v1/bankside/payments").status_code == 403


# --- the write screens and the API on a live local consortium ----------------------------------------------


def _form(data: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items() if v is not None}


@pytest.mark.django_db(transaction=True)
def test_payment_entry_screen_shows_field_errors_then_records_the_payment(client, env):  # noqa: F811
    setup_business(env)
    client.force_login(env["op"])
    r = client.post("/bankside/payments/new/", _form(info(40, amount="0.00")))
    assert r.status_code == 200 and 'data-field="amount"' in r.text and "必须大于零" in r.text
    r = client.post("/bankside/payments/new/", _form(info(40, merchant_no="NOPE")))
    assert 'data-field="merchant_no"' in r.text and "未登记或不由本行代理" in r.text
    assert not Payment.objects.exists()
    r = client.post("/bankside/payments/new/", _form(info(40, amount=Decimal("88.80"))))
    p = Payment.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/bankside/payments/{p.ledger_id}/"
    r = client.get(r["Location"])
    assert r.status_code == 200 and "88.80" in r.text and p.ledger_id in r.text and "增计" in r.text
    r = client.post("/bankside/payments/new/", _form(info(41, bank_serial="S000040")))
    assert 'data-field="bank_serial"' in r.text and "银行流水号" in r.text
    # another bank's operator gets 404 for the detail, and sees nothing in the list
    client.force_login(env["op2"])
    assert client.get(f"/bankside/payments/{p.ledger_id}/").status_code == 404
    assert "V000040" not in client.get("/bankside/payments/").text


@pytest.mark.django_db(transaction=True)
def test_review_suspense_refund_execution_and_core_screens(client, env):  # noqa: F811
    setup_business(env)
    op, fin = env["op"], env["fin"]
    client.force_login(op)
    r = client.post("/bankside/pre-applications/new/", {"merchant_no": "M1", "business_type": "tax",
                                                        "amount": "60.00", "currency": "CNY", "purpose": "个税"})
    pre = PreApplication.objects.get()
    assert r.status_code == 302 and pre.status == "submitted"
    client.force_login(fin)
    assert "预申请 1 笔" in client.get("/").text  # the home page reminds the reviewer
    r = client.get("/bankside/review/")
    assert pre.ledger_id[:12] in r.text
    r = client.post(f"/bankside/pre-applications/{pre.ledger_id}/review/", {"decision": "reject", "comment": ""})
    assert r.status_code == 302
    pre.refresh_from_db()
    assert pre.status == "submitted"  # a rejection without a comment is refused
    client.post(f"/bankside/pre-applications/{pre.ledger_id}/review/", {"decision": "approve"})
    pre.refresh_from_db()
    assert pre.status == "approved"
    assert 'data-testid="bankside-reminder"' not in client.get("/").text
    client.force_login(env["city"])
    assert client.get(f"/bankside/pre-applications/{pre.ledger_id}/").status_code == 404
    # suspense payment and its refund
    client.force_login(op)
    client.post("/bankside/payments/new/", _form(info(42, payee_account="C2", budget_type="electricity",
                                                      amount=Decimal("12.00"))))
    p = Payment.objects.get(voucher_id="V000042")
    r = client.get("/bankside/suspense/")
    assert "V000042" in r.text
    r = client.post(f"/bankside/payments/{p.ledger_id}/refund/", {"date": DAY.isoformat()})
    p.refresh_from_db()
    assert r.status_code == 302 and p.status == "paid"
    assert "V000042" not in client.get("/bankside/suspense/").text
    # core accounts: open with an opening balance, journal
    r = client.post("/bankside/core/new/", {"account_no": "EXT-9", "name": "外部客户", "currency": "CNY",
                                            "opening_balance": "10.50"})
    assert r.status_code == 302 and CoreAccount.objects.get(account_no="EXT-9").balance == Decimal("10.50")
    r = client.post("/bankside/core/new/", {"account_no": "EXT-9", "name": "重复", "currency": "CNY",
                                            "opening_balance": "0"})
    assert r.status_code == 200 and 'data-field="account_no"' in r.text
    r = client.get("/bankside/core/")
    assert "EXT-9" in r.text and f"refund-{p.ledger_id}" in r.text
    client.force_login(fin)
    assert client.get("/bankside/core/").status_code == 403  # the bank's core is not the finance side's
    r = client.get("/bankside/execution/")
    assert r.status_code == 200 and "990000001" in r.text and "12.00" in r.text
    ws = openpyxl.load_workbook(io.BytesIO(client.get("/bankside/execution/?export=xlsx").content)).active
    rows = list(ws.values)
    assert rows[0][0] == "预算单位编码" and len(rows) == 2 and rows[1][4] == 1


@pytest.mark.django_db(transaction=True)
def test_finance_screens_define_business_types_and_new_rule_versions(client, env):  # noqa: F811
    setup_business(env)
    client.force_login(env["fin"])
    r = client.post("/bankside/business-types/new/", {"code": "net", "name": "网费", "budget_types": "net，phone"})
    assert r.status_code == 302
    assert "phone" in client.get("/bankside/business-types/").text
    r = client.get("/bankside/rules/set/?merchant=M1&business_type=utilities")
    assert "第 2 版" in r.text
    r = client.post("/bankside/rules/set/", {"merchant_no": "M1", "business_type": "utilities",
                                             "pre_application": "none", "limit": "99.00"})
    assert r.status_code == 200 and 'data-field="reason"' in r.text
    r = client.post("/bankside/rules/set/", {"merchant_no": "M1", "business_type": "utilities",
                                             "pre_application": "none", "limit": "99.00", "reason": "限额",
                                             "required_fields": ["purpose"], "exc_return": "forbidden",
                                             "exc_correction": "direct"})
    assert r.status_code == 302
    r = client.get("/bankside/rules/?merchant=M1&history=1")
    assert r.text.count("<tr>") == 1 + 3 and "限额" in r.text
    assert "资金退回：不允许" in r.text and "支付更正：直接办理" in r.text and "委托收款：直接办理" in r.text
    form = client.get("/bankside/rules/set/?merchant=M1&business_type=utilities").text  # the next version
    assert '<option value="forbidden" selected>' in form
    screens = {"fin": ["merchants/", "business-types/", "business-types/new/", "rules/", "rules/set/",
                       "pre-applications/", "review/", "payments/", "execution/", "statements/"],
               "op": ["merchants/", "merchants/new/", "accounts/new/", "funds/new/", "pre-applications/",
                      "pre-applications/new/", "payments/", "payments/new/", "suspense/", "core/", "core/new/",
                      "execution/"]}
    for who, urls in screens.items():
        client.force_login(env[who])
        for url in urls:
            r = client.get(f"/bankside/{url}")
            assert r.status_code == 200, (who, url)
            if not url.endswith("new/") and url not in ("rules/set/", "statements/"):
                assert client.get(f"/bankside/{url}?export=xlsx")["Content-Type"].startswith(
                    "application/vnd.openxmlformats"), url
    client.force_login(env["op"])
    assert client.get("/bankside/rules/set/").status_code == 403
    assert client.get("/bankside/review/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_api_posts_budget_information_and_reads_results(client, env):  # noqa: F811
    import json

    setup_business(env)
    client.force_login(env["op"])
    body = _form(info(50, amount="23.45"))
    body["time"] = "10:11:12"
    r = client.post("/api/v1/bankside/payments", json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"]["status"] == "valid" and out["payment"]["amount"] == "23.45"
    assert {b["kind"] for b in out["payment"]["bookkeeping"]} == {"bank.decrease", "bank.increase"}
    assert client.get("/api/v1/bankside/payments/by-voucher/V000050").json()["bank_serial"] == "S000050"
    assert client.get("/api/v1/bankside/payments/by-serial/S000050").json()["voucher_id"] == "V000050"
    r = client.post("/api/v1/bankside/payments", json.dumps(body), content_type="application/json")
    problem = r.json()
    assert r.status_code == 409 and problem["code"] == "bank.duplicate_serial" and problem["field"] == "bank_serial"
    r = client.post("/api/v1/bankside/payments", json.dumps({**body, "voucher_id": "V9", "bank_serial": "S9",
                                                             "amount": "-1"}), content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "bank.amount_invalid"
    # the pre-application's review result is synchronised back to the bank
    r = client.post("/api/v1/bankside/pre-applications", json.dumps(
        {"merchant_no": "M1", "business_type": "tax", "amount": "5.00", "purpose": "个税"}),
        content_type="application/json")
    pid = r.json()["tx_id"]
    assert client.get(f"/api/v1/bankside/pre-applications/{pid}").json()["status"] == "submitted"
    client.force_login(env["fin"])
    r = client.post(f"/api/v1/bankside/pre-applications/{pid}/review", json.dumps({"approve": True}),
                    content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "valid"
    client.force_login(env["op"])
    assert client.get(f"/api/v1/bankside/pre-applications/{pid}").json()["status"] == "approved"
    [row] = client.get("/api/v1/bankside/execution-summary").json()
    assert (row["agency_code"], row["count"], row["paid"]) == ("990000001", 1, "23.45")
    # out of scope: 404, never revealing that the id exists
    client.force_login(env["op2"])
    assert client.get("/api/v1/bankside/payments/by-voucher/V000050").status_code == 404
    assert client.get(f"/api/v1/bankside/pre-applications/{pid}").status_code == 404
    assert client.get("/api/v1/bankside/execution-summary").json() == []
    r = client.post("/api/v1/bankside/payments", json.dumps({**body, "voucher_id": "V10", "bank_serial": "S10"}),
                    content_type="application/json")
    assert r.status_code == 422 and r.json()["field"] == "merchant_no"

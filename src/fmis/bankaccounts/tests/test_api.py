"""The bank's delivery endpoint and the application API: problem details for refusals, 404 for
what is out of scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from fmis.bankaccounts.models import Application, BankFlow, ExceptionMessage
from fmis.bankaccounts.tests.conftest import flows_csv, register

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_bank_delivers_flows_as_the_request_body(world):
    register(world)
    c = _client(world.operator)
    body = flows_csv("901", DAY, [("6222000000000001", "A1", "C", "10.00")])
    r = c.post("/api/v1/bankaccounts/exchange/messages?filename=d.csv", data=body, content_type="text/csv")
    assert r.status_code == 200, r.content
    assert r.json()["inserted"] == 1 and not r.json()["redelivered"]
    again = c.post("/api/v1/bankaccounts/exchange/messages", data=body, content_type="text/csv").json()
    assert again["redelivered"] and BankFlow.objects.count() == 1
    bad = flows_csv("901", DAY, [("6222000000000001", "A2", "C", "-3.00")])
    r = c.post("/api/v1/bankaccounts/exchange/messages", data=bad, content_type="text/csv")
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "bankaccounts.lines_invalid" and problem["line"] == 3
    assert ExceptionMessage.objects.filter(pk=int(problem["params"]["exception_id"])).exists()
    other = c.post("/api/v1/bankaccounts/exchange/messages", data=flows_csv("902", DAY, []), content_type="text/csv")
    assert other.status_code == 422 and other.json()["code"] == "bankaccounts.bank_not_yours"
    # the treasury's reader cannot deliver as a bank
    assert _client(world.province_reader).post("/api/v1/bankaccounts/exchange/messages", data=body,
                                               content_type="text/csv").status_code == 403


def test_application_api_round_trip(world):
    unit, dept, tre = _client(world.applicant), _client(world.supervisor), _client(world.treasury)
    r = unit.post("/api/v1/bankaccounts/applications", content_type="application/json", data={
        "agency_id": world.unit.pk, "number": "6222000000000444", "name": "API账户", "bank_id": world.bank.pk,
        "nature": "general", "opened_on": "2026-02-01", "reason": "业务需要"})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert unit.post(f"/api/v1/bankaccounts/applications/{pk}/submit", content_type="application/json",
                     data={}).json()["status"] == "pending"
    r = dept.post(f"/api/v1/bankaccounts/applications/{pk}/return", content_type="application/json", data={})
    assert r.status_code == 422 and r.json()["code"] == "workflow.reason_required"
    assert dept.post(f"/api/v1/bankaccounts/applications/{pk}/approve", content_type="application/json",
                     data={"text": "同意"}).status_code == 200
    r = tre.post(f"/api/v1/bankaccounts/applications/{pk}/approve", content_type="application/json", data={})
    assert r.json()["status"] == "approved" and Application.objects.get(pk=pk).account is not None
    acct_id = r.json()["account_id"]
    assert tre.get(f"/api/v1/bankaccounts/accounts/{acct_id}").json()["number"] == "6222000000000444"
    hist = tre.get(f"/api/v1/bankaccounts/accounts/{acct_id}/history").json()
    assert {h["field"] for h in hist} >= {"number", "name"}
    # a county user: 404 for the province's application and account
    county = _client(world.county_unit_user)
    assert county.get(f"/api/v1/bankaccounts/applications/{pk}").status_code == 404
    assert county.get(f"/api/v1/bankaccounts/accounts/{acct_id}").status_code == 404


def test_screens_render_for_the_treasury(world):
    register(world)
    c = _client(world.treasury)
    for url in ("accounts/", "applications/", "applications/open/", "inspections/", "history/", "exchange/batches/",
                "exchange/import/", "exchange/absence/", "exchange/exceptions/", "exchange/reconcile/",
                "accounts/register/"):
        assert c.get(f"/bankaccounts/{url}").status_code == 200, url
    r = c.get("/bankaccounts/reports/flows/")  # no account chosen: a message, not an error page
    assert r.status_code == 200 and "请选择账号或预算单位" in r.content.decode()
    r = c.get("/bankaccounts/reports/unit/?balance_gt=abc")
    assert r.status_code == 200 and "金额格式不正确" in r.content.decode()

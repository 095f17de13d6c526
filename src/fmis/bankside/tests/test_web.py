"""Read-only screens: scoped lists, statement generation and xlsx exports."""

from __future__ import annotations

import io

import openpyxl
import pytest

from fmis.bankside import functions as F_
from fmis.bankside.tests.test_projection import project_all, scenario

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
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.values)
    assert rows[0][0] == "日期" and len(rows) == 1 + 4  # funding, two payments, the tax payment
    r = client.get("/bankside/statements/?account=NOPE&date=2026-11-21")
    assert r.status_code == 200 and "账户不存在或无权查看" in r.text


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

"""Screens and API: statement pages with the period selector, drill-down from a statement line to
the ledgers, the voucher and its source; xlsx export and the print layout; the designer and
viewer of user-defined reports; out-of-scope account sets and reports are 404 and never listed."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.reports.models import CustomReport
from fmis.reports.standard import BALANCE_SHEET, BUDGET_INCOME

pytestmark = pytest.mark.django_db
Q = {"year": YEAR, "period": 3}


@pytest.fixture
def posted(books):
    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)], on=dt.date(YEAR, 2, 3))
    v = books.post([dr("5001", 30, aux={"func": "2050202", "dept_eco": "30201"}), cr("1011", 30),
                    dr("720101", 30, aux={"func": "2050202", "dept_eco": "30201"}), cr("800101", 30)],
                   on=dt.date(YEAR, 3, 5))
    return v


def test_statement_pages_and_drill_down(books, posted, client):
    client.force_login(books.entrant)
    assert client.get(reverse("reports:statements"), Q).status_code == 200
    for code in ("balance_sheet", "income_statement", "net_assets_changes", "budget_income", "budget_carryover",
                 "appropriation"):
        resp = client.get(reverse("reports:statement", args=[code]), Q)
        assert resp.status_code == 200, code
    page = client.get(reverse("reports:statement", args=[BALANCE_SHEET]), Q).content.decode()
    assert "资产总计" in page and "70.00" in page and "相符" in page
    line_url = reverse("reports:statement_line", args=[BALANCE_SHEET, "01"])
    assert line_url in page
    line = client.get(line_url, Q).content.decode()
    assert "1011" in line and "70.00" in line
    assert f"{reverse('accounting:detail_ledger')}?code=1011&amp;year={YEAR}&amp;from=1&amp;to=3" in line
    # ledger → voucher → source: the accounting screens of the same (session's) account set
    ledger = client.get(reverse("accounting:detail_ledger"), {"code": "1011", "year": YEAR, "from": 1, "to": 3})
    assert reverse("accounting:voucher", args=[posted.pk]) in ledger.content.decode()
    assert client.get(reverse("accounting:voucher", args=[posted.pk])).status_code == 200
    total = client.get(reverse("reports:statement_line", args=[BALANCE_SHEET, "39"]), Q).content.decode()
    assert reverse("reports:statement_line", args=[BALANCE_SHEET, "14"]) in total
    ue = client.get(reverse("reports:unit_expenditure"), Q).content.decode()
    assert "小学教育" in ue and "30.00" in ue
    definition = client.get(reverse("reports:statement_definition", args=[BALANCE_SHEET])).content.decode()
    assert "QM(1001)+QM(1002)+QM(1011)+QM(1021)" in definition and "NC(1001)" in definition


def test_export_and_print(books, posted, client):
    client.force_login(books.entrant)
    resp = client.get(reverse("reports:statement", args=[BUDGET_INCOME]), {**Q, "export": "xlsx"})
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = {r[0]: r for r in ws.iter_rows(values_only=True)}
    assert rows["02"][2] == 100 and rows["22"][2] == 30 and rows["40"][2] == 70
    printed = client.get(reverse("reports:statement", args=[BALANCE_SHEET]), {**Q, "print": "1"}).content.decode()
    assert "size: A4" in printed and "会政财01表" in printed and "资产总计" in printed
    wide = client.get(reverse("reports:statement", args=["appropriation"]), {**Q, "print": "1"}).content.decode()
    assert "size: A4 landscape" in wide
    ue = client.get(reverse("reports:unit_expenditure"), {**Q, "export": "xlsx"})
    assert ue["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "size: A4" in client.get(reverse("reports:unit_expenditure"), {**Q, "print": "1"}).content.decode()


def test_export_needs_the_function(books, posted, client, make_role, make_user):
    role = make_role("rep_reader", ["reports.statement.view"], rules=[("agency", "own_agency", [])])
    reader = make_user("reader", roles=[role], agency=books.agency)
    client.force_login(reader)
    assert client.get(reverse("reports:statement", args=[BALANCE_SHEET]), Q).status_code == 200
    assert client.get(reverse("reports:statement", args=[BALANCE_SHEET]), {**Q, "export": "xlsx"}).status_code == 403
    assert client.get(reverse("reports:custom_list")).status_code == 403


def test_out_of_scope_sees_nothing(books, posted, client):
    client.force_login(books.outsider)
    assert client.get(reverse("reports:statement", args=[BALANCE_SHEET]),
                      {**Q, "set": books.aset.pk}).status_code == 404
    assert client.get(reverse("reports:statement", args=[BALANCE_SHEET]),
                      {**Q, "set": books.aset.pk, "export": "xlsx"}).status_code == 404
    page = client.get(reverse("reports:statement", args=[BALANCE_SHEET]), Q).content.decode()
    assert books.aset.name not in page and "70.00" not in page
    assert client.get(f"/api/v1/reports/sets/{books.aset.pk}/statements/{BALANCE_SHEET}", Q).status_code == 404
    assert client.get(f"/api/v1/reports/sets/{books.aset.pk}/unit-expenditure", Q).status_code == 404
    assert client.get(f"/api/v1/reports/sets/{books.aset.pk}/statements/{BALANCE_SHEET}/lines/01",
                      Q).status_code == 404
    report = CustomReport.objects.create(account_set=books.aset, agency=books.agency, region=books.region, code="R",
                                         name="本单位报表", n_rows=1, n_cols=1, cells={"A1": "=QM(1011)"},
                                         created_by=books.entrant)
    assert "本单位报表" not in client.get(reverse("reports:custom_list")).content.decode()
    assert client.get(reverse("reports:custom_list"), {"export": "xlsx"}).status_code == 200
    assert client.get(reverse("reports:custom_view", args=[report.pk])).status_code == 404
    assert client.get(f"/api/v1/reports/custom/{report.pk}").status_code == 404
    assert all(r["id"] != report.pk for r in client.get("/api/v1/reports/custom").json())


def test_api_statement_json(books, posted, client):
    client.force_login(books.auditor)
    defs = client.get("/api/v1/reports/statements").json()
    assert {d["code"] for d in defs} >= {"balance_sheet", "appropriation"}
    r = client.get(f"/api/v1/reports/sets/{books.aset.pk}/statements/{BALANCE_SHEET}", Q)
    assert r.status_code == 200
    body = r.json()
    rows = {x["code"]: x for x in body["rows"]}
    assert rows["01"]["values"]["end"] == "70.00" and rows["39"]["values"] == rows["70"]["values"]
    assert body["checks"][0]["ok"] and "1011" in rows["01"]["accounts"]
    line = client.get(f"/api/v1/reports/sets/{books.aset.pk}/statements/{BALANCE_SHEET}/lines/01", Q).json()
    assert {p["code"] for p in line["parts"]} == {"1001", "1002", "1011", "1021"}
    ue = client.get(f"/api/v1/reports/sets/{books.aset.pk}/unit-expenditure", Q).json()
    assert ue["total"] == "30.00"
    assert client.get(f"/api/v1/reports/sets/{books.aset.pk}/statements/nope", Q).status_code == 404


def test_designer_and_viewer(books, posted, client):
    client.force_login(books.entrant)
    assert client.get(reverse("reports:custom_create")).status_code == 200
    form = {"code": "ZJ", "name": "资金情况", "account_set": str(books.aset.pk), "n_rows": "2", "n_cols": "2",
            "note": "", "cell_A1": "零余额账户", "cell_B1": "=QM(1011)", "cell_A2": "两倍", "cell_B2": "=B1*2+"}
    bad = client.post(reverse("reports:custom_create"), form)
    assert bad.status_code == 200 and "单元格 B2" in bad.content.decode() and CustomReport.objects.count() == 0
    form["cell_B2"] = "=B1*2"
    resp = client.post(reverse("reports:custom_create"), form)
    report = CustomReport.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("reports:custom_view", args=[report.pk])
    view = client.get(reverse("reports:custom_view", args=[report.pk]), Q).content.decode()
    assert "70.00" in view and "140.00" in view
    x = client.get(reverse("reports:custom_view", args=[report.pk]), {**Q, "export": "xlsx"})
    ws = load_workbook(io.BytesIO(x.content)).active
    assert list(ws.iter_rows(values_only=True))[1:] == [("零余额账户", 70), ("两倍", 140)]
    assert "size: A4" in client.get(reverse("reports:custom_view", args=[report.pk]),
                                    {**Q, "print": "1"}).content.decode()
    api = client.get(f"/api/v1/reports/custom/{report.pk}/values",
                     {"account_set_id": books.aset.pk, **Q}).json()
    assert api["grid"][1][1]["value"] == "140.00"
    created = client.post("/api/v1/reports/custom", {"code": "API1", "name": "接口报表", "n_rows": 1, "n_cols": 1,
                                                     "cells": {"A1": "=QM(1011"}, "account_set_id": books.aset.pk},
                          content_type="application/json")
    assert created.status_code == 422 and "单元格 A1" in created.json()["detail"]
    client.post(reverse("reports:custom_delete", args=[report.pk]))
    assert not CustomReport.objects.exists()

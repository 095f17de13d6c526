"""The supervision reports: figures, filters, reconciliation, absence, and leakage: a county
query user sees only the county in every report, list and export (page, xlsx, API)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from fmis.bankaccounts import selectors, services
from fmis.bankaccounts.tests.conftest import do_import, flows_csv, register
from fmis.banksim import flows as sim

pytestmark = pytest.mark.django_db
D1, D2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
PROV, COUNTY, UNREG = "6222000000000001", "6222000000000002", "6222999999999999"
PROV_SECRET, COUNTY_MARK = "示例省第一中学", "一县教育局"


@pytest.fixture
def data(world):
    prov = register(world, number=PROV, opening={"fiscal": Decimal("1000.00"), "other": Decimal("200.00")},
                    opened_on=dt.date(2026, 1, 1))
    county = register(world, agency=world.county_dept, number=COUNTY, nature="basic",
                      opening={"fiscal": Decimal("50.00")}, opened_on=dt.date(2026, 1, 1))
    usd = register(world, number="6222000000000003", currency="USD", opened_on=dt.date(2026, 1, 1))
    do_import(world.treasury, flows_csv("901", D1, [(PROV, "P1", "C", "300.00"), (PROV, "P2", "D", "100.00"),
                                                    (COUNTY, "C1", "C", "40.00"), (UNREG, "U1", "C", "1.00")]))
    do_import(world.treasury, flows_csv("901", D2, [(COUNTY, "C2", "D", "15.00")]))
    do_import(world.treasury, sim.balances_csv("901", D2, [(PROV, "CNY", Decimal("1400.00")),
                                                           (COUNTY, "CNY", Decimal("75.00"))]))
    return prov, county, usd


def _f(**kw):
    return selectors.Filters(date_from=D1, date_to=D2, **kw)


def test_department_unit_bank_reports(world, data):
    rep = selectors.report_department(user=world.province_reader, filters=_f())
    rows = {(r[0], r[2]): r for r in rep.rows}
    assert rows[("990000101", "人民币")][3:] == [1, Decimal("300.00"), Decimal("100.00"), Decimal("1400.00")]
    assert rows[("990000101", "美元")][3] == 1
    assert rows[("990101101", "人民币")][4:] == [Decimal("40.00"), Decimal("15.00"), Decimal("75.00")]
    assert rep.totals[6] == Decimal("1475.00")
    unit = selectors.report_unit(user=world.province_reader, filters=_f(balance_gt=Decimal(100)))
    assert [r[0] for r in unit.rows] == ["990000101001"]
    unit = selectors.report_unit(user=world.province_reader, filters=_f(balance_lt=Decimal(100), currency="CNY"))
    assert [r[0] for r in unit.rows] == ["990101101"]
    bank = selectors.report_bank(user=world.province_reader, filters=_f(currency="CNY"))
    assert bank.rows == [["901", "中国工商银行", "人民币", 2, Decimal("340.00"), Decimal("115.00"), Decimal("1475.00")]]
    # the query date bounds the balance: at D1 the county has not paid the 15.00 yet
    at_d1 = selectors.report_unit(user=world.province_reader, filters=selectors.Filters(date_from=D1, date_to=D1,
                                                                                        agency="990101101"))
    assert at_d1.rows[0][6] == Decimal("90.00")


def test_detail_reports(world, data):
    prov, _county, _usd = data
    init = selectors.report_initial(user=world.province_reader, filters=_f(number=PROV))
    assert [(r[6], r[7]) for r in init.rows] == [("财政拨款资金", Decimal("1000.00")), ("其他资金", Decimal("200.00"))]
    flows = selectors.report_flows(user=world.province_reader, filters=_f(number=PROV))
    assert [r[3] for r in flows.rows] == ["P1", "P2"] and flows.totals[5:7] == [Decimal("300.00"), Decimal("100.00")]
    bal = selectors.report_balances(user=world.province_reader, filters=_f(agency="990000101001"))
    assert {r[2]: r[11] for r in bal.rows} == {PROV: Decimal("1400.00"), "6222000000000003": Decimal("0.00")}
    counts = selectors.report_counts(user=world.province_reader, filters=_f())
    assert counts.headers[2:] == ["人民币", "美元", "合计"]
    assert {r[0]: r[2:] for r in counts.rows} == {"990000101001": [1, 1, 2], "990101101": [1, 0, 1]}
    app = services.apply_change(user=world.applicant, account_id=prov.pk, reason="更名",
                                change=services.ChangeData(name="新名称"))
    for who, action in ((world.applicant, "submit"), (world.supervisor, "approve"), (world.treasury, "approve")):
        services.act_on_application(user=who, application_id=app.pk, action=action)
    today = dt.date.today()
    f = selectors.Filters(date_from=today, date_to=today)
    changes = selectors.report_changes(user=world.province_reader, filters=f)
    assert ["变更", "账户名称", 1, 1] in changes.rows and changes.rows[0][0] == "登记"
    detail = selectors.report_change_detail(user=world.province_reader, filters=selectors.Filters(
        date_from=today, date_to=today, kind="change"))
    assert [(r[5], r[6], r[7], r[8]) for r in detail.rows] == [("账户名称", "测试账户", "新名称", app.number)]


def test_reconciliation(world, data):
    unreg = selectors.unregistered_accounts(user=world.treasury, date_from=D1, date_to=D2)
    assert [u["account_no"] for u in unreg] == [UNREG]
    silent = selectors.silent_accounts(user=world.treasury, date_from=D1, date_to=D2)
    assert [a.number for a in silent] == ["6222000000000003"]
    assert selectors.balance_mismatches(user=world.treasury, day=D2) == []
    do_import(world.treasury, flows_csv("901", D2, [(PROV, "P9", "D", "0.50")]))
    m = selectors.balance_mismatches(user=world.treasury, day=D2)
    assert [(x["number"], x["reported"], x["derived"]) for x in m] == [(PROV, Decimal("1400.00"), Decimal("1399.50"))]


def test_absence_table_and_reminder(world, data):
    _days, rows = selectors.absence(user=world.treasury, date_from=D1, date_to=D2 + dt.timedelta(days=1))
    assert [(r.bank.code, r.cells) for r in rows] == [("901", ["sent", "sent", "absent"])]
    register(world, number="6222000000000099", bank=world.bank2, opened_on=dt.date(2026, 1, 1))
    with pytest.raises(Exception):  # noqa: B017 - a refused message from the second bank
        do_import(world.treasury, flows_csv("902", D2, [("6222000000000099", "Z", "C", "-1")]))
    _days, rows = selectors.absence(user=world.treasury, date_from=D2, date_to=D2)
    assert {r.bank.code: r.cells for r in rows} == {"901": ["sent"], "902": ["error"]}
    absent = selectors.absent_yesterday(user=world.treasury, today=D2 + dt.timedelta(days=1))
    assert [b.code for b in absent] == ["902"]
    # the home page include: yesterday (the real one) neither bank sent anything
    from django.template import Context, Template

    html = Template('{% include "bankaccounts/includes/flow_reminder.html" %}').render(Context({"user": world.treasury}))
    assert "共2家银行未发送交易流水" in html and "中国工商银行、中国农业银行" in html
    assert Template('{% include "bankaccounts/includes/flow_reminder.html" %}').render(
        Context({"user": world.applicant})).strip() == ""  # no absence function: no reminder


REPORT_URLS = ["report_department", "report_unit", "report_bank", "report_initial", "report_balances",
               "report_counts", "report_changes", "report_change_detail"]


def test_county_query_user_sees_only_the_county_everywhere(world, data):
    from openpyxl import load_workbook

    c = Client()
    c.force_login(world.county_reader)
    q = f"?date_from={D1}&date_to={D2}&status=all"
    for name in REPORT_URLS:
        page = c.get(reverse(f"bankaccounts:{name}") + q)
        assert page.status_code == 200, name
        assert PROV_SECRET not in page.content.decode() and PROV not in page.content.decode(), name
        xlsx = c.get(reverse(f"bankaccounts:{name}") + q + "&export=xlsx")
        assert xlsx.status_code == 200, name
        ws = load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
        text = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
        assert PROV_SECRET not in text and PROV not in text, name
        api = c.get(f"/api/v1/bankaccounts/reports/{name.removeprefix('report_')}{q}")
        assert api.status_code == 200, (name, api.content)
        assert PROV not in api.content.decode() and PROV_SECRET not in api.content.decode(), name
    body = c.get(reverse("bankaccounts:report_unit") + q).content.decode()
    assert COUNTY_MARK in body
    # flows of the province account: nothing, whether asked by number or by agency
    for qs in (f"{q}&number={PROV}", f"{q}&agency=990000"):
        page = c.get(reverse("bankaccounts:report_flows") + qs).content.decode()
        assert 'data-testid="report"' not in page and "没有符合条件的数据" in page
    flows = c.get(reverse("bankaccounts:report_flows") + f"{q}&number={COUNTY}").content.decode()
    assert "C1" in flows and "C2" in flows
    # lists, details and the API
    for url in ("bankaccounts:accounts", "bankaccounts:history", "bankaccounts:applications"):
        for suffix in ("", "?export=xlsx"):
            resp = c.get(reverse(url) + suffix)
            content = resp.content.decode(errors="ignore") if not suffix else " ".join(
                str(v) for row in load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
                .iter_rows(values_only=True) for v in row if v is not None)
            assert PROV not in content and PROV_SECRET not in content, url
    prov = data[0]
    assert c.get(reverse("bankaccounts:account", args=[prov.pk])).status_code == 404
    assert c.get(f"/api/v1/bankaccounts/accounts/{prov.pk}").status_code == 404
    assert c.get(f"/api/v1/bankaccounts/accounts/{data[1].pk}").json()["balance"] == "75.00"
    listed = c.get("/api/v1/bankaccounts/accounts").json()
    assert [a["number"] for a in listed["items"]] == [COUNTY]
    recon = c.get(f"/api/v1/bankaccounts/exchange/reconcile?date_from={D1}&date_to={D2}").json()
    assert UNREG not in str(recon) and PROV not in str(recon)
    # the exchange centre's log and batches belong to the province exchange centre
    assert c.get("/api/v1/bankaccounts/exchange/exceptions").json()["count"] == 0


def test_unit_cashier_sees_only_own_accounts_and_no_exchange_data(world, data, make_role, make_user):
    from fmis.bankaccounts.tests.conftest import READER_FUNCTIONS

    role = make_role("cashier", READER_FUNCTIONS, rules=[("agency", "own_agency_tree", [])])
    cashier = make_user("cashier", roles=[role], agency=world.unit, password=None)
    rep = selectors.report_unit(user=cashier, filters=_f(status=""))
    assert {r[0] for r in rep.rows} == {"990000101001"}
    assert not selectors.batches(user=cashier).exists()
    assert not selectors.exceptions(user=cashier).exists()
    assert selectors.unregistered_accounts(user=cashier, date_from=D1, date_to=D2) == []


def test_the_report_screen_pages_its_rows_while_totals_and_export_cover_them_all(world, data, monkeypatch):
    from openpyxl import load_workbook

    from fmis.bankaccounts import views

    monkeypatch.setattr(views, "REPORT_PAGE_SIZE", 1)
    c = Client()
    c.force_login(world.treasury)
    url = reverse("bankaccounts:report_unit") + f"?date_from={D1}&date_to={D2}&status=all"
    rep = selectors.report("unit", user=world.treasury, filters=selectors.parse_filters(
        {"date_from": str(D1), "date_to": str(D2), "status": "all"}))
    assert len(rep.rows) >= 2
    first, second = c.get(url).content.decode(), c.get(url + "&page=2").content.decode()

    def body_rows(html: str) -> list[str]:
        body = html.split("<tbody>")[1].split("</tbody>")[0]
        return [r for r in body.split("<tr>") if r.strip()]

    assert len(body_rows(first)) == len(body_rows(second)) == 1
    assert body_rows(first) != body_rows(second)
    assert f"第 1 / {len(rep.rows)} 页" in first and f"第 2 / {len(rep.rows)} 页" in second
    assert "<tfoot>" in first and "<tfoot>" in second  # the totals of every row on every page
    ws = load_workbook(io.BytesIO(c.get(url + "&export=xlsx").content), read_only=True).worksheets[0]
    assert len(list(ws.iter_rows(values_only=True))) == 1 + len(rep.rows) + 1  # headers, rows, totals

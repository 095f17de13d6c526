"""Data scope in lists, details, exports and the API; the screens render and refuse cleanly."""

import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from fmis.indicators import ledger, services
from fmis.indicators.models import Adjustment, Indicator, Movement
from fmis.indicators.tests.conftest import approve


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def two_agencies(world, reviewer, executable):
    """a1 has ZB-A and ZB-B (from `executable`); a2 gets ZB-C."""
    ind = services.create_indicator(user=world.budget, data=world.entry(
        code="ZB-C", agency_id=world.a2.pk, to_distribute=False, amount=Decimal("700.00")))
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    approve(Indicator.objects.get(pk=ind.pk), reviewer)
    services.confirm(user=world.unit2, indicator_id=ind.pk)
    return executable[0], executable[1], Indicator.objects.get(pk=ind.pk)


@pytest.mark.django_db
def test_unit_sees_only_its_agency_everywhere(world, two_agencies):
    a, _b, c = two_agencies
    web = client_for(world.unit1)
    page = web.get("/indicators/").content.decode()
    assert "ZB-A" in page and "ZB-B" in page and "ZB-C" not in page
    assert web.get(f"/indicators/{a.pk}/").status_code == 200
    assert web.get(f"/indicators/{c.pk}/").status_code == 404
    wb = load_workbook(io.BytesIO(web.get("/indicators/?export=xlsx").content))
    codes = {row[3] for row in wb.active.iter_rows(min_row=2, values_only=True)}
    assert codes == {"ZB-A", "ZB-B"}
    api = web.get("/api/v1/indicators/indicators").json()
    assert api["count"] == 2 and {i["code"] for i in api["items"]} == {"ZB-A", "ZB-B"}
    assert web.get(f"/api/v1/indicators/indicators/{c.pk}").status_code == 404
    assert web.get(f"/api/v1/indicators/indicators/{c.pk}/movements").status_code == 404
    summary = web.get("/api/v1/indicators/execution").json()
    assert [r["key"] for r in summary] == [world.a1.code]
    # the budget division sees the whole region; the other region's division sees nothing
    assert client_for(world.budget).get("/api/v1/indicators/indicators").json()["count"] == 3
    assert client_for(world.outsider).get("/api/v1/indicators/indicators").json()["count"] == 0
    assert client_for(world.outsider).get(f"/indicators/{a.pk}/").status_code == 404


@pytest.mark.django_db
def test_indicator_page_shows_figures_movements_and_payments(world, reviewer, two_agencies):
    a, b, _ = two_agencies
    ledger.move(indicator_id=a.pk, kind=Movement.Kind.RESERVE, amount="1200.00", user=world.unit1,
                source=ledger.SourceRef("treasury.payment_application", 77, "SQ2026000077"))
    ledger.move(indicator_id=a.pk, kind=Movement.Kind.CONSUME, amount="1200.00", user=world.unit1,
                source=ledger.SourceRef("treasury.payment_application", 77, "SQ2026000077"))
    adj = services.create_adjustment(user=world.budget, kind=Adjustment.Kind.TRANSFER, reason="调剂",
                                      lines=[services.LineInput(a.pk, "300.00", target_id=b.pk)])
    services.submit_adjustment(user=world.budget, adjustment_id=adj.pk)
    approve(Adjustment.objects.get(pk=adj.pk), reviewer)
    html = client_for(world.unit1).get(f"/indicators/{a.pk}/").content.decode()
    assert "SQ2026000077" in html and "支付" in html
    assert ">1,200.00<" in html and ">8,500.00<" in html  # consumed, available (thousands separated)
    assert adj.number in html
    budget_html = client_for(world.budget).get(f"/indicators/{a.pk}/").content.decode()
    assert f"/indicators/adjustments/{adj.pk}/" in budget_html
    moves = client_for(world.unit1).get(f"/api/v1/indicators/indicators/{a.pk}/movements").json()
    assert [m["kind"] for m in moves] == ["issue", "reserve", "consume", "transfer_out"]
    assert moves[2]["source_no"] == "SQ2026000077"


@pytest.mark.django_db
def test_screens_render_for_the_budget_division(world, two_agencies):
    web = client_for(world.budget)
    a = two_agencies[0]
    for url in ["/indicators/", "/indicators/new/", "/indicators/import/", f"/indicators/{a.pk}/",
                "/indicators/adjustments/", "/indicators/adjustments/new/", "/indicators/execution/",
                "/indicators/execution/?group=func", "/indicators/controls/", "/indicators/controls/new/"]:
        assert web.get(url).status_code == 200, url
    assert client_for(world.unit1).get("/indicators/adjustments/").status_code == 403


@pytest.mark.django_db
def test_entry_form_shows_dictionary_error_and_writes_nothing(world):
    web = client_for(world.budget)
    resp = web.post("/indicators/new/", {
        "fiscal_year": 2026, "region": world.region.pk, "agency_code": "", "to_distribute": "on", "code": "W-1",
        "title": "测试", "func_code": "9999999", "gov_eco_code": "50201", "dept_eco_code": "30201",
        "fund_type": "11", "indicator_type": "12", "pay_mode": "authorized", "amount": "100.00"})
    assert resp.status_code == 200 and "9999999" in resp.content.decode()
    assert not Indicator.objects.filter(code="W-1").exists()


@pytest.mark.django_db
def test_api_lifecycle_and_bad_split(world, reviewer):
    web = client_for(world.budget)
    body = {"fiscal_year": 2026, "region_code": "990100", "code": "API-1", "title": "专项", "func_code": "2010101",
            "gov_eco_code": "50201", "dept_eco_code": "30201", "fund_type": "11", "indicator_type": "12",
            "pay_mode": "direct", "amount": "900.00", "to_distribute": True}
    resp = web.post("/api/v1/indicators/indicators", json.dumps(body), content_type="application/json")
    assert resp.status_code == 201, resp.content
    pk = resp.json()["id"]
    assert web.post(f"/api/v1/indicators/indicators/{pk}/submit").json()["status"] == "reviewing"
    resp = client_for(reviewer).post(f"/api/v1/indicators/indicators/{pk}/review", json.dumps({"action": "approve"}),
                                     content_type="application/json")
    assert resp.json()["status"] == "undistributed" and resp.json()["total"] == "900.00"
    bad = {"total": "900.00", "lines": [{"agency_code": world.a1.code, "amount": "500.00"},
                                        {"agency_code": world.a2.code, "amount": "399.00"}]}
    resp = web.post(f"/api/v1/indicators/indicators/{pk}/distribute", json.dumps(bad), content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "indicator.split_mismatch"
    assert Indicator.objects.count() == 1
    bad["lines"][1]["amount"] = "400.00"
    resp = web.post(f"/api/v1/indicators/indicators/{pk}/distribute", json.dumps(bad), content_type="application/json")
    assert resp.status_code == 200 and len(resp.json()) == 2
    child = resp.json()[0]["id"]
    assert client_for(world.unit2).post(f"/api/v1/indicators/indicators/{child}/confirm").status_code == 404
    assert client_for(world.unit1).post(f"/api/v1/indicators/indicators/{child}/confirm").json()["status"] == "executable"


@pytest.mark.django_db
def test_forms_for_distribution_adjustment_import_and_rules(world, reviewer):
    web = client_for(world.budget)
    ind = services.create_indicator(user=world.budget, data=world.entry(code="F-1"))
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    approve(ind, reviewer)
    url = f"/indicators/{ind.pk}/distribute/"
    resp = web.post(url, {"total": "10000.00", "agency": [world.a1.pk, world.a2.pk], "amount": ["6000", "3000"],
                          "title": ["", ""]})
    assert resp.status_code == 200 and "不一致" in resp.content.decode()
    assert Indicator.objects.count() == 1
    resp = web.post(url, {"total": "10000.00", "agency": [world.a1.pk, world.a2.pk, ""],
                          "amount": ["6000", "4000", ""], "title": ["", "", ""]})
    assert resp.status_code == 302 and Indicator.objects.filter(source=ind).count() == 2
    child = Indicator.objects.get(source=ind, agency=world.a1)
    # the unit confirms on the page
    assert client_for(world.unit1).post(f"/indicators/{child.pk}/confirm/").status_code == 302
    assert Indicator.objects.get(pk=child.pk).status == Indicator.Status.EXECUTABLE
    # an adjustment by indicator code; a bad line is shown with its line number and nothing saved
    resp = web.post("/indicators/adjustments/new/", {
        "kind": "freeze", "reason": "暂缓执行", "doc_no": "", "indicator": [child.code, "NOPE"], "target": ["", ""],
        "amount": ["100.00", "1.00"], "note": ["", ""]})
    assert resp.status_code == 200 and "第 2 行" in resp.content.decode()
    assert not Adjustment.objects.exists()
    resp = web.post("/indicators/adjustments/new/", {
        "kind": "freeze", "reason": "暂缓执行", "doc_no": "", "indicator": [child.code], "target": [""],
        "amount": ["100.00"], "note": [""]})
    adj = Adjustment.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/indicators/adjustments/{adj.pk}/"
    # a file that is not xlsx
    resp = web.post("/indicators/import/", {"file": io.BytesIO(b"not a workbook")})
    assert resp.status_code == 200 and "xlsx" in resp.content.decode()
    # a control rule through its form
    resp = web.post("/indicators/controls/new/", {
        "fiscal_year": 2026, "region": world.region.pk, "fund_type": "11", "func_prefix": "", "eco_prefix": "",
        "indicator_type": "", "pay_mode": "", "level": "warning", "match": "subtree", "threshold_percent": "10",
        "note": ""})
    assert resp.status_code == 302
    resp = web.post("/indicators/controls/new/", {
        "fiscal_year": 2026, "region": world.region.pk, "fund_type": "88", "func_prefix": "", "eco_prefix": "",
        "indicator_type": "", "pay_mode": "", "level": "hard", "match": "exact", "threshold_percent": "0",
        "note": ""})
    assert resp.status_code == 200 and "88" in resp.content.decode()


@pytest.mark.django_db
def test_pending_indicator_and_adjustment_appear_in_the_reviewers_inbox(world, reviewer, executable):
    ind = services.create_indicator(user=world.budget, data=world.entry(code="INBOX-1"))
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    adj = services.create_adjustment(user=world.budget, kind=Adjustment.Kind.ADJUST_UP, reason="追加",
                                      lines=[services.LineInput(executable[0].pk, "10.00")])
    services.submit_adjustment(user=world.budget, adjustment_id=adj.pk)
    html = client_for(reviewer).get("/workflow/inbox/").content.decode()
    assert f"/indicators/{ind.pk}/" in html and "INBOX-1" in html
    assert f"/indicators/adjustments/{adj.pk}/" in html and adj.number in html
    # approving through the review panel's generic action applies the adjustment
    resp = client_for(reviewer).post(f"/workflow/documents/{services.DOC_ADJUSTMENT}/{adj.pk}/approve/",
                                     {"text": "同意", "step": 1})
    assert resp.status_code in (302, 200)
    assert Adjustment.objects.get(pk=adj.pk).status == Adjustment.Status.APPLIED
    assert Indicator.objects.get(pk=executable[0].pk).total == Decimal("10010.00")

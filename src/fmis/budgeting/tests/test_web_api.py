"""Screens, exports and API of budget preparation, scoped."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from fmis.budgeting import services
from fmis.budgeting.models import BudgetLine, Stage
from fmis.budgeting.tests.conftest import YEAR, declare_all, pass_review, to_stage, user_of


@pytest.fixture
def approved(basic_info):
    w = basic_info
    rnd = services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    declare_all(w, rnd)
    rnd = to_stage(w, rnd, Stage.DOWN1)
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.edu.pk, amount="5000000")
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.health.pk, amount="1000000")
    rnd = to_stage(w, rnd, Stage.UP2)
    for agency in (w.edu, w.school, w.health):
        services.compile_lines(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk)
        pass_review(services.submit(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk), w)
    rnd = to_stage(w, rnd, Stage.DOWN2)
    services.approve(user=w.division, round_id=rnd.pk, doc_no="示财预〔2027〕1号")
    rnd.refresh_from_db()
    return w, rnd


def test_pages_render_and_scope(client, approved):
    w, rnd = approved
    client.force_login(w.school_user)
    page = client.get(f"/budgeting/rounds/{rnd.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "二下" in text and "第一中学" in text and "卫生健康委员会" not in text
    lines = client.get(f"/budgeting/rounds/{rnd.pk}/lines/").content.decode()
    assert "第一中学" in lines and "卫生健康委员会" not in lines
    assert client.get(f"/budgeting/rounds/{rnd.pk}/agencies/{w.school.pk}/").status_code == 200
    assert client.get(f"/budgeting/rounds/{rnd.pk}/agencies/{w.health.pk}/").status_code == 404
    assert client.get(f"/budgeting/rounds/{rnd.pk}/summary/?by=function&level=1").status_code == 200
    mine = BudgetLine.objects.filter(round=rnd, agency=w.school).select_related("indicator").first()
    detail = client.get(f"/budgeting/lines/{mine.pk}/").content.decode()
    assert mine.indicator.code in detail
    other = BudgetLine.objects.filter(round=rnd, agency=w.health).first()
    assert client.get(f"/budgeting/lines/{other.pk}/").status_code == 404
    client.force_login(w.outsider)
    assert client.get(f"/budgeting/rounds/{rnd.pk}/").status_code == 404


def test_line_export_and_disclosure_tables(client, approved):
    w, rnd = approved
    client.force_login(w.division)
    resp = client.get(f"/budgeting/rounds/{rnd.pk}/lines/?export=xlsx")
    assert resp.status_code == 200
    rows = list(load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + BudgetLine.objects.filter(round=rnd).count()
    resp = client.get(f"/budgeting/rounds/{rnd.pk}/disclosure.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb.sheetnames == ["部门收支总表", "部门收入总表", "部门支出总表", "财政拨款收支总表", "一般公共预算财政拨款支出表",
                             "一般公共预算财政拨款基本支出表", "一般公共预算“三公”经费支出表"]
    total = sum(BudgetLine.objects.filter(round=rnd).values_list("amount_approved", flat=True))
    summary = list(wb["部门收支总表"].iter_rows(values_only=True))
    assert summary[-1][0] == "本年收入合计" and Decimal(str(summary[-1][1])) == total
    three = dict(list(wb["一般公共预算“三公”经费支出表"].iter_rows(values_only=True))[3:])
    assert Decimal(str(three["公务用车运行维护费"])) == Decimal("50000.00")
    # a unit's workbook covers only its own lines
    client.force_login(w.school_user)
    wb = load_workbook(io.BytesIO(client.get(f"/budgeting/rounds/{rnd.pk}/disclosure.xlsx").content))
    school_total = sum(BudgetLine.objects.filter(round=rnd, agency=w.school).values_list("amount_approved", flat=True))
    assert Decimal(str(list(wb["部门收支总表"].iter_rows(values_only=True))[-1][1])) == school_total


def test_api_scope_and_problem_details(client, basic_info):
    w = basic_info
    rnd = services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    declare_all(w, rnd)
    rnd = to_stage(w, rnd, Stage.DOWN1)
    client.force_login(w.division)
    resp = client.post(f"/api/v1/budgeting/rounds/{rnd.pk}/controls", json.dumps(
        {"department_id": w.edu.pk, "amount": "100.00"}), content_type="application/json")
    assert resp.status_code == 200 and resp.json()["left"] == "100.00"
    client.post(f"/api/v1/budgeting/rounds/{rnd.pk}/controls", json.dumps(
        {"department_id": w.health.pk, "amount": "100.00"}), content_type="application/json")
    resp = client.post(f"/api/v1/budgeting/rounds/{rnd.pk}/stage", json.dumps({"to": "up2"}),
                       content_type="application/json")
    assert resp.status_code == 200 and resp.json()["stage"] == "up2"
    client.force_login(w.school_user)
    listed = client.get(f"/api/v1/budgeting/rounds/{rnd.pk}/lines").json()
    assert listed["count"] == BudgetLine.objects.filter(round=rnd, agency=w.school).count()
    other = BudgetLine.objects.filter(round=rnd, agency=w.health).first()
    assert client.get(f"/api/v1/budgeting/lines/{other.pk}").status_code == 404
    resp = client.post(f"/api/v1/budgeting/rounds/{rnd.pk}/agencies/{w.school.pk}/compile", json.dumps({}),
                       content_type="application/json")
    assert resp.status_code == 409
    assert resp.json()["code"] == "budgeting.compile.over_control"
    assert not BudgetLine.objects.filter(round=rnd, amount_compiled__isnull=False).exists()
    # a unit may not set control numbers
    resp = client.post(f"/api/v1/budgeting/rounds/{rnd.pk}/controls", json.dumps(
        {"department_id": w.edu.pk, "amount": "1"}), content_type="application/json")
    assert resp.status_code == 403


def test_unit_declares_on_the_page_and_the_department_returns_it(client, basic_info):
    from fmis.budgeting.models import Submission

    w = basic_info
    rnd = services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    client.force_login(w.school_user)
    resp = client.post(f"/budgeting/rounds/{rnd.pk}/agencies/{w.school.pk}/compute/", {"func_code": "2050203"},
                       follow=True)
    assert resp.status_code == 200 and "基本工资" in resp.content.decode()
    resp = client.post(f"/budgeting/rounds/{rnd.pk}/agencies/{w.school.pk}/compute/", {"func_code": "9999999"},
                       follow=True)
    assert "不存在" in resp.content.decode()  # a refused write shows its message, not a 500
    client.post(f"/budgeting/rounds/{rnd.pk}/agencies/{w.school.pk}/submit/", {"comment": "请审核"})
    sub = Submission.objects.get(round=rnd, agency=w.school, stage="up1")
    assert sub.status == Submission.Status.SUBMITTED
    client.force_login(w.edu_head)
    page = client.get(f"/budgeting/submissions/{sub.pk}/")
    assert page.status_code == 200 and "主管部门审核" in page.content.decode()
    services.review(user=w.edu_head, submission_id=sub.pk, action="return", text="请补充编外人员")
    sub.refresh_from_db()
    assert sub.status == Submission.Status.RETURNED
    client.force_login(w.health_user)
    assert client.get(f"/budgeting/submissions/{sub.pk}/").status_code == 404

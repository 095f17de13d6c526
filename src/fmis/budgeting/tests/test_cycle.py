"""The whole 二上二下 cycle, from basic information and the project library to the indicators."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fmis.budgeting import selectors, services
from fmis.budgeting.models import Approval, BudgetLine, BudgetRound, Stage, Submission
from fmis.budgeting.tests.conftest import YEAR, declare_all, pass_review, reserve_project, to_stage, user_of
from fmis.platform.errors import Conflict

D = Decimal


def _line(rnd, agency, dept_eco, func=None):
    qs = BudgetLine.objects.filter(round=rnd, agency=agency, dept_eco_code=dept_eco)
    if func:
        qs = qs.filter(func_code=func)
    return qs.get()


def test_full_cycle(basic_info):
    from fmis.indicators.ledger import check_ledger
    from fmis.indicators.models import Indicator, Movement
    from fmis.platform.models import EventRecord
    from fmis.projects.models import LibraryEntry, Project

    w = basic_info
    project = reserve_project(w, w.school, w.school_user)
    assert project.status == Project.Status.RESERVED

    rnd = services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    assert rnd.stage == Stage.UP1

    # 一上: computed basic expenditure
    res = services.compute_basic(user=w.edu_user, round_id=rnd.pk, agency_id=w.edu.pk, func_code="2050101")
    assert res.lines == 5  # 30101, 30108 (own func code), 30201 admin, 30302 retired, 30231 vehicles
    assert _line(rnd, w.edu, "30101").amount_applied == D("600000.00")  # 10 × 60,000
    assert _line(rnd, w.edu, "30108").func_code == "2080505"
    assert _line(rnd, w.edu, "30108").amount_applied == D("96000.00")
    assert _line(rnd, w.edu, "30201").amount_applied == D("50000.00")  # admin quota
    assert _line(rnd, w.edu, "30302").amount_applied == D("96000.00")  # 2 retired × 48,000
    assert _line(rnd, w.edu, "30231").amount_applied == D("50000.00")  # 2 vehicles × 25,000
    assert _line(rnd, w.edu, "30101").gov_eco_code == "50101"
    assert res.total == D("892000.00")

    services.compute_basic(user=w.school_user, round_id=rnd.pk, agency_id=w.school.pk, func_code="2050203")
    school_office = _line(rnd, w.school, "30201")
    assert school_office.amount_applied == D("60000.00")  # institution quota 20 × 3,000
    assert school_office.gov_eco_code == "50502"

    # 一上: the project from the library
    [pline] = services.add_project_lines(user=w.school_user, round_id=rnd.pk, agency_id=w.school.pk,
                                         choices=[services.ProjectChoice(project_id=project.pk)])
    assert pline.amount_applied == D("300000.00") and pline.project_code == project.code
    assert pline.department_id == w.edu.pk

    for agency in (w.edu, w.school):
        sub = services.submit(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk)
        pass_review(sub, w)
    # health declares too
    services.compute_basic(user=w.health_user, round_id=rnd.pk, agency_id=w.health.pk, func_code="2100101")
    pass_review(services.submit(user=w.health_user, round_id=rnd.pk, agency_id=w.health.pk), w)
    assert BudgetLine.objects.filter(round=rnd, amount_reviewed__isnull=True).count() == 0

    # the division trims the school's project during 一下
    rnd = to_stage(w, rnd, Stage.DOWN1)
    services.set_reviewed_amount(user=w.division, line_id=pline.pk, amount="250000.00")
    edu_reviewed = sum(BudgetLine.objects.filter(round=rnd, department=w.edu).values_list("amount_reviewed", flat=True))
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.edu.pk, amount=edu_reviewed)
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.health.pk, amount="1000000.00")

    # 二上: within the control number (exactly at it) is accepted
    rnd = to_stage(w, rnd, Stage.UP2)
    for agency in (w.edu, w.school, w.health):
        services.compile_lines(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk)
    # over the control number is refused, nothing written
    with pytest.raises(Conflict) as exc:
        services.compile_lines(user=w.school_user, round_id=rnd.pk, agency_id=w.school.pk,
                               amounts={pline.pk: D("300000.00")})
    assert exc.value.code == "budgeting.compile.over_control"
    assert "超过控制数" in exc.value.message and "50,000.00" in exc.value.message
    for agency in (w.edu, w.school, w.health):
        pass_review(services.submit(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk), w)
    pline.refresh_from_db()
    assert pline.amount_compiled == D("250000.00")

    # 二下: approval issues the indicators
    rnd = to_stage(w, rnd, Stage.DOWN2)
    events_before = EventRecord.objects.filter(name="indicators.quota_arrived").count()
    result = services.approve(user=w.division, round_id=rnd.pk, doc_no="示财预〔2027〕1号")
    lines = list(BudgetLine.objects.filter(round=rnd).select_related("indicator"))
    assert result.indicators == len(lines) == 12
    rnd.refresh_from_db()
    assert rnd.status == BudgetRound.Status.APPROVED
    for ln in lines:
        ind = ln.indicator
        assert ln.amount_approved == ln.amount_compiled
        assert ind.status == Indicator.Status.EXECUTABLE and ind.agency_id == ln.agency_id
        assert ind.total == ind.available == ln.amount_approved
        assert (ind.func_code, ind.gov_eco_code, ind.dept_eco_code, ind.fund_type) == (
            ln.func_code, ln.gov_eco_code, ln.dept_eco_code, ln.fund_type)
        assert ind.indicator_type == "12" and ind.doc_no == "示财预〔2027〕1号"
        assert check_ledger(ind.pk) == []
        mv = Movement.objects.get(indicator=ind)
        assert (mv.kind, mv.source_type, mv.source_id) == ("issue", "budgeting.budgetline", ln.pk)
    pline.refresh_from_db()
    assert pline.indicator.project_code == project.code and pline.indicator.pay_mode == "direct"
    assert EventRecord.objects.filter(name="indicators.quota_arrived").count() == events_before + 12
    entry = LibraryEntry.objects.get(project=project, library_year=YEAR)
    assert entry.status == LibraryEntry.Status.SCHEDULED and entry.scheduled_amount == D("250000.00")
    assert Approval.objects.filter(round=rnd).count() == 2

    # re-running is a no-op
    n_ind, n_mv = Indicator.objects.count(), Movement.objects.count()
    again = services.approve(user=w.division, round_id=rnd.pk, doc_no="示财预〔2027〕1号")
    assert again.indicators == 0 and again.approvals == []
    again = services.approve(user=w.division, round_id=rnd.pk, department_id=w.edu.pk)
    assert again.indicators == 0
    assert (Indicator.objects.count(), Movement.objects.count()) == (n_ind, n_mv)

    # summaries
    by_dept = selectors.summary_by_department(user=w.division, rnd=rnd)
    assert [r["key"] for r in by_dept] == [w.edu.code, w.health.code]
    assert sum(r["amount_approved"] for r in by_dept) == sum(ln.amount_approved for ln in lines)
    by_func = selectors.summary_by_function(user=w.division, rnd=rnd, level=1)
    assert {r["key"] for r in by_func} == {"205", "208", "210"}


def test_approval_per_department_then_rest(basic_info):
    w = basic_info
    rnd = services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    declare_all(w, rnd)
    rnd = to_stage(w, rnd, Stage.DOWN1)
    for dept in (w.edu, w.health):
        services.set_control_number(user=w.division, round_id=rnd.pk, department_id=dept.pk, amount="99999999")
    rnd = to_stage(w, rnd, Stage.UP2)
    for agency in (w.edu, w.school, w.health):
        services.compile_lines(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk)
    dropped = BudgetLine.objects.filter(round=rnd, agency=w.health).order_by("pk").first()
    services.compile_lines(user=w.health_user, round_id=rnd.pk, agency_id=w.health.pk, amounts={dropped.pk: "0"})
    for agency in (w.edu, w.school, w.health):
        pass_review(services.submit(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk), w)
    rnd = to_stage(w, rnd, Stage.DOWN2)
    first = services.approve(user=w.division, round_id=rnd.pk, department_id=w.health.pk)
    assert first.indicators == BudgetLine.objects.filter(round=rnd, department=w.health).count() - 1
    dropped.refresh_from_db()
    assert dropped.amount_approved == 0 and dropped.indicator_id is None
    rnd.refresh_from_db()
    assert rnd.status == BudgetRound.Status.OPEN
    assert BudgetLine.objects.filter(round=rnd, department=w.edu, indicator__isnull=False).count() == 0
    rest = services.approve(user=w.division, round_id=rnd.pk)
    assert [a.department_id for a in rest.approvals] == [w.edu.pk]
    rnd.refresh_from_db()
    assert rnd.status == BudgetRound.Status.APPROVED


def test_return_with_reason_and_resubmit(basic_info):
    from fmis.platform.workflow import selectors as wf

    w = basic_info
    rnd = services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    services.compute_basic(user=w.school_user, round_id=rnd.pk, agency_id=w.school.pk, func_code="2050203")
    sub = services.submit(user=w.school_user, round_id=rnd.pk, agency_id=w.school.pk)
    line = BudgetLine.objects.filter(round=rnd, agency=w.school).first()
    with pytest.raises(Conflict) as exc:
        services.update_line_amount(user=w.school_user, line_id=line.pk, amount="1.00")
    assert exc.value.code == "budgeting.submission.locked"
    # the school's own accountant is not its 主管部门
    from fmis.platform.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.review(user=w.school_user, submission_id=sub.pk, action="approve")
    services.review(user=w.edu_user, submission_id=sub.pk, action="return", text="人员数与编制不符，请核实")
    sub.refresh_from_db()
    assert sub.status == Submission.Status.RETURNED
    assert wf.history(sub)[-1].comment == "人员数与编制不符，请核实"
    services.update_line_amount(user=w.school_user, line_id=line.pk, amount="1.00")
    pass_review(services.submit(user=w.school_user, round_id=rnd.pk, agency_id=w.school.pk), w)
    line.refresh_from_db()
    assert line.amount_reviewed == D("1.00")

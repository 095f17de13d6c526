"""Rules of budget preparation: idempotent computation, stage checks, the control number under
concurrency, refusals after approval, data scope."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from fmis.budgeting import selectors, services
from fmis.budgeting.models import BudgetLine, ControlNumber, Stage
from fmis.budgeting.tests.conftest import (
    YEAR,
    add_people,
    add_vehicles,
    declare_all,
    pass_review,
    to_stage,
    user_of,
)
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

D = Decimal


@pytest.fixture
def rnd(basic_info):
    return services.open_round(user=basic_info.division, region_id=basic_info.prov.pk, fiscal_year=YEAR)


def _snapshot(rnd, agency):
    return list(BudgetLine.objects.filter(round=rnd, agency=agency).order_by("pk")
                .values_list("pk", "func_code", "dept_eco_code", "amount_applied", "updated_at"))


def test_compute_is_idempotent_and_follows_basic_info(basic_info, rnd):
    from fmis.basicinfo.models import Vehicle
    from fmis.platform.models import AuditRecord

    w = basic_info
    services.compute_basic(user=w.edu_user, round_id=rnd.pk, agency_id=w.edu.pk, func_code="2050101")
    first = _snapshot(rnd, w.edu)
    audits = AuditRecord.objects.count()
    again = services.compute_basic(user=w.edu_user, round_id=rnd.pk, agency_id=w.edu.pk, func_code="2050101")
    assert _snapshot(rnd, w.edu) == first  # same rows, not even touched
    assert AuditRecord.objects.count() == audits
    assert again.lines == 5
    # two more staff and no vehicles: amounts follow, the vehicle line disappears
    add_people(w.edu, 2, start=500)
    Vehicle.objects.filter(agency=w.edu).delete()
    res = services.compute_basic(user=w.edu_user, round_id=rnd.pk, agency_id=w.edu.pk, func_code="2050101")
    assert res.removed == 1 and res.lines == 4
    line = BudgetLine.objects.get(round=rnd, agency=w.edu, dept_eco_code="30101")
    assert line.amount_applied == D("720000.00") and line.pk == first[0][0]
    assert not BudgetLine.objects.filter(round=rnd, agency=w.edu, dept_eco_code="30231").exists()


def test_compute_needs_a_function_code_for_standards_without_one(basic_info, rnd):
    w = basic_info
    with pytest.raises(ValidationFailed) as exc:
        services.compute_basic(user=w.edu_user, round_id=rnd.pk, agency_id=w.edu.pk)
    assert exc.value.code == "budgeting.compute.func_required" and exc.value.field == "func_code"
    assert not BudgetLine.objects.filter(round=rnd).exists()


def test_round_unique_and_stage_checks(basic_info, rnd):
    w = basic_info
    with pytest.raises(Conflict) as exc:
        services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    assert exc.value.code == "budgeting.round.exists"
    with pytest.raises(Conflict) as exc:
        services.advance_stage(user=w.division, round_id=rnd.pk, to=Stage.UP2)
    assert exc.value.code == "budgeting.stage.not_next"
    services.compute_basic(user=w.edu_user, round_id=rnd.pk, agency_id=w.edu.pk, func_code="2050101")
    with pytest.raises(Conflict) as exc:
        services.advance_stage(user=w.division, round_id=rnd.pk, to=Stage.DOWN1)
    assert exc.value.code == "budgeting.stage.blocked" and "教育厅" in exc.value.message
    with pytest.raises(PermissionDenied):
        services.advance_stage(user=w.edu_user, round_id=rnd.pk, to=Stage.DOWN1)
    with pytest.raises(Conflict) as exc:  # 批复 only in 二下
        services.approve(user=w.division, round_id=rnd.pk)
    assert exc.value.code == "budgeting.round.wrong_stage"
    rnd.refresh_from_db()
    assert rnd.stage == Stage.UP1


def _compiled_round(w, rnd, control="99999999"):
    declare_all(w, rnd)
    rnd = to_stage(w, rnd, Stage.DOWN1)
    for dept in (w.edu, w.health):
        services.set_control_number(user=w.division, round_id=rnd.pk, department_id=dept.pk, amount=control)
    return to_stage(w, rnd, Stage.UP2)


def test_no_compile_without_control_number_and_not_below_compiled(basic_info, rnd):
    w = basic_info
    declare_all(w, rnd)
    rnd = to_stage(w, rnd, Stage.DOWN1)
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.edu.pk, amount="3000000")
    with pytest.raises(Conflict) as exc:
        services.advance_stage(user=w.division, round_id=rnd.pk, to=Stage.UP2)
    assert "卫生健康委员会" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:  # control numbers go to first-level agencies
        services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.school.pk, amount="1")
    assert exc.value.code == "budgeting.control.not_department"
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.health.pk, amount="1000000")
    rnd = to_stage(w, rnd, Stage.UP2)
    services.compile_lines(user=w.edu_user, round_id=rnd.pk, agency_id=w.edu.pk)  # 892,000
    with pytest.raises(Conflict) as exc:
        services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.edu.pk, amount="800000")
    assert exc.value.code == "budgeting.control.below_compiled"
    assert ControlNumber.objects.get(round=rnd, department=w.edu, fund_type="").amount == D("3000000.00")


def test_fund_type_control_number_is_also_a_hard_limit(basic_info, rnd):
    w = basic_info
    rnd = _compiled_round(w, rnd)
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.health.pk, amount="100",
                                fund_type="11")
    with pytest.raises(Conflict) as exc:
        services.compile_lines(user=w.health_user, round_id=rnd.pk, agency_id=w.health.pk)
    assert exc.value.code == "budgeting.compile.over_control" and "资金性质 11" in exc.value.message
    assert not BudgetLine.objects.filter(round=rnd, agency=w.health, amount_compiled__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_compiles_never_exceed_the_control_number(basic_info):
    """Units of one department compile at once; the control number holds for their sum."""
    from fmis.orgs.models import Agency

    w = basic_info
    rnd = services.open_round(user=w.division, region_id=w.prov.pk, fiscal_year=YEAR)
    units = [w.school]
    for i in range(2, 9):
        units.append(Agency.objects.create(code=f"990000101{i:03d}", name=f"第{i}中学", region=w.prov,
                                           parent=w.edu, kind="inst"))
    users = {w.school.pk: w.school_user}
    from fmis.iam.models import User, UserRole

    role = UserRole.objects.filter(user=w.school_user).first().role
    for a in units[1:]:
        add_people(a, 10)
        u = User.objects.create_user(f"u{a.code}", "Passw0rd!x", name=a.name, org_type="agency", agency=a,
                                     region=w.prov)
        UserRole.objects.create(user=u, role=role)
        users[a.pk] = u
    for a in units:
        services.compute_basic(user=users[a.pk], round_id=rnd.pk, agency_id=a.pk, func_code="2050203")
        pass_review(services.submit(user=users[a.pk], round_id=rnd.pk, agency_id=a.pk), w)
    rnd = to_stage(w, rnd, Stage.DOWN1)
    # every unit alone fits; all together do not: 10 people × (60,000 + 9,600 + 3,000) = 726,000 per unit
    per_unit = D("726000.00")
    control = per_unit * 3 + D("1000.00") + D("1452000.00")  # the school has 20 people: 1,452,000
    services.set_control_number(user=w.division, round_id=rnd.pk, department_id=w.edu.pk, amount=control)
    rnd = to_stage(w, rnd, Stage.UP2)

    def attempt(agency):
        from django.db import close_old_connections

        try:
            services.compile_lines(user=users[agency.pk], round_id=rnd.pk, agency_id=agency.pk)
            return "ok"
        except Conflict as exc:
            return exc.code
        finally:
            close_old_connections()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, units))
    compiled = sum(BudgetLine.objects.filter(round=rnd, department=w.edu, amount_compiled__isnull=False)
                   .values_list("amount_compiled", flat=True), start=D(0))
    assert compiled <= control
    assert results.count("budgeting.compile.over_control") > 0
    assert results.count("ok") >= 3
    assert set(results) <= {"ok", "budgeting.compile.over_control"}


def test_editing_after_approval_is_refused_and_nothing_written(basic_info, rnd):
    w = basic_info
    rnd = _compiled_round(w, rnd)
    for agency in (w.edu, w.school, w.health):
        services.compile_lines(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk)
        pass_review(services.submit(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk), w)
    rnd = to_stage(w, rnd, Stage.DOWN2)
    services.approve(user=w.division, round_id=rnd.pk, department_id=w.health.pk)
    line = BudgetLine.objects.filter(round=rnd, agency=w.health).first()
    before = BudgetLine.objects.filter(pk=line.pk).values().get()
    with pytest.raises(Conflict) as exc:
        services.update_line_amount(user=w.health_user, line_id=line.pk, amount="1.00")
    assert exc.value.code == "budgeting.line.approved"
    with pytest.raises(Conflict) as exc:
        services.delete_line(user=w.health_user, line_id=line.pk)
    assert exc.value.code == "budgeting.line.approved"
    with pytest.raises(Conflict) as exc:
        services.set_reviewed_amount(user=w.division, line_id=line.pk, amount="1.00")
    assert exc.value.code == "budgeting.line.approved"
    with pytest.raises(Conflict):
        services.compile_lines(user=w.health_user, round_id=rnd.pk, agency_id=w.health.pk, amounts={line.pk: "1"})
    # the database refuses it too, whatever writes the row
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE budgeting_budgetline SET amount_approved = 1 WHERE id = %s", [line.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM budgeting_budgetline WHERE id = %s", [line.pk])
    assert BudgetLine.objects.filter(pk=line.pk).values().get() == before


def test_scope_unit_department_division(basic_info, rnd):
    w = basic_info
    declare_all(w, rnd)
    school_lines = selectors.lines_for(user=w.school_user, rnd=rnd)
    assert {ln.agency_id for ln in school_lines} == {w.school.pk}
    edu_lines = selectors.lines_for(user=w.edu_user, rnd=rnd)
    assert {ln.agency_id for ln in edu_lines} == {w.edu.pk, w.school.pk}
    assert {ln.agency_id for ln in selectors.lines_for(user=w.division, rnd=rnd)} == {w.edu.pk, w.school.pk,
                                                                                      w.health.pk}
    with pytest.raises(NotFound):
        selectors.round_detail(user=w.outsider, round_id=rnd.pk)
    health_line = BudgetLine.objects.filter(round=rnd, agency=w.health).first()
    with pytest.raises(NotFound):
        selectors.line_detail(user=w.school_user, line_id=health_line.pk)
    with pytest.raises(NotFound):  # another unit's agency cannot be declared for
        services.compute_basic(user=w.school_user, round_id=rnd.pk, agency_id=w.health.pk, func_code="2100101")
    totals = selectors.summary_by_department(user=w.school_user, rnd=rnd)
    assert len(totals) == 1 and totals[0]["lines"] == BudgetLine.objects.filter(round=rnd, agency=w.school).count()


def test_vehicles_follow_vehicle_type_standards(basic_info, rnd):
    from fmis.basicinfo.models import ExpenditureStandard

    w = basic_info
    add_vehicles(w.health, 3)
    ExpenditureStandard.objects.create(region=w.prov, fiscal_year=YEAR, name="执法车运行", kind="vehicle",
                                       basis="per_vehicle", vehicle_type="enforcement", eco_code="30299",
                                       amount=D("8000.00"))
    services.compute_basic(user=w.health_user, round_id=rnd.pk, agency_id=w.health.pk, func_code="2100101")
    assert BudgetLine.objects.get(round=rnd, agency=w.health, dept_eco_code="30231").amount_applied == D("75000.00")
    assert not BudgetLine.objects.filter(round=rnd, agency=w.health, dept_eco_code="30299").exists()


def test_round_wide_computation_equals_per_agency_and_skips_submitted(basic_info, rnd):
    w = basic_info
    funcs = {w.edu.pk: "2050101", w.school.pk: "2050203", w.health.pk: "2100101"}
    for agency in (w.edu, w.school, w.health):
        services.compute_basic(user=user_of(w, agency), round_id=rnd.pk, agency_id=agency.pk,
                               func_code=funcs[agency.pk])
    per_agency = sorted(BudgetLine.objects.filter(round=rnd).values_list(
        "agency_id", "department_id", "func_code", "gov_eco_code", "dept_eco_code", "amount_applied", "pk"))
    services.submit(user=w.health_user, round_id=rnd.pk, agency_id=w.health.pk)
    add_people(w.health, 5, start=900)  # not picked up: its declaration is under review
    res = services.compute_basic_round(user=w.division, round_id=rnd.pk, func_codes=funcs)
    assert (res.agencies, res.skipped) == (2, 1)
    assert sorted(BudgetLine.objects.filter(round=rnd).values_list(
        "agency_id", "department_id", "func_code", "gov_eco_code", "dept_eco_code", "amount_applied",
        "pk")) == per_agency
    BudgetLine.objects.filter(round=rnd).exclude(agency=w.health).delete()
    res = services.compute_basic_round(user=w.division, round_id=rnd.pk, func_codes=funcs)
    assert sorted(r[:6] for r in BudgetLine.objects.filter(round=rnd).values_list(
        "agency_id", "department_id", "func_code", "gov_eco_code", "dept_eco_code", "amount_applied")) == sorted(
        r[:6] for r in per_agency)

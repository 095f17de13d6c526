"""Project declaration, the code scheme, review to the reserve, scheduling, rolling, termination."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord
from fmis.projects import codes, selectors, services
from fmis.projects.models import LibraryEntry, Project, ProjectPlan

from .conftest import approve_all

pytestmark = pytest.mark.django_db


def test_create_issues_code_from_agency_and_year(world):
    p1 = services.create_project(user=world.unit_user, data=world.data())
    p2 = services.create_project(user=world.unit_user, data=world.data(name="第二个项目"))
    assert p1.code == "99010026101P001000001"
    assert p2.code == "99010026101P001000002"
    assert len(p1.code) == 21
    assert p1.status == Project.Status.DRAFT
    assert sorted(ProjectPlan.objects.filter(project=p1).values_list("year", "amount")) == [
        (2026, Decimal("100000.00")), (2027, Decimal("120000.00")), (2028, Decimal("80000.00"))]
    assert AuditRecord.objects.filter(action="projects.project.create", object_id=str(p1.pk)).exists()
    # a first-level agency's projects carry unit part 000
    p3 = services.create_project(user=world.supervisor, data=world.data(agency_id=world.dept.pk))
    assert p3.code == "99010026101P000000001"


@pytest.mark.parametrize(("code", "message"), [
    ("99010026101P00100000", "应为 21 位"),
    ("99010026101X001000001", "第 12 位应为字母 P"),
    ("9901002610AP001000001", "格式不正确"),
    ("99020026101P001000001", "区划部分 990200"),
    ("99010025101P001000001", "年度部分 25"),
    ("99010026102P001000001", "部门/单位部分"),
    ("99010026101P001000000", "序号不能为 000000"),
])
def test_bad_project_code_is_refused_and_nothing_written(world, code, message):
    with pytest.raises(ValidationFailed) as exc:
        services.create_project(user=world.unit_user, data=world.data(code=code))
    assert exc.value.code == "projects.bad_code"
    assert exc.value.field == "code"
    assert message in exc.value.message
    assert not Project.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="projects.").exists()


def test_given_code_is_kept_and_counter_moves_past_it(world):
    p = services.create_project(user=world.unit_user, data=world.data(code="99010026101P001000007"))
    assert p.code == "99010026101P001000007"
    nxt = services.create_project(user=world.unit_user, data=world.data(name="下一个"))
    assert nxt.code == "99010026101P001000008"
    with pytest.raises(Conflict) as exc:
        services.create_project(user=world.unit_user, data=world.data(code="99010026101P001000007"))
    assert exc.value.code == "projects.code_taken"
    assert Project.objects.count() == 2


def test_database_refuses_a_code_outside_the_scheme(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.filter(pk=services.create_project(user=world.unit_user, data=world.data()).pk) \
            .update(code="ABC")


def test_plan_amounts_must_add_up_to_total(world):
    bad = world.data(plans={2026: "100000.00", 2027: "100000.00", 2028: "80000.00"})
    with pytest.raises(ValidationFailed) as exc:
        services.create_project(user=world.unit_user, data=bad)
    assert exc.value.code == "projects.plan_sum_mismatch"
    assert exc.value.field == "plans"
    assert "280,000.00" in exc.value.message and "300,000.00" in exc.value.message
    assert not Project.objects.exists() and not ProjectPlan.objects.exists()
    with pytest.raises(ValidationFailed) as exc:
        services.create_project(user=world.unit_user, data=world.data(plans={2026: "300000", 2030: "0"}))
    assert exc.value.code == "projects.plan_outside_years"
    # the code counter did not move: the refused declarations took no number
    p = services.create_project(user=world.unit_user, data=world.data())
    assert p.code.endswith("000001")


def test_database_trigger_refuses_plans_not_adding_up(world):
    p = services.create_project(user=world.unit_user, data=world.data())
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        ProjectPlan.objects.filter(project=p, year=2026).update(amount=Decimal("1.00"))
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert "proj_plan_sum_total" in str(exc.value) or "add up" in str(exc.value)
    assert ProjectPlan.objects.get(project=p, year=2026).amount == Decimal("100000.00")


def test_validation_names_the_field(world):
    cases = [
        ({"name": " "}, "name"), ({"category": "3"}, "category"), ({"category": "9"}, "category"),
        ({"func_code": "9999999"}, "func_code"), ({"end_year": 2025}, "end_year"),
        ({"total_amount": "0"}, "total_amount"), ({"targets": []}, "targets"),
        ({"is_transfer": True}, "target_region"),
    ]
    for change, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            services.create_project(user=world.unit_user, data=world.data(**change))
        assert exc.value.field == field, change
    assert not Project.objects.exists()


def test_unit_cannot_declare_for_another_agency(world):
    with pytest.raises(ValidationFailed) as exc:
        services.create_project(user=world.unit_user, data=world.data(agency_id=world.dept2.pk))
    assert exc.value.code == "projects.agency_out_of_scope"


def test_review_chain_ends_in_reserve_with_library_entry(world, reserved):
    assert reserved.status == Project.Status.RESERVED
    entry = LibraryEntry.objects.get(project=reserved)
    assert (entry.library_year, entry.plan_amount, entry.remaining_amount) == (
        2026, Decimal("100000.00"), Decimal("300000.00"))
    lib = selectors.library(user=world.finance, fiscal_year=2026)
    assert [e.project_id for e in lib] == [reserved.pk]
    assert list(selectors.library(user=world.unit2_user, fiscal_year=2026)) == []
    assert list(selectors.library(user=world.outsider, fiscal_year=2026)) == []
    actions = list(AuditRecord.objects.filter(object_type="projects.project", object_id=str(reserved.pk))
                   .values_list("action", flat=True))
    assert "projects.project.completed" in actions


def test_return_with_reason_and_resubmit(world):
    p = services.create_project(user=world.unit_user, data=world.data())
    services.submit_project(user=world.unit_user, project_id=p.pk)
    services.review_project(user=world.supervisor, project_id=p.pk, action="approve", text="同意")
    with pytest.raises(ValidationFailed):
        services.review_project(user=world.finance, project_id=p.pk, action="return", text="")
    p = services.review_project(user=world.finance, project_id=p.pk, action="return", text="测算依据不足")
    assert p.status == Project.Status.RETURNED and p.return_reason == "测算依据不足"
    p = services.update_project(user=world.unit_user, project_id=p.pk, data=world.data(name="教育信息化建设（修订）"))
    services.submit_project(user=world.unit_user, project_id=p.pk)
    p = approve_all(world, p)
    assert p.status == Project.Status.RESERVED and p.name.endswith("（修订）")


def test_editing_after_approval_is_refused_and_nothing_written(world, reserved):
    before = Project.objects.get(pk=reserved.pk)
    with pytest.raises(Conflict) as exc:
        services.update_project(user=world.unit_user, project_id=reserved.pk, data=world.data(name="改名"))
    assert exc.value.code == "projects.not_editable"
    after = Project.objects.get(pk=reserved.pk)
    assert (after.name, after.updated_at) == (before.name, before.updated_at)
    assert not AuditRecord.objects.filter(action="projects.project.update").exists()


def test_supervisor_step_needs_the_supervising_department(world):
    p = services.create_project(user=world.unit_user, data=world.data())
    services.submit_project(user=world.unit_user, project_id=p.pk)
    # the finance user holds no supervisor function; another unit is out of scope
    with pytest.raises(PermissionDenied):
        services.review_project(user=world.finance, project_id=p.pk, action="approve")
    with pytest.raises(NotFound):
        services.review_project(user=world.unit2_user, project_id=p.pk, action="approve")
    services.review_project(user=world.supervisor, project_id=p.pk, action="approve", text="同意")
    # the finance steps are not for agency users, even with the function
    from fmis.iam.models import Function, RoleFunction

    role = world.supervisor.user_roles.get().role
    RoleFunction.objects.create(role=role, function=Function.objects.get(code="projects.review.division"))
    supervisor = type(world.supervisor).objects.get(pk=world.supervisor.pk)
    with pytest.raises(PermissionDenied) as exc:
        services.review_project(user=supervisor, project_id=p.pk, action="approve")
    assert exc.value.code == "projects.not_finance"
    assert Project.objects.get(pk=p.pk).status == Project.Status.SUBMITTED


def test_schedule_is_idempotent_and_bounded(world, reserved):
    e1 = services.schedule(project_id=reserved.pk, fiscal_year=2026, amount=Decimal("100000.00"),
                           user=world.finance, source={"type": "budgeting.line", "id": 7})
    n_audit = AuditRecord.objects.count()
    e2 = services.schedule(project_id=reserved.pk, fiscal_year=2026, amount=Decimal("100000.00"),
                           user=world.finance, source={"type": "budgeting.line", "id": 7})
    assert e1.pk == e2.pk and AuditRecord.objects.count() == n_audit
    assert Project.objects.get(pk=reserved.pk).status == Project.Status.SCHEDULED
    assert list(selectors.library(user=world.finance, fiscal_year=2026)) == []
    assert len(selectors.library(user=world.finance, fiscal_year=2026, include_scheduled=True)) == 1
    with pytest.raises(ValidationFailed) as exc:
        services.schedule(project_id=reserved.pk, fiscal_year=2026, amount="300000.01", user=world.finance)
    assert exc.value.code == "projects.schedule_over_remaining"
    with pytest.raises(NotFound) as exc:
        services.schedule(project_id=reserved.pk, fiscal_year=2027, amount="1", user=world.finance)
    assert exc.value.code == "projects.not_in_library"
    with pytest.raises(NotFound):
        services.schedule(project_id=reserved.pk, fiscal_year=2026, amount="1", user=world.outsider)


def test_rolling_three_year_project_appears_once_with_remaining_amounts(world, reserved):
    services.schedule(project_id=reserved.pk, fiscal_year=2026, amount="100000.00", user=world.finance)
    assert services.roll_over(region_id=world.region.pk, from_year=2026, user=world.finance) == 1
    assert services.roll_over(region_id=world.region.pk, from_year=2026, user=world.finance) == 0
    entries = LibraryEntry.objects.filter(project=reserved, library_year=2027)
    assert entries.count() == 1
    e = entries.get()
    assert (e.plan_amount, e.remaining_amount, e.status) == (
        Decimal("120000.00"), Decimal("80000.00") + Decimal("120000.00"), LibraryEntry.Status.RESERVED)
    lib2027 = selectors.library(user=world.finance, fiscal_year=2027)
    assert [x.project_id for x in lib2027] == [reserved.pk]
    assert [x.project_id for x in selectors.library(user=world.unit_user, fiscal_year=2027)] == [reserved.pk]
    # year 3, then the project ends
    services.schedule(project_id=reserved.pk, fiscal_year=2027, amount="120000.00", user=world.finance)
    assert services.roll_over(region_id=world.region.pk, from_year=2027, user=world.finance) == 1
    e3 = LibraryEntry.objects.get(project=reserved, library_year=2028)
    assert (e3.plan_amount, e3.remaining_amount) == (Decimal("80000.00"), Decimal("80000.00"))
    services.schedule(project_id=reserved.pk, fiscal_year=2028, amount="80000.00", user=world.finance)
    assert services.roll_over(region_id=world.region.pk, from_year=2028, user=world.finance) == 0
    assert not LibraryEntry.objects.filter(project=reserved, library_year=2029).exists()
    assert Project.objects.get(pk=reserved.pk).status == Project.Status.COMPLETED


def test_roll_over_is_scoped(world, reserved):
    with pytest.raises(NotFound):
        services.roll_over(region_id=world.region.pk, from_year=2026, user=world.outsider)
    assert not LibraryEntry.objects.filter(library_year=2027).exists()


def test_terminate_needs_reason_and_leaves_library(world, reserved):
    with pytest.raises(ValidationFailed):
        services.terminate_project(user=world.finance, project_id=reserved.pk, reason=" ")
    p = services.terminate_project(user=world.finance, project_id=reserved.pk, reason="政策调整")
    assert p.status == Project.Status.TERMINATED and p.terminate_reason == "政策调整"
    assert LibraryEntry.objects.get(project=p).status == LibraryEntry.Status.TERMINATED
    assert services.roll_over(region_id=world.region.pk, from_year=2026, user=world.finance) == 0
    with pytest.raises(Conflict):
        services.terminate_project(user=world.finance, project_id=reserved.pk, reason="再次")


def test_transfer_project_for_lower_region(world):
    p = services.create_project(user=world.supervisor, data=world.data(
        agency_id=world.dept.pk, is_transfer=True, target_region_id=world.county.pk, name="对下转移支付项目"))
    assert p.is_transfer and p.target_region_id == world.county.pk
    with pytest.raises(ValidationFailed) as exc:
        services.create_project(user=world.supervisor, data=world.data(
            agency_id=world.dept.pk, is_transfer=True, target_region_id=world.other_region.pk))
    assert exc.value.code == "projects.target_region_not_lower"
    assert [x.pk for x in selectors.projects_for(user=world.finance, transfer=True)] == [p.pk]


def test_data_scope_unit_supervisor_region(world):
    mine = services.create_project(user=world.unit_user, data=world.data())
    other = services.create_project(user=world.unit2_user, data=world.data(agency_id=world.dept2.pk))
    assert [p.pk for p in selectors.projects_for(user=world.unit_user)] == [mine.pk]
    assert [p.pk for p in selectors.projects_for(user=world.supervisor)] == [mine.pk]
    assert {p.pk for p in selectors.projects_for(user=world.finance)} == {mine.pk, other.pk}
    assert list(selectors.projects_for(user=world.outsider)) == []
    with pytest.raises(NotFound):
        selectors.project_detail(user=world.unit2_user, project_id=mine.pk)


def test_code_scheme_parse():
    pc = codes.parse("42000024219P007000051")
    assert (pc.region, pc.year, pc.dept, pc.unit, pc.serial) == ("420000", "24", "219", "007", 51)
    assert str(pc) == "42000024219P007000051"


IMPORT_HEADERS = ["项目代码", "项目名称", "单位编码", "项目类别", "功能分类", "经济分类", "起始年度", "结束年度",
                  "项目总额", "分年计划", "绩效目标", "项目标签"]


def _xlsx(rows):
    from io import BytesIO

    from fmis.platform.xlsx import build_workbook

    buf = BytesIO(build_workbook(IMPORT_HEADERS, rows))
    buf.name = "projects.xlsx"
    return buf


def test_project_import_all_or_nothing_and_idempotent(world):
    good = [
        ["", "校园安全改造", "990100101001", "31", "2050101", "30213", "2026", "2027", "200000",
         "2026:120000;2027:80000", "产出指标/数量指标/改造校舍/≥/3/栋", "安全,基建"],
        ["99010026101P001000009", "信息系统运维", "990100101001", "223", "2050101", "", "2026", "2026", "50000",
         "2026:50000", "", ""],
    ]
    bad = [*good,
           ["9901002610", "坏代码", "990100101001", "31", "2050101", "", "2026", "2026", "1", "2026:1",
            "产出指标/数量指标/x/≥/1/个", ""],
           ["", "不平衡", "990100101001", "223", "2050101", "", "2026", "2027", "100", "2026:10;2027:20", "", ""]]
    with pytest.raises(ValidationFailed) as exc:
        services.import_projects(user=world.unit_user, file=_xlsx(bad))
    assert {(e["line"], e["field"]) for e in exc.value.errors} == {(4, "code"), (5, "plans")}
    assert not Project.objects.exists()
    r1 = services.import_projects(user=world.unit_user, file=_xlsx(good))
    assert (r1.created, r1.updated, r1.unchanged) == (2, 0, 0)
    codes_now = set(Project.objects.values_list("code", flat=True))
    assert "99010026101P001000009" in codes_now and "99010026101P001000001" in codes_now
    n = AuditRecord.objects.count()
    r2 = services.import_projects(user=world.unit_user, file=_xlsx(good))
    assert (r2.created, r2.updated, r2.unchanged) == (0, 0, 2)
    assert AuditRecord.objects.count() == n and Project.objects.count() == 2
    p = Project.objects.get(name="校园安全改造")
    assert p.tags == ["安全", "基建"] and p.performance_targets.get().unit == "栋"


def test_library_management_is_for_finance(world, reserved, make_role):
    from fmis.iam.models import Function, RoleFunction

    role = world.supervisor.user_roles.get().role
    for code in ("projects.library.manage", "projects.terminate"):
        RoleFunction.objects.create(role=role, function=Function.objects.get(code=code))
    supervisor = type(world.supervisor).objects.get(pk=world.supervisor.pk)
    with pytest.raises(PermissionDenied) as exc:
        services.roll_over(region_id=world.region.pk, from_year=2026, user=supervisor)
    assert exc.value.code == "projects.finance_only"
    with pytest.raises(PermissionDenied):
        services.terminate_project(user=supervisor, project_id=reserved.pk, reason="不需要了")
    assert Project.objects.get(pk=reserved.pk).status == Project.Status.RESERVED


def test_unit_cannot_take_supervisor_step_for_its_own_project(world, make_role, make_user):
    role = make_role("p_peer", ["projects.view", "projects.review.supervisor", "workflow.inbox"],
                     rules=[("agency", "own_agency", [])])
    peer = make_user("p_peer1", roles=[role], agency=world.unit)
    p = services.create_project(user=world.unit_user, data=world.data())
    services.submit_project(user=world.unit_user, project_id=p.pk)
    with pytest.raises(PermissionDenied) as exc:
        services.review_project(user=peer, project_id=p.pk, action="approve")
    assert exc.value.code == "projects.not_supervisor"
    assert Project.objects.get(pk=p.pk).status == Project.Status.SUBMITTED


def test_attachments_while_declaring_not_after_reserve(world, settings, tmp_path):
    from io import BytesIO

    from fmis.platform.attachments import services as attachments

    settings.MEDIA_ROOT = str(tmp_path)
    p = services.create_project(user=world.unit_user, data=world.data())
    f = BytesIO(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    f.name = "可行性研究报告.pdf"
    att = attachments.upload(document=p, user=world.unit_user, file=f, doc_type=services.DOC_PROJECT)
    assert att.object_id == p.pk
    with pytest.raises(PermissionDenied):
        attachments.upload(document=p, user=world.unit2_user, file=f, doc_type=services.DOC_PROJECT)
    services.submit_project(user=world.unit_user, project_id=p.pk)
    approve_all(world, p)
    with pytest.raises(Conflict):
        attachments.upload(document=p, user=world.unit_user, file=f, doc_type=services.DOC_PROJECT)


def test_lower_region_sees_transfer_projects_declared_for_it(world, make_role, make_user):
    p = services.create_project(user=world.supervisor, data=world.data(
        agency_id=world.dept.pk, is_transfer=True, target_region_id=world.county.pk, name="对县转移支付"))
    services.submit_project(user=world.supervisor, project_id=p.pk)
    role = make_role("p_county", ["projects.view", "projects.transfer.view"], rules=[("region", "own_region_tree", [])])
    county_user = make_user("p_county1", roles=[role], region=world.county, org_type="finance")
    assert list(selectors.transfers_received(user=county_user)) == []  # not approved yet
    head = make_user("p_sup_head", roles=[world.supervisor.user_roles.get().role], agency=world.dept)
    services.review_project(user=head, project_id=p.pk, action="approve", text="同意")
    for _ in range(3):
        services.review_project(user=world.finance, project_id=p.pk, action="approve", text="同意")
    assert Project.objects.get(pk=p.pk).status == Project.Status.RESERVED
    assert [x.pk for x in selectors.transfers_received(user=county_user)] == [p.pk]
    assert list(selectors.projects_for(user=county_user)) == []  # the project itself stays the upper level's
    assert list(selectors.transfers_received(user=world.outsider)) == []

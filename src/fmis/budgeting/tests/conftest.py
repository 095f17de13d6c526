"""Fixtures for budget preparation: a province with two departments (one with a subordinate
school), a division in another region, users for each role, basic information, standards and
projects reserved in the library."""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from decimal import Decimal

import pytest

from fmis.budgeting import services
from fmis.budgeting.models import Stage, Submission

YEAR = 2027
UNIT_PATTERNS = ("budgeting.unit.*", "projects.*", "workflow.inbox", "indicators.view")
DIVISION_PATTERNS = ("budgeting.*", "projects.*", "indicators.*", "workflow.inbox")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def codes(patterns) -> list[str]:
    from fmis.iam.functions import all_functions

    return sorted({f.code for f in all_functions() if any(fnmatch.fnmatchcase(f.code, p) for p in patterns)})


@dataclass
class World:
    prov: object
    other: object
    edu: object  # 教育厅 (department, admin)
    school: object  # 一中 (subordinate of edu, institution)
    health: object  # 卫健委 (department, admin)
    division: object  # 预算处 of the province
    outsider: object  # 预算处 of another region
    edu_user: object  # 教育厅 accountant (主管部门 of the school)
    school_user: object
    health_user: object
    edu_head: object  # a second 教育厅 user who reviews as 主管部门
    health_head: object


@pytest.fixture
def dictionary(db):
    from fmis.dictionary.services import preload_standard

    preload_standard()


@pytest.fixture
def world(dictionary, make_region, make_agency, make_role, make_user) -> World:
    prov = make_region("990000", "示例省")
    other = make_region("980000", "他省")
    edu = make_agency("990000101", prov, "教育厅")
    school = make_agency("990000101001", prov, "第一中学", parent=edu, kind="inst")
    health = make_agency("990000102", prov, "卫生健康委员会")
    unit_role = make_role("unit", codes(UNIT_PATTERNS), rules=[("agency", "own_agency_tree", [])])
    division_role = make_role("division", codes(DIVISION_PATTERNS), rules=[("region", "own_region_tree", [])])
    return World(
        prov=prov, other=other, edu=edu, school=school, health=health,
        division=make_user("division", roles=[division_role], region=prov),
        outsider=make_user("outsider", roles=[division_role], region=other),
        edu_user=make_user("edu", roles=[unit_role], agency=edu),
        school_user=make_user("school", roles=[unit_role], agency=school),
        health_user=make_user("health", roles=[unit_role], agency=health),
        edu_head=make_user("edu_head", roles=[unit_role], agency=edu),
        health_head=make_user("health_head", roles=[unit_role], agency=health),
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def add_people(agency, n: int, category: str = "active", year: int = YEAR, start: int = 0) -> None:
    from fmis.basicinfo.models import Personnel

    Personnel.objects.bulk_create([
        Personnel(agency=agency, fiscal_year=year, name=f"人员{start + i}", id_number_masked="1101**********123X",
                  id_digest=_digest(f"{agency.code}-{start + i}"), category=category) for i in range(n)])


def add_vehicles(agency, n: int, year: int = YEAR) -> None:
    from fmis.basicinfo.models import Vehicle

    Vehicle.objects.bulk_create([Vehicle(agency=agency, fiscal_year=year, plate_no=f"示A{agency.pk:03d}{i:02d}")
                                 for i in range(n)])


def add_standards(region, year: int = YEAR) -> None:
    from fmis.basicinfo.models import ExpenditureStandard as ES

    ES.objects.bulk_create([
        ES(region=region, fiscal_year=year, name="基本工资", kind="staff", basis="per_person",
           person_category="active", eco_code="30101", amount=Decimal("60000.00")),
        ES(region=region, fiscal_year=year, name="养老保险缴费", kind="staff", basis="per_person",
           person_category="active", eco_code="30108", func_code="2080505", amount=Decimal("9600.00")),
        ES(region=region, fiscal_year=year, name="退休费", kind="staff", basis="per_person",
           person_category="retired", eco_code="30302", amount=Decimal("48000.00")),
        ES(region=region, fiscal_year=year, name="办公费（行政）", kind="public", basis="per_person",
           person_category="active", agency_type="admin", eco_code="30201", amount=Decimal("5000.00")),
        ES(region=region, fiscal_year=year, name="办公费（事业）", kind="public", basis="per_person",
           person_category="active", agency_type="inst", eco_code="30201", amount=Decimal("3000.00")),
        ES(region=region, fiscal_year=year, name="公务用车运行维护费", kind="vehicle", basis="per_vehicle",
           eco_code="30231", amount=Decimal("25000.00")),
    ])


@pytest.fixture
def basic_info(world):
    add_standards(world.prov)
    add_people(world.edu, 10)
    add_people(world.edu, 2, category="retired", start=100)
    add_vehicles(world.edu, 2)
    add_people(world.school, 20)
    add_people(world.health, 8)
    return world


def reserve_project(world, agency, user, *, name="教育信息化建设", total="900000.00", plans=None,
                    start=YEAR, end=YEAR + 2, func_code="2050199", eco_code="31007"):
    """A project created by the unit and approved through the whole project review chain."""
    from fmis.projects import services as ps

    plans = plans or {start + i: Decimal(total) / (end - start + 1) for i in range(end - start + 1)}
    project = ps.create_project(user=user, data=ps.ProjectInput(
        name=name, agency_id=agency.pk, category="31", func_code=func_code, start_year=start, end_year=end,
        total_amount=Decimal(total), plans=plans, eco_code=eco_code, fund_type="11",
        targets=[ps.TargetInput("output", "数量指标", "覆盖学校数", "10", "所")]))
    ps.submit_project(user=user, project_id=project.pk)
    supervisor = world.edu_head if agency.code.startswith(world.edu.code) else world.health_head
    ps.review_project(user=supervisor, project_id=project.pk, action="approve", text="同意")
    for _ in range(3):
        ps.review_project(user=world.division, project_id=project.pk, action="approve", text="同意")
    project.refresh_from_db()
    return project


def pass_review(sub: Submission, world) -> Submission:
    """Drive a submission through 主管部门 → 预算处."""
    supervisor = world.edu_head if sub.agency.code.startswith(world.edu.code) else world.health_head
    services.review(user=supervisor, submission_id=sub.pk, action="approve", text="同意")
    services.review(user=world.division, submission_id=sub.pk, action="approve", text="同意")
    sub.refresh_from_db()
    assert sub.status == Submission.Status.APPROVED
    return sub


def user_of(world, agency):
    return {world.edu.pk: world.edu_user, world.school.pk: world.school_user,
            world.health.pk: world.health_user}[agency.pk]


def declare_all(world, rnd) -> None:
    """一上 for the three agencies: computed basic expenditure, submitted and reviewed."""
    for agency, func in ((world.edu, "2050101"), (world.school, "2050203"), (world.health, "2100101")):
        user = user_of(world, agency)
        services.compute_basic(user=user, round_id=rnd.pk, agency_id=agency.pk, func_code=func)
        pass_review(services.submit(user=user, round_id=rnd.pk, agency_id=agency.pk), world)


def to_stage(world, rnd, stage: str):
    order = [Stage.UP1, Stage.DOWN1, Stage.UP2, Stage.DOWN2]
    rnd.refresh_from_db()
    while order.index(Stage(rnd.stage)) < order.index(Stage(stage)):
        nxt = order[order.index(Stage(rnd.stage)) + 1]
        rnd = services.advance_stage(user=world.division, round_id=rnd.pk, to=nxt)
    return rnd

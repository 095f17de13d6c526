"""Fixtures for the project library: a region with a supervising department and its unit, and the
users of every review step."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from fmis.projects import services
from fmis.projects.categories import ensure_categories
from fmis.projects.services import ProjectInput, TargetInput

UNIT_FUNCTIONS = ["projects.view", "projects.manage", "projects.import", "projects.submit",
                  "projects.library.view", "projects.transfer.view", "workflow.inbox", "attachments.view",
                  "attachments.upload"]
SUPERVISOR_FUNCTIONS = [*UNIT_FUNCTIONS, "projects.review.supervisor"]
FINANCE_FUNCTIONS = ["projects.view", "projects.review.division", "projects.review.performance",
                     "projects.review.center", "projects.library.view", "projects.library.manage",
                     "projects.schedule", "projects.terminate", "projects.transfer.view", "workflow.inbox",
                     "attachments.view"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def dictionary(db):
    from fmis.dictionary.services import preload_standard

    preload_standard()
    ensure_categories()  # a transactional test's flush empties the table the migration filled


@dataclass
class World:
    province: object
    region: object
    county: object
    other_region: object
    dept: object  # first-level agency (主管部门)
    unit: object  # its subordinate unit
    dept2: object  # another first-level agency
    foreign: object  # an agency of the other region
    unit_user: object
    supervisor: object
    unit2_user: object
    finance: object  # budget division: every finance step, library management
    outsider: object  # budget division of the other region

    def data(self, **kw) -> ProjectInput:
        base = {"name": "教育信息化建设", "agency_id": self.unit.pk, "category": "31", "func_code": "2050101",
                "start_year": 2026, "end_year": 2028, "total_amount": Decimal("300000.00"),
                "plans": {2026: Decimal("100000.00"), 2027: Decimal("120000.00"), 2028: Decimal("80000.00")},
                "targets": [TargetInput("output", "数量指标", "培训教师人次", "500", "人次")],
                "eco_code": "30227", "tags": ["信息化"]}
        base.update(kw)
        return ProjectInput(**base)


@pytest.fixture
def world(dictionary, make_region, make_agency, make_role, make_user):
    prov = make_region("990000", "示例省")
    region = make_region("990100", "一市", parent=prov)
    county = make_region("990101", "一市一县", parent=region)
    other = make_region("990200", "二市", parent=prov)
    dept = make_agency("990100101", region, "一市教育局")
    unit = make_agency("990100101001", region, "一市第一中学", parent=dept)
    dept2 = make_agency("990100102", region, "一市卫健委")
    foreign = make_agency("990200101", other, "二市教育局")
    unit_role = make_role("p_unit", UNIT_FUNCTIONS, rules=[("agency", "own_agency", [])])
    sup_role = make_role("p_sup", SUPERVISOR_FUNCTIONS, rules=[("agency", "own_agency_tree", [])])
    fin_role = make_role("p_fin", FINANCE_FUNCTIONS, rules=[("region", "own_region_tree", [])])
    return World(
        province=prov, region=region, county=county, other_region=other, dept=dept, unit=unit, dept2=dept2,
        foreign=foreign,
        unit_user=make_user("p_unit1", roles=[unit_role], agency=unit),
        supervisor=make_user("p_sup1", roles=[sup_role], agency=dept),
        unit2_user=make_user("p_unit2", roles=[unit_role], agency=dept2),
        finance=make_user("p_fin1", roles=[fin_role], region=region, org_type="finance"),
        outsider=make_user("p_fin2", roles=[fin_role], region=other, org_type="finance"),
    )


def approve_all(world, project):
    """Take a submitted project through the four review steps."""
    services.review_project(user=world.supervisor, project_id=project.pk, action="approve", text="同意")
    for _ in range(3):
        services.review_project(user=world.finance, project_id=project.pk, action="approve", text="同意")
    project.refresh_from_db()
    return project


@pytest.fixture
def reserved(world):
    """A three-year project declared by the unit and approved through every step (储备)."""
    p = services.create_project(user=world.unit_user, data=world.data())
    services.submit_project(user=world.unit_user, project_id=p.pk)
    return approve_all(world, p)

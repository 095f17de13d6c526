"""Fixtures for the basic information tests: a region with a supervising department and its unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

import pytest

from fmis.basicinfo import identity
from fmis.basicinfo.services import PersonInput, VehicleInput

UNIT_FUNCTIONS = ["basicinfo.view", "basicinfo.manage", "basicinfo.import", "basicinfo.submit",
                  "basicinfo.submission.view", "basicinfo.vehicle.view", "basicinfo.asset.view",
                  "basicinfo.standard.view", "basicinfo.history.view", "workflow.inbox"]
SUPERVISOR_FUNCTIONS = [*UNIT_FUNCTIONS, "basicinfo.review.supervisor"]
FINANCE_FUNCTIONS = ["basicinfo.view", "basicinfo.submission.view", "basicinfo.vehicle.view",
                     "basicinfo.asset.view", "basicinfo.standard.view", "basicinfo.standard.manage",
                     "basicinfo.review.division", "basicinfo.history.view", "workflow.inbox"]


def id_number(birth: str = "19800101", seq: int = 123) -> str:
    first17 = f"370102{birth}{seq:03d}"
    return first17 + identity.check_digit(first17)


def xlsx(headers, rows) -> BytesIO:
    from fmis.platform.xlsx import build_workbook

    buf = BytesIO(build_workbook(headers, rows))
    buf.name = "import.xlsx"
    return buf


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def dictionary(db):
    from fmis.dictionary.services import preload_standard

    preload_standard()


@dataclass
class World:
    region: object
    other_region: object
    dept: object
    unit: object
    dept2: object
    unit_user: object
    supervisor: object
    unit2_user: object
    finance: object
    outsider: object

    def person(self, **kw) -> PersonInput:
        base = {"agency_id": self.unit.pk, "fiscal_year": 2026, "name": "张三", "id_number": id_number(),
                "category": "active", "post": "教师", "grade": "十二级",
                "salary": {"30101": Decimal("4500.00"), "30102": Decimal("1200.00")}}
        base.update(kw)
        return PersonInput(**base)

    def vehicle(self, **kw) -> VehicleInput:
        base = {"agency_id": self.unit.pk, "fiscal_year": 2026, "plate_no": "鲁A12345", "vehicle_type": "general",
                "brand": "大众帕萨特", "original_value": Decimal("180000.00")}
        base.update(kw)
        return VehicleInput(**base)


@pytest.fixture
def world(dictionary, make_region, make_agency, make_role, make_user):
    prov = make_region("990000", "示例省")
    region = make_region("990100", "一市", parent=prov)
    other = make_region("990200", "二市", parent=prov)
    dept = make_agency("990100101", region, "一市教育局")
    unit = make_agency("990100101001", region, "一市第一中学", parent=dept, kind="inst")
    dept2 = make_agency("990100102", region, "一市卫健委")
    unit_role = make_role("b_unit", UNIT_FUNCTIONS, rules=[("agency", "own_agency", [])])
    sup_role = make_role("b_sup", SUPERVISOR_FUNCTIONS, rules=[("agency", "own_agency_tree", [])])
    fin_role = make_role("b_fin", FINANCE_FUNCTIONS, rules=[("region", "own_region_tree", [])])
    return World(
        region=region, other_region=other, dept=dept, unit=unit, dept2=dept2,
        unit_user=make_user("b_unit1", roles=[unit_role], agency=unit),
        supervisor=make_user("b_sup1", roles=[sup_role], agency=dept),
        unit2_user=make_user("b_unit2", roles=[unit_role], agency=dept2),
        finance=make_user("b_fin1", roles=[fin_role], region=region, org_type="finance"),
        outsider=make_user("b_fin2", roles=[fin_role], region=other, org_type="finance"),
    )

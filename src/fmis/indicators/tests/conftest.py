"""Fixtures for the indicator tests: the standard dictionary, a region with agencies, users."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from fmis.indicators import services
from fmis.indicators.models import Indicator

BUDGET_FUNCTIONS = ["indicators.view", "indicators.manage", "indicators.import", "indicators.review",
                    "indicators.distribute", "indicators.adjust", "indicators.adjust.review", "indicators.freeze",
                    "indicators.carry_over", "indicators.execution.view",
                    "indicators.control.manage", "workflow.inbox"]
UNIT_FUNCTIONS = ["indicators.view", "indicators.confirm", "indicators.execution.view", "workflow.inbox"]


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
    a1: object
    a2: object
    b1: object
    budget: object  # budget division of the region (indicators.*)
    unit1: object  # unit accountant of a1
    unit2: object  # unit accountant of a2
    outsider: object  # budget division of the other region

    def entry(self, **kw) -> services.IndicatorInput:
        base = {"fiscal_year": 2026, "region_id": self.region.pk, "code": "ZB-001", "title": "办公经费",
                    "func_code": "2010101", "gov_eco_code": "50201", "dept_eco_code": "30201", "fund_type": "11",
                    "indicator_type": "12", "pay_mode": "authorized", "amount": Decimal("10000.00"), "agency_id": None,
                    "to_distribute": True}
        base.update(kw)
        return services.IndicatorInput(**base)


@pytest.fixture
def world(dictionary, make_region, make_agency, make_role, make_user):
    prov = make_region("990000", "示例省")
    region = make_region("990100", "一市", parent=prov)
    other = make_region("990200", "二市", parent=prov)
    a1 = make_agency("990100101", region, "教育局")
    a2 = make_agency("990100102", region, "卫健局")
    b1 = make_agency("990200101", other, "二市教育局")
    budget = make_role("budget", BUDGET_FUNCTIONS, rules=[("region", "own_region_tree", [])])
    unit = make_role("unit", UNIT_FUNCTIONS, rules=[("agency", "own_agency", [])])
    return World(
        region=region, other_region=other, a1=a1, a2=a2, b1=b1,
        budget=make_user("budget1", roles=[budget], region=region),
        unit1=make_user("unit1", roles=[unit], agency=a1),
        unit2=make_user("unit2", roles=[unit], agency=a2),
        outsider=make_user("budget2", roles=[budget], region=other),
    )


@pytest.fixture
def reviewer(world, make_role, make_user):
    """A second budget-division user who reviews what budget1 submits."""
    role = make_role("budget_reviewer", BUDGET_FUNCTIONS, rules=[("region", "own_region_tree", [])])
    return make_user("reviewer1", roles=[role], region=world.region)


def approve(document, user):
    return services.review(user=user, document=document, action="approve", text="同意")


@pytest.fixture
def executable(world, reviewer):
    """Two executable indicators of agency a1 (10,000.00 and 5,000.00)."""
    def make(code: str, amount: str, agency=None):
        ind = services.create_indicator(user=world.budget, data=world.entry(
            code=code, amount=Decimal(amount), agency_id=(agency or world.a1).pk, to_distribute=False))
        services.submit_indicator(user=world.budget, indicator_id=ind.pk)
        approve(Indicator.objects.get(pk=ind.pk), reviewer)
        unit = world.unit1 if (agency or world.a1) == world.a1 else world.unit2
        return services.confirm(user=unit, indicator_id=ind.pk)

    return make("ZB-A", "10000.00"), make("ZB-B", "5000.00")

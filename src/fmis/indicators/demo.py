"""Demo indicators for the demo province (``fmis seed`` calls ``seed_demo``).

For the agencies that have demo users (the unit accountants of ``fmis.orgs.demo``) and one
sample department of the province and of each city, two indicators of the current fiscal year
each: one for authorized payment (办公费) and one for direct payment (维修费), with
classification codes from the standard dictionary. Every indicator goes through the real lifecycle: entered by the region's budget
division, reviewed by the province budget division (the superuser for the province's own), and
confirmed by the unit, so the indicator pages show the issue movements and the unit's books
receive the quota. One 待分 indicator at the first county's budget division waits to be distributed.

Deterministic: codes and amounts are computed from the agency codes and the scale. Idempotent:
an indicator that exists is taken from its current state onwards, never entered twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from fmis.orgs import demo as orgs_demo

AMOUNTS = (Decimal("186000.00"), Decimal("240000.00"), Decimal("580000.00"), Decimal("1200000.00"),
           Decimal("3600000.00"), Decimal("450000.00"), Decimal("960000.00"))

# functional class by the family of the department an agency belongs to
FUNC_BY_FAMILY = {"school": "2050201", "health": "2100201", "police": "2040201", "generic": "2010101"}
TO_DISTRIBUTE_AMOUNT = Decimal("2000000.00")


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    region_code: str
    agency_code: str | None
    title: str
    func_code: str
    gov_eco_code: str
    dept_eco_code: str
    pay_mode: str
    amount: Decimal
    doc_no: str
    to_distribute: bool = False
    fund_type: str = "1"
    indicator_type: str = "1"


@functools.lru_cache(maxsize=3)
def province_plan(scale: str) -> orgs_demo.Plan:
    """``fmis.orgs.demo.plan(scale)``, computed once per process (large scales are big)."""
    return orgs_demo.plan(scale)


def fiscal_year() -> int:
    return timezone.localdate().year


def unit_agency_codes(scale: str) -> list[str]:
    """The agencies that have a demo unit accountant, in plan order."""
    return [u.agency_code for u in province_plan(scale).users if u.role_code == "unit_accountant" and u.agency_code]


def demo_agency_codes(scale: str) -> list[str]:
    """The agencies that receive demo indicators: those with unit users, then one sample
    department (the second first-level agency) of the province and of each city."""
    p = province_plan(scale)
    codes = unit_agency_codes(scale)
    known = {a.code for a in p.agencies}
    for region in (r for r in p.regions if r.level <= 2):
        sample = f"{region.code}102"
        if sample in known and sample not in codes:
            codes.append(sample)
    return codes


def _family(agency_code: str) -> str:
    dept_index = int(agency_code[6:9]) - 101
    return orgs_demo.DEPARTMENTS[dept_index % len(orgs_demo.DEPARTMENTS)][2]


def plan(scale: str) -> list[IndicatorSpec]:
    """The demo indicators at `scale`, in creation order. Pure and deterministic."""
    year = fiscal_year()
    p = province_plan(scale)
    agencies = {a.code: a for a in p.agencies}
    specs: list[IndicatorSpec] = []
    for i, code in enumerate(demo_agency_codes(scale)):
        a = agencies[code]
        func = FUNC_BY_FAMILY[_family(code)]
        admin = a.kind == "admin"
        specs.append(IndicatorSpec(
            code=f"ZB{year}{code}01", region_code=a.region_code, agency_code=code, title=f"{a.name}公用经费（办公费）",
            func_code=func, gov_eco_code="50201" if admin else "50502", dept_eco_code="30201",
            pay_mode="authorized", amount=AMOUNTS[i % len(AMOUNTS)], doc_no=f"示财预〔{year}〕{101 + i}号"))
        specs.append(IndicatorSpec(
            code=f"ZB{year}{code}02", region_code=a.region_code, agency_code=code, title=f"{a.name}房屋维修",
            func_code=func, gov_eco_code="50209" if admin else "50502", dept_eco_code="30213",
            pay_mode="direct", amount=AMOUNTS[(i + 3) % len(AMOUNTS)], doc_no=f"示财预〔{year}〕{101 + i}号"))
    county = next((r for r in p.regions if r.level == 3), None)
    if county is not None:
        specs.append(IndicatorSpec(
            code=f"ZB{year}{county.code}DF01", region_code=county.code, agency_code=None,
            title=f"{county.name}学前教育发展资金（待分配）", func_code="2050201", gov_eco_code="50502",
            dept_eco_code="30227", pay_mode="authorized", amount=TO_DISTRIBUTE_AMOUNT,
            doc_no=f"{county.name[-2:]}财教〔{year}〕1号", to_distribute=True))
    return specs


def division_user(p: orgs_demo.Plan, role_code: str, region_code: str) -> str:
    """The username of the nearest demo user of `role_code` at `region_code` or above."""
    parents = {r.code: r.parent_code for r in p.regions}
    by_region = {u.region_code: u.username for u in p.users if u.role_code == role_code and u.org_type == "finance"}
    code: str | None = region_code
    while code is not None:
        if code in by_region:
            return by_region[code]
        code = parents.get(code)
    return orgs_demo.SUPERUSER


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    """Enter, review, issue and confirm the demo indicators (see the module docstring). Returns
    how many indicators were created and how many lifecycle steps were taken."""
    from fmis.accounting import demo as accounting_demo
    from fmis.iam.models import User
    from fmis.indicators import services
    from fmis.indicators.models import Indicator
    from fmis.orgs.models import Agency, Region

    accounting_demo.seed_demo(scale=scale, write=write)  # the books first: confirmation posts the quota
    S = Indicator.Status
    p = province_plan(scale)
    specs = plan(scale)
    year = fiscal_year()
    users = {u.username: u for u in User.objects.filter(
        username__in=[u.username for u in p.users] + [orgs_demo.SUPERUSER])}
    regions = dict(Region.objects.filter(code__in={s.region_code for s in specs}).values_list("code", "id"))
    agencies = dict(Agency.objects.filter(code__in={s.agency_code for s in specs if s.agency_code})
                    .values_list("code", "id"))
    unit_users = {u.agency_code: u.username for u in p.users if u.role_code == "unit_accountant"}
    province_budget = division_user(p, "budget_division", orgs_demo.DEMO_PROVINCE_CODE)
    existing = {i.code: i for i in Indicator.objects.filter(
        fiscal_year=year, code__in=[s.code for s in specs], region_id__in=regions.values())}
    created = steps = 0
    progress = orgs_demo.Progress(write, "预算指标", len(specs))
    for spec in specs:
        clerk = users[division_user(p, "budget_division", spec.region_code)]
        reviewer = users[province_budget if clerk.username != province_budget else orgs_demo.SUPERUSER]
        ind = existing.get(spec.code)
        if ind is None:
            ind = services.create_indicator(user=clerk, data=services.IndicatorInput(
                fiscal_year=year, region_id=regions[spec.region_code], code=spec.code, title=spec.title,
                func_code=spec.func_code, gov_eco_code=spec.gov_eco_code, dept_eco_code=spec.dept_eco_code,
                fund_type=spec.fund_type, indicator_type=spec.indicator_type, pay_mode=spec.pay_mode,
                amount=spec.amount, agency_id=agencies.get(spec.agency_code or ""), doc_no=spec.doc_no,
                to_distribute=spec.to_distribute, doc_date=timezone.localdate().replace(month=1, day=5)))
            created += 1
        if ind.status == S.DRAFT:
            ind = services.submit_indicator(user=clerk, indicator_id=ind.pk, comment="演示数据：年初预算指标")
            steps += 1
        if ind.status == S.REVIEWING:
            services.review(user=reviewer, document=ind, action="approve", text="同意")
            ind.refresh_from_db()
            steps += 1
        if ind.status == S.DISTRIBUTED:
            confirmer = users.get(unit_users.get(spec.agency_code or "", ""), clerk)
            services.confirm(user=confirmer, indicator_id=ind.pk)
            steps += 1
        progress.advance(1)
    progress.close()
    return {"created": created, "steps": steps}

"""Demo budget preparation for the demo province (``fmis seed`` calls ``seed_demo``).

A round of next year's budget for the province (990000) at stage 一上: every agency of the
province gets its basic expenditure computed from the basic information (personnel and vehicles
of that year × the expenditure standards; agencies without basic information for the year get
two entered lines, 办公费 and 差旅费), plus the projects reserved in its library for that year.
The subordinate agency with a demo unit accountant submits its declaration, which its 主管部门
approves, so it waits in the province budget division's inbox; the department with a demo user
stays a draft for the demo user to submit.

Deterministic and idempotent: the round is opened once, computation is idempotent, lines and
submissions that exist are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from fmis.orgs import demo as orgs_demo

# functional class of basic expenditure by department family: (first-level agency, subordinate)
FUNC_BY_FAMILY = {"school": ("2050101", "2050204"), "health": ("2100101", "2100201"),
                  "police": ("2040201", "2040250"), "generic": ("2010101", "2010150")}
ENTERED = (("办公费", "30201", Decimal("36000.00")), ("差旅费", "30211", Decimal("18000.00")))


def fiscal_year() -> int:
    return timezone.localdate().year + 1


def _family(agency_code: str) -> str:
    dept_index = int(agency_code[6:9]) - 101
    return orgs_demo.DEPARTMENTS[dept_index % len(orgs_demo.DEPARTMENTS)][2]


def _division_user(p: orgs_demo.Plan) -> str:
    for u in p.users:
        if u.role_code == "budget_division" and u.region_code == orgs_demo.DEMO_PROVINCE_CODE:
            return u.username
    return orgs_demo.SUPERUSER


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    from fmis.budgeting import services
    from fmis.budgeting.models import BudgetLine, BudgetRound, Stage, Submission
    from fmis.iam.models import User
    from fmis.orgs.models import Agency, Region
    from fmis.platform.errors import DomainError

    p = orgs_demo.plan(scale)
    region = Region.objects.filter(code=orgs_demo.DEMO_PROVINCE_CODE).first()
    if region is None:
        return {"rounds": 0, "lines": 0}
    year = fiscal_year()
    users = {u.username: u for u in User.objects.filter(
        username__in=[u.username for u in p.users] + [orgs_demo.SUPERUSER])}
    division = users.get(_division_user(p)) or users.get(orgs_demo.SUPERUSER)
    if division is None:
        return {"rounds": 0, "lines": 0}
    rnd = BudgetRound.objects.filter(region=region, fiscal_year=year).first()
    opened = 0
    if rnd is None:
        rnd = services.open_round(user=division, region_id=region.pk, fiscal_year=year,
                                  name=f"{region.name}{year}年部门预算")
        opened = 1
    unit_users = {u.agency_code: users.get(u.username) for u in p.users
                  if u.role_code == "unit_accountant" and u.agency_code}
    agencies = list(Agency.objects.filter(region=region).order_by("code"))
    progress = orgs_demo.Progress(write, "预算编制", len(agencies))
    created = 0
    for agency in agencies:
        progress.advance(1)
        if rnd.stage != Stage.UP1 or BudgetLine.objects.filter(round=rnd, agency=agency).exists():
            continue
        actor = unit_users.get(agency.code) or division
        dept_func, sub_func = FUNC_BY_FAMILY[_family(agency.code)]
        func = dept_func if agency.parent_id is None else sub_func
        result = services.compute_basic(user=actor, round_id=rnd.pk, agency_id=agency.pk, func_code=func)
        if result.lines == 0:
            for title, eco, amount in ENTERED:
                services.add_line(user=actor, round_id=rnd.pk, agency_id=agency.pk, data=services.LineInput(
                    kind=BudgetLine.Kind.BASIC, title=title, func_code=func, dept_eco_code=eco, amount=amount))
        try:
            from fmis.projects import selectors as project_selectors

            entries = list(project_selectors.library(user=actor, fiscal_year=year, agency_id=agency.pk))
        except DomainError:
            entries = []
        if entries:
            try:
                services.add_project_lines(user=actor, round_id=rnd.pk, agency_id=agency.pk,
                                           choices=[services.ProjectChoice(project_id=e.project_id) for e in entries])
            except DomainError:
                pass  # a project whose classification does not fit stays in the library for the unit to choose
        created += BudgetLine.objects.filter(round=rnd, agency=agency).count()
        # the subordinate with a demo user declares; its 主管部门 approves; the division's inbox gets it
        if agency.parent_id is not None and agency.code in unit_users:
            supervisor = unit_users.get(agency.code[:9])
            sub = services.submit(user=unit_users[agency.code], round_id=rnd.pk, agency_id=agency.pk,
                                  comment="演示数据：一上申报")
            if supervisor is not None and sub.status == Submission.Status.SUBMITTED:
                services.review(user=supervisor, submission_id=sub.pk, action="approve", text="同意，报预算处")
    progress.close()
    return {"rounds": opened, "lines": created}

"""The demo round: opened at 一上 for next year, lines for every province agency, one
declaration waiting for the budget division; seeding again changes nothing."""

from __future__ import annotations

import pytest

from fmis.budgeting import demo
from fmis.budgeting.models import BudgetLine, BudgetRound, Stage, Submission
from fmis.orgs import demo as orgs_demo
from fmis.orgs.models import Agency


def snapshot():
    return list(BudgetLine.objects.order_by("pk").values_list("pk", "agency__code", "dept_eco_code", "amount_applied"))


@pytest.mark.django_db
def test_demo_round_and_idempotent():
    from fmis.dictionary.services import preload_standard

    preload_standard()
    orgs_demo.seed(scale="small")
    result = demo.seed_demo(scale="small")
    rnd = BudgetRound.objects.get(region__code=orgs_demo.DEMO_PROVINCE_CODE, fiscal_year=demo.fiscal_year())
    assert rnd.stage == Stage.UP1 and result["rounds"] == 1
    province_agencies = set(Agency.objects.filter(region=rnd.region).values_list("pk", flat=True))
    assert set(BudgetLine.objects.filter(round=rnd).values_list("agency_id", flat=True)) == province_agencies
    waiting = Submission.objects.get(round=rnd, status=Submission.Status.SUBMITTED)
    assert waiting.agency.parent_id is not None
    before = snapshot()
    again = demo.seed_demo(scale="small")
    assert again["rounds"] == 0 and snapshot() == before

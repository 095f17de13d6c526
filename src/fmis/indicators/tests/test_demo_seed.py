"""The demo indicators: entered, reviewed and confirmed through the services, deterministic,
idempotent (also when a run stopped half-way), and every indicator's figures equal the sum of its
movements."""

from __future__ import annotations

import pytest

from fmis.iam.models import User
from fmis.indicators import demo, services
from fmis.indicators.ledger import check_ledger
from fmis.indicators.models import Indicator, Movement
from fmis.orgs import demo as orgs_demo
from fmis.orgs.models import Agency


def snapshot() -> list[tuple]:
    return list(Indicator.objects.order_by("code").values_list(
        "code", "region__code", "agency__code", "status", "pay_mode", "func_code", "gov_eco_code", "dept_eco_code",
        "fund_type", "indicator_type", "total", "available"))


def test_plan_is_deterministic_with_real_classes_and_both_pay_modes():
    specs = demo.plan("small")
    assert specs == demo.plan("small")
    assert len({s.code for s in specs}) == len(specs)
    assert {s.pay_mode for s in specs} == {"direct", "authorized"}
    assert set(demo.unit_agency_codes("small")) <= {s.agency_code for s in specs}
    assert [s.code for s in specs if s.to_distribute] == [f"ZB{demo.fiscal_year()}990101DF01"]
    assert all(10_000 <= s.amount <= 10_000_000 for s in specs)
    assert {s.dept_eco_code for s in specs} >= {"30201"} and {s.fund_type for s in specs} == {"1"}


@pytest.mark.django_db
def test_demo_indicators_go_through_the_lifecycle_and_seeding_again_changes_nothing():
    orgs_demo.seed(scale="small")
    specs = demo.plan("small")
    # a first run that stopped after submitting one indicator: the seed takes it from there
    first_spec = specs[0]
    clerk = User.objects.get(username="prov_budget")
    agency = Agency.objects.get(code=first_spec.agency_code)
    left = services.create_indicator(user=clerk, data=services.IndicatorInput(
        fiscal_year=demo.fiscal_year(), region_id=agency.region_id, code=first_spec.code, title=first_spec.title,
        func_code=first_spec.func_code, gov_eco_code=first_spec.gov_eco_code,
        dept_eco_code=first_spec.dept_eco_code, fund_type="1", indicator_type="1", pay_mode=first_spec.pay_mode,
        amount=first_spec.amount, agency_id=agency.pk))
    services.submit_indicator(user=clerk, indicator_id=left.pk)

    result = demo.seed_demo(scale="small", write=None)
    assert result["created"] == len(specs) - 1
    by_code = {i.code: i for i in Indicator.objects.all()}
    assert set(by_code) == {s.code for s in specs}
    for s in specs:
        ind = by_code[s.code]
        assert (ind.total, ind.available, ind.pay_mode, ind.func_code) == (s.amount, s.amount, s.pay_mode, s.func_code)
        assert ind.status == ("undistributed" if s.to_distribute else "executable")
        assert check_ledger(ind.pk) == []
        assert Movement.objects.filter(indicator=ind, kind="issue").count() == 1
    # the unit's accountant confirmed the indicators of their own unit
    unit_acct = User.objects.get(username=f"unit_{first_spec.agency_code}_acct")
    from fmis.platform.models import AuditRecord

    assert AuditRecord.objects.filter(action="indicators.indicator.confirm", actor_id=unit_acct.pk).exists()

    rows, moves = snapshot(), Movement.objects.count()
    assert demo.seed_demo(scale="small", write=None) == {"created": 0, "steps": 0}
    assert snapshot() == rows and Movement.objects.count() == moves

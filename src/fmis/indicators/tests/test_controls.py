"""Control rules: the most specific rule decides; available can never go below zero."""

from decimal import Decimal

import pytest

from fmis.indicators import services
from fmis.indicators.controls import check_application, rule_for
from fmis.indicators.models import ControlRule
from fmis.platform.errors import Conflict, PermissionDenied, ValidationFailed


def app(ind, amount="100.00", **kw):
    base = {"indicator": ind, "amount": amount, "func_code": ind.func_code, "gov_eco_code": ind.gov_eco_code,
                "dept_eco_code": ind.dept_eco_code, "fund_type": ind.fund_type, "pay_mode": ind.pay_mode}
    base.update(kw)
    return check_application(**base)


def rule(world, **kw):
    return services.save_control_rule(user=world.budget, data=services.RuleInput(
        fiscal_year=2026, region_id=world.region.pk, **kw))


@pytest.mark.django_db
def test_default_is_hard_exact(world, executable):
    a, _ = executable
    assert rule_for(a).level == ControlRule.Level.HARD
    assert app(a) == []
    with pytest.raises(ValidationFailed) as err:
        app(a, func_code="2010102")
    assert err.value.field == "func_code"
    with pytest.raises(Conflict) as err:
        app(a, amount="10000.01")
    assert err.value.code == "indicator.insufficient" and err.value.field == "amount"
    with pytest.raises(ValidationFailed) as err:
        app(a, pay_mode="direct")
    assert err.value.field == "pay_mode"
    with pytest.raises(ValidationFailed) as err:
        app(a, fund_type="12")
    assert err.value.field == "fund_type"


@pytest.mark.django_db
def test_most_specific_rule_wins(world, executable):
    a, _ = executable
    rule(world, level="none")
    rule(world, level="warning", match="subtree", func_prefix="201")
    specific = rule(world, level="hard", match="subtree", func_prefix="20101", fund_type="11", threshold_percent="50")
    assert rule_for(a).rule_id == specific.pk
    assert app(a, func_code="201010199"[:7]) == []  # its own code is inside its subtree
    with pytest.raises(Conflict) as err:
        app(a, amount="5000.01")  # would leave 4,999.99 < 50 % of 10,000.00
    assert err.value.code == "indicators.control.below_threshold"
    assert app(a, amount="5000.00") == []
    specific.delete()
    # now the warning rule on functional class 201 is the most specific: 50202 is not below 50201
    warnings = app(a, amount="9000.00", gov_eco_code="50202")
    assert [(w.code, w.field) for w in warnings] == [("indicators.control.class_mismatch", "gov_eco_code")]
    ControlRule.objects.filter(func_prefix="201").delete()
    assert app(a, amount="9000.00", gov_eco_code="50202") == []  # the region-wide "none" rule


@pytest.mark.django_db
def test_warning_rule_accepts_with_warnings_and_none_skips(world, executable):
    a, _ = executable
    r = rule(world, level="warning", threshold_percent="20")
    warnings = app(a, amount="9000.00", gov_eco_code="50202")
    assert {w.field for w in warnings} == {"gov_eco_code", "amount"}
    r.level = "none"
    r.save()
    assert app(a, amount="9000.00", gov_eco_code="50202") == []
    with pytest.raises(Conflict):  # whatever the rule: never beyond available
        app(a, amount="10000.01")


@pytest.mark.django_db
def test_plan_required(world, executable):
    a, _ = executable
    rule(world, require_plan=True)
    with pytest.raises(ValidationFailed) as err:
        app(a)
    assert err.value.field == "plan"
    with pytest.raises(Conflict):
        app(a, amount="200.00", plan_available=Decimal("199.99"))
    assert app(a, amount="200.00", plan_available=Decimal("200.00")) == []


@pytest.mark.django_db
def test_non_executable_indicator_refused(world):
    ind = services.create_indicator(user=world.budget, data=world.entry())
    with pytest.raises(Conflict) as err:
        app(ind)
    assert err.value.code == "indicator.not_executable"


@pytest.mark.django_db
def test_rule_validation(world):
    with pytest.raises(ValidationFailed) as err:
        rule(world, func_prefix="999")
    assert err.value.field == "func_prefix"
    with pytest.raises(ValidationFailed) as err:
        rule(world, threshold_percent="101")
    assert err.value.field == "threshold_percent"
    rule(world, fund_type="11")
    with pytest.raises(Conflict):
        rule(world, fund_type="11", level="none")
    with pytest.raises(PermissionDenied):
        services.save_control_rule(user=world.outsider, data=services.RuleInput(
            fiscal_year=2026, region_id=world.region.pk))
    assert ControlRule.objects.count() == 1

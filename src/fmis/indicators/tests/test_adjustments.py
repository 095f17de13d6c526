"""Adjustment documents: created as drafts, reviewed, applied through the ledger on approval."""

from decimal import Decimal

import pytest

from fmis.indicators import ledger, services
from fmis.indicators.models import Adjustment, Indicator, Movement
from fmis.indicators.tests.conftest import approve
from fmis.platform.errors import Conflict, PermissionDenied, ValidationFailed
from fmis.platform.models import EventRecord

AK = Adjustment.Kind
K = Movement.Kind
L = services.LineInput


def run(world, reviewer, kind, lines, reason="年中调整"):
    adj = services.create_adjustment(user=world.budget, kind=kind, reason=reason, lines=lines)
    services.submit_adjustment(user=world.budget, adjustment_id=adj.pk)
    approve(Adjustment.objects.get(pk=adj.pk), reviewer)
    return Adjustment.objects.get(pk=adj.pk)


def figures(ind):
    ind.refresh_from_db()
    return ind.total, ind.frozen, ind.available


@pytest.mark.django_db
def test_each_kind_applies_on_approval_and_figures_equal_movements(world, reviewer, executable):
    a, b = executable
    adj = services.create_adjustment(user=world.budget, kind=AK.ADJUST_UP, reason="追加", lines=[L(a.pk, "1000.00")])
    assert figures(a) == (Decimal("10000.00"), 0, Decimal("10000.00"))  # a draft changes nothing
    services.submit_adjustment(user=world.budget, adjustment_id=adj.pk)
    arrived = EventRecord.objects.filter(name=services.EVENT_QUOTA_ARRIVED).count()
    approve(Adjustment.objects.get(pk=adj.pk), reviewer)
    assert Adjustment.objects.get(pk=adj.pk).status == Adjustment.Status.APPLIED
    assert figures(a) == (Decimal("11000.00"), 0, Decimal("11000.00"))
    assert EventRecord.objects.filter(name=services.EVENT_QUOTA_ARRIVED).count() == arrived + 1
    mv = Movement.objects.filter(indicator=a).latest("id")
    assert (mv.kind, mv.source_type, mv.source_id, mv.source_no) == (
        K.ADJUST_UP, services.DOC_ADJUSTMENT, adj.pk, adj.number)

    run(world, reviewer, AK.ADJUST_DOWN, [L(a.pk, "500.00")])
    assert figures(a) == (Decimal("10500.00"), 0, Decimal("10500.00"))
    assert EventRecord.objects.filter(name=services.EVENT_QUOTA_REDUCED).latest("id").payload["amount"] == "500.00"
    run(world, reviewer, AK.TRANSFER, [L(a.pk, "2500.00", target_id=b.pk)])
    assert figures(a)[0] == Decimal("8000.00") and figures(b)[0] == Decimal("7500.00")
    run(world, reviewer, AK.FREEZE, [L(a.pk, "3000.00")])
    assert figures(a) == (Decimal("8000.00"), Decimal("3000.00"), Decimal("5000.00"))
    run(world, reviewer, AK.UNFREEZE, [L(a.pk, "1000.00")])
    assert figures(a) == (Decimal("8000.00"), Decimal("2000.00"), Decimal("6000.00"))
    run(world, reviewer, AK.ADVANCE, [L(b.pk, "100.00")])
    assert figures(b)[0] == Decimal("7600.00")
    run(world, reviewer, AK.RECOVER, [L(b.pk, "600.00")])
    assert figures(b)[0] == Decimal("7000.00")
    for ind in (a, b):
        assert ledger.check_ledger(ind.pk) == []


@pytest.mark.django_db
def test_carry_over_creates_next_year_indicator_with_lineage(world, reviewer, executable):
    a, _ = executable
    ledger.move(indicator_id=a.pk, kind=K.RESERVE, amount="1000.00", user=world.unit1)
    ledger.move(indicator_id=a.pk, kind=K.CONSUME, amount="1000.00", user=world.unit1)
    adj = run(world, reviewer, AK.CARRY_OVER, [L(a.pk, "")], reason="年末结转")  # blank: all available
    assert adj.lines.get().amount == Decimal("9000.00")
    a.refresh_from_db()
    assert a.available == 0 and a.consumed == Decimal("1000.00")
    nxt = Indicator.objects.get(source=a, fiscal_year=2027)
    assert (nxt.total, nxt.indicator_type, nxt.agency, nxt.status) == (
        Decimal("9000.00"), services.CARRY_OVER_TYPE, world.a1, Indicator.Status.EXECUTABLE)
    assert adj.lines.get().target == nxt
    assert Movement.objects.get(indicator=nxt).kind == K.CARRY_OVER_IN
    assert ledger.check_ledger(a.pk) == [] and ledger.check_ledger(nxt.pk) == []


@pytest.mark.django_db
def test_approval_refused_when_the_ledger_refuses_and_nothing_is_written(world, reviewer, executable):
    a, b = executable
    adj = services.create_adjustment(user=world.budget, kind=AK.TRANSFER, reason="调剂",
                                      lines=[L(a.pk, "4000.00", target_id=b.pk)])
    services.submit_adjustment(user=world.budget, adjustment_id=adj.pk)
    # meanwhile the unit spends: the transfer no longer fits
    ledger.move(indicator_id=a.pk, kind=K.RESERVE, amount="7000.00", user=world.unit1)
    count = Movement.objects.count()
    with pytest.raises(Conflict) as err:
        approve(Adjustment.objects.get(pk=adj.pk), reviewer)
    assert err.value.code == "indicator.insufficient" and "第 1 行" in err.value.message
    assert Movement.objects.count() == count
    assert Adjustment.objects.get(pk=adj.pk).status == Adjustment.Status.REVIEWING
    assert figures(b)[0] == Decimal("5000.00")


@pytest.mark.django_db
def test_bad_adjustment_lines_name_line_and_field(world, executable):
    a, b = executable
    with pytest.raises(ValidationFailed) as err:
        services.create_adjustment(user=world.budget, kind=AK.ADJUST_DOWN, reason="x",
                                   lines=[L(a.pk, "1.00"), L(b.pk, "5000.01"), L(987654, "1.00")])
    assert [(e["line"], e["field"]) for e in err.value.errors] == [(2, "amount"), (3, "indicator")]
    with pytest.raises(ValidationFailed) as err:
        services.create_adjustment(user=world.budget, kind=AK.TRANSFER, reason="x", lines=[L(a.pk, "1.00")])
    assert err.value.errors[0]["field"] == "target"
    with pytest.raises(ValidationFailed) as err:
        services.create_adjustment(user=world.budget, kind=AK.ADJUST_UP, reason=" ", lines=[L(a.pk, "1.00")])
    assert err.value.field == "reason"
    with pytest.raises(PermissionDenied):
        services.create_adjustment(user=world.unit1, kind=AK.ADJUST_UP, reason="x", lines=[L(a.pk, "1.00")])
    with pytest.raises(ValidationFailed):  # another region's budget division does not see these indicators
        services.create_adjustment(user=world.outsider, kind=AK.ADJUST_UP, reason="x", lines=[L(a.pk, "1.00")])
    assert not Adjustment.objects.exists()


@pytest.mark.django_db
def test_frozen_amount_cannot_be_reserved(world, reviewer, executable):
    a, _ = executable
    run(world, reviewer, AK.FREEZE, [L(a.pk, "10000.00")])
    with pytest.raises(Conflict) as err:
        ledger.move(indicator_id=a.pk, kind=K.RESERVE, amount="0.01", user=world.unit1)
    assert err.value.code == "indicator.insufficient" and "冻结" in err.value.message

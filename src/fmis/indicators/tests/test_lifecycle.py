"""Entry → review → 待分 → distribution → unit confirmation → executable, on the review chain."""

from decimal import Decimal

import pytest

from fmis.indicators import ledger, services
from fmis.indicators.models import Indicator, Movement
from fmis.indicators.tests.conftest import approve
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import EventRecord

S = Indicator.Status
K = Movement.Kind


@pytest.mark.django_db
def test_entry_review_distribution_confirmation_end_to_end(world, reviewer):
    ind = services.create_indicator(user=world.budget, data=world.entry())
    assert (ind.status, ind.total, ind.amount) == (S.DRAFT, Decimal("0.00"), Decimal("10000.00"))
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    ind.refresh_from_db()
    assert ind.status == S.REVIEWING and ind.total == 0

    approve(ind, reviewer)
    ind.refresh_from_db()
    assert (ind.status, ind.total, ind.available) == (S.UNDISTRIBUTED, Decimal("10000.00"), Decimal("10000.00"))
    assert list(Movement.objects.filter(indicator=ind).values_list("kind", "source_type", "source_id")) == [
        (K.ISSUE, services.DOC_INDICATOR, ind.pk)]

    children = services.distribute(user=world.budget, indicator_id=ind.pk, total="10000.00", splits=[
        services.Split(world.a1.pk, "6000.00"), services.Split(world.a2.pk, "4000.00")])
    ind.refresh_from_db()
    assert ind.available == 0 and ind.total == 0
    c1, c2 = (Indicator.objects.get(pk=c.pk) for c in children)
    assert (c1.agency, c1.total, c1.status, c1.source) == (world.a1, Decimal("6000.00"), S.DISTRIBUTED, ind)
    assert (c1.func_code, c1.gov_eco_code, c1.fund_type, c1.pay_mode) == (
        ind.func_code, ind.gov_eco_code, ind.fund_type, ind.pay_mode)
    assert set(ind.derived.all()) == {c1, c2}
    out = Movement.objects.get(indicator=ind, kind=K.DISTRIBUTE_OUT, counterpart=c1)
    assert out.d_total == Decimal("-6000.00")

    # reserve is refused until the unit confirms
    with pytest.raises(Conflict) as err:
        ledger.move(indicator_id=c1.pk, kind=K.RESERVE, amount="1.00", user=world.unit1)
    assert err.value.code == "indicator.not_executable"

    # the other unit cannot confirm a1's indicator: it does not even exist for them
    with pytest.raises(NotFound):
        services.confirm(user=world.unit2, indicator_id=c1.pk)
    before = EventRecord.objects.filter(name=services.EVENT_QUOTA_ARRIVED).count()
    services.confirm(user=world.unit1, indicator_id=c1.pk)
    c1.refresh_from_db()
    assert c1.status == S.EXECUTABLE and c1.confirmed_at is not None
    ev = EventRecord.objects.filter(name=services.EVENT_QUOTA_ARRIVED).order_by("-id").first()
    assert EventRecord.objects.filter(name=services.EVENT_QUOTA_ARRIVED).count() == before + 1
    assert ev.payload["amount"] == "6000.00" and ev.payload["agency"] == world.a1.code
    assert ev.payload["func_code"] == "2010101" and ev.payload["pay_mode"] == "authorized"
    assert ev.payload["region"] == world.region.code and ev.payload["indicator_id"] == c1.pk
    with pytest.raises(Conflict):
        services.confirm(user=world.unit1, indicator_id=c1.pk)
    ledger.move(indicator_id=c1.pk, kind=K.RESERVE, amount="1.00", user=world.unit1)
    for i in (ind, c1, c2):
        assert ledger.check_ledger(i.pk) == []


@pytest.mark.django_db
def test_direct_indicator_skips_distribution(world, reviewer):
    ind = services.create_indicator(user=world.budget, data=world.entry(agency_id=world.a2.pk, to_distribute=False))
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    approve(ind, reviewer)
    ind.refresh_from_db()
    assert ind.status == S.DISTRIBUTED and ind.total == Decimal("10000.00")
    with pytest.raises(Conflict) as err:
        services.distribute(user=world.budget, indicator_id=ind.pk, splits=[services.Split(world.a1.pk, "1.00")])
    assert err.value.code == "indicator.not_undistributed"
    services.confirm(user=world.unit2, indicator_id=ind.pk)
    assert Indicator.objects.get(pk=ind.pk).status == S.EXECUTABLE


@pytest.mark.django_db
def test_return_and_reject_follow_the_review(world, reviewer):
    ind = services.create_indicator(user=world.budget, data=world.entry())
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    services.review(user=reviewer, document=ind, action="return", text="金额有误")
    ind.refresh_from_db()
    assert ind.status == S.DRAFT and ind.total == 0
    services.update_indicator(user=world.budget, indicator_id=ind.pk, data=world.entry(amount="9000.00"))
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    services.review(user=reviewer, document=ind, action="reject", text="不予安排")
    ind.refresh_from_db()
    assert ind.status == S.REJECTED and ind.total == 0 and not Movement.objects.filter(indicator=ind).exists()


@pytest.mark.django_db
def test_classification_not_in_dictionary_is_refused_naming_the_field(world):
    for field, bad in [("func_code", "9999999"), ("gov_eco_code", "50298"), ("fund_type", "77"),
                       ("dept_eco_code", ""), ("indicator_type", "99")]:
        with pytest.raises(ValidationFailed) as err:
            services.create_indicator(user=world.budget, data=world.entry(**{field: bad}))
        assert err.value.field == field
    assert not Indicator.objects.exists()


@pytest.mark.django_db
def test_entry_outside_scope_or_without_function_is_refused(world):
    with pytest.raises(PermissionDenied):
        services.create_indicator(user=world.outsider, data=world.entry())
    with pytest.raises(PermissionDenied):
        services.create_indicator(user=world.unit1, data=world.entry(agency_id=world.a1.pk, to_distribute=False))
    assert not Indicator.objects.exists()


@pytest.mark.django_db
def test_split_that_does_not_add_up_changes_nothing(world, reviewer):
    ind = services.create_indicator(user=world.budget, data=world.entry())
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    approve(ind, reviewer)
    count = Movement.objects.count()
    with pytest.raises(ValidationFailed) as err:
        services.distribute(user=world.budget, indicator_id=ind.pk, total="10000.00", splits=[
            services.Split(world.a1.pk, "6000.00"), services.Split(world.a2.pk, "3999.99")])
    assert err.value.code == "indicator.split_mismatch" and err.value.field == "lines"
    with pytest.raises(ValidationFailed) as err:
        services.distribute(user=world.budget, indicator_id=ind.pk, splits=[
            services.Split(world.a1.pk, "6000.00"), services.Split(world.b1.pk, "4000.00")])
    assert err.value.errors[0]["line"] == 2 and err.value.errors[0]["field"] == "agency"
    with pytest.raises(Conflict):
        services.distribute(user=world.budget, indicator_id=ind.pk, total="10000.01", splits=[
            services.Split(world.a1.pk, "10000.01")])
    assert Movement.objects.count() == count and Indicator.objects.count() == 1
    # partial distribution leaves the rest 待分
    services.distribute(user=world.budget, indicator_id=ind.pk, total="2500.00",
                        splits=[services.Split(world.a1.pk, "2500.00")])
    ind.refresh_from_db()
    assert ind.status == S.UNDISTRIBUTED and ind.available == Decimal("7500.00")

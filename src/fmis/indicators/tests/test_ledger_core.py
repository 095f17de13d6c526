from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection

from fmis.indicators import ledger
from fmis.indicators.models import Indicator, Movement
from fmis.platform.errors import Conflict

K = Movement.Kind


@pytest.fixture
def executable(make_region, make_agency, make_user):
    region = make_region("990100")
    agency = make_agency("990100101", region)
    user = make_user("ledger_user", region=region)
    ind = Indicator.objects.create(
        fiscal_year=2026, region=region, agency=agency, code="IND-1", title="办公经费", func_code="2010101",
        gov_eco_code="50201", dept_eco_code="30201", fund_type="1", indicator_type="1",
        pay_mode=Indicator.PayMode.AUTHORIZED, status=Indicator.Status.EXECUTABLE, created_by=user)
    ledger.move(indicator_id=ind.pk, kind=K.ISSUE, amount=Decimal("5000.00"), user=user)
    return ind, user


@pytest.mark.django_db
def test_reserve_consume_refund_keep_figures_equal_to_movements(executable):
    ind, user = executable
    ledger.move(indicator_id=ind.pk, kind=K.RESERVE, amount="1200.50", user=user)
    ledger.move(indicator_id=ind.pk, kind=K.CONSUME, amount="1000.00", user=user)
    ledger.move(indicator_id=ind.pk, kind=K.RELEASE, amount="200.50", user=user)
    ledger.move(indicator_id=ind.pk, kind=K.REFUND, amount="300.00", user=user)
    ind.refresh_from_db()
    assert (ind.total, ind.reserved, ind.consumed, ind.available) == (
        Decimal("5000.00"), Decimal("0.00"), Decimal("700.00"), Decimal("4300.00"))
    assert ledger.check_ledger(ind.pk) == []


@pytest.mark.django_db
def test_overspend_refused_with_reason_and_nothing_written(executable):
    ind, user = executable
    with pytest.raises(Conflict) as err:
        ledger.move(indicator_id=ind.pk, kind=K.RESERVE, amount="5000.01", user=user)
    assert err.value.code == "indicator.insufficient"
    assert Movement.objects.filter(indicator=ind).count() == 1


@pytest.mark.django_db
def test_movements_are_append_only(executable):
    ind, _ = executable
    with pytest.raises(DatabaseError), connection.cursor() as cur:
        cur.execute("UPDATE indicators_movement SET d_total = 1 WHERE indicator_id = %s", [ind.pk])


@pytest.mark.django_db(transaction=True)
def test_parallel_reservations_never_overspend(executable):
    ind, user = executable
    amounts = [Decimal("37.50")] * 200  # 7,500.00 asked, 5,000.00 available

    def try_reserve(amount):
        try:
            ledger.move(indicator_id=ind.pk, kind=K.RESERVE, amount=amount, user=user)
            return "ok"
        except Conflict:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(try_reserve, amounts))
    ind.refresh_from_db()
    assert ind.reserved == Decimal("37.50") * results.count("ok") <= ind.total
    assert results.count("refused") > 0
    assert ledger.check_ledger(ind.pk) == []

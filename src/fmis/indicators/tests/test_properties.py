"""Property test: random sequences of ledger operations over a few indicators keep invariant 3.

A model of the figures predicts, for every step, whether the ledger must accept or refuse it;
after every step each figure is ≥ 0, available ≥ 0, figures equal the sum of movements, and a
refused step changed nothing.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmis.indicators import ledger
from fmis.indicators.models import Indicator, Movement
from fmis.platform.errors import DomainError

K = Movement.Kind
N = 3

SINGLE = [K.ISSUE, K.ADJUST_UP, K.ADJUST_DOWN, K.FREEZE, K.UNFREEZE, K.RESERVE, K.CONSUME, K.RELEASE, K.REFUND,
          K.ADVANCE, K.RECOVER]
PAIRS = [(K.TRANSFER_OUT, K.TRANSFER_IN), (K.CORRECT_OUT, K.CORRECT_IN)]

amounts = st.integers(min_value=1, max_value=400_000).map(lambda fen: Decimal(fen) / 100)
single = st.tuples(st.just("one"), st.sampled_from(SINGLE), st.integers(0, N - 1), st.just(0), amounts)
pair = st.tuples(st.just("two"), st.sampled_from(PAIRS), st.integers(0, N - 1), st.integers(0, N - 1), amounts)
steps = st.lists(st.one_of(single, pair), min_size=1, max_size=25)


def model_apply(fig: dict, kind: str, amt: Decimal) -> bool:
    """Apply `kind` to the model figures if the ledger must accept it; False if it must refuse."""
    t, f, r, c = fig["total"], fig["frozen"], fig["reserved"], fig["consumed"]
    avail = t - f - r - c
    if kind in (K.ISSUE, K.ADJUST_UP, K.ADVANCE, K.TRANSFER_IN):
        fig["total"] = t + amt
    elif kind in (K.ADJUST_DOWN, K.RECOVER, K.TRANSFER_OUT):
        if avail < amt:
            return False
        fig["total"] = t - amt
    elif kind == K.FREEZE:
        if avail < amt:
            return False
        fig["frozen"] = f + amt
    elif kind == K.UNFREEZE:
        if f < amt:
            return False
        fig["frozen"] = f - amt
    elif kind == K.RESERVE:
        if avail < amt:
            return False
        fig["reserved"] = r + amt
    elif kind == K.RELEASE:
        if r < amt:
            return False
        fig["reserved"] = r - amt
    elif kind == K.CONSUME:
        if r < amt:
            return False
        fig["reserved"], fig["consumed"] = r - amt, c + amt
    elif kind in (K.REFUND, K.CORRECT_OUT):
        if c < amt:
            return False
        fig["consumed"] = c - amt
    elif kind == K.CORRECT_IN:
        fig["consumed"] = c + amt
    return True


FIELDS = ("total", "frozen", "reserved", "consumed")


def db_figures(ids):
    return {row["pk"]: row for row in Indicator.objects.filter(pk__in=ids).values("pk", *FIELDS, "available")}


@pytest.fixture
def base(make_region, make_agency, make_user):
    region = make_region("980100")
    agency = make_agency("980100101", region)
    user = make_user("prop_user", region=region)
    return region, agency, user


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=steps)
def test_random_sequences_keep_the_invariants(base, seq):
    region, agency, user = base
    with transaction.atomic():
        inds = [Indicator.objects.create(
            fiscal_year=2026, region=region, agency=agency, code=f"P-{i}", title="性质测试", func_code="2010101",
            gov_eco_code="50201", dept_eco_code="30201", fund_type="11", indicator_type="12",
            pay_mode=Indicator.PayMode.AUTHORIZED, status=Indicator.Status.EXECUTABLE, created_by=user)
            for i in range(N)]
        ids = [i.pk for i in inds]
        model = {pk: dict.fromkeys(FIELDS, Decimal("0.00")) for pk in ids}
        for shape, kind, i, j, amt in seq:
            before = db_figures(ids)
            moves_before = Movement.objects.count()
            trial = {pk: dict(fig) for pk, fig in model.items()}
            if shape == "one":
                expect_ok = model_apply(trial[ids[i]], kind, amt)
                call = lambda: ledger.move(indicator_id=ids[i], kind=kind, amount=amt, user=user)  # noqa: B023
            else:
                out_kind, in_kind = kind
                expect_ok = i != j and model_apply(trial[ids[i]], out_kind, amt) and model_apply(
                    trial[ids[j]], in_kind, amt)
                call = lambda: ledger.move_between(
                    from_id=ids[i], to_id=ids[j], out_kind=out_kind, in_kind=in_kind, amount=amt, user=user)  # noqa: B023
            try:
                call()
                ok = True
            except DomainError:
                ok = False
            assert ok == expect_ok, (kind, i, j, amt, model)
            after = db_figures(ids)
            if ok:
                model = trial
            else:
                assert after == before and Movement.objects.count() == moves_before
            for pk in ids:
                fig = after[pk]
                assert all(fig[f] >= 0 for f in FIELDS) and fig["available"] >= 0
                assert fig["available"] == fig["total"] - fig["frozen"] - fig["reserved"] - fig["consumed"]
                assert {f: fig[f] for f in FIELDS} == model[pk]
                assert ledger.ledger_totals(pk) == {f: fig[f] for f in FIELDS}
        transaction.set_rollback(True)

"""Threads paying against and transferring between the same indicators, in both directions:
no overspend, figures equal movements, no raw database error (deadlocks are retried)."""

import random
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from fmis.indicators import ledger, services
from fmis.indicators.models import Adjustment, Indicator, Movement
from fmis.indicators.tests.conftest import approve
from fmis.platform import audit
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict

K = Movement.Kind


@retry_on_conflict
def pay(indicator_id: int, amount: Decimal, user, audit_first: bool):
    """What a payment does to the indicator: reserve on submission, consume on the bank receipt.

    Services lock indicator rows before the audit chain's lock (review transitions pre-lock them).
    With `audit_first` this payment takes the audit lock first, the opposite order, so
    transactions deadlock now and then: PostgreSQL aborts one and ``retry_on_conflict`` runs it
    again; the caller never sees a raw database error."""
    if audit_first:
        audit.record(user, "test.pay", None, object_type="test.payment", object_id=indicator_id,
                     after={"amount": amount})
    ledger.move(indicator_id=indicator_id, kind=K.RESERVE, amount=amount, user=user)
    ledger.move(indicator_id=indicator_id, kind=K.CONSUME, amount=amount, user=user)
    if not audit_first:
        audit.record(user, "test.pay", None, object_type="test.payment", object_id=indicator_id,
                     after={"amount": amount})


def fast_deadlock_detection():
    """Detect deadlocks after 20 ms instead of PostgreSQL's default second (test connection only)."""
    with connection.cursor() as cur:
        cur.execute("SET deadlock_timeout = '20ms'")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("audit_first", [True, False])
def test_pays_and_opposite_transfers_never_overspend(world, reviewer, executable, audit_first):
    a, b = executable  # 10,000.00 and 5,000.00
    ids = (a.pk, b.pk)
    paid = {a.pk: [], b.pk: []}
    outcomes = []

    def payer(seed):
        rnd = random.Random(seed)
        fast_deadlock_detection()
        try:
            for _ in range(8):
                ind = rnd.choice(ids)
                amount = Decimal(rnd.randint(20_000, 80_000)) / 100
                try:
                    pay(ind, amount, world.unit1, audit_first)
                    paid[ind].append(amount)
                    outcomes.append("paid")
                except Conflict as exc:
                    assert exc.code in ("indicator.insufficient", "db.busy"), exc.code
                    outcomes.append("refused")
        finally:
            connection.close()

    def transferrer(direction):
        src, dst = ids if direction else ids[::-1]
        fast_deadlock_detection()
        try:
            for _ in range(3):
                try:
                    adj = services.create_adjustment(user=world.budget, kind=Adjustment.Kind.TRANSFER, reason="调剂",
                                                     lines=[services.LineInput(src, "50.00", target_id=dst)])
                    services.submit_adjustment(user=world.budget, adjustment_id=adj.pk)
                    approve(Adjustment.objects.get(pk=adj.pk), reviewer)
                    outcomes.append("transferred")
                except Conflict as exc:
                    assert exc.code in ("indicator.insufficient", "db.busy"), exc.code
                    outcomes.append("refused")
                except services.ValidationFailed as exc:  # too little available when the draft was made
                    assert exc.code == "indicators.adjustment.invalid", exc.code
                    outcomes.append("refused")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(transferrer, d) for d in (0, 1)] + [pool.submit(payer, s) for s in range(5)]
        for f in futures:
            f.result()  # re-raises anything unexpected (a raw database error would fail here)

    inds = {i.pk: i for i in Indicator.objects.filter(pk__in=ids)}
    assert inds[a.pk].total + inds[b.pk].total == Decimal("15000.00")  # transfers conserve money
    for pk in ids:
        ind = inds[pk]
        assert ind.available >= 0 and ind.reserved == 0
        assert ind.consumed == sum(paid[pk], start=Decimal("0.00"))
        assert ledger.check_ledger(pk) == []
    assert "refused" in outcomes and "paid" in outcomes and "transferred" in outcomes

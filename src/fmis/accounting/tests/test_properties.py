"""Property tests: random balanced vouchers posted and un-posted in random order keep the balance
table equal to the sum of the posted lines; unbalanced vouchers are refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmis.accounting import services
from fmis.accounting.models import Balance, Voucher
from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.platform.errors import ValidationFailed

pytestmark = pytest.mark.django_db

FA = ["1001", "1002", "1011", "2201", "4001", "5001", "5101"]
BA = ["600101", "720101", "800101", "800102"]
amounts = st.integers(min_value=1, max_value=10_000_00).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def vouchers(draw):
    lines = []
    for pool in (FA, BA):
        if draw(st.booleans()) or not lines:
            n = draw(st.integers(min_value=1, max_value=3))
            debits = [draw(amounts) for _ in range(n)]
            codes = draw(st.lists(st.sampled_from(pool), min_size=n + 1, max_size=n + 1))
            lines += [dr(c, a) for c, a in zip(codes, debits, strict=False)]
            lines.append(cr(codes[-1], sum(debits)))
    month = draw(st.integers(min_value=1, max_value=4))
    return lines, dt.date(YEAR, month, 10)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(vouchers(), min_size=1, max_size=5),
       actions=st.lists(st.tuples(st.integers(min_value=0, max_value=4), st.booleans()), max_size=10))
def test_balances_equal_posted_lines(books, batch, actions):
    created = []
    for lines, on in batch:
        v = books.voucher(lines, on=on)
        services.audit_voucher(voucher_id=v.pk, user=books.auditor)
        created.append(v.pk)
    for idx, post in actions:
        pk = created[idx % len(created)]
        status = Voucher.objects.get(pk=pk).status
        if post and status == "audited":
            services.post_voucher(voucher_id=pk, user=books.auditor)
        elif not post and status == "posted":
            services.unpost_voucher(voucher_id=pk, user=books.auditor)
    assert services.check_balances(books.aset.pk) == []
    # every period's balances balance per basis
    for b_period in {b.period_id for b in Balance.objects.filter(account_set=books.aset)}:
        rows = Balance.objects.filter(period_id=b_period).select_related("account")
        for basis in ("financial", "budgetary"):
            assert sum((r.closing for r in rows if r.account.basis == basis), Decimal(0)) == 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(v=vouchers(), delta=st.integers(min_value=1, max_value=500).map(lambda c: Decimal(c).scaleb(-2)),
       which=st.integers(min_value=0, max_value=20))
def test_unbalanced_vouchers_are_refused(books, v, delta, which):
    lines, on = v
    target = lines[which % len(lines)]
    if target.debit:
        target.debit = Decimal(target.debit) + delta
    else:
        target.credit = Decimal(target.credit) + delta
    before = Voucher.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        books.voucher(lines, on=on)
    assert exc.value.code == "accounting.voucher_unbalanced"
    assert Voucher.objects.count() == before

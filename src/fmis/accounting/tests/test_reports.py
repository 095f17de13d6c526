"""Trial balance and ledgers read from the balance table, and drill down to vouchers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fmis.accounting import selectors
from fmis.accounting.tests.conftest import YEAR, cr, dr

pytestmark = pytest.mark.django_db


def test_trial_balance_and_ledgers(books):
    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)], on=dt.date(YEAR, 2, 3))
    v = books.post([dr("5001", 30, aux={"func": "2010101"}), cr("1011", 30), dr("720101", 30), cr("800101", 30)],
                   on=dt.date(YEAR, 3, 5))
    tb = selectors.trial_balance(user=books.entrant, aset_id=books.aset.pk, year=YEAR, number=3, level=1)
    rows = {r.code: r for r in tb.rows}
    assert rows["1011"].opening == Decimal("100.00") and rows["1011"].credit == Decimal("30.00")
    assert rows["1011"].closing == Decimal("70.00") and rows["1011"].cum_debit == Decimal("100.00")
    assert rows["8001"].closing == Decimal("70.00") and "800101" not in rows
    assert tb.balanced
    assert tb.totals["budgetary"]["closing_debit"] == Decimal("100.00")  # 8001 70 + 7201 30
    tb2 = selectors.trial_balance(user=books.entrant, aset_id=books.aset.pk, year=YEAR, number=3, level=2)
    assert {r.code for r in tb2.rows} >= {"800101", "720101", "1011"} and tb2.balanced
    _acc, gl = selectors.general_ledger(user=books.entrant, aset_id=books.aset.pk, code="1011", year=YEAR)
    assert gl[0].summary == "期初余额" and gl[-1].balance == Decimal("70.00")
    _acc, opening, rows = selectors.detail_ledger(user=books.entrant, aset_id=books.aset.pk, code="5001", year=YEAR,
                                                 number_from=3, number_to=3)
    assert opening == 0 and rows[0].voucher.pk == v.pk and rows[0].aux == {"func": "2010101"}
    # out of scope: not found
    from fmis.platform.errors import NotFound

    with pytest.raises(NotFound):
        selectors.trial_balance(user=books.outsider, aset_id=books.aset.pk, year=YEAR, number=3)


def test_voucher_search(books):
    v1 = books.post([dr("5001", 30, aux={"func": "2010101"}, summary="付办公费"), cr("1011", 30, summary="付办公费")],
                    on=dt.date(YEAR, 3, 5))
    v2 = books.voucher([dr("5101", 12, summary="差旅费"), cr("1002", 12, summary="差旅费")], on=dt.date(YEAR, 4, 9))

    def find(**kw):
        f = selectors.VoucherFilter(**kw)
        return {v.pk for v in selectors.vouchers(user=books.entrant, aset=books.aset, f=f)}

    assert find(q="办公") == {v1.pk}
    assert find(q="2010101") == {v1.pk}
    assert find(account="5101") == {v2.pk}
    assert find(amount="12") == {v2.pk}
    assert find(date_from=dt.date(YEAR, 4, 1)) == {v2.pk}
    assert find(date_to=dt.date(YEAR, 3, 31), status="posted") == {v1.pk}
    assert {v.pk for v in selectors.vouchers(user=books.outsider, aset=books.aset)} == set()

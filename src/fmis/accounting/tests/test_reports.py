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


def test_detail_ledger_pages_carry_the_balance_forward(books):
    """A page reads only its own lines; the balance before it (承前页) is summed in the database and
    every page's running balances equal those of the whole ledger."""
    books.post([dr("1011", 1000), cr("4001", 1000)], on=dt.date(YEAR, 1, 5))
    for i in range(7):
        books.post([dr("5001", 10 + i), cr("1011", 10 + i)], on=dt.date(YEAR, 2 + i % 3, 10 + i))
    _acc, opening, whole = selectors.detail_ledger(user=books.entrant, aset_id=books.aset.pk, code="1011", year=YEAR)
    assert len(whole) == 8 and whole[-1].balance == Decimal("1000.00") - sum(Decimal(10 + i) for i in range(7))
    seen = []
    for n in (1, 2, 3):
        page = selectors.detail_ledger_page(user=books.entrant, aset_id=books.aset.pk, code="1011", year=YEAR,
                                            page=n, size=3)
        expected_carried = opening if n == 1 else whole[(n - 1) * 3 - 1].balance
        assert page.carried == expected_carried and page.opening == opening
        seen.extend(page.rows)
    assert [(r.voucher.pk, r.balance) for r in seen] == [(r.voucher.pk, r.balance) for r in whole]
    assert page.page_obj.paginator.num_pages == 3 and len(page.rows) == 2


def test_detail_ledger_screen_is_paged(books, client):
    import re

    from django.urls import reverse

    from fmis.accounting.selectors import SESSION_KEY

    def voucher_links(html: str) -> int:
        return len(re.findall(r'href="/accounting/vouchers/\d+/"', html))

    books.post([dr("1011", 500), cr("4001", 500)], on=dt.date(YEAR, 1, 5))
    for i in range(101):
        books.post([dr("5001", 1), cr("1011", 1)], on=dt.date(YEAR, 3, 1 + i % 28))
    client.force_login(books.entrant)
    session = client.session
    session[SESSION_KEY] = books.aset.pk
    session.save()
    first = client.get(reverse("accounting:detail_ledger"), {"code": "1011", "year": YEAR}).content.decode()
    assert voucher_links(first) == 100 and ">期初余额</td>" in first and "第 1 / 2 页" in first
    second = client.get(reverse("accounting:detail_ledger"), {"code": "1011", "year": YEAR, "page": 2}).content.decode()
    # page 1 holds the 500 debit and 99 credits of 1: 401 carried; the page's two lines leave 400, 399
    assert "承前页" in second and "401.00" in second and ">期初余额</td>" not in second
    assert "400.00" in second and "399.00" in second and voucher_links(second) == 2

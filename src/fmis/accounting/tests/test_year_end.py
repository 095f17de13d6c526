"""The year-end closing sequence (notes §2.3) on worked entries of §2.2: carry-forward vouchers,
the month-end "carry-forwards done" check, year close with carried openings, year reopen, and two
year closes at once."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from fmis.accounting import services
from fmis.accounting.models import Balance, FiscalYear, OpeningBalance, Period, Voucher
from fmis.accounting.services import OpeningInput
from fmis.accounting.tests.conftest import YEAR, build_books, cr, dr
from fmis.platform.audit import AuditRecord
from fmis.platform.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db
D = Decimal


def closing(books, code, year=YEAR, number=13):
    rows = Balance.objects.filter(account_set=books.aset, period__year=year, period__number=number,
                                  account__code__startswith=code)
    return sum((b.closing for b in rows), D(0))


def worked_year(books):
    """Openings and a year of paired entries for an institution (事业单位)."""
    for code, amount in (("1002", "500"), ("3001", "500"), ("800102", "500"), ("820204", "500")):
        services.set_opening_balance(account_set_id=books.aset.pk, year=YEAR, user=books.entrant,
                                     row=OpeningInput(account_code=code, amount=amount))
    services.post_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    on = dt.date(YEAR, 6, 10)
    # 1 quota arrives; 2 office expenses from the quota
    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)], on=on)
    books.post([dr("5001", 30), cr("1011", 30), dr("720101", 30), cr("800101", 30)], on=on)
    # 5 depreciation (financial only)
    books.post([dr("5001", 2), dr("5101", "1.5"), cr("1602", "3.5")], on=on)
    # 13 sale on credit with VAT, then collection
    books.post([dr("1212", 58), cr("4401", 50), cr("2101", 8)], on=on)
    books.post([dr("1002", 58), cr("1212", 58), dr("800102", 58), cr("640102", 58)], on=on)
    # 12 borrowing (non-special debt revenue)
    books.post([dr("1002", 10), cr("2001", 10), dr("800102", 10), cr("650102", 10)], on=on)
    # special-purpose 事业 revenue, partly spent
    books.post([dr("1002", 20), cr("4101", 20), dr("800102", 20), cr("610101", 20)], on=on)
    books.post([dr("5001", 12), cr("1002", 12), dr("720102", 12), cr("800102", 12)], on=on)
    # operating expenditure
    books.post([dr("5201", 5), cr("1002", 5), dr("7301", 5), cr("800102", 5)], on=on)


def close_periods(books, year=YEAR, upto=13):
    for n in range(1, upto + 1):
        services.close_period(period_id=Period.objects.get(account_set=books.aset, year=year, number=n).pk,
                              user=books.auditor)


def test_full_year_end_sequence(books):
    worked_year(books)
    dec = Period.objects.get(account_set=books.aset, year=YEAR, number=12)
    close_periods(books, upto=11)
    problems = services.period_check(dec)
    assert any("年末结转未完成" in p and "4001" in p for p in problems)
    with pytest.raises(Conflict, match="年末结转未完成"):
        services.close_period(period_id=dec.pk, user=books.auditor)
    with pytest.raises(Conflict) as e:
        services.close_year(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert e.value.code == "accounting.year_periods_open"

    made = services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert [v.rule_code for v in made] == ["carry.budget", "carry.operating", "carry.other", "carry.distribution",
                                           "carry.income_expense", "carry.surplus", "carry.net_assets"]
    assert all(v.status == Voucher.Status.POSTED and v.is_machine and v.period_id == dec.pk
               and v.category.name == "结转凭证" and v.audited_by == books.admin and v.entered_by is None
               for v in made)
    assert [v.number for v in made] == list(range(1, 8))
    # income and expense of both bases are empty, the surpluses where the notes put them
    for code in ("4", "5", "6", "7", "3301", "3302", "8401", "8501", "8701"):
        assert closing(books, code, number=12) == 0, code
    assert closing(books, "810106") == D("-70.00")          # 100 appropriation − 30 spent
    assert closing(books, "820104") == D("-8.00")           # 20 special − 12 spent
    assert closing(books, "820204") == D("-563.00")         # 500 + 经营结余 53 + 其他结余 10
    assert closing(books, "8001") == D("641.00") == -(closing(books, "81") + closing(books, "82"))
    surplus = Balance.objects.get(account__code="3302", period__number=12)
    assert surplus.cum_credit == D("119.50") and surplus.closing == 0   # 本期盈余 170 − 50.5 via 本年盈余分配
    assert closing(books, "3001") == D("-619.50")
    assert closing(books, "1") + closing(books, "2") + closing(books, "3") == 0
    assert services.check_balances(books.aset.pk) == []
    assert services.period_check(dec) == []
    # the year's income before the carry-forward is still recoverable for the statements
    from fmis.accounting import selectors

    moves = selectors.carry_forward_movements(aset=books.aset, year=YEAR)
    assert moves["4001"] == (D("100.00"), D("0.00")) and moves["3301"] == (D("119.50"), D("119.50"))
    b4001 = Balance.objects.get(account__code="4001", period__number=12)
    assert b4001.cum_credit - b4001.cum_debit + moves["4001"][0] - moves["4001"][1] == D("100.00")
    with pytest.raises(Conflict) as e:
        services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert e.value.code == "accounting.carry_nothing"

    for n in (12, 13):
        services.close_period(period_id=Period.objects.get(account_set=books.aset, year=YEAR, number=n).pk,
                              user=books.auditor)
    fy = services.close_year(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert fy.status == FiscalYear.Status.CLOSED and fy.created_next_periods
    nxt = FiscalYear.objects.get(account_set=books.aset, year=YEAR + 1)
    assert nxt.opening_status == FiscalYear.OpeningStatus.POSTED and nxt.opening_source == "carried"
    assert Period.objects.filter(account_set=books.aset, year=YEAR + 1).count() == 13
    # next year's openings equal this year's closings, account by account
    this = {(b.account.code, b.aux_hash): b.closing for b in
            Balance.objects.filter(account_set=books.aset, period__year=YEAR, period__number=13).exclude(closing=0)
            .select_related("account")}
    first = {(b.account.code, b.aux_hash): b.opening for b in
             Balance.objects.filter(account_set=books.aset, period__year=YEAR + 1, period__number=1)
             .select_related("account")}
    assert this == first and first[("3001", "")] == D("-619.50")
    assert services.check_balances(books.aset.pk) == []
    assert AuditRecord.objects.filter(action="accounting.year.close").count() == 1
    with pytest.raises(Conflict) as e:
        services.reopen_period(period_id=Period.objects.get(account_set=books.aset, year=YEAR, number=13).pk,
                               user=books.auditor)
    assert e.value.code == "accounting.year_closed"

    # reopen the year while next year has no posting: everything the close did is undone
    services.reopen_year(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert not Period.objects.filter(account_set=books.aset, year=YEAR + 1).exists()
    assert not OpeningBalance.objects.filter(account_set=books.aset, year=YEAR + 1).exists()
    assert FiscalYear.objects.get(account_set=books.aset, year=YEAR).status == FiscalYear.Status.OPEN
    assert services.check_balances(books.aset.pk) == []
    # close again, post something next year: no reopen any more
    services.close_year(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    books.post([dr("5001", 1), cr("1002", 1)], on=dt.date(YEAR + 1, 1, 5))
    assert closing(books, "1002", year=YEAR + 1, number=1) == D("570.00")
    with pytest.raises(Conflict) as e:
        services.reopen_year(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert e.value.code == "accounting.next_year_has_postings"
    assert services.check_balances(books.aset.pk) == []


def test_carry_forward_refuses_pending_vouchers_and_closed_year(books):
    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)])
    pending = books.voucher([dr("5001", 5), cr("1011", 5)])
    with pytest.raises(Conflict) as e:
        services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert e.value.code == "accounting.carry_pending_vouchers"
    assert not Voucher.objects.filter(is_machine=True).exists()
    services.delete_voucher(voucher_id=pending.pk, user=books.entrant)
    with pytest.raises(ValidationFailed):
        services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR + 5, user=books.admin)


def test_administrative_unit_other_surplus_and_adjustment_period(dictionary, make_region, make_agency, make_role,
                                                                 make_user):
    books = build_books(make_region, make_agency, make_role, make_user, kind="admin")
    books.aset.carry_in_adjustment = True
    books.aset.machine_auto_post = False
    books.aset.save()
    books.post([dr("1002", 10), cr("4609", 10), dr("800102", 10), cr("6609", 10)])
    made = services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert {v.period.number for v in made} == {13} and {v.status for v in made} == {Voucher.Status.AUDITED}
    for v in made:
        services.post_voucher(voucher_id=v.pk, user=books.auditor)
    assert closing(books, "820204") == D("-10.00") and closing(books, "8501") == 0 and closing(books, "8701") == 0
    assert closing(books, "3001") == D("-10.00")
    assert services.period_check(Period.objects.get(account_set=books.aset, year=YEAR, number=12)) == [
        "之前的会计期间尚未结账"]


def test_carry_target_not_leaf_is_refused(books):
    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)])
    from fmis.accounting.models import Account

    Account.objects.filter(account_set=books.aset, code="810106").update(is_leaf=False)
    with pytest.raises(ValidationFailed) as e:
        services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    assert e.value.code == "accounting.carry_target_not_leaf" and "810106" in e.value.message
    assert not Voucher.objects.filter(is_machine=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_year_closes_at_once(make_region, make_agency, make_role, make_user):
    from fmis.dictionary.services import preload_standard

    preload_standard()
    books = build_books(make_region, make_agency, make_role, make_user)
    books.post([dr("1002", 10), cr("4609", 10), dr("800102", 10), cr("6609", 10)])
    services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    close_periods(books)

    def work(_):
        try:
            services.close_year(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
            return "ok"
        except Conflict as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(work, range(3)))
    assert results.count("ok") == 1 and results.count("accounting.year_already_closed") == 2
    assert OpeningBalance.objects.filter(account_set=books.aset, year=YEAR + 1).count() == 4
    assert Balance.objects.get(account__code="3001", period__year=YEAR + 1, period__number=1).opening == D("-10.00")
    assert services.check_balances(books.aset.pk) == []


def test_many_sources_split_over_balanced_vouchers(books, monkeypatch):
    monkeypatch.setattr(services, "CARRY_SOURCES_PER_VOUCHER", 2)
    for i, code in enumerate(("2010101", "2010102", "2010199"), start=1):
        books.post([dr("5001", i, aux={"func": code}), cr("1002", i)])
    made = services.generate_carry_forward(account_set_id=books.aset.pk, year=YEAR, user=books.admin)
    steps = [v.rule_code for v in made]
    assert steps.count("carry.income_expense") == 2
    assert all(v.debit_total == v.credit_total for v in made)
    assert closing(books, "5001") == 0 and closing(books, "3001") == D("6.00")
    assert services.check_balances(books.aset.pk) == []

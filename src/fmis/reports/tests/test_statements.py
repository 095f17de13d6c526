"""The standard statements on the worked entries of the notes (fiscal-standard-notes §2.2), with
figures worked out by hand; the statements' identities before and after the year-end
carry-forward; the unit expenditure detail; and the permission scope."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from fmis.accounting.models import Account, VoucherLine
from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.accounting.tests.test_worked_entries import DEC, PAIRS
from fmis.platform.errors import NotFound
from fmis.reports import selectors
from fmis.reports.standard import (
    APPROPRIATION,
    BALANCE_SHEET,
    BUDGET_CARRYOVER,
    BUDGET_INCOME,
    INCOME_STATEMENT,
    NET_ASSETS,
)

pytestmark = pytest.mark.django_db
D = Decimal

# the worked paired entries of fiscal-standard-notes §2.2, as the accounting tests post them


def post_worked(books):
    for _row, _title, on, vouchers in PAIRS:
        for lines in vouchers:
            books.post(lines, on=on)


def carry_forward(books):
    """Year-end carry-forward in the adjustment period, per the notes §2.3 (both bases)."""
    p13 = {"on": DEC, "period_number": 13}
    books.post([dr("600101", 153), cr("810106", 153), dr("810106", 163), cr("720101", 163)], **p13)
    books.post([dr("610102", 12), dr("650102", 10), dr("6602", 1), cr("8501", 23),
                dr("8501", D("20.55")), cr("7601", 10), cr("7701", 10), cr("7901", D("0.55"))], **p13)
    books.post([dr("640102", 58), cr("8401", 58)], **p13)
    books.post([dr("4001", 153), dr("4101", 12), dr("4401", 50), dr("4602", 1), dr("4603", 10), cr("3301", 226),
                dr("3301", D("113.85")), cr("5001", 70), cr("5101", D("41.5")), cr("5301", 2), cr("5901", D("0.35"))],
               **p13)
    books.post([dr("3301", D("112.15")), cr("3302", D("112.15"))], **p13)
    books.post([dr("3302", D("112.15")), cr("3001", D("112.15"))], **p13)


def st(books, code, period=12, user=None):
    return selectors.statement(user=user or books.entrant, account_set_id=books.aset.pk, code=code, year=YEAR,
                               period=period)


def test_balance_sheet_on_worked_entries(books):
    post_worked(books)
    bs = st(books, BALANCE_SHEET)
    assert not bs.errors
    v = {r.code: r.values[0] for r in bs.rows}
    assert v["01"] == D("44.05")      # 货币资金: 1002 63.25 + 1011 (−19.20)
    assert v["03"] == D("9.20")       # 财政应返还额度: 120101 3 + 120102 6.2
    assert v["10"] == D("5.00")       # 存货 1302
    assert v["14"] == D("58.25")      # 流动资产合计
    assert v["17"] == D("40.20") and v["18"] == D("-4.50") and v["19"] == D("44.70")  # 固定资产 原值/折旧/净值
    assert v["37"] == D("54.70")      # 非流动资产合计: 长期股权投资 10 + 固定资产净值 44.70
    assert v["39"] == D("112.95")     # 资产总计
    assert v["42"] == D("8.00") and v["44"] == D("2.80") and v["45"] == D("-10.00")
    assert v["62"] == D("0.80")       # 负债合计
    assert v["68"] == D("112.15")     # 本期盈余 (revenues 226 − expenses 113.85, not yet carried forward)
    assert v["69"] == D("112.15")
    assert v["70"] == v["39"] == v["62"] + v["69"]
    assert all(r.values[1] == 0 for r in bs.rows if r.values[1] is not None)  # 年初余额: a new set
    assert bs.checks and all(c.ok for c in bs.checks)
    assert "1602" in next(r for r in bs.rows if r.code == "18").accounts


def test_income_statement_month_and_year(books):
    post_worked(books)
    s = st(books, INCOME_STATEMENT)
    month = {r.code: r.values[0] for r in s.rows}
    ytd = {r.code: r.values[1] for r in s.rows}
    assert ytd["01"] == D("153.00") and ytd["03"] == D("12.00") and ytd["06"] == D("50.00")
    assert ytd["08"] == D("1.00") and ytd["09"] == D("10.00") and ytd["00"] == D("226.00")
    assert ytd["21"] == D("70.00") and ytd["22"] == D("41.50") and ytd["24"] == D("2.00") and ytd["28"] == D("0.35")
    assert ytd["20"] == D("113.85") and ytd["30"] == D("112.15")
    assert month["01"] == D("13.00") and month["20"] == 0 and month["30"] == D("13.00")  # December: rows 8 and 9
    march = st(books, INCOME_STATEMENT, period=3)
    assert {r.code: r.values[0] for r in march.rows}["01"] == D("140.00")


def test_budget_statements_tie_to_the_budgetary_accounts(books):
    post_worked(books)
    s = st(books, BUDGET_INCOME)
    cur = {r.code: r.values[0] for r in s.rows}
    assert cur["02"] == D("153.00") and cur["04"] == D("12.00") and cur["07"] == D("58.00")
    assert cur["08"] == D("10.00") and cur["10"] == D("1.00") and cur["01"] == D("234.00")
    assert cur["22"] == D("163.00") and cur["26"] == D("10.00") and cur["27"] == D("10.00")
    assert cur["28"] == D("0.55") and cur["20"] == D("183.55")
    assert cur["40"] == D("50.45")
    # 本年预算收支差额 ties to the posted budgetary lines and to the change of 8001 资金结存
    lines = VoucherLine.objects.filter(voucher__account_set=books.aset, voucher__status="posted")
    income = sum((x.credit - x.debit for x in lines if x.account.code.startswith("6")), D(0))
    spend = sum((x.debit - x.credit for x in lines if x.account.code.startswith("7")), D(0))
    fund = sum((x.debit - x.credit for x in lines if x.account.code.startswith("8001")), D(0))
    assert cur["40"] == income - spend == fund
    assert s.columns[1].available is False and all(r.values[1] is None for r in s.rows)  # no previous year
    co = st(books, BUDGET_CARRYOVER)
    c = {r.code: r.values[0] for r in co.rows}
    assert c["09"] == D("-10.00") and c["13"] == D("60.45") and c["07"] == cur["40"]
    assert c["19"] == D("-10.00") and c["23"] == D("2.45") and c["25"] == D("58.00") and c["17"] == D("50.45")
    assert all(x.ok for x in co.checks)
    ap = st(books, APPROPRIATION)
    total = next(r for r in ap.rows if r.code == "30")
    cols = [col.key for col in ap.columns]
    assert total.values[cols.index("income")] == D("153.00") and total.values[cols.index("spend")] == D("163.00")
    assert total.values[cols.index("end_carry")] == D("-10.00") and all(x.ok for x in ap.checks)


def test_statements_after_year_end_carry_forward(books):
    post_worked(books)
    carry_forward(books)
    bs = st(books, BALANCE_SHEET, period=13)
    v = {r.code: r.values[0] for r in bs.rows}
    assert v["39"] == D("112.95") and v["64"] == D("112.15") and v["68"] == 0 and v["70"] == v["39"]
    # revenues on the credit side, expenses on the debit side: the carry-forward does not cancel them
    ytd = {r.code: r.values[1] for r in st(books, INCOME_STATEMENT, period=13).rows}
    assert ytd["00"] == D("226.00") and ytd["30"] == D("112.15")
    assert {r.code: r.values[0] for r in st(books, BUDGET_INCOME, period=13).rows}["40"] == D("50.45")
    co = st(books, BUDGET_CARRYOVER, period=13)
    c = {r.code: r.values[0] for r in co.rows}
    assert c["19"] == D("-10.00") and c["23"] == D("2.45") and c["25"] == D("58.00") and c["17"] == D("50.45")
    assert all(x.ok for x in co.checks)
    na = st(books, NET_ASSETS, period=13)
    keys = [col.key for col in na.columns]
    rows = {r.code: r for r in na.rows}
    assert rows["05"].values[keys.index("cur_3001")] == D("112.15")
    assert rows["11"].values[keys.index("cur_3001")] == D("112.15") == rows["11"].values[keys.index("cur_total")]
    assert all(x.ok for x in na.checks if x.column.startswith("本年数"))


def test_balance_sheet_identity_holds_for_random_books(books):
    """Random balanced vouchers over every financial leaf account: 资产总计 = 负债和净资产总计."""
    rnd = random.Random(20261123)
    leaves = list(Account.objects.filter(account_set=books.aset, is_leaf=True, basis="financial")
                  .values_list("code", flat=True))
    for _ in range(25):
        a, b = rnd.sample(leaves, 2)
        amount = D(rnd.randint(1, 100000)) / 100
        books.post([dr(a, amount), cr(b, amount)], on=dt.date(YEAR, rnd.randint(1, 12), 10))
    for period in (3, 12):
        bs = st(books, BALANCE_SHEET, period=period)
        v = {r.code: r.values for r in bs.rows}
        assert v["39"] == v["70"] and all(c.ok for c in bs.checks)


def test_fund_type_lines(books):
    from fmis.accounting import services

    services.add_aux_item(account_set_id=books.aset.pk, element="project", code="P01", name="校舍维修", user=books.admin)
    books.post([dr("1011", 40), cr("4001", 40, aux={"fund_type": "12"}),
                dr("800101", 40), cr("600102", 40, aux={"fund_type": "12"})], on=dt.date(YEAR, 5, 6))
    books.post([dr("5001", 25), cr("1011", 25),
                dr("720101", 25, aux={"fund_type": "12", "project": "P01", "dept_eco": "30201"}),
                cr("800101", 25)], on=dt.date(YEAR, 5, 7))
    books.post([dr("5001", 5), cr("1011", 5), dr("720101", 5, aux={"fund_type": "11", "dept_eco": "30101"}),
                cr("800101", 5)], on=dt.date(YEAR, 5, 8))
    s = {r.code: r.values for r in st(books, INCOME_STATEMENT, period=5).rows}
    assert s["02"] == [D("40.00"), D("40.00")]  # 其中：政府性基金收入
    ap = st(books, APPROPRIATION, period=5)
    cols = [c.key for c in ap.columns]
    r = {x.code: x.values for x in ap.rows}
    assert r["11"][cols.index("income")] == D("40.00") and r["15"][cols.index("income")] == D("40.00")
    assert r["11"][cols.index("spend")] == D("25.00") and r["15"][cols.index("spend")] == D("25.00")
    assert r["01"][cols.index("spend")] == D("5.00") and r["03"][cols.index("spend")] == D("5.00")
    assert r["30"][cols.index("spend")] == D("30.00")


def test_unit_expenditure_detail_totals(books):
    post_worked(books)
    books.post([dr("5001", 8), cr("1011", 8), dr("720101", 8, aux={"func": "2050202", "dept_eco": "30201"}),
                cr("800101", 8)], on=dt.date(YEAR, 12, 5))
    books.post([dr("5101", 12), cr("1011", 12), dr("710101", 12, aux={"func": "2010101", "dept_eco": "30101"}),
                cr("800101", 12)], on=dt.date(YEAR, 12, 6))
    detail = selectors.unit_expenditure(user=books.entrant, account_set_id=books.aset.pk, year=YEAR, period=12)
    budget = {r.code: r.values[0] for r in st(books, BUDGET_INCOME).rows}
    assert detail.total == budget["20"] == D("203.55")
    assert detail.by_account == {"7101": D("12.00"), "7201": D("171.00"), "7601": D("10.00"), "7701": D("10.00"),
                                 "7901": D("0.55")}
    rows = {r["code"]: r for r in detail.rows}
    assert rows["205"]["values"]["302"] == D("8.00") and rows["20502"]["total"] == D("8.00")
    assert rows["2050202"]["name"] == "小学教育" and rows["201"]["values"]["301"] == D("12.00")
    assert rows[""]["total"] == D("183.55") and detail.totals["302"] == D("8.00")
    month = selectors.unit_expenditure(user=books.entrant, account_set_id=books.aset.pk, year=YEAR, period=12,
                                       cumulative=False, eco="gov_eco")
    assert month.total == D("20.00")


def test_out_of_scope_user_sees_nothing(books):
    post_worked(books)
    with pytest.raises(NotFound):
        st(books, BALANCE_SHEET, user=books.outsider)
    with pytest.raises(NotFound):
        selectors.unit_expenditure(user=books.outsider, account_set_id=books.aset.pk, year=YEAR, period=12)
    assert not selectors.account_sets(user=books.outsider).filter(pk=books.aset.pk).exists()
    with pytest.raises(NotFound):
        st(books, "no_such_statement")
    with pytest.raises(NotFound):
        st(books, BALANCE_SHEET, period=14)


def test_statement_line_drill_down(books):
    post_worked(books)
    _st, row, parts, refs = selectors.line_detail(user=books.entrant, account_set_id=books.aset.pk,
                                                   code=BALANCE_SHEET, line="01", year=YEAR, period=12)
    assert row.values[0] == D("44.05")
    end = {p.code: p.value for p in parts if p.column == "期末余额"}
    assert end == {"1001": 0, "1002": D("63.25"), "1011": D("-19.20"), "1021": 0}
    assert sum(end.values()) == row.values[0] and refs == []
    _st, total, parts, refs = selectors.line_detail(user=books.entrant, account_set_id=books.aset.pk,
                                                     code=BALANCE_SHEET, line="39", year=YEAR, period=12)
    assert refs == ["14", "37", "38"] and parts == [] and total.values[0] == D("112.95")


def test_budget_identities_hold_for_random_books(books):
    """Random budget revenues (credited) and expenditures (debited) against 8001's sub-accounts:
    本年预算收支差额 = the change of 资金结存, and the 预算结转结余变动表 cross-check holds."""
    rnd = random.Random(7)
    leaves = list(Account.objects.filter(account_set=books.aset, is_leaf=True).values_list("code", flat=True))
    revenue = [c for c in leaves if c[0] == "6"]
    spending = [c for c in leaves if c[0] == "7"]
    funds = [c for c in leaves if c.startswith("8001")]
    for _ in range(30):
        amount = D(rnd.randint(1, 100000)) / 100
        fund = rnd.choice(funds)
        if rnd.random() < 0.5:
            lines = [dr(fund, amount), cr(rnd.choice(revenue), amount)]
        else:
            lines = [dr(rnd.choice(spending), amount), cr(fund, amount)]
        books.post(lines, on=dt.date(YEAR, rnd.randint(1, 12), 10))
    fund_total = sum((x.debit - x.credit for x in VoucherLine.objects.filter(
        voucher__account_set=books.aset, account__code__startswith="8001")), D(0))
    assert {r.code: r.values[0] for r in st(books, BUDGET_INCOME).rows}["40"] == fund_total
    co = st(books, BUDGET_CARRYOVER)
    assert co.checks and all(c.ok for c in co.checks)
    assert {r.code: r.values[0] for r in co.rows}["17"] == fund_total


def test_previous_year_column(books):
    from fmis.accounting import services

    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)], on=dt.date(YEAR, 3, 15))
    services.open_year(account_set_id=books.aset.pk, year=YEAR + 1, user=books.admin)
    books.post([dr("1011", 40), cr("4001", 40), dr("800101", 40), cr("600101", 40)], on=dt.date(YEAR + 1, 3, 15))
    s = selectors.statement(user=books.entrant, account_set_id=books.aset.pk, code=BUDGET_INCOME, year=YEAR + 1,
                            period=3)
    assert s.columns[1].available
    rows = {r.code: r.values for r in s.rows}
    assert rows["02"] == [D("40.00"), D("100.00")] and rows["40"] == [D("40.00"), D("100.00")]

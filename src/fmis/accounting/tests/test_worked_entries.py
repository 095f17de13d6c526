"""Every worked paired entry of fiscal-standard-notes §2.2, posted and checked on both bases."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from fmis.accounting import services
from fmis.accounting.models import Balance, Period
from fmis.accounting.tests.conftest import YEAR, cr, dr

pytestmark = pytest.mark.django_db

D = Decimal
MAR, DEC = dt.date(YEAR, 3, 15), dt.date(YEAR, 12, 31)

# (row, description, date, [vouchers]); a voucher is a list of lines; "FA only" rows have no 6/7/8 lines
PAIRS = [
    (1, "授权支付额度到账", MAR, [[dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)]]),
    (2, "零余额账户支付办公费", MAR, [[dr("5001", 30), cr("1011", 30), dr("720101", 30), cr("800101", 30)]]),
    (3, "财政直接支付：工资、存货、资产、费用", MAR,
     [[dr("2201", 10), dr("1302", 5), dr("1601", 20), dr("5001", 5), cr("4001", 40),
       dr("720101", 40), cr("600101", 40)]]),
    (4, "用授权额度购置固定资产", MAR, [[dr("1601", 20), cr("1011", 20), dr("720101", 20), cr("800101", 20)]]),
    (5, "计提折旧（仅财务会计）", MAR, [[dr("5001", 2), dr("5101", D("1.5")), cr("1602", D("3.5"))]]),
    (6, "计提工资后用额度支付", MAR,
     [[dr("5001", 30), dr("5101", 40), cr("2201", 70)],
      [dr("2201", 70), cr("1011", 70), dr("720101", 70), cr("800101", 70)]]),
    (7, "年末注销零余额账户未用额度", DEC,
     [[dr("120102", D("4.2")), cr("1011", D("4.2")), dr("800103", D("4.2")), cr("800101", D("4.2"))]]),
    (8, "年末直接支付指标结余", DEC, [[dr("120101", 6), cr("4001", 6), dr("800103", 6), cr("600101", 6)]]),
    (9, "年末授权指标大于下达额度", DEC, [[dr("120102", 7), cr("4001", 7), dr("800103", 7), cr("600101", 7)]]),
    (10, "下年恢复额度", MAR, [[dr("1011", 5), cr("120102", 5), dr("800101", 5), cr("800103", 5)]]),
    (11, "下年使用恢复的直接支付额度", MAR, [[dr("5001", 3), cr("120101", 3), dr("720101", 3), cr("800103", 3)]]),
    (12, "借款、计息、还本付息", MAR,
     [[dr("1002", 10), cr("2001", 10), dr("800102", 10), cr("650102", 10)],
      [dr("5901", D("0.35")), cr("2304", D("0.35"))],
      [dr("2001", 10), dr("2304", D("0.35")), cr("1002", D("10.35")),
       dr("7701", 10), dr("7901", D("0.35")), cr("800102", D("10.35"))]]),
    (13, "赊销后收款", MAR,
     [[dr("1212", 58), cr("4401", 50), cr("2101", 8)],
      [dr("1002", 58), cr("1212", 58), dr("800102", 58), cr("640102", 58)]]),
    (14, "股权投资及股利", MAR,
     [[dr("1501", 10), cr("1002", 10), dr("7601", 10), cr("800102", 10)],
      [dr("1215", 1), cr("4602", 1)],
      [dr("1002", 1), cr("1215", 1), dr("800102", 1), cr("6602", 1)]]),
    (15, "接受捐赠固定资产并支付相关税费", MAR,
     [[dr("1601", D("10.2")), cr("4603", 10), cr("1002", D("0.2")), dr("7901", D("0.2")), cr("800102", D("0.2"))]]),
    (16, "处置固定资产（仅财务会计）", MAR,
     [[dr("5301", 2), dr("1602", 8), cr("1601", 10), dr("1002", 3), cr("2103", D("2.8")), cr("1002", D("0.2"))]]),
    (17, "预收事业收入", MAR,
     [[dr("1002", 12), cr("2305", 12), dr("800102", 12), cr("610102", 12)],
      [dr("2305", 12), cr("4101", 12)]]),
]


def _closing_by_account(books, period) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for b in Balance.objects.filter(period=period).select_related("account"):
        out[b.account.code] += b.closing
    return out


def _expected(vouchers) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for lines in vouchers:
        for li in lines:
            out[li.account_code] += D(li.debit) - D(li.credit)
    return out


@pytest.mark.parametrize(("row", "title", "on", "vouchers"), PAIRS, ids=[f"row{p[0]}" for p in PAIRS])
def test_worked_pair(books, row, title, on, vouchers):
    for lines in vouchers:
        v = books.post(lines, on=on)
        assert v.status == "posted"
    period = Period.objects.get(account_set=books.aset, year=YEAR, number=on.month)
    closing = _closing_by_account(books, period)
    expected = {k: v for k, v in _expected(vouchers).items() if v}
    assert {k: v for k, v in closing.items() if v} == expected, title
    # each basis balances: the signed closings of all its accounts sum to zero
    fa = sum((v for k, v in closing.items() if k[0] in "12345"), D(0))
    ba = sum((v for k, v in closing.items() if k[0] in "678"), D(0))
    assert fa == 0 and ba == 0
    # budget identity: Δ8001 (debit) = Δ预算收入 (credit) − Δ预算支出 (debit), no 81xx–87xx touched here
    income = -sum((v for k, v in closing.items() if k[0] == "6"), D(0))
    spending = sum((v for k, v in closing.items() if k[0] == "7"), D(0))
    fund = sum((v for k, v in closing.items() if k.startswith("8001")), D(0))
    assert fund == income - spending
    if not any(li.account_code[0] in "678" for lines in vouchers for li in lines):
        assert ba == 0 and not any(k[0] in "678" for k in closing)
    # later periods carry the closing forward as their opening; the table equals the posted lines
    later = Balance.objects.filter(account_set=books.aset, period__year=YEAR, period__number=13)
    assert {b.account.code: b.opening for b in later.select_related("account") if b.opening} == expected
    assert services.check_balances(books.aset.pk) == []

"""Independent check: the books exported as a Beancount ledger, checked by `bean-check` and
recomputed by `bean-query`, give exactly our trial balance, per account and per basis."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from fmis.accounting import beancount, selectors, services
from fmis.accounting.models import Account, Balance, Period, Voucher
from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.accounting.tests.test_worked_entries import PAIRS
from fmis.platform.errors import NotFound

pytestmark = pytest.mark.django_db

D = Decimal
BIN = Path(sys.executable).parent
ENV = {**os.environ, "BEANCOUNT_DISABLE_LOAD_CACHE": "1"}
MOVES = ("SELECT account, entry_meta('period') AS period, number > 0 AS positive, meta('side') AS side, "
         "sum(number) AS total GROUP BY account, period, positive, side ORDER BY account, period")
PER_BASIS = ("SELECT entry_meta('voucher_id') AS vid, account ~ ':Budget:' AS budget, sum(number) AS total "
             "GROUP BY vid, budget")


def bean_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "bean-check"), str(path)], env=ENV, capture_output=True, text=True, timeout=120,
                          check=False)


def bean_query(path: Path, query: str) -> list[dict]:
    done = subprocess.run([str(BIN / "bean-query"), "-f", "csv", str(path), query], env=ENV, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def code_of(account_name: str) -> str:
    return account_name.rsplit(":", 1)[1].split("-", 1)[0]


def recomputed(path: Path, year: int, number: int) -> dict[str, tuple]:
    """Per leaf account code: opening, debit, credit, cum debit, cum credit, closing of period
    `number`, from bean-query's per account and period sums of debit-side and credit-side postings."""
    moves: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(lambda: [D(0), D(0)]))
    for r in bean_query(path, MOVES):
        debit_side = r["side"] == "debit" or (not r["side"] and r["positive"] == "TRUE")
        total = D(r["total"].strip())
        cell = moves[code_of(r["account"])][r["period"]]
        if debit_side:
            cell[0] += total
        else:
            cell[1] -= total
    this, first = f"{year}-{number:02d}", f"{year}-01"
    out = {}
    for code, per in moves.items():
        opening = sum((d - c for p, (d, c) in per.items() if p < this), D(0))
        debit, credit = per.get(this, [D(0), D(0)])
        cum_d = sum((d for p, (d, _c) in per.items() if first <= p <= this), D(0))
        cum_c = sum((c for p, (_d, c) in per.items() if first <= p <= this), D(0))
        closing = opening + debit - credit
        row = (opening, debit, credit, cum_d, cum_c, closing)
        if any(row):
            out[code] = row
    return out


def ours(books, year: int, number: int) -> tuple[dict[str, tuple], dict]:
    tb = selectors.trial_balance(user=books.admin, aset_id=books.aset.pk, year=year, number=number, level=3)
    return ({r.code: (r.opening, r.debit, r.credit, r.cum_debit, r.cum_credit, r.closing) for r in tb.rows},
            tb.totals)


def export(books, tmp_path, *args) -> Path:
    path = tmp_path / "books.beancount"
    call_command("export_beancount", "--account-set", books.aset.code, *args, "-o", str(path), stderr=io.StringIO())
    return path


def post_worked(books):
    for _row, _title, on, vouchers in PAIRS:
        for lines in vouchers:
            books.post(lines, on=on)


def test_worked_entries_recomputed_by_beancount(books, tmp_path):
    post_worked(books)
    # a red reversal (negative amounts) and an adjustment-period voucher as well
    first = Voucher.objects.filter(account_set=books.aset).order_by("id").first()
    red = services.reverse_voucher(voucher_id=first.pk, user=books.entrant, date=dt.date(YEAR, 3, 20))
    services.audit_voucher(voucher_id=red.pk, user=books.auditor)
    services.post_voucher(voucher_id=red.pk, user=books.auditor)
    books.post([dr("5001", 1), cr("1011", 1), dr("720101", 1), cr("800101", 1)], on=dt.date(YEAR, 12, 31),
               period_number=13)
    path = export(books, tmp_path, "--year", str(YEAR))
    check = bean_check(path)
    assert check.returncode == 0 and check.stdout.strip() == "" and check.stderr.strip() == "", check.stderr
    text = path.read_text(encoding="utf-8")
    assert "Assets:1201-财政应返还额度:120101-" in text and "Expenses:Budget:7201-" in text
    assert "Assets:Budget:8001-资金结存:800101-" in text and "Income:Budget:6001-" in text
    assert 'side: "debit"' in text and 'period: "2026-13"' in text

    for number in (3, 12, 13):
        mine, totals = ours(books, YEAR, number)
        theirs = recomputed(path, YEAR, number)
        assert theirs == mine, number
        # per basis: the debit and credit totals of the trial balance
        for basis, digits in (("financial", "12345"), ("budgetary", "678")):
            rows = [v for k, v in theirs.items() if k[0] in digits]
            assert sum((r[1] for r in rows), D(0)) == totals[basis]["debit"]
            assert sum((r[2] for r in rows), D(0)) == totals[basis]["credit"]
            assert sum((r[5] for r in rows), D(0)) == 0  # each basis balances
    # every voucher balances within each basis, not only as a whole
    sums = bean_query(path, PER_BASIS)
    assert len({r["vid"] for r in sums}) == Voucher.objects.filter(account_set=books.aset, status="posted").count()
    assert all(D(r["total"].strip()) == 0 for r in sums)


def test_a_tampered_export_fails_the_check(books, tmp_path):
    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)])
    path = export(books, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert bean_check(path).returncode == 0
    path.write_text(text.replace("100.00 CNY", "100.01 CNY", 1), encoding="utf-8")
    bad = bean_check(path)
    assert bad.returncode != 0 and "balance" in (bad.stdout + bad.stderr).lower()
    # a budgetary-only imbalance hidden by an opposite financial one is caught by the per-basis query
    swapped = text.replace("Assets:Budget:8001-资金结存:800101-零余额账户用款额度  100.00",
                           "Assets:Budget:8001-资金结存:800101-零余额账户用款额度  90.00").replace(
        "Assets:1011-零余额账户用款额度  100.00", "Assets:1011-零余额账户用款额度  110.00")
    assert swapped != text
    path.write_text(swapped, encoding="utf-8")
    assert bean_check(path).returncode == 0
    assert any(D(r["total"].strip()) != 0 for r in bean_query(path, PER_BASIS))


def test_opening_balances_and_years(books, tmp_path):
    """Opening balances (period 1's opening in the balance table) become one entry per basis on
    1 January; a later year's books continue from what the file carries."""
    cash = Account.objects.get(account_set=books.aset, code="1002")
    net = Account.objects.get(account_set=books.aset, code="3001")
    fund = Account.objects.get(account_set=books.aset, code="800102")
    surplus = Account.objects.get(account_set=books.aset, code="8301", is_leaf=True)
    pairs = [(cash, D("500.00")), (net, D("-500.00")), (fund, D("200.00")), (surplus, D("-200.00"))]
    for p in Period.objects.filter(account_set=books.aset, year=YEAR):
        for acc, amount in pairs:
            Balance.objects.create(account_set=books.aset, period=p, account=acc, opening=amount, closing=amount)
    books.post([dr("1002", 30), cr("4101", 30)])
    path = export(books, tmp_path)
    assert bean_check(path).returncode == 0
    text = path.read_text(encoding="utf-8")
    assert f'{YEAR}-01-01 * "期初余额"' in text and f'period: "{YEAR}-00"' in text
    for number in (1, 3, 12):
        mine, _totals = ours(books, YEAR, number)
        assert recomputed(path, YEAR, number) == mine


def test_names_are_valid_beancount_components(books):
    assert beancount.component("2307", "其他应付款（暂存）/ 往来") == "2307-其他应付款-暂存-往来"
    names = beancount.account_names(books.aset)
    from beancount.core import account as bc_account

    assert all(bc_account.is_valid(n) for n in names.values())
    by_code = {a.code: names[a.pk] for a in Account.objects.filter(account_set=books.aset)}
    assert by_code["1602"].startswith("Assets:1602-")       # a contra asset stays under Assets
    assert by_code["2001"].startswith("Liabilities:2001-")
    assert by_code["3001"].startswith("Equity:3001-")
    assert by_code["4001"].startswith("Income:4001-")
    assert by_code["5001"].startswith("Expenses:5001-")
    assert by_code["8101"].startswith("Equity:Budget:8101-")
    assert len(set(names.values())) == len(names)


def test_command_and_scope(books, tmp_path):
    with pytest.raises(CommandError):
        call_command("export_beancount", "--account-set", "NOPE", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError):
        call_command("export_beancount", "--account-set", books.aset.code, "--year", "1999",
                     "-o", str(tmp_path / "x"))
    out = io.StringIO()
    beancount.export_ledger(user=books.entrant, account_set_id=books.aset.pk, out=out)
    assert " open " not in out.getvalue() and 'option "operating_currency" "CNY"' in out.getvalue()
    with pytest.raises(NotFound):
        beancount.export_ledger(user=books.outsider, account_set_id=books.aset.pk, out=io.StringIO())

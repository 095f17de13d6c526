"""An account set as a Beancount 3 ledger, so `bean-check` and `bean-query` can recompute the
books independently (both bases in one file).

Account names: the five Beancount roots by the account's category (资产 Assets, 负债 Liabilities,
净资产 Equity, 收入 Income, 费用 Expenses); budgetary accounts under the roots with a ``Budget``
component (预算收入 ``Income:Budget``, 预算支出 ``Expenses:Budget``, 资金结存 8001 ``Assets:Budget``,
the credit-direction 预算结余 accounts ``Equity:Budget``). Below the root one component per level
of the code, ``<code>-<name>``, which starts with a digit as Beancount requires, e.g.
``Assets:1201-财政应返还额度:120101-财政直接支付`` or ``Expenses:Budget:7201-事业支出:720101-基本支出``.
Characters Beancount does not allow in a component (punctuation, spaces) become ``-``.

Transactions: one per posted voucher, dated with the voucher, with the voucher's id, number and
period (``YYYY-PP``, 13 for the adjustment period) as metadata; amounts in CNY, debit positive and
credit negative (a red line keeps its sign and gets a ``side`` metadata so its side stays
known). The opening balances of each exported year (period 1's opening in the balance table, less
what the file already carries from the previous exported year) are one transaction per basis on
1 January, period ``YYYY-00``. Bean-check checks that every transaction balances as a whole; each
basis balancing by itself is checked with a query (see the tests).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from django.db import connection

from fmis.accounting.models import Account, AccountSet, Basis, Period
from fmis.iam import permissions
from fmis.platform.errors import NotFound

CURRENCY = "CNY"
BUDGET = "Budget"
FN_EXPORT = "accounting.ledger.view"

ROOTS = {
    Account.Category.ASSET: "Assets",
    Account.Category.LIABILITY: "Liabilities",
    Account.Category.NET_ASSETS: "Equity",
    Account.Category.REVENUE: "Income",
    Account.Category.EXPENSE: "Expenses",
    Account.Category.BUDGET_REVENUE: "Income",
    Account.Category.BUDGET_EXPENDITURE: "Expenses",
}


def _clean(text: str) -> str:
    """Keep letters, decimal digits and '-'; anything else becomes '-' (runs collapsed)."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        out.append(ch if ch == "-" or cat.startswith("L") or cat == "Nd" else "-")
    return re.sub(r"-{2,}", "-", "".join(out)).strip("-")


def component(code: str, name: str) -> str:
    name = _clean(name)
    return f"{code}-{name}" if name else code


def root_of(account: Account) -> str:
    if account.category == Account.Category.BUDGET_SURPLUS:
        root = "Assets" if account.direction == "debit" else "Equity"
    else:
        root = ROOTS[Account.Category(account.category)]
    return f"{root}:{BUDGET}" if account.basis == Basis.BUDGETARY else root


def account_names(aset: AccountSet) -> dict[int, str]:
    """Beancount name of every account of the set, by account id."""
    accounts = list(Account.objects.filter(account_set=aset).order_by("code"))
    by_id = {a.pk: a for a in accounts}
    names: dict[int, str] = {}
    for a in accounts:  # parents come first in code order
        parent = by_id.get(a.parent_id)
        prefix = names[parent.pk] if parent is not None and parent.pk in names else root_of(a)
        names[a.pk] = f"{prefix}:{component(a.code, a.name)}"
    return names


def _quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _amount(value: Decimal) -> str:
    return f"{value:.2f} {CURRENCY}"


@dataclass
class ExportStats:
    accounts: int = 0
    transactions: int = 0
    postings: int = 0
    openings: int = 0


_LINES_SQL = """
SELECT v.id, v.date, p.year, p.number, c.word, v.number, v.summary, l.account_id, l.debit, l.credit, l.summary
FROM accounting_voucher v
JOIN accounting_period p ON p.id = v.period_id
JOIN accounting_vouchercategory c ON c.id = v.category_id
JOIN accounting_voucherline l ON l.voucher_id = v.id
WHERE v.account_set_id = %s AND v.status = 'posted' {year}
ORDER BY v.date, p.number, v.series, v.number, v.id, l.line_no
"""


def _years(aset: AccountSet, year: int | None) -> list[int]:
    years = sorted(set(Period.objects.filter(account_set=aset).values_list("year", flat=True)))
    if year is not None:
        if int(year) not in years:
            raise NotFound("accounting.period_not_found", f"账套 {aset.code} 没有 {year} 年度的会计期间", field="year")
        return [int(year)]
    return years


def _openings(aset: AccountSet, years: list[int]) -> dict[int, dict[int, Decimal]]:
    """Per exported year, the opening of period 1 per account that the file must add on 1 January:
    the balance table's opening less what the earlier exported years already carry."""
    opening: dict[int, dict[int, Decimal]] = defaultdict(dict)
    closing: dict[int, dict[int, Decimal]] = defaultdict(dict)
    with connection.cursor() as cur:
        cur.execute("""SELECT p.year, b.account_id, sum(b.opening) FROM accounting_balance b
                       JOIN accounting_period p ON p.id = b.period_id
                       WHERE b.account_set_id = %s AND p.year = ANY(%s) AND p.number = 1
                       GROUP BY p.year, b.account_id""", [aset.pk, years])
        for y, acc, amount in cur.fetchall():
            opening[y][acc] = amount
        cur.execute("""SELECT p.year, b.account_id, sum(b.closing) FROM accounting_balance b
                       JOIN accounting_period p ON p.id = b.period_id
                       WHERE b.account_set_id = %s AND p.year = ANY(%s) AND p.number = 13
                       GROUP BY p.year, b.account_id""", [aset.pk, years])
        for y, acc, amount in cur.fetchall():
            closing[y][acc] = amount
    out: dict[int, dict[int, Decimal]] = {}
    carried: dict[int, Decimal] = {}
    for y in years:
        want = opening.get(y, {})
        diff = {acc: want.get(acc, Decimal(0)) - carried.get(acc, Decimal(0)) for acc in set(want) | set(carried)}
        out[y] = {acc: d for acc, d in diff.items() if d}
        carried = dict(closing.get(y, {}))
    return out


def write_ledger(aset: AccountSet, out: TextIO, *, year: int | None = None) -> ExportStats:
    """Write the account set's posted books (one year, or all) as a Beancount ledger to `out`.
    The caller has checked that the reader may see the account set."""
    years = _years(aset, year)
    names = account_names(aset)
    accounts = {a.pk: a for a in Account.objects.filter(account_set=aset)}
    stats = ExportStats()
    openings = _openings(aset, years) if years else {}
    used: set[int] = {acc for per_year in openings.values() for acc in per_year}
    year_sql = "AND p.year = %s" if year is not None else ""
    params = [aset.pk] + ([int(year)] if year is not None else [])
    with connection.cursor() as cur:
        cur.execute(f"SELECT DISTINCT l.account_id FROM accounting_voucherline l JOIN accounting_voucher v "
                    f"ON v.id = l.voucher_id JOIN accounting_period p ON p.id = v.period_id "
                    f"WHERE v.account_set_id = %s AND v.status = 'posted' {year_sql}", params)
        used |= {r[0] for r in cur.fetchall()}
    start = dt.date(years[0], 1, 1) if years else dt.date(aset.start_year, 1, 1)
    w = out.write
    w(f";; OpenFMIS account set {aset.code} {aset.name}" + (f", year {year}" if year else "") + "\n")
    w(f'option "title" {_quote(f"{aset.code} {aset.name}")}\n')
    w(f'option "operating_currency" "{CURRENCY}"\n\n')
    for acc_id in sorted(used, key=lambda i: accounts[i].code):
        a = accounts[acc_id]
        w(f"{start.isoformat()} open {names[acc_id]} {CURRENCY}\n  code: {_quote(a.code)}\n"
          f"  basis: {_quote(a.basis)}\n")
        stats.accounts += 1
    w("\n")
    for y in years:
        per_basis: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
        for acc_id, amount in sorted(openings.get(y, {}).items(), key=lambda t: accounts[t[0]].code):
            per_basis[accounts[acc_id].basis].append((acc_id, amount))
        for basis in (Basis.FINANCIAL, Basis.BUDGETARY):
            rows = per_basis.get(basis)
            if not rows:
                continue
            w(f'{dt.date(y, 1, 1).isoformat()} * "期初余额" {_quote(f"{y} 年期初余额（{Basis(basis).label}）")}\n'
              f'  period: "{y}-00"\n  basis: {_quote(basis)}\n')
            for acc_id, amount in rows:
                w(f"  {names[acc_id]}  {_amount(amount)}\n")
                stats.postings += 1
            w("\n")
            stats.openings += 1
    current = None
    with connection.chunked_cursor() as cur:
        cur.execute(_LINES_SQL.format(year=year_sql), params)
        while True:
            chunk = cur.fetchmany(5000)
            if not chunk:
                break
            for vid, vdate, py, pn, word, number, vsummary, acc_id, debit, credit, lsummary in chunk:
                if vid != current:
                    if current is not None:
                        w("\n")
                    current = vid
                    stats.transactions += 1
                    no = f"{word}-{number:04d}"
                    w(f"{vdate.isoformat()} * {_quote(no)} {_quote(vsummary)}\n"
                      f'  voucher_id: "{vid}"\n  voucher_no: {_quote(no)}\n  period: "{py}-{pn:02d}"\n')
                if debit:
                    w(f"  {names[acc_id]}  {_amount(debit)}\n")
                    if debit < 0:
                        w('    side: "debit"\n')
                else:
                    w(f"  {names[acc_id]}  {_amount(-credit)}\n")
                    if credit < 0:
                        w('    side: "credit"\n')
                stats.postings += 1
    if current is not None:
        w("\n")
    return stats


def export_ledger(*, user, account_set_id: int, out: TextIO, year: int | None = None) -> ExportStats:
    """``write_ledger`` for a user: the account set must be in their ledger-view scope."""
    permissions.require(user, FN_EXPORT)
    aset = (AccountSet.objects.restrict(user, FN_EXPORT).filter(pk=account_set_id).first()
            if str(account_set_id).isdigit() else None)
    if aset is None:
        raise NotFound("accounting.set_not_found", "账套不存在", field="account_set")
    return write_ledger(aset, out, year=year)

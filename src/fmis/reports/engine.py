"""Figures for report formulas, read from the accounting balance table.

One balance row per account set, period, leaf account and auxiliary combination holds the period's
opening, debit, credit, the year's cumulative debit and credit, and the closing (debit-positive).
``BalanceData.load`` reads one period with one aggregate per leaf account (and, when formulas
filter on auxiliary values, one more aggregate per leaf account and auxiliary combination of the
accounts concerned), on the ``acc_balance_set_period`` index; voucher lines are never read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from fmis.platform.money import ZERO
from fmis.reports.formula import Term

# the figures of one balance row, in this order
FIELDS = ("opening", "debit", "credit", "cum_debit", "cum_credit", "closing")
_SUMS = ", ".join(f"coalesce(sum(b.{f}), 0)" for f in FIELDS)


def _zero() -> list[Decimal]:
    return [ZERO] * len(FIELDS)


def _add(into: list[Decimal], row: Iterable[Decimal]) -> None:
    for i, v in enumerate(row):
        into[i] += v


@dataclass
class BalanceData:
    """The balances of one account set and period, summed per account code prefix."""

    period_id: int | None
    by_prefix: dict[str, list[Decimal]] = field(default_factory=dict)
    direction: dict[str, str] = field(default_factory=dict)
    # per filtered term: the sums of the rows that pass the filter
    filtered: dict[tuple, list[Decimal]] = field(default_factory=dict)
    leaves: dict[str, list[Decimal]] = field(default_factory=dict)

    @classmethod
    def load(cls, *, account_set_id: int, period_id: int | None, terms: Iterable[Term] = ()) -> BalanceData:
        data = cls(period_id=period_id)
        if period_id is None:
            return data
        accounts = _accounts(account_set_id)
        with connection.cursor() as cur:
            cur.execute(f"""
                SELECT b.account_id, {_SUMS}
                FROM accounting_balance b
                WHERE b.account_set_id = %s AND b.period_id = %s
                GROUP BY b.account_id
            """, [account_set_id, period_id])
            rows = sorted(((accounts[r[0]], r[1:]) for r in cur.fetchall() if r[0] in accounts), key=lambda r: r[0])
        for (code, direction), sums in rows:
            data.leaves[code] = list(sums)
            for n in range(1, len(code) + 1):
                _add(data.by_prefix.setdefault(code[:n], _zero()), sums)
                data.direction.setdefault(code[:n], direction)
        filtered = sorted({t for t in terms if t.aux}, key=repr)
        if filtered:
            data._load_filtered(account_set_id, period_id, filtered, accounts)
        return data

    def _load_filtered(self, account_set_id: int, period_id: int, terms: list[Term],
                       accounts: dict[int, tuple[str, str]]) -> None:
        """One aggregate over the rows of the accounts concerned, grouped by account and by each
        auxiliary element cut to the longest prefix a condition on it tests (so the groups stay few)."""
        width: dict[str, int] = {}
        for t in terms:
            for e, v in t.aux:
                width[e] = max(width.get(e, 1), 1 if v in ("*", "-") else len(v))
        elements = sorted(width)
        codes = sorted({t.code for t in terms})
        ids = [pk for pk, (code, _d) in accounts.items() if code.startswith(tuple(codes))]
        if not ids:
            return
        cols = ", ".join("left(coalesce(b.aux ->> %s, ''), %s)" for _e in elements)
        sql = f"""
            SELECT b.account_id, {cols}, {_SUMS}
            FROM accounting_balance b
            WHERE b.account_set_id = %s AND b.period_id = %s AND b.account_id = ANY(%s)
            GROUP BY {", ".join(str(i + 1) for i in range(len(elements) + 1))}
        """
        params = [x for e in elements for x in (e, width[e])] + [account_set_id, period_id, ids]
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = [(accounts[r[0]][0], dict(zip(elements, r[1:1 + len(elements)], strict=True)),
                     r[1 + len(elements):]) for r in cur.fetchall()]
        for t in terms:
            if _fkey(t) in self.filtered:
                continue
            acc = self.filtered.setdefault(_fkey(t), _zero())
            for code, values, sums in rows:
                if code.startswith(t.code) and all(_passes(values[e], v) for e, v in t.aux):
                    _add(acc, sums)

    def sums(self, t: Term) -> list[Decimal]:
        if t.aux:
            return self.filtered.get(_fkey(t), _zero())
        return self.by_prefix.get(t.code, _zero())

    def value(self, t: Term) -> Decimal:
        """The figure of a formula term (see ``fmis.reports.formula``)."""
        opening, debit, credit, cum_debit, cum_credit, closing = self.sums(t)
        credit_side = self.direction.get(t.code, "debit") == "credit"
        if t.func in ("QC", "QM", "NC"):
            v = {"QC": opening, "QM": closing, "NC": closing - cum_debit + cum_credit}[t.func]
            negate = t.side == "credit" or (t.side == "" and credit_side)
            return -v if negate else v
        d, c = (debit, credit) if t.func == "FS" else (cum_debit, cum_credit)
        if t.side == "debit":
            return d
        if t.side == "credit":
            return c
        return c - d if credit_side else d - c


def _accounts(account_set_id: int) -> dict[int, tuple[str, str]]:
    """id → (code, direction) of the accounts of a set (a few hundred rows)."""
    with connection.cursor() as cur:
        cur.execute("SELECT id, code, direction FROM accounting_account WHERE account_set_id = %s", [account_set_id])
        return {pk: (code, direction) for pk, code, direction in cur.fetchall()}


def _fkey(t: Term) -> tuple:
    return (t.code, t.aux)


def _passes(value: str, cond: str) -> bool:
    if cond == "*":
        return value != ""
    if cond == "-":
        return value == ""
    return value.startswith(cond)

"""Daily statements (对账单) per merchant and per customer, derived from the recorded movements.

Input is the movements of the bank-side contracts in ledger order (``Movement`` records or any
objects with ``allocation``, ``kind``, ``amount`` and ``detail``). A statement covers one day or
that day and the previous days; its opening balance is the sum of the account's ledger
movements dated before the period, so closing = opening + increases − decreases, and the closing
of the latest day equals the account's balance in the world state. Lines of the traditional core
banking (``bank.core_debit`` / ``bank.core_credit``) are listed and totalled separately: they do
not move a ledger balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

LEDGER_KINDS = ("bank.increase", "bank.decrease")
CORE_KINDS = ("bank.core_debit", "bank.core_credit")


@dataclass(frozen=True)
class Line:
    date: str
    kind: str
    amount: int
    payment: str
    serial: str
    core_serial: str
    balance: int | None  # ledger balance after the line; None for core-banking lines


@dataclass
class Statement:
    account_no: str
    first_day: str
    last_day: str
    opening: int = 0
    increase: int = 0
    decrease: int = 0
    core_debit: int = 0
    core_credit: int = 0
    lines: list[Line] = field(default_factory=list)

    @property
    def closing(self) -> int:
        return self.opening + self.increase - self.decrease

    def as_rows(self) -> list[list]:
        """Rows for an xlsx export (header first)."""
        rows: list[list] = [["日期", "类型", "金额(分)", "余额(分)", "银行流水号", "核心流水号", "交易"]]
        rows += [[ln.date, ln.kind, ln.amount, ln.balance, ln.serial, ln.core_serial, ln.payment]
                 for ln in self.lines]
        return rows


def _days(day: str, previous_days: int) -> tuple[str, str]:
    last = dt.date.fromisoformat(day)
    return (last - dt.timedelta(days=previous_days)).isoformat(), last.isoformat()


def account_statement(movements: Iterable, *, account_no: str, day: str, previous_days: int = 0) -> Statement:
    """Statement of one account for `day` (and the `previous_days` before it)."""
    if previous_days < 0:
        raise ValueError("previous_days must not be negative")
    first, last = _days(day, previous_days)
    st = Statement(account_no, first, last)
    for mv in movements:
        d = mv.detail
        if d.get("account") != account_no or not mv.kind.startswith("bank."):
            continue
        date = d["date"]
        if date > last:
            continue
        sign = 1 if mv.kind == "bank.increase" else -1 if mv.kind == "bank.decrease" else 0
        if date < first:
            st.opening += sign * mv.amount
            continue
        st.lines.append(Line(date, mv.kind, mv.amount, mv.allocation, d.get("serial", ""),
                             d.get("core_serial", ""), d.get("balance")))
        if mv.kind == "bank.increase":
            st.increase += mv.amount
        elif mv.kind == "bank.decrease":
            st.decrease += mv.amount
        elif mv.kind == "bank.core_debit":
            st.core_debit += mv.amount
        elif mv.kind == "bank.core_credit":
            st.core_credit += mv.amount
    st.lines.sort(key=lambda ln: ln.date)  # stable: ledger order within a day
    return st


def merchant_statement(movements: Iterable, *, merchant: dict, day: str, previous_days: int = 0) -> Statement:
    """A merchant's statement: its account's lines (``merchant`` is the ``bank/merchant/…`` record)."""
    return account_statement(movements, account_no=merchant["account_no"], day=day, previous_days=previous_days)


def customer_statement(movements: Iterable, *, account_no: str, day: str, previous_days: int = 0) -> Statement:
    """A customer's statement: ledger lines of a managed account, core credits of an unmanaged one."""
    return account_statement(movements, account_no=account_no, day=day, previous_days=previous_days)


def reconcile(statement: Statement, records: Iterable[dict]) -> list[str]:
    """Differences between a statement and the bookkeeping results recorded on the ledger
    (``bank/payment/…`` and ``bank/funding/…`` records, each with its ``bookkeeping`` entries);
    an empty list when they agree."""
    totals = dict.fromkeys((*LEDGER_KINDS, *CORE_KINDS), 0)
    for r in records:
        for b in r["bookkeeping"]:
            if b["account"] == statement.account_no and statement.first_day <= b["date"] <= statement.last_day:
                totals[b["kind"]] += b["amount"]
    out = []
    for kind, mine in (("bank.increase", statement.increase), ("bank.decrease", statement.decrease),
                       ("bank.core_debit", statement.core_debit), ("bank.core_credit", statement.core_credit)):
        if mine != totals[kind]:
            out.append(f"{kind}: statement {mine} fen, bookkeeping {totals[kind]} fen")
    return out

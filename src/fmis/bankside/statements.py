"""Daily statements (对账单) per merchant and per customer, derived from the recorded movements.

Input is the movements of the bank-side contracts in ledger order (``Movement`` records or any
objects with ``allocation``, ``kind``, ``amount`` and ``detail``). A statement covers one day or
that day and the previous days; its opening balance is the sum of the account's ledger
movements dated before the period, so closing = opening + increases − decreases, and the closing
of the latest day equals the account's balance in the world state. Lines of the traditional core
banking (``bank.core_debit`` / ``bank.core_credit``) are listed and totalled separately: they do
not move a ledger balance.

Two paths compute the same figures:

* ``account_statement`` is pure: it reads movements in memory (the contract tests use it);
* ``projected_statement`` reads the projection (``StatementLine`` rows, one per movement) with SQL
  aggregates: the opening balance and the period's totals in one query over the account's
  ``(account_no, date)`` index, the lines paged (``page``) or streamed (``iter_lines``), the xlsx
  written by a write-only workbook (``write_xlsx``). It never holds a large statement in memory.

``reconcile_with_ledger`` compares the projection with the bookkeeping results recorded on the
ledger (every ``bank/…`` record with a ``bookkeeping`` list in the local node's world state) and
the account's balance there; it returns the differences, empty when they agree.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

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
    tx: str = ""  # the ledger transaction that emitted the line (projection-backed statements)
    n: int = 0  # its index among that transaction's movements
    party: str = ""  # merchant / customer / suspense
    merchant: str = ""


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


# --- the projection-backed path ---------------------------------------------------------------------

LINE_ORDER = ("date", "block", "seq", "n")
_LINE_FIELDS = ("date", "kind", "amount", "ref", "serial", "core_serial", "balance", "tx_id", "n", "party",
                "merchant_no")
KIND_LABELS = {"bank.increase": "增计", "bank.decrease": "减计", "bank.core_debit": "核心扣款",
               "bank.core_credit": "核心入账"}


def _fen(value: Decimal | None) -> int:
    """A stored amount (yuan, two places) as fen; the projection only holds exact cents."""
    return 0 if value is None else int(value.scaleb(2))


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _line(row: tuple) -> Line:
    date, kind, amount, ref, serial, core_serial, balance, tx, n, party, merchant = row
    return Line(date.isoformat(), kind, _fen(amount), ref, serial, core_serial,
                None if balance is None else _fen(balance), tx, n, party, merchant)


class ProjectedStatement:
    """A statement read from the projection: figures computed by SQL, lines read on demand.

    Has the attributes of ``Statement`` (``lines`` reads them all: use ``page`` or ``iter_lines``
    for a large statement). `lines_qs` is the account's lines the reader may see."""

    def __init__(self, lines_qs, *, account_no: str, first_day: str, last_day: str, figures: dict[str, int]):
        self._qs = lines_qs
        self.account_no = account_no
        self.first_day = first_day
        self.last_day = last_day
        self.opening = figures["opening"]
        self.increase = figures["increase"]
        self.decrease = figures["decrease"]
        self.core_debit = figures["core_debit"]
        self.core_credit = figures["core_credit"]
        self.line_count = figures["line_count"]
        self._lines: list[Line] | None = None

    @property
    def closing(self) -> int:
        return self.opening + self.increase - self.decrease

    def _period(self):
        return self._qs.filter(date__gte=self.first_day, date__lte=self.last_day).order_by(*LINE_ORDER)

    def iter_lines(self, *, chunk_size: int = 5000) -> Iterator[Line]:
        """The period's lines in order (date, then ledger order), streamed from a server-side cursor."""
        for row in self._period().values_list(*_LINE_FIELDS).iterator(chunk_size=chunk_size):
            yield _line(row)

    def page(self, *, offset: int = 0, limit: int = 100) -> list[Line]:
        offset, limit = max(0, offset), max(0, min(limit, 10_000))
        return [_line(r) for r in self._period().values_list(*_LINE_FIELDS)[offset:offset + limit]]

    @property
    def lines(self) -> list[Line]:
        if self._lines is None:
            self._lines = list(self.iter_lines())
        return self._lines

    def as_rows(self) -> list[list]:
        """Rows for an xlsx export (header first), as ``Statement.as_rows``."""
        rows: list[list] = [["日期", "类型", "金额(分)", "余额(分)", "银行流水号", "核心流水号", "交易"]]
        rows += [[ln.date, ln.kind, ln.amount, ln.balance, ln.serial, ln.core_serial, ln.payment]
                 for ln in self.iter_lines()]
        return rows

    def header(self) -> dict[str, Any]:
        return {"account_no": self.account_no, "first_day": self.first_day, "last_day": self.last_day,
                "opening": self.opening, "increase": self.increase, "decrease": self.decrease,
                "closing": self.closing, "core_debit": self.core_debit, "core_credit": self.core_credit,
                "line_count": self.line_count}


def statement_figures(lines_qs, *, first_day: dt.date, last_day: dt.date) -> dict[str, int]:
    """Opening balance, the period's totals by kind and its number of lines, in one aggregate
    query over ``lines_qs`` (one account's lines) up to `last_day`."""
    from django.db.models import Count, Q, Sum

    before, within = Q(date__lt=first_day), Q(date__gte=first_day)
    agg = lines_qs.filter(date__lte=last_day).aggregate(
        open_inc=Sum("amount", filter=before & Q(kind="bank.increase")),
        open_dec=Sum("amount", filter=before & Q(kind="bank.decrease")),
        increase=Sum("amount", filter=within & Q(kind="bank.increase")),
        decrease=Sum("amount", filter=within & Q(kind="bank.decrease")),
        core_debit=Sum("amount", filter=within & Q(kind="bank.core_debit")),
        core_credit=Sum("amount", filter=within & Q(kind="bank.core_credit")),
        line_count=Count("pk", filter=within))
    return {"opening": _fen(agg["open_inc"]) - _fen(agg["open_dec"]), "increase": _fen(agg["increase"]),
            "decrease": _fen(agg["decrease"]), "core_debit": _fen(agg["core_debit"]),
            "core_credit": _fen(agg["core_credit"]), "line_count": agg["line_count"]}


def projected_statement(lines_qs, *, account_no: str, day: dt.date | str, previous_days: int = 0
                        ) -> ProjectedStatement:
    """Statement of `account_no` for `day` (and the `previous_days` before it) from ``lines_qs``,
    a ``StatementLine`` queryset (already restricted to what the reader may see)."""
    if previous_days < 0:
        raise ValueError("previous_days must not be negative")
    first, last = _days(_as_date(day).isoformat(), previous_days)
    qs = lines_qs.filter(account_no=account_no)
    figures = statement_figures(qs, first_day=dt.date.fromisoformat(first), last_day=dt.date.fromisoformat(last))
    return ProjectedStatement(qs, account_no=account_no, first_day=first, last_day=last, figures=figures)


def merchant_projected_statement(lines_qs, *, merchant: dict, day: dt.date | str, previous_days: int = 0
                                 ) -> ProjectedStatement:
    """A merchant's statement is its account's (``merchant``: a record with ``account_no``)."""
    return projected_statement(lines_qs, account_no=merchant["account_no"], day=day, previous_days=previous_days)


def customer_projected_statement(lines_qs, *, account_no: str, day: dt.date | str, previous_days: int = 0
                                 ) -> ProjectedStatement:
    """A customer's statement: the ledger lines of a managed account, the core-banking credits
    (核心入账 of suspense refunds) of an unmanaged one; both are lines of the account number."""
    return projected_statement(lines_qs, account_no=account_no, day=day, previous_days=previous_days)


# --- xlsx ------------------------------------------------------------------------------------------

XLSX_HEADERS = ("日期", "类型", "金额(元)", "余额(元)", "银行流水号", "核心流水号", "业务编号", "交易编号", "序号",
                "账户类别", "商户号")


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen).scaleb(-2)


def write_xlsx(st: Statement | ProjectedStatement, out: IO[bytes]) -> None:
    """The statement as a workbook (a summary sheet and the lines), streamed straight from the
    line stream, so memory stays flat for any number of lines."""
    from fmis.platform.xlsx import write_sheets

    summary = [["账号", st.account_no], ["起始日期", st.first_day], ["截止日期", st.last_day],
               ["期初余额(元)", _yuan(st.opening)], ["增计合计(元)", _yuan(st.increase)],
               ["减计合计(元)", _yuan(st.decrease)], ["期末余额(元)", _yuan(st.closing)],
               ["核心扣款合计(元)", _yuan(st.core_debit)], ["核心入账合计(元)", _yuan(st.core_credit)]]
    lines = st.iter_lines() if isinstance(st, ProjectedStatement) else iter(st.lines)
    rows = ([ln.date, KIND_LABELS.get(ln.kind, ln.kind), _yuan(ln.amount), _yuan(ln.balance), ln.serial,
             ln.core_serial, ln.payment, ln.tx, ln.n, ln.party, ln.merchant] for ln in lines)
    write_sheets(out, [("对账单", None, summary), ("明细", list(XLSX_HEADERS), rows)])


def xlsx_bytes(st: Statement | ProjectedStatement) -> bytes:
    buf = io.BytesIO()
    write_xlsx(st, buf)
    return buf.getvalue()


def xlsx_filename(st: Statement | ProjectedStatement) -> str:
    return f"对账单-{st.account_no}-{st.first_day}-{st.last_day}.xlsx"


# --- reconciliation with the ledger ----------------------------------------------------------------

_BOOKKEEPING_SQL = """
SELECT substring(s.key from '[^/]*$') AS ref, e->>'kind' AS kind, sum((e->>'amount')::bigint) AS amount
  FROM transfers_state s
 CROSS JOIN LATERAL jsonb_array_elements(
       CASE WHEN jsonb_typeof(s.value->'bookkeeping') = 'array' THEN s.value->'bookkeeping' ELSE '[]'::jsonb END) e
 WHERE s.key LIKE 'bank/%%' AND e->>'account' = %s AND e->>'date' BETWEEN %s AND %s
 GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Difference:
    """One disagreement between the projection and the ledger (amounts in fen)."""

    item: str  # total / line / balance
    kind: str
    ref: str
    statement: int
    ledger: int

    @property
    def message(self) -> str:
        label = KIND_LABELS.get(self.kind, self.kind)
        if self.item == "balance":
            return f"账户余额：对账单 {self.statement} 分，账本 {self.ledger} 分"
        if self.item == "total":
            return f"{label}合计：对账单 {self.statement} 分，账本记账结果 {self.ledger} 分"
        return f"业务 {self.ref[:16]} {label}：对账单 {self.statement} 分，账本记账结果 {self.ledger} 分"

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "kind": self.kind, "ref": self.ref, "statement": self.statement,
                "ledger": self.ledger, "message": self.message}


def reconcile_with_ledger(account_no: str, first_day: dt.date | str, last_day: dt.date | str) -> list[Difference]:
    """Differences between the projected statement of `account_no` for the period and the
    bookkeeping results recorded on the ledger (``bank/payment/…``, ``bank/funding/…`` and any
    other ``bank/…`` record with a ``bookkeeping`` list, in the local node's world state): per kind
    total, per business record and kind, and the account's balance (every projected line against
    ``bank/account/<no>``, for an account on the ledger). Empty when they agree.

    Reads the whole projection of the account and the ledger in one repeatable-read snapshot, so a
    block committed meanwhile cannot show as a difference."""
    from django.db import connection, transaction
    from django.db.models import Sum

    from fmis.bankside.models import StatementLine

    first, last = _as_date(first_day), _as_date(last_day)
    if first > last:
        raise ValueError("first_day is after last_day")
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:  # our own transaction: read everything from one snapshot
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        mine: dict[tuple[str, str], int] = {}
        for ref, kind, amount in (StatementLine.objects.filter(account_no=account_no, date__gte=first, date__lte=last)
                                  .values_list("ref", "kind").annotate(total=Sum("amount")).order_by()):
            mine[(ref, kind)] = _fen(amount)
        with connection.cursor() as cur:
            cur.execute(_BOOKKEEPING_SQL, [account_no, first.isoformat(), last.isoformat()])
            theirs = {(ref, kind): int(amount) for ref, kind, amount in cur.fetchall()}
            cur.execute("SELECT (value->>'balance')::bigint FROM transfers_state WHERE key = %s",
                        [f"bank/account/{account_no}"])
            row = cur.fetchone()
        all_lines = dict(StatementLine.objects.filter(account_no=account_no, kind__in=LEDGER_KINDS)
                         .values_list("kind").annotate(total=Sum("amount")).order_by())
    out: list[Difference] = []
    for kind in (*LEDGER_KINDS, *CORE_KINDS):
        a = sum(v for (_, k), v in mine.items() if k == kind)
        b = sum(v for (_, k), v in theirs.items() if k == kind)
        if a != b:
            out.append(Difference("total", kind, "", a, b))
    for ref, kind in sorted(set(mine) | set(theirs)):
        a, b = mine.get((ref, kind), 0), theirs.get((ref, kind), 0)
        if a != b:
            out.append(Difference("line", kind, ref, a, b))
    if row is not None:
        projected = _fen(all_lines.get("bank.increase")) - _fen(all_lines.get("bank.decrease"))
        if projected != row[0]:
            out.append(Difference("balance", "", "", projected, row[0]))
    return out

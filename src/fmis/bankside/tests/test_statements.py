"""Statements from the projection: the same figures as the pure statement, paged and streamed
lines, per-merchant and per-customer statements, xlsx, and reconciliation with the ledger."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from openpyxl import load_workbook

from fmis.bankside import functions as F_
from fmis.bankside import projection, selectors, statements
from fmis.bankside.core_banking import CoreBanking, payment_args, refund_args
from fmis.bankside.models import StatementLine
from fmis.bankside.tests.harness import BANK, build_world
from fmis.bankside.tests.harness import payment_args as pargs
from fmis.platform.errors import NotFound

ACCOUNTS = ("A-M1", "C1", "BGL-CNY", "A-M2", "EXT")


def world():
    """Payments of every branch over three days, a suspense refund the next day, and a payment
    dated before a payment recorded earlier (dates need not follow ledger order)."""
    h = build_world()
    core = CoreBanking("B001")
    core.open("A-M2", balance=100_000)
    core.open("EXT")
    h.call("bankside.pay", pargs(1, amount=1_500), BANK)
    h.call("bankside.pay", pargs(2, amount=2_500, date="2026-11-21"), BANK)
    sus = h.call("bankside.pay", pargs(3, amount=700, payee_account="EXT"), BANK)
    h.call("bankside.refund_suspense", refund_args(core, h.payment(sus), day="2026-11-21"), BANK)
    h.call("bankside.pay", payment_args(core, pargs(4, merchant_no="M2", amount=900), merchant_account="A-M2"), BANK)
    h.call("bankside.pay", pargs(5, amount=300, date="2026-11-20"), BANK)
    h.call("bankside.fund", {"account_no": "A-M1", "amount": 50_000, "currency": "CNY", "reference": "Q-2",
                             "date": "2026-11-22"}, BANK)
    h.call("bankside.pay", pargs(6, amount=4_000, date="2026-11-22"), BANK)
    return h


def project_all(h) -> None:
    for block, tx, writes, mvs in h.log:
        projection.project_block(block=block, writes=writes, movements=[(tx, n, mv) for n, mv in enumerate(mvs)])


def write_state(h) -> None:
    """The harness's world state as the local node's ``transfers_state`` (what reconciliation reads)."""
    with connection.cursor() as cur:
        cur.execute("DELETE FROM transfers_state WHERE key LIKE 'bank/%%'")
        for key, value in h.state.items():
            cur.execute("INSERT INTO transfers_state (key, value, block_number) VALUES (%s, %s::jsonb, %s)",
                        [key, json.dumps(value), value.get("block") or 0])


@pytest.fixture
def projected(db):
    h = world()
    project_all(h)
    write_state(h)
    return h


@pytest.fixture
def reader(make_role, make_user):
    return make_user("stmt_reader", roles=[make_role("STMT", [F_.STATEMENT_VIEW])])


def _figures(st) -> tuple:
    return st.opening, st.increase, st.decrease, st.core_debit, st.core_credit, st.closing


PERIODS = (("2026-11-19", 0), ("2026-11-20", 0), ("2026-11-21", 0), ("2026-11-21", 1), ("2026-11-22", 3),
           ("2026-11-25", 0))


@pytest.mark.parametrize("account", ACCOUNTS)
def test_the_projected_statement_has_the_figures_and_lines_of_the_pure_statement(projected, reader, account):
    h = projected
    for day, prev in PERIODS:
        got = selectors.statement(user=reader, account_no=account, day=dt.date.fromisoformat(day),
                                  previous_days=prev)
        want = statements.account_statement(h.movements, account_no=account, day=day, previous_days=prev)
        assert (got.first_day, got.last_day) == (want.first_day, want.last_day)
        assert _figures(got) == _figures(want)
        key = lambda ln: (ln.date, ln.kind, ln.amount, ln.payment, ln.serial, ln.core_serial, ln.balance)
        assert [key(ln) for ln in got.lines] == [key(ln) for ln in want.lines]
        assert got.line_count == len(want.lines)
        assert statements.reconcile(got, h.records()) == []


def test_the_closing_balance_of_the_latest_day_is_the_ledger_balance(projected, reader):
    h = projected
    for account in ("A-M1", "C1", "BGL-CNY"):
        st = selectors.statement(user=reader, account_no=account, day=dt.date(2026, 11, 22), previous_days=3)
        assert st.closing == h.balance(account)
    m1 = selectors.statement(user=reader, account_no="A-M1", day=dt.date(2026, 11, 22), previous_days=3)
    assert m1.opening == 0 and m1.increase == 1_000_000 + 50_000
    assert m1.decrease == 1_500 + 2_500 + 700 + 300 + 4_000
    bgl = selectors.statement(user=reader, account_no="BGL-CNY", day=dt.date(2026, 11, 21), previous_days=1)
    assert (bgl.increase, bgl.decrease, bgl.closing) == (700, 700, 0)  # the suspense account nets to zero


def test_the_opening_balance_counts_every_line_dated_before_the_period(projected, reader):
    st = selectors.statement(user=reader, account_no="A-M1", day=dt.date(2026, 11, 21))
    # funded 1,000,000 on the 19th; 1,500 + 700 + 300 paid on the 20th (the 300 was recorded last)
    assert st.opening == 1_000_000 - 1_500 - 700 - 300
    assert (st.increase, st.decrease, st.closing) == (0, 2_500, st.opening - 2_500)


def test_lines_are_paged_and_streamed_in_the_same_order(projected, reader):
    st = selectors.statement(user=reader, account_no="A-M1", day=dt.date(2026, 11, 22), previous_days=3)
    streamed = list(st.iter_lines(chunk_size=2))
    assert len(streamed) == st.line_count == 7
    paged = st.page(offset=0, limit=3) + st.page(offset=3, limit=3) + st.page(offset=6, limit=3)
    assert paged == streamed
    assert [ln.date for ln in streamed] == sorted(ln.date for ln in streamed)
    assert all(ln.tx and ln.party == "merchant" and ln.merchant == "M1" for ln in streamed)
    assert st.page(offset=100, limit=10) == []


def test_a_merchants_statement_is_its_accounts_and_an_unmanaged_customer_sees_its_core_credits(projected, reader):
    from fmis.bankside.models import Merchant

    visible = StatementLine.objects.restrict(reader, F_.STATEMENT_VIEW)
    m2 = Merchant.objects.get(merchant_no="M2")
    st = statements.merchant_projected_statement(visible, merchant={"account_no": m2.account_no},
                                                 day="2026-11-20")
    assert (st.account_no, st.core_debit, st.decrease, st.line_count) == ("A-M2", 900, 0, 1)
    ext = statements.customer_projected_statement(visible, account_no="EXT", day="2026-11-21", previous_days=1)
    assert (ext.core_credit, ext.increase, ext.closing, ext.line_count) == (700, 0, 0, 1)
    [line] = ext.lines
    assert (line.kind, line.party, line.balance) == ("bank.core_credit", "customer", None)
    c1 = statements.customer_projected_statement(visible, account_no="C1", day="2026-11-22", previous_days=3)
    assert c1.increase == 1_500 + 2_500 + 300 + 4_000 and c1.decrease == 0


def test_a_statement_of_an_account_the_user_may_not_see_is_not_found(projected, make_role, make_user):
    other = make_user("unit2", roles=[make_role("U2", [F_.STATEMENT_VIEW], rules=[("agency", "values", ["990002"])])])
    with pytest.raises(NotFound):
        selectors.statement(user=other, account_no="A-M1", day=dt.date(2026, 11, 21))
    with pytest.raises(NotFound):
        selectors.statement(user=other, account_no="NO-SUCH", day=dt.date(2026, 11, 21))
    assert selectors.statement(user=other, account_no="A-M2", day=dt.date(2026, 11, 20)).core_debit == 900


def test_negative_previous_days_are_refused(projected):
    with pytest.raises(ValueError):
        statements.projected_statement(StatementLine.objects.all(), account_no="A-M1", day="2026-11-21",
                                       previous_days=-1)


def test_the_xlsx_has_the_summary_and_every_line(projected, reader):
    st = selectors.statement(user=reader, account_no="A-M1", day=dt.date(2026, 11, 22), previous_days=3)
    wb = load_workbook(io.BytesIO(statements.xlsx_bytes(st)), read_only=True)
    summary = {r[0]: r[1] for r in wb["对账单"].iter_rows(values_only=True)}
    assert summary["账号"] == "A-M1"
    assert Decimal(str(summary["期末余额(元)"])) == Decimal(st.closing).scaleb(-2)
    rows = list(wb["明细"].iter_rows(values_only=True))
    assert rows[0] == statements.XLSX_HEADERS and len(rows) == 1 + st.line_count
    signed = sum(Decimal(str(r[2])) * (1 if r[1] == "增计" else -1) for r in rows[1:])
    assert signed == Decimal(st.increase - st.decrease).scaleb(-2)
    assert statements.xlsx_filename(st) == "对账单-A-M1-2026-11-19-2026-11-22.xlsx"


def test_the_projection_reconciles_with_the_ledgers_bookkeeping(projected):
    for account in ACCOUNTS:
        for day, prev in PERIODS:
            first, last = statements._days(day, prev)
            assert statements.reconcile_with_ledger(account, first, last) == [], (account, day, prev)


def test_a_tampered_projection_row_shows_as_differences(projected):
    line = StatementLine.objects.filter(account_no="A-M1", kind="bank.decrease", date=dt.date(2026, 11, 21)).get()
    StatementLine.objects.filter(pk=line.pk).update(amount=line.amount + Decimal("1.00"))
    diffs = statements.reconcile_with_ledger("A-M1", "2026-11-21", "2026-11-21")
    assert {(d.item, d.kind, d.ref, d.statement, d.ledger) for d in diffs} == {
        ("total", "bank.decrease", "", 2_600, 2_500),
        ("line", "bank.decrease", line.ref, 2_600, 2_500),
        ("balance", "", "", projected.balance("A-M1") - 100, projected.balance("A-M1")),
    }
    assert all(d.message for d in diffs) and diffs[0].as_dict()["statement"] == 2_600
    # other days and accounts still agree on their lines; the balance check sees the tampering
    assert [d.item for d in statements.reconcile_with_ledger("A-M1", "2026-11-20", "2026-11-20")] == ["balance"]
    assert statements.reconcile_with_ledger("C1", "2026-11-19", "2026-11-22") == []


def test_a_dropped_projection_row_and_a_core_line_are_seen(projected):
    StatementLine.objects.filter(account_no="EXT").delete()
    diffs = statements.reconcile_with_ledger("EXT", "2026-11-21", "2026-11-21")
    assert [(d.item, d.kind, d.statement, d.ledger) for d in diffs] == [
        ("total", "bank.core_credit", 0, 700), ("line", "bank.core_credit", 0, 700)]


def test_reconciliation_refuses_an_inverted_period(projected):
    with pytest.raises(ValueError):
        statements.reconcile_with_ledger("A-M1", "2026-11-22", "2026-11-21")

"""Voucher life cycle and refusals: audit, post, un-post, reverse, closed periods, bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from fmis.accounting import services
from fmis.accounting.models import Balance, Period, Voucher, VoucherLine
from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.platform.errors import Conflict, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord

pytestmark = pytest.mark.django_db

PAIR = [dr("5001", 30), cr("1011", 30), dr("720101", 30), cr("800101", 30)]


def _nothing_written(before_vouchers: int, before_lines: int):
    assert Voucher.objects.count() == before_vouchers
    assert VoucherLine.objects.count() == before_lines


def test_life_cycle_numbers_and_balances(books):
    v1 = books.voucher(PAIR)
    v2 = books.voucher(PAIR)
    assert (v1.number, v2.number, v1.status) == (1, 2, "entered")
    assert str(v1) == "记-0001"
    services.audit_voucher(voucher_id=v1.pk, user=books.auditor)
    services.post_voucher(voucher_id=v1.pk, user=books.auditor)
    b = Balance.objects.get(period__number=3, account__code="720101")
    assert (b.debit, b.closing, b.cum_debit) == (Decimal("30.00"),) * 3
    # un-post and un-audit in reverse order
    with pytest.raises(Conflict):
        services.unaudit_voucher(voucher_id=v1.pk, user=books.auditor)
    services.unpost_voucher(voucher_id=v1.pk, user=books.auditor)
    b.refresh_from_db()
    assert (b.debit, b.closing) == (Decimal("0.00"), Decimal("0.00"))
    services.unaudit_voucher(voucher_id=v1.pk, user=books.auditor)
    assert Voucher.objects.get(pk=v1.pk).status == "entered"
    # deleting the first voucher moves the second up: numbers stay gap-free
    services.delete_voucher(voucher_id=v1.pk, user=books.entrant)
    assert Voucher.objects.get(pk=v2.pk).number == 1
    assert books.voucher(PAIR).number == 2
    assert services.check_balances(books.aset.pk) == []
    assert AuditRecord.objects.filter(action__startswith="accounting.voucher.").count() >= 7


def test_unbalanced_voucher_refused_nothing_written(books):
    n_v, n_l = Voucher.objects.count(), VoucherLine.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("5001", 30), cr("1011", 30), dr("720101", 30), cr("800101", 29)])
    assert exc.value.code == "accounting.voucher_unbalanced" and "预算会计" in exc.value.message
    # balanced in total but not per basis
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("5001", 30), cr("800101", 30)])
    assert exc.value.code == "accounting.voucher_unbalanced"
    _nothing_written(n_v, n_l)


def test_non_leaf_zero_and_two_sided_lines_refused(books):
    n_v, n_l = Voucher.objects.count(), VoucherLine.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("8001", 30), cr("6001", 30)])
    assert exc.value.code == "accounting.account_not_leaf" and exc.value.line == 1
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("5001", 0), cr("1011", 0)])
    assert exc.value.code == "accounting.line_one_side"
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("5001", -5), cr("1011", -5)])
    assert exc.value.code == "accounting.line_negative"
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("9999", 5), cr("1011", 5)])
    assert exc.value.code == "accounting.account_not_found"
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("5001", 5, aux={"func": "9999999"}), cr("1011", 5)])
    assert exc.value.line == 1
    with pytest.raises(ValidationFailed) as exc:
        books.voucher([dr("5001", 5, aux={"counterparty": "X"}), cr("1011", 5)])
    assert exc.value.code == "accounting.aux_not_enabled"
    _nothing_written(n_v, n_l)


def test_valid_auxiliary_values_are_kept(books):
    v = books.voucher([dr("5001", 5, aux={"func": "2010101", "gov_eco": "50201", "fund_type": "11"}),
                       cr("1011", 5)])
    line = v.lines.get(line_no=1)
    assert line.aux == {"func": "2010101", "gov_eco": "50201", "fund_type": "11"} and len(line.aux_hash) == 64


def test_auditor_cannot_be_entrant(books):
    v = books.voucher(PAIR)
    with pytest.raises(PermissionDenied) as exc:
        services.audit_voucher(voucher_id=v.pk, user=books.entrant)
    assert exc.value.code == "accounting.auditor_is_entrant"
    assert Voucher.objects.get(pk=v.pk).status == "entered"
    # the database refuses it too
    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.filter(pk=v.pk).update(status="audited", audited_by=books.entrant)


def test_poster_must_differ_when_configured(books):
    services.update_account_set(account_set_id=books.aset.pk, poster_must_differ=True, user=books.admin)
    v = books.voucher(PAIR)
    services.audit_voucher(voucher_id=v.pk, user=books.auditor)
    with pytest.raises(PermissionDenied):
        services.post_voucher(voucher_id=v.pk, user=books.entrant)
    services.post_voucher(voucher_id=v.pk, user=books.auditor)


def test_posted_voucher_is_immutable(books):
    v = books.post(PAIR)
    with pytest.raises(Conflict):
        services.update_voucher(voucher_id=v.pk, lines=PAIR, user=books.entrant)
    with pytest.raises(Conflict):
        services.delete_voucher(voucher_id=v.pk, user=books.entrant)
    # direct writes are refused by the database
    for stmt in ("UPDATE accounting_voucherline SET debit = debit + 1 WHERE voucher_id = %s",
                 "UPDATE accounting_voucher SET summary = 'x' WHERE id = %s",
                 "UPDATE accounting_voucher SET status = 'entered' WHERE id = %s",
                 "DELETE FROM accounting_voucherline WHERE voucher_id = %s"):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(stmt, [v.pk])
    assert VoucherLine.objects.filter(voucher=v).count() == 4


def test_reversal_negates_and_links(books):
    v = books.post(PAIR)
    r = services.reverse_voucher(voucher_id=v.pk, user=books.entrant, date=dt.date(YEAR, 4, 2))
    assert r.reversal_of_id == v.pk and r.period.number == 4
    assert [x.debit + x.credit for x in r.lines.order_by("line_no")] == [Decimal("-30.00")] * 4
    services.audit_voucher(voucher_id=r.pk, user=books.auditor)
    services.post_voucher(voucher_id=r.pk, user=books.auditor)
    b = Balance.objects.get(period__number=4, account__code="720101")
    assert b.closing == 0 and b.opening == Decimal("30.00")
    with pytest.raises(Conflict):
        services.reverse_voucher(voucher_id=v.pk, user=books.entrant, date=dt.date(YEAR, 4, 3))
    assert services.check_balances(books.aset.pk) == []


def test_closed_period_refuses_entry_and_posting(books):
    v = books.voucher(PAIR, on=dt.date(YEAR, 1, 10))
    feb = Period.objects.get(account_set=books.aset, year=YEAR, number=2)
    jan = Period.objects.get(account_set=books.aset, year=YEAR, number=1)
    with pytest.raises(Conflict) as exc:
        services.close_period(period_id=feb.pk, user=books.auditor)
    assert "之前的会计期间尚未结账" in exc.value.message
    with pytest.raises(Conflict) as exc:
        services.close_period(period_id=jan.pk, user=books.auditor)
    assert "未审核" in exc.value.message
    services.audit_voucher(voucher_id=v.pk, user=books.auditor)
    services.post_voucher(voucher_id=v.pk, user=books.auditor)
    services.close_period(period_id=jan.pk, user=books.auditor)
    n_v, n_l = Voucher.objects.count(), VoucherLine.objects.count()
    with pytest.raises(Conflict) as exc:
        books.voucher(PAIR, on=dt.date(YEAR, 1, 20))
    assert exc.value.code == "accounting.period_closed"
    with pytest.raises(Conflict):
        services.unpost_voucher(voucher_id=v.pk, user=books.auditor)
    _nothing_written(n_v, n_l)
    services.close_period(period_id=feb.pk, user=books.auditor)
    with pytest.raises(Conflict):
        services.reopen_period(period_id=jan.pk, user=books.auditor)
    # the database refuses un-posting in a closed period too
    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.filter(pk=v.pk).update(status="audited", posted_by=None, posted_at=None)
    services.reopen_period(period_id=feb.pk, user=books.auditor)
    services.reopen_period(period_id=jan.pk, user=books.auditor)
    services.unpost_voucher(voucher_id=v.pk, user=books.auditor)


def test_deferred_trigger_refuses_unbalanced_commit(books):
    v = books.voucher(PAIR)
    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherLine.objects.filter(voucher=v, line_no=4).update(credit=Decimal("29.00"))
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert VoucherLine.objects.get(voucher=v, line_no=4).credit == Decimal("30.00")


def test_out_of_scope_user_cannot_see_or_touch(books):
    v = books.voucher(PAIR)
    assert not Voucher.objects.restrict(books.outsider, "accounting.voucher.view").filter(pk=v.pk).exists()
    from fmis.platform.errors import NotFound

    with pytest.raises(NotFound):
        services.audit_voucher(voucher_id=v.pk, user=books.outsider)

"""Opening balances (期初余额): entry, xlsx import (all or nothing, line errors, idempotent), the
trial-balance check before posting, posting into the balance rows and un-posting."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from openpyxl import Workbook

from fmis.accounting import services
from fmis.accounting.models import Balance, FiscalYear, OpeningBalance
from fmis.accounting.services import OpeningInput
from fmis.accounting.tests.conftest import YEAR, build_books, cr, dr
from fmis.platform.audit import AuditRecord
from fmis.platform.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db
D = Decimal


def enter(books, code, amount, direction="", aux=None, user=None):
    return services.set_opening_balance(account_set_id=books.aset.pk, year=YEAR, user=user or books.entrant,
                                        row=OpeningInput(account_code=code, amount=amount, direction=direction,
                                                         aux=aux or {}))


def balanced_openings(books):
    enter(books, "1002", "500")
    enter(books, "3001", "500")            # credit account: 500 in its own direction
    enter(books, "800102", "500")
    enter(books, "820204", "500")


def xlsx(rows, header=("科目编码", "余额方向", "年初余额", "辅助核算")):
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_entry_is_debit_positive_and_zero_removes(books):
    ob = enter(books, "3001", "500")
    assert ob.amount == D("-500.00")
    assert enter(books, "1002", "200", direction="贷").amount == D("-200.00")
    assert enter(books, "1002", "0") is None
    assert not OpeningBalance.objects.filter(account__code="1002").exists()
    assert AuditRecord.objects.filter(action="accounting.opening.set").count() == 2
    assert AuditRecord.objects.filter(action="accounting.opening.delete").count() == 1


@pytest.mark.parametrize(("code", "amount", "direction", "aux", "err"), [
    ("8001", "10", "", None, "accounting.account_not_leaf"),
    ("9999", "10", "", None, "accounting.account_not_found"),
    ("1002", "abc", "", None, "accounting.amount_invalid"),
    ("1002", "10", "左", None, "accounting.direction_invalid"),
    ("1002", "10", "", {"func": "2010101"}, "accounting.aux_not_enabled"),
])
def test_bad_entry_writes_nothing(books, code, amount, direction, aux, err):
    with pytest.raises(ValidationFailed) as e:
        enter(books, code, amount, direction, aux)
    assert e.value.code == err and e.value.message
    assert not OpeningBalance.objects.exists()


def test_out_of_scope_set_is_not_found(books):
    with pytest.raises(NotFound):
        enter(books, "1002", "1", user=books.outsider)


def test_check_post_and_unpost(books):
    enter(books, "1002", "500")
    enter(books, "3001", "400")
    chk = services.opening_check(books.aset, YEAR)
    assert not chk.balanced and "差额 100.00" in chk.problems[0]
    with pytest.raises(ValidationFailed) as e:
        services.post_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    assert e.value.code == "accounting.opening_unbalanced" and "财务会计" in e.value.message
    assert not Balance.objects.exists()
    enter(books, "3001", "500")
    enter(books, "800102", "500")
    enter(books, "820204", "499")
    with pytest.raises(ValidationFailed, match="预算会计"):
        services.post_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    enter(books, "820204", "500")
    assert services.opening_check(books.aset, YEAR).balanced
    fy = services.post_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    assert fy.opening_status == FiscalYear.OpeningStatus.POSTED
    rows = Balance.objects.filter(account__code="1002", period__year=YEAR)
    assert rows.count() == 13 and {(r.opening, r.closing) for r in rows} == {(D("500.00"), D("500.00"))}
    assert services.check_balances(books.aset.pk) == []
    # posted openings are fixed; a voucher on top keeps the balance table exact
    with pytest.raises(Conflict) as e:
        enter(books, "1002", "1")
    assert e.value.code == "accounting.opening_posted"
    books.post([dr("1002", 20), cr("4609", 20), dr("800102", 20), cr("6609", 20)])
    assert Balance.objects.get(account__code="1002", period__number=3).closing == D("520.00")
    assert Balance.objects.get(account__code="1002", period__number=2).closing == D("500.00")
    assert services.check_balances(books.aset.pk) == []
    # no un-post while a voucher of the year is posted
    with pytest.raises(Conflict) as e:
        services.unpost_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    assert e.value.code == "accounting.opening_year_has_postings"
    v = books.aset.vouchers.get()
    services.unpost_voucher(voucher_id=v.pk, user=books.auditor)
    services.unpost_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    assert not Balance.objects.filter(account__code="3001").exists()
    assert services.check_balances(books.aset.pk) == []
    assert AuditRecord.objects.filter(action__in=["accounting.opening.post", "accounting.opening.unpost"]).count() == 2


def test_post_twice_is_conflict(books):
    balanced_openings(books)
    services.post_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    with pytest.raises(Conflict) as e:
        services.post_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
    assert e.value.code == "accounting.opening_posted"
    assert Balance.objects.get(account__code="1002", period__number=1).opening == D("500.00")


def test_import_all_or_nothing_and_idempotent(books):
    bad = xlsx([("1002", "借", "500", ""), ("8001", "借", "5", ""), ("1002", "借", "x", ""),
                ("5001", "", "1", "func"), ("3001", "贷", "500", "")])
    with pytest.raises(ValidationFailed) as e:
        services.import_opening_balances(account_set_id=books.aset.pk, year=YEAR, file=bad, user=books.entrant)
    lines = {x["line"] for x in e.value.errors}
    assert lines == {3, 4, 5} and not OpeningBalance.objects.exists()
    assert "第 3 行" in e.value.errors[0]["message"]
    dup = xlsx([("1002", "", "500", ""), ("1002", "", "1", "")])
    with pytest.raises(ValidationFailed) as e:
        services.import_opening_balances(account_set_id=books.aset.pk, year=YEAR, file=dup, user=books.entrant)
    assert e.value.errors[0]["line"] == 3 and "重复" in e.value.errors[0]["message"]
    good = [("1002", "借", "500", ""), ("3001", "", "500", ""), ("800102", "", "500", ""),
            ("820204", "贷", "500", ""), ("5001", "", "0", "func=2010101")]
    counts = services.import_opening_balances(account_set_id=books.aset.pk, year=YEAR, file=xlsx(good),
                                              user=books.entrant)
    assert counts == {"created": 4, "updated": 0, "deleted": 0, "unchanged": 1}
    n_audit = AuditRecord.objects.filter(action="accounting.opening.import").count()
    again = services.import_opening_balances(account_set_id=books.aset.pk, year=YEAR, file=xlsx(good),
                                             user=books.entrant)
    assert again == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 5}
    assert AuditRecord.objects.filter(action="accounting.opening.import").count() == n_audit == 1
    assert services.opening_check(books.aset, YEAR).balanced
    with pytest.raises(ValidationFailed) as e:
        services.import_opening_balances(account_set_id=books.aset.pk, year=YEAR, file=io.BytesIO(b"no"),
                                         user=books.entrant)
    assert e.value.code == "import.not_xlsx"


@pytest.mark.django_db(transaction=True)
def test_concurrent_posting_of_openings_applies_once(make_region, make_agency, make_role, make_user):
    from fmis.dictionary.services import preload_standard

    preload_standard()
    books = build_books(make_region, make_agency, make_role, make_user)
    balanced_openings(books)

    def work(_):
        try:
            services.post_opening_balances(account_set_id=books.aset.pk, year=YEAR, user=books.entrant)
            return "ok"
        except Conflict:
            return "conflict"
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert results.count("ok") == 1 and results.count("conflict") == 3
    assert Balance.objects.get(account__code="1002", period__number=5).opening == D("500.00")
    assert services.check_balances(books.aset.pk) == []

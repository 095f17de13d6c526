"""Voucher templates (save, use, delete, bad input) and the number-gap renumbering of a period
(including entries made at the same time)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from fmis.accounting import services
from fmis.accounting.models import Period, Voucher, VoucherTemplate, VoucherTemplateLine
from fmis.accounting.services import TemplateLineInput
from fmis.accounting.tests.conftest import YEAR, build_books, cr, dr
from fmis.platform.audit import AuditRecord
from fmis.platform.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db
D = Decimal


def test_save_voucher_as_template_and_reuse(books):
    v = books.voucher([dr("5001", 30, aux={"func": "2010101"}, summary="付办公费"), cr("1011", 30, summary="付办公费"),
                       dr("720101", 30, summary="付办公费"), cr("800101", 30, summary="付办公费")])
    t = services.save_voucher_as_template(voucher_id=v.pk, code="BGF", name="办公费", user=books.entrant,
                                          with_amounts=False)
    lines = list(t.lines.order_by("line_no"))
    assert [(x.account.code, x.direction, x.amount) for x in lines] == [
        ("5001", "debit", None), ("1011", "credit", None), ("720101", "debit", None), ("800101", "credit", None)]
    assert lines[0].aux == {"func": "2010101"} and t.category_id == v.category_id
    prefill = services.template_rows(t)
    assert prefill[0]["summary"] == "付办公费" and prefill[0]["amount"] is None
    filled = [services.LineInput(account_code=x["account"], summary=x["summary"], aux=x["aux"],
                                 debit=D(12) if x["direction"] == "debit" else 0,
                                 credit=D(12) if x["direction"] == "credit" else 0) for x in prefill]
    new = books.voucher(filled)
    assert new.debit_total == D(24)
    with pytest.raises(Conflict) as e:
        services.save_voucher_as_template(voucher_id=v.pk, code="BGF", name="again", user=books.entrant)
    assert e.value.code == "accounting.template_exists"
    assert AuditRecord.objects.filter(action="accounting.template.create").count() == 1
    services.delete_template(template_id=t.pk, user=books.entrant)
    assert not VoucherTemplate.objects.exists() and not VoucherTemplateLine.objects.exists()
    assert AuditRecord.objects.filter(action="accounting.template.delete").count() == 1


@pytest.mark.parametrize(("lines", "code", "line"), [
    ([TemplateLineInput("5001", "debit")], "accounting.template_too_few_lines", None),
    ([TemplateLineInput("5001", "debit"), TemplateLineInput("8001", "credit")], "accounting.account_not_leaf", 2),
    ([TemplateLineInput("5001", "up"), TemplateLineInput("1011", "credit")], "accounting.direction_invalid", 1),
    ([TemplateLineInput("5001", "debit", amount="-1"), TemplateLineInput("1011", "credit")],
     "accounting.line_negative", 1),
    ([TemplateLineInput("5001", "debit"), TemplateLineInput("1011", "credit", aux={"project": "P404"})],
     "accounting.aux_not_enabled", 2),
])
def test_bad_template_writes_nothing(books, lines, code, line):
    with pytest.raises(ValidationFailed) as e:
        services.save_template(account_set_id=books.aset.pk, code="T1", name="模板", lines=lines, user=books.entrant)
    assert e.value.code == code and e.value.line == line
    assert not VoucherTemplate.objects.exists()


def test_template_scope_and_account_protection(books):
    t = services.save_template(account_set_id=books.aset.pk, code="T1", name="模板", user=books.entrant,
                               lines=[TemplateLineInput("5001", "借", amount="5"), TemplateLineInput("1011", "贷")])
    assert t.lines.first().amount == D(5)
    with pytest.raises(NotFound):
        services.delete_template(template_id=t.pk, user=books.outsider)
    with pytest.raises(NotFound):
        services.save_template(account_set_id=books.aset.pk, code="T2", name="x", user=books.outsider,
                               lines=[TemplateLineInput("5001", "借"), TemplateLineInput("1011", "贷")])
    sub = services.add_account(account_set_id=books.aset.pk, code="510101", name="明细", user=books.admin)
    services.save_template(account_set_id=books.aset.pk, code="T3", name="明细", user=books.entrant,
                           lines=[TemplateLineInput("510101", "借"), TemplateLineInput("1011", "贷")])
    with pytest.raises(Conflict) as e:
        services.delete_account(account_id=sub.pk, user=books.admin)
    assert e.value.code == "accounting.account_used"


def _make_gap(books, n=5):
    vs = [books.voucher([dr("5001", i), cr("1011", i)]) for i in range(1, n + 1)]
    # a gap as left by an external load: remove voucher 2 behind the services' back
    with connection.cursor() as cur:
        cur.execute("DELETE FROM accounting_voucherline WHERE voucher_id = %s", [vs[1].pk])
        cur.execute("DELETE FROM accounting_voucher WHERE id = %s", [vs[1].pk])
    return vs


def test_renumber_closes_gaps_and_keeps_posted_numbers(books):
    vs = _make_gap(books)
    march = Period.objects.get(account_set=books.aset, year=YEAR, number=3)
    services.audit_voucher(voucher_id=vs[3].pk, user=books.auditor)
    services.post_voucher(voucher_id=vs[3].pk, user=books.auditor)      # number 4 stays
    services.audit_voucher(voucher_id=vs[4].pk, user=books.auditor)     # audited: may move
    assert services.number_gaps(march) == ["序列 01 缺号 2"]
    with pytest.raises(Conflict, match="凭证号不连续"):
        services.close_period(period_id=march.pk, user=books.auditor)
    out = services.renumber_vouchers(period_id=march.pk, user=books.auditor)
    assert out == {"changed": 2, "gaps": []}
    numbers = dict(Voucher.objects.values_list("pk", "number"))
    assert numbers[vs[0].pk] == 1 and numbers[vs[2].pk] == 2 and numbers[vs[3].pk] == 4 and numbers[vs[4].pk] == 3
    assert services.renumber_vouchers(period_id=march.pk, user=books.auditor) == {"changed": 0, "gaps": []}
    assert books.voucher([dr("5001", 1), cr("1011", 1)]).number == 5
    assert AuditRecord.objects.filter(action="accounting.voucher.renumber").count() == 1
    with pytest.raises(NotFound):
        services.renumber_vouchers(period_id=march.pk, user=books.outsider)


@pytest.mark.django_db(transaction=True)
def test_renumber_while_entering(make_region, make_agency, make_role, make_user):
    from fmis.dictionary.services import preload_standard

    preload_standard()
    books = build_books(make_region, make_agency, make_role, make_user)
    _make_gap(books, n=6)
    march = Period.objects.get(account_set=books.aset, year=YEAR, number=3)

    def work(i):
        try:
            if i % 4 == 0:
                return services.renumber_vouchers(period_id=march.pk, user=books.auditor)["changed"]
            return books.voucher([dr("5001", i), cr("1011", i)], on=dt.date(YEAR, 3, 20)).number
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(16)))
    services.renumber_vouchers(period_id=march.pk, user=books.auditor)
    numbers = sorted(Voucher.objects.filter(period=march).values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == 5 + 12

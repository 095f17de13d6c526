"""记账凭证 printing: the Chinese capital amount and the voucher form, one or many at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from fmis.accounting import bulk, services
from fmis.accounting.printing import rmb_upper
from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.platform.errors import ValidationFailed


@pytest.mark.parametrize(("amount", "words"), [
    ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("100", "壹佰元整"),
    ("1001", "壹仟零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("10", "壹拾元整"),
    ("15.8", "壹拾伍元捌角整"),
    ("0.05", "伍分"),
    ("0.50", "伍角整"),
    ("0.15", "壹角伍分"),
    ("1000.05", "壹仟元零伍分"),
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
    ("105000", "壹拾万零伍仟元整"),
    ("100100", "壹拾万零壹佰元整"),
    ("1000100", "壹佰万零壹佰元整"),
    ("10010000", "壹仟零壹万元整"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("100001000", "壹亿零壹仟元整"),
    ("2000000000.10", "贰拾亿元零壹角整"),
    ("10000100000000", "壹拾万零壹亿元整"),
    ("100000000000.01", "壹仟亿元零壹分"),
    ("1000000000000", "壹万亿元整"),
    ("1234567890123.45", "壹万贰仟叁佰肆拾伍亿陆仟柒佰捌拾玖万零壹佰贰拾叁元肆角伍分"),
    ("-58.00", "负伍拾捌元整"),
    (Decimal("3.35"), "叁元叁角伍分"),
    (7, "柒元整"),
])
def test_rmb_upper(amount, words):
    assert rmb_upper(amount) == words


def test_rmb_upper_refuses_floats_and_fractions_of_fen():
    with pytest.raises(ValidationFailed):
        rmb_upper(1.5)
    with pytest.raises(ValidationFailed):
        rmb_upper("1.005")


@pytest.mark.django_db
def test_print_one_voucher_on_the_form(books, client):
    services.update_account_set(account_set_id=books.aset.pk, supervisor="张主管", user=books.admin)
    v = books.post([dr("5001", "12345.67", summary="付办公费"), cr("1011", "12345.67", summary="付办公费"),
                    dr("720101", "12345.67", summary="付办公费"), cr("800101", "12345.67", summary="付办公费")],
                   attachments=3)
    client.force_login(books.entrant)
    detail = client.get(reverse("accounting:voucher", args=[v.pk])).content.decode()
    assert reverse("accounting:voucher_print", args=[v.pk]) in detail
    resp = client.get(reverse("accounting:voucher_print", args=[v.pk]))
    html = resp.content.decode()
    assert resp.status_code == 200
    assert html.count('data-testid="voucher-form"') == 1
    assert "记字第 0001 号" in html and "附单据 3 张" in html and f"{YEAR} 年 03 月 15 日" in html
    assert "5001 业务活动费用" in html and "720101" in html and "12,345.67" in html
    # totals per basis, each in figures and in words
    assert html.count("壹万贰仟叁佰肆拾伍元陆角柒分") == 2
    assert "财务会计合计" in html and "预算会计合计" in html
    for who in ("张主管", books.entrant.name, books.auditor.name):
        assert who in html
    assert "@page" in html and "A4" in html
    voucher_paper = client.get(reverse("accounting:voucher_print", args=[v.pk]), {"paper": "voucher"}).content.decode()
    assert "240mm 140mm" in voucher_paper


@pytest.mark.django_db
def test_financial_only_voucher_has_one_total(books, client):
    v = books.post([dr("5001", 2), dr("5101", "1.50"), cr("1602", "3.50")])
    client.force_login(books.auditor)
    html = client.get(reverse("accounting:voucher_print", args=[v.pk])).content.decode()
    assert "叁元伍角整" in html and "预算会计" not in html and 'data-testid="total-financial"' in html


@pytest.mark.django_db
def test_print_several_from_the_list(books, client):
    a = books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)])
    b = books.post([dr("5001", 30), cr("1011", 30), dr("720101", 30), cr("800101", 30)])
    books.voucher([dr("5001", 5), cr("1011", 5)], on=dt.date(YEAR, 4, 2))
    res = bulk.import_vouchers(account_set_id=books.aset.pk, batch_key="p", user=books.admin, lines=[
        bulk.BulkLine("x1", dt.date(YEAR, 3, 20), "5001", debit=Decimal(1), summary="导入"),
        bulk.BulkLine("x1", dt.date(YEAR, 3, 20), "1011", credit=Decimal(1))])
    client.force_login(books.entrant)
    url = reverse("accounting:vouchers_print")
    html = client.get(url, {"ids": f"{a.pk},{b.pk}"}).content.decode()
    assert html.count('data-testid="voucher-form"') == 2
    assert "壹佰元整" in html and "叁拾元整" in html
    # the list's filters: March, all statuses → the three posted March vouchers
    html = client.get(url, {"year": YEAR, "period": 3}).content.decode()
    assert html.count('data-testid="voucher-form"') == 3
    assert "批量导入" in html and f'data-voucher="{res.first_voucher_id}"' in html
    html = client.get(url, {"status": "entered"}).content.decode()
    assert html.count('data-testid="voucher-form"') == 1
    # a bad filter is a message, not a 500
    resp = client.get(url, {"amount": "abc"})
    assert resp.status_code == 200 and "金额格式不正确" in resp.content.decode()


@pytest.mark.django_db
def test_print_is_scoped(books, client, make_role, make_user):
    v = books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)])
    client.force_login(books.outsider)
    assert client.get(reverse("accounting:voucher_print", args=[v.pk])).status_code == 404
    html = client.get(reverse("accounting:vouchers_print"), {"ids": str(v.pk)}).content.decode()
    assert 'data-testid="voucher-form"' not in html
    nobody = make_user("nobody", roles=[make_role("nothing", ["accounting.set.view"])], agency=books.agency)
    client.force_login(nobody)
    assert client.get(reverse("accounting:voucher_print", args=[v.pk])).status_code == 403

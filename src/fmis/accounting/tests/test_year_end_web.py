"""Screens and API of opening balances, voucher templates, renumbering, year-end carry-forward and
year close: they call the services, show refusals as messages and answer 404 out of scope."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from fmis.accounting import services
from fmis.accounting.models import Balance, FiscalYear, OpeningBalance, Period, Voucher, VoucherTemplate
from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.accounting.tests.test_openings import xlsx

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1/accounting"


def test_openings_screen(books, client):
    client.force_login(books.entrant)
    url = reverse("accounting:openings")
    page = client.get(url, {"year": YEAR})
    assert page.status_code == 200 and "试算平衡" in page.content.decode()
    bad = client.post(url, {"year": YEAR, "op": "set", "account": "8001", "amount": "5"})
    assert bad.status_code == 200 and "不是末级科目" in bad.content.decode() and not OpeningBalance.objects.exists()
    for code, amount in (("1002", "500"), ("3001", "400")):
        assert client.post(url, {"year": YEAR, "op": "set", "account": code, "amount": amount}).status_code == 302
    page = client.get(url, {"year": YEAR}).content.decode()
    assert "财务会计期初余额不平衡" in page and "差额 100.00" in page and "500.00" in page
    refused = client.post(url, {"year": YEAR, "op": "post"})
    assert "data-testid=\"error\">财务会计期初余额不平衡" in refused.content.decode()
    bad_file = xlsx([("3001", "贷", "500", ""), ("9999", "", "1", "")])
    resp = client.post(url, {"year": YEAR, "op": "import", "file": bad_file})
    assert "第 3 行" in resp.content.decode() and OpeningBalance.objects.get(account__code="3001").amount == D(-400)
    good = xlsx([("3001", "贷", "500", ""), ("800102", "借", "500", ""), ("820204", "", "500", "")])
    good.name = "openings.xlsx"
    assert client.post(url, {"year": YEAR, "op": "import", "file": good}).status_code == 302
    assert "试算平衡：财务会计与预算会计借贷方合计分别相等" in client.get(url, {"year": YEAR}).content.decode()
    assert client.post(url, {"year": YEAR, "op": "post"}).status_code == 302
    assert FiscalYear.objects.get(account_set=books.aset, year=YEAR).opening_status == "posted"
    export = client.get(url, {"year": YEAR, "export": "xlsx"})
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    client.force_login(books.outsider)
    assert client.get(f"{API}/sets/{books.aset.pk}/openings", {"year": YEAR}).status_code == 404


def test_openings_api(books, client):
    client.force_login(books.entrant)
    base = f"{API}/sets/{books.aset.pk}/openings"
    r = client.put(base, json.dumps({"year": YEAR, "account_code": "1002", "amount": "500"}),
                   content_type="application/json")
    assert r.status_code == 200 and r.json()["rows"][0]["amount"] == "500.00"
    assert r.json()["check"]["balanced"] is False and "差额" in r.json()["check"]["problems"][0]
    r = client.put(base, json.dumps({"year": YEAR, "account_code": "5001", "amount": "1", "aux": {"project": "P"}}),
                   content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "accounting.aux_item_missing"
    r = client.post(f"{base}/post?year={YEAR}")
    assert r.status_code == 422 and r.json()["code"] == "accounting.opening_unbalanced"
    r = client.post(f"{base}/import", {"year": YEAR, "file": xlsx([("3001", "", "500", "")])})
    assert r.status_code == 200 and r.json()["created"] == 1
    r = client.post(f"{base}/import", {"year": YEAR, "file": xlsx([("3001", "", "x", "")])})
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 2
    r = client.post(f"{base}/post?year={YEAR}")
    assert r.status_code == 200 and r.json()["opening_status"] == "posted"
    assert client.post(f"{base}/post?year={YEAR}").status_code == 409
    assert client.post(f"{base}/unpost?year={YEAR}").json()["opening_status"] == "draft"
    assert client.get(f"{API}/sets/{books.aset.pk}/years").json()[0]["year"] == YEAR


def test_templates_screen_and_api(books, client):
    v = books.voucher([dr("5001", 30, summary="付办公费"), cr("1011", 30, summary="付办公费")])
    client.force_login(books.entrant)
    detail = client.get(reverse("accounting:voucher", args=[v.pk])).content.decode()
    assert "存为模板" in detail
    resp = client.post(reverse("accounting:template_from_voucher", args=[v.pk]),
                       {"code": "BGF", "name": "办公费"}, follow=True)
    assert "已存为凭证模板 BGF" in resp.content.decode()
    dup = client.post(reverse("accounting:template_from_voucher", args=[v.pk]), {"code": "BGF", "name": "x"},
                      follow=True)
    assert "模板编码 BGF 已存在" in dup.content.decode()
    t = VoucherTemplate.objects.get()
    listing = client.get(reverse("accounting:templates")).content.decode()
    assert "办公费" in listing and f"?template={t.pk}" in listing
    form = client.get(reverse("accounting:voucher_create"), {"template": t.pk}).content.decode()
    assert "按模板制单" in form and 'value="5001"' in form and 'placeholder="借"' in form
    r = client.post(f"{API}/sets/{books.aset.pk}/templates", json.dumps({
        "code": "T2", "name": "收款", "lines": [{"account_code": "1002", "direction": "debit", "amount": "5"},
                                              {"account_code": "4609", "direction": "credit"}]}),
        content_type="application/json")
    assert r.status_code == 201 and r.json()["lines"][0]["amount"] == "5.00"
    r = client.post(f"{API}/sets/{books.aset.pk}/templates", json.dumps({
        "code": "T3", "name": "x", "lines": [{"account_code": "1002", "direction": "debit"},
                                            {"account_code": "46", "direction": "credit"}]}),
        content_type="application/json")
    assert r.status_code == 422 and r.json()["line"] == 2
    assert len(client.get(f"{API}/sets/{books.aset.pk}/templates").json()) == 2
    client.force_login(books.outsider)
    assert client.get(f"{API}/templates/{t.pk}").status_code == 404
    assert client.get(reverse("accounting:voucher_create"), {"template": t.pk}).status_code in (302, 404)
    client.force_login(books.entrant)
    assert client.delete(f"{API}/templates/{t.pk}").status_code == 204
    assert client.post(reverse("accounting:template_delete", args=[t.pk])).status_code == 404


def test_year_end_screens_and_api(books, client):
    books.post([dr("1002", 10), cr("4609", 10), dr("800102", 10), cr("6609", 10)])
    books.voucher([dr("5001", 1), cr("1002", 1)])
    books.voucher([dr("5001", 2), cr("1002", 2)])
    client.force_login(books.admin)
    page = client.get(reverse("accounting:periods")).content.decode()
    assert "年末结转与年结" in page and "生成结转凭证" in page
    resp = client.post(reverse("accounting:year_action", args=[YEAR, "carry_forward"]), follow=True)
    assert "张凭证未登账" in resp.content.decode()
    march = Period.objects.get(account_set=books.aset, year=YEAR, number=3)
    check = client.get(f"{API}/periods/{march.pk}/check").json()
    assert check["gaps"] == [] and any("未审核" in p for p in check["problems"])
    assert client.post(f"{API}/periods/{march.pk}/renumber").json() == {"changed": 0, "gaps": []}
    for v in Voucher.objects.filter(status="entered"):
        services.delete_voucher(voucher_id=v.pk, user=books.entrant)
    r = client.post(f"{API}/sets/{books.aset.pk}/carry-forward?year={YEAR}")
    assert r.status_code == 201 and {x["status"] for x in r.json()} == {"posted"}
    assert client.post(f"{API}/sets/{books.aset.pk}/carry-forward?year={YEAR}").json()["code"] == \
        "accounting.carry_nothing"
    resp = client.post(reverse("accounting:year_action", args=[YEAR, "close"]), follow=True)
    assert "尚未结账" in resp.content.decode()
    for n in range(1, 14):
        services.close_period(period_id=Period.objects.get(account_set=books.aset, year=YEAR, number=n).pk,
                              user=books.auditor)
    resp = client.post(reverse("accounting:year_action", args=[YEAR, "close"]), follow=True)
    assert f"{YEAR} 年度已年结" in resp.content.decode()
    assert Balance.objects.get(account__code="820204", period__year=YEAR + 1, period__number=1).opening == D(-10)
    assert client.post(f"{API}/sets/{books.aset.pk}/years/{YEAR}/close").status_code == 409
    r = client.post(f"{API}/sets/{books.aset.pk}/years/{YEAR}/reopen")
    assert r.status_code == 200 and r.json()["status"] == "open"
    client.force_login(books.outsider)
    assert client.post(f"{API}/sets/{books.aset.pk}/years/{YEAR}/close").status_code == 404
    assert client.post(f"{API}/periods/{march.pk}/renumber").status_code == 404


def test_english_screens_are_translated():
    from django.utils import translation

    with translation.override("en"):
        assert translation.gettext("生成结转凭证") == "Generate carry-forward vouchers"
        assert translation.gettext("按模板制单") == "From template"
        assert translation.ngettext("共 %(n)s 张凭证", "共 %(n)s 张凭证", 2) % {"n": 2} == "2 vouchers"

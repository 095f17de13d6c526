"""Screens and API: enter a voucher in the form, audit and post it through the API as another
user, see it in the trial balance and drill down to it; out-of-scope objects are 404."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from fmis.accounting.models import Voucher
from fmis.accounting.tests.conftest import YEAR

pytestmark = pytest.mark.django_db


def test_enter_audit_post_and_drill_down(books, client):
    client.force_login(books.entrant)
    for name in ("sets", "vouchers", "voucher_create", "trial_balance", "general_ledger", "detail_ledger",
                 "periods", "chart"):
        assert client.get(reverse(f"accounting:{name}")).status_code == 200, name
    resp = client.post(reverse("accounting:voucher_create"), {
        "date": f"{YEAR}-03-05", "attachments": "1",
        "summary": ["付办公费"] * 4, "account": ["5001", "1011", "720101", "800101"],
        "debit": ["30", "", "30", ""], "credit": ["", "30", "", "30"], "aux": ["func=2010101", "", "", ""]})
    assert resp.status_code == 302
    v = Voucher.objects.get()
    bad = client.post(reverse("accounting:voucher_create"), {
        "date": f"{YEAR}-03-05", "summary": ["x", "x"], "account": ["5001", "1011"], "debit": ["30", ""],
        "credit": ["", "29"], "aux": ["", ""]})
    assert bad.status_code == 200 and "借贷不平衡" in bad.content.decode() and Voucher.objects.count() == 1
    # the entrant cannot audit her own voucher: message, not a 500
    resp = client.post(reverse("accounting:voucher_action", args=[v.pk, "audit"]), follow=True)
    assert "审核人不能是制单人本人" in resp.content.decode()
    client.force_login(books.auditor)
    assert client.post(f"/api/v1/accounting/vouchers/{v.pk}/audit").status_code == 200
    r = client.post(f"/api/v1/accounting/vouchers/{v.pk}/post")
    assert r.status_code == 200 and r.json()["status"] == "posted"
    tb = client.get(reverse("accounting:trial_balance"), {"year": YEAR, "period": 3, "level": 2}).content.decode()
    assert "720101" in tb and "30.00" in tb and "试算平衡" in tb
    dl = client.get(reverse("accounting:detail_ledger"), {"code": "720101", "year": YEAR}).content.decode()
    assert reverse("accounting:voucher", args=[v.pk]) in dl
    api_tb = client.get(f"/api/v1/accounting/sets/{books.aset.pk}/trial-balance",
                        {"year": YEAR, "period": 3}).json()
    assert api_tb["balanced"] and any(r["code"] == "7201" for r in api_tb["rows"])
    assert client.get(reverse("accounting:trial_balance"), {"export": "xlsx", "year": YEAR, "period": 3})[
        "Content-Type"].startswith("application/vnd.openxmlformats")


def test_api_create_and_scope(books, client):
    client.force_login(books.entrant)
    body = {"account_set_id": books.aset.pk, "date": f"{YEAR}-03-05", "lines": [
        {"account_code": "5001", "summary": "s", "debit": "10"}, {"account_code": "1011", "summary": "s",
                                                                  "credit": "10"}]}
    r = client.post("/api/v1/accounting/vouchers", json.dumps(body), content_type="application/json")
    assert r.status_code == 201 and r.json()["number"] == 1
    body["lines"][1]["account_code"] = "8001"
    r = client.post("/api/v1/accounting/vouchers", json.dumps(body), content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "accounting.account_not_leaf"
    vid = Voucher.objects.get().pk
    client.force_login(books.outsider)
    assert client.get(f"/api/v1/accounting/vouchers/{vid}").status_code == 404
    assert client.get(reverse("accounting:voucher", args=[vid])).status_code == 404
    assert client.get("/api/v1/accounting/sets").json() == []


def test_maintenance_screens(books, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fmis.accounting.models import Account, AccountSet
    from fmis.accounting.tests.conftest import cr, dr

    client.force_login(books.admin)
    url = reverse("accounting:set", args=[books.aset.pk])
    assert client.get(url).status_code == 200
    exported = client.get(url, {"export": "json"})
    assert exported.json()["format"] == "openfmis.account_set/1"
    resp = client.post(reverse("accounting:set_import"), {
        "file": SimpleUploadedFile("s.json", exported.content), "code": "7001",
        "agency_id": str(books.other_agency.pk), "is_primary": "1"})
    assert resp.status_code == 302 and AccountSet.objects.filter(code="7001").exists()
    bad = client.post(reverse("accounting:set_import"), {"file": SimpleUploadedFile("s.json", b"not json")})
    assert bad.status_code == 200 and "文件格式不正确" in bad.content.decode()
    client.post(reverse("accounting:set_choose", args=[books.aset.pk]))
    chart = reverse("accounting:chart")
    client.post(chart, {"op": "add", "code": "500101", "name": "办公费", "aux_elements": ["func"]})
    acc = Account.objects.get(account_set=books.aset, code="500101")
    assert client.get(chart, {"edit": acc.pk}).status_code == 200
    client.post(chart, {"op": "update", "account_id": acc.pk, "name": "办公经费", "direction": "debit",
                        "property": "normal", "set_aux": "1", "aux_elements": ["func"]})
    assert Account.objects.get(pk=acc.pk).full_name == "业务活动费用/办公经费"
    client.post(chart, {"op": "category", "code": "02", "name": "收款凭证", "word": "收"})
    assert books.aset.categories.count() == 2
    # voucher edit by its entrant
    client.force_login(books.entrant)
    client.post(reverse("accounting:set_choose", args=[books.aset.pk]))
    v = books.voucher([dr("500101", 10), cr("1011", 10)])
    resp = client.post(reverse("accounting:voucher_edit", args=[v.pk]), {
        "date": f"{YEAR}-03-06", "attachments": "2", "summary": ["改", "改"], "account": ["500101", "1011"],
        "debit": ["12", ""], "credit": ["", "12"], "aux": ["", ""]})
    assert resp.status_code == 302
    v.refresh_from_db()
    assert v.debit_total == 12 and v.attachments == 2
    periods = client.get(reverse("accounting:periods"), {"check": "1"}).content.decode()
    assert "余额表与已登账凭证完全一致" in periods


def test_openapi_lists_accounting_operations(books, client):
    client.force_login(books.admin)
    schema = client.get("/api/v1/openapi.json").json()
    paths = [p for p in schema["paths"] if "/accounting/" in p]
    assert "/api/v1/accounting/vouchers/{pk}/post" in paths and "/api/v1/accounting/rules/{code}" in paths

"""Screens and API under the permission filter: each kind of user sees only its own documents,
in lists, details, exports and the API alike."""

import io
import json

import openpyxl
import pytest
from django.test import Client

from fmis.treasury import services
from fmis.treasury.models import PaymentApplication
from fmis.treasury.tests.conftest import (
    apply,
    make_indicator,
    make_token,
    make_user_like,
    receipt,
    to_voucher,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_unit_sees_own_applications_only_in_list_detail_export_and_api(world, make_user, make_role):
    w = world
    mine = apply(w, "12.00")
    other_ind = make_indicator(w, "IND-X", agency=w.other_agency)
    other_user = make_user_like(w.accountant, "acc_other")
    other_user.agency = w.other_agency
    other_user.save()
    theirs = services.create_application(user=other_user, indicator_id=other_ind.pk, payee_name="乙公司",
                                         payee_account="62284800000011112", payee_bank="行", amount="34.00",
                                         settle_mode="1", purpose="其他单位", plan_month=3)
    c = client_for(w.accountant)
    page = c.get("/treasury/applications/").content.decode()
    assert mine.number in page and theirs.number not in page
    assert c.get(f"/treasury/applications/{theirs.pk}/").status_code == 404
    assert c.get(f"/treasury/applications/{mine.pk}/").status_code == 200
    api = c.get("/api/v1/treasury/applications").json()
    assert [i["number"] for i in api["items"]] == [mine.number]
    assert c.get(f"/api/v1/treasury/applications/{theirs.pk}").status_code == 404
    # the treasury division sees both, and can export them
    t = client_for(w.treasurer)
    resp = t.get("/treasury/applications/?export=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {mine.number, theirs.number}
    resp = t.get("/treasury/applications/", {"q": "乙公司"})
    assert theirs.number in resp.content.decode() and mine.number not in resp.content.decode()


def test_apply_through_the_form_shows_errors_on_the_page(world):
    w = world
    c = client_for(w.accountant)
    data = {"indicator": w.indicator.pk, "payee_name": "甲", "payee_account": "12AB", "payee_bank": "行",
            "amount": "10.00", "settle_mode": "1", "purpose": "办公", "plan_month": 3}
    resp = c.post("/treasury/applications/new/", data)
    assert resp.status_code == 200 and "收款人账号格式不正确" in resp.content.decode()
    assert PaymentApplication.objects.count() == 0
    resp = c.post("/treasury/applications/new/", {**data, "payee_account": "6228480012345678"})
    app = PaymentApplication.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/treasury/applications/{app.pk}/"
    resp = c.post(f"/treasury/applications/{app.pk}/submit/")
    app.refresh_from_db()
    assert app.status == "submitted"


def test_bank_sees_only_its_vouchers(world, make_user, make_role):
    from fmis.iam.models import User
    from fmis.orgs.models import Bank

    w = world
    v = to_voucher(w, "20.00")
    other_bank = Bank.objects.create(code="B09", name="他行")
    role = make_role("bank_other", ["treasury.voucher.view", "treasury.bank.receipt"], rules=[("bank", "own_bank", [])])
    stranger = make_user("bank9", roles=[role], bank=other_bank, org_type=User.OrgType.BANK, region=w.region)
    assert client_for(w.banker).get(f"/treasury/vouchers/{v.pk}/").status_code == 200
    assert client_for(stranger).get(f"/treasury/vouchers/{v.pk}/").status_code == 404
    assert client_for(stranger).get("/api/v1/treasury/vouchers").json()["count"] == 0
    assert client_for(w.banker).get("/api/v1/treasury/vouchers").json()["count"] == 1
    assert client_for(w.accountant).get("/treasury/vouchers/").status_code == 403


def test_bank_api_with_token_and_problem_details(world):
    w = world
    v = to_voucher(w, "30.00")
    c = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {w.token}"}
    bad = {**receipt(v, "A1", "30.00"), "amount": "30"}
    resp = c.post("/api/v1/treasury/bank/receipts", json.dumps(bad), content_type="application/json", **auth)
    body = resp.json()
    assert resp.status_code == 422 and body["field"] == "amount" and "amount" in body["detail"]
    resp = c.post("/api/v1/treasury/bank/receipts", json.dumps(receipt(v, "A1", "30.00")),
                  content_type="application/json", **auth)
    assert resp.status_code == 200 and resp.json()["voucher_status"] == "paid"
    # a unit accountant's token may not post bank messages
    resp = c.post("/api/v1/treasury/bank/receipts", json.dumps(receipt(v, "A2", "1.00")),
                  content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {make_token(w.accountant)}")
    assert resp.status_code == 403


def test_detail_pages_and_forms_render(world):
    w = world
    v = to_voucher(w, "300.00")
    services.apply_receipt(message=receipt(v, "Z1", "300.00"), user=w.banker)
    t = client_for(w.treasurer)
    for url in ["/treasury/vouchers/", f"/treasury/vouchers/{v.pk}/", f"/treasury/vouchers/{v.pk}/refund/",
                f"/treasury/vouchers/{v.pk}/correction/", "/treasury/refunds/", "/treasury/corrections/",
                "/treasury/clearings/", "/treasury/clearings/run/", "/treasury/plans/", "/treasury/config/",
                f"/treasury/applications/{v.application_id}/"]:
        resp = t.get(url)
        assert resp.status_code == 200, url
    resp = t.post(f"/treasury/vouchers/{v.pk}/refund/", {"amount": "400.00", "serial_no": "RX", "reason": "退回"})
    assert "超过" in resp.content.decode()
    resp = t.post(f"/treasury/vouchers/{v.pk}/refund/", {"amount": "40.00", "serial_no": "RX", "reason": "退回"})
    assert resp.status_code == 302
    resp = t.post("/treasury/clearings/run/", {"region": w.region.pk, "bank": w.bank.pk, "date": "2026-03-15"})
    assert resp.status_code == 302
    assert "未收到银行对账单" in t.get(resp["Location"]).content.decode()

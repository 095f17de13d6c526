"""The exception flows' API and screens, against a real local consortium."""

from __future__ import annotations

import pytest
from ninja import NinjaAPI
from ninja.testing import TestClient

from fmis.api import install_error_handlers
from fmis.bankside import case_api
from fmis.bankside.models import CaseApplication, ExceptionCase, Payment
from fmis.bankside.tests import test_cases as base

# the consortium, core and people fixtures of the service tests
consortium, core, people, pid = base.consortium, base.core, base.people, base.pid



@pytest.fixture
def api():
    a = NinjaAPI(urls_namespace="bankside-cases-test")
    install_error_handlers(a)
    a.add_router("/cases/", case_api.router)
    return TestClient(a)


@pytest.mark.django_db(transaction=True)
def test_api_books_cases_answers_problems_and_hides_what_is_out_of_scope(people, api):
    bank, fin, unit = people["bank"], people["fin"], people["unit2"]
    r = api.post("/cases/returns", json={"payment": pid("V1"), "amount": "25.00", "date": "2026-11-21",
                                         "bank_serial": "R1", "reason": "退票"}, user=bank)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "valid" and body["block"]
    r = api.post("/cases/returns", json={"payment": pid("V1"), "amount": "99.00", "date": "2026-11-21",
                                         "bank_serial": "R2", "reason": "退票"}, user=bank)
    assert r.status_code == 400 and r.json()["code"] == "bank.over_return"
    assert r["Content-Type"] == "application/problem+json"
    r = api.post("/cases/returns", json={"payment": pid("V1"), "amount": "1", "date": "2026-11-21",
                                         "bank_serial": "R2", "reason": "退票"}, user=fin)
    assert r.status_code == 403
    r = api.post("/cases/applications", json={"kind": "correction", "payment": pid("V1"), "reason": "更正",
                                              "changes": {"func_class": "2010302"}}, user=bank)
    app = r.json()["tx_id"]
    r = api.post(f"/cases/applications/{app}/review", json={"decision": "approved"}, user=fin)
    assert r.status_code == 200 and CaseApplication.objects.get(ledger_id=app).status == "approved"
    r = api.post("/cases/corrections", json={"payment": pid("V1"), "changes": {"func_class": "2010302"},
                                             "date": "2026-11-21", "reason": "更正", "application": app}, user=bank)
    assert r.status_code == 200
    listed = api.get("/cases/?kind=return", user=bank).json()
    assert listed["count"] == 1 and listed["items"][0]["amount"] == "25.00"
    case_id = listed["items"][0]["ledger_id"]
    assert api.get(f"/cases/{case_id}", user=bank).json()["payment"] == pid("V1")
    # another agency's user: not found, the same answer as an unknown id
    assert api.get(f"/cases/{case_id}", user=unit).status_code == 404
    assert api.get("/cases/" + "f" * 64, user=bank).status_code == 404
    assert api.get("/cases/", user=unit).json()["count"] == 0
    assert api.get("/cases/applications?status=approved", user=fin).json()["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_screens_list_submit_and_review(people, client):
    bank, fin = people["bank"], people["fin"]
    client.force_login(bank)
    form = client.get(f"/bankside/cases/new/return/?payment={pid('V1')}")
    assert form.status_code == 200 and pid("V1") in form.content.decode()
    # a refusal is shown on the page, nothing is booked
    r = client.post("/bankside/cases/new/return/", {"payment": pid("V1"), "amount": "100.01", "date": "2026-11-21",
                                                    "bank_serial": "R1", "reason": "退票"})
    assert r.status_code == 200 and "退回金额超过" in r.content.decode()
    assert not ExceptionCase.objects.exists()
    r = client.post("/bankside/cases/new/return/", {"payment": pid("V1"), "amount": "100.00", "date": "2026-11-21",
                                                    "bank_serial": "R1", "reason": "退票"})
    case = ExceptionCase.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/bankside/cases/{case.ledger_id}/")
    assert Payment.objects.get(voucher_id="V1").status == "returned"
    detail = client.get(r["Location"]).content.decode()
    assert "资金退回" in detail and "V1" in detail
    page = client.get("/bankside/cases/?q=R1")
    assert page.status_code == 200 and "R1" in page.content.decode()
    x = client.get("/bankside/cases/?export=xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get("/bankside/cases/new/nothing/").status_code == 404
    r = client.post("/bankside/cases/authorisations/new/", {
        "merchant_no": "M1", "business_type": "utilities", "budget_type": "water", "customer_account": "C1",
        "customer_name": "自来水公司", "limit": "50.00", "valid_from": "2026-11-01", "reference": "AUTH-9"})
    assert r.status_code == 302
    listing = client.get("/bankside/cases/authorisations/?q=AUTH-9").content.decode()
    assert "AUTH-9" in listing and "自来水公司" in listing
    r = client.post("/bankside/cases/authorisations/new/", {
        "merchant_no": "M1", "business_type": "utilities", "budget_type": "water", "customer_account": "C1",
        "customer_name": "自来水公司", "limit": "50.00", "valid_from": "2026-11-01", "reference": "AUTH-9"})
    assert r.status_code == 200 and "授权编号重复" in r.content.decode()
    client.post("/bankside/cases/applications/new/", {"kind": "mistaken_refund", "payment": pid("V2"),
                                                      "amount": "80.00", "reason": "收款人错误"})
    app = CaseApplication.objects.get()
    assert client.post(f"/bankside/cases/applications/{app.ledger_id}/review/",
                       {"decision": "approved"}).status_code == 403  # the bank does not review

    assert 'data-testid="bankside-reminder"' not in client.get("/").content.decode()  # the bank reviews nothing
    client.force_login(fin)
    home = client.get("/").content.decode()
    assert 'data-testid="bankside-reminder"' in home and "异常业务申请 1 笔" in home
    listing = client.get("/bankside/cases/applications/").content.decode()
    assert f"review-{app.ledger_id}" in listing
    client.post(f"/bankside/cases/applications/{app.ledger_id}/review/", {"decision": "approved"})
    assert CaseApplication.objects.get().status == "approved"
    assert 'data-testid="bankside-reminder"' not in client.get("/").content.decode()
    x = client.get("/bankside/cases/applications/?export=xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get("/bankside/cases/new/return/").status_code == 403  # finance books no returns
    assert client.get("/bankside/cases/" + "f" * 64 + "/").status_code == 404

"""Screens and API: forms call the services and show their refusals next to the field; lists page
and search; the API answers problem details naming the field."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from fmis.orgs.models import Agency, Bank, BankBranch, Region
from fmis.orgs.tests.test_leakage import client_for, token_client


@pytest.mark.django_db
def test_menu_lists_the_organisation_screens(world, users):
    html = client_for(users["k1_admin"]).get("/").content.decode()
    for code in ("orgs.region.view", "orgs.agency.view", "orgs.bank.view"):
        assert f'data-function="{code}"' in html
    html = client_for(users["icbc"]).get("/").content.decode()
    assert 'data-function="orgs.bank.view"' in html and 'data-function="orgs.agency.view"' not in html


@pytest.mark.django_db
def test_create_agency_through_the_form(world, users):
    c = client_for(users["k1_admin"])
    form = c.get("/orgs/agencies/new/").content.decode()
    assert 'value="990101"' in form and 'value="990102"' not in form  # regions offered: own scope only
    r = c.post("/orgs/agencies/new/", {"code": "990101103", "name": "一市一县公安局", "region": "990101",
                                       "parent": "", "kind": "admin"})
    agency = Agency.objects.get(code="990101103")
    assert r.status_code == 302 and r["Location"] == f"/orgs/agencies/{agency.pk}/"
    r = c.post("/orgs/agencies/new/", {"code": "990101103001", "name": "一市一县第一派出所", "region": "",
                                       "parent": "990101103", "kind": "inst"})
    assert r.status_code == 302
    assert Agency.objects.get(code="990101103001").parent == agency


@pytest.mark.django_db
def test_form_shows_the_refusal_next_to_the_field_and_writes_nothing(world, users):
    c = client_for(users["k1_admin"])
    n = Agency.objects.count()
    r = c.post("/orgs/agencies/new/", {"code": "990101102001", "name": "错单位", "region": "",
                                       "parent": "990101101", "kind": "inst"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-field="code"' in html and "990101101" in html and "加 3 位数字" in html
    r = c.post("/orgs/agencies/new/", {"code": "990101101", "name": "重复", "region": "990101", "parent": "",
                                       "kind": "admin"})
    assert r.status_code == 200 and "已存在" in r.content.decode()
    # a region outside the scope is not even a valid choice
    r = c.post("/orgs/agencies/new/", {"code": "990102109", "name": "越权", "region": "990102", "parent": "",
                                       "kind": "admin"})
    assert r.status_code == 200 and 'data-field="region"' in r.content.decode()
    assert Agency.objects.count() == n


@pytest.mark.django_db
def test_edit_and_disable_agency_through_the_screens(world, users):
    c = client_for(users["k1_admin"])
    a = world["a"]["k1b"]
    assert c.post(f"/orgs/agencies/{a.pk}/edit/", {"name": "一市一县卫生健康局", "kind": "admin"}).status_code == 302
    r = c.post(f"/orgs/agencies/{world['a']['k1'].pk}/status/", {"action": "disable"}, follow=True)
    assert "下级单位" in r.content.decode()  # refused: it has an active subordinate; the message is shown
    c.post(f"/orgs/agencies/{a.pk}/status/", {"action": "disable"})
    a.refresh_from_db()
    assert (a.name, a.status) == ("一市一县卫生健康局", Agency.Status.DISABLED)


@pytest.mark.django_db
def test_viewer_sees_no_manage_buttons_and_cannot_open_forms(world, users):
    c = client_for(users["k1_viewer"])
    html = c.get(f"/orgs/agencies/{world['a']['k1'].pk}/").content.decode()
    assert "/edit/" not in html and 'value="disable"' not in html
    assert c.get("/orgs/agencies/new/").status_code == 403
    assert c.post(f"/orgs/agencies/{world['a']['k1'].pk}/status/", {"action": "disable"}).status_code == 403


@pytest.mark.django_db
def test_list_paging_and_search(world, users, make_agency):
    for i in range(1, 61):
        make_agency(f"990101101{i + 1:03d}", world["r"]["k1"], f"分校{i}", parent=world["a"]["k1"])
    c = client_for(users["k1_viewer"])
    first = c.get("/orgs/agencies/").content.decode()
    second = c.get("/orgs/agencies/", {"page": 2}).content.decode()
    assert "第 1 / 2 页" in first and "第 2 / 2 页" in second
    assert "990101101061" in second and "990101101061" not in first
    html = c.get("/orgs/agencies/", {"q": "分校6"}).content.decode()
    assert "990101101007" in html and "990101101061" in html and "990101101008" not in html


@pytest.mark.django_db
def test_region_screens(world, users):
    c = client_for(users["c1_admin"])
    r = c.post("/orgs/regions/new/", {"code": "990103", "name": "一市三县", "level": "3", "parent": "990100",
                                      "finance_department": ""})
    region = Region.objects.get(code="990103")
    assert r.status_code == 302 and region.finance_department.name == "一市三县财政局"
    r = c.post("/orgs/regions/new/", {"code": "990203", "name": "错", "level": "3", "parent": "990100",
                                      "finance_department": ""})
    assert r.status_code == 200 and 'data-field="code"' in r.content.decode()
    html = c.get(f"/orgs/regions/{world['r']['c1'].pk}/").content.decode()
    assert "990101" in html and "990103" in html
    assert c.get(f"/orgs/regions/{world['r']['c2'].pk}/").status_code == 404
    r = c.post(f"/orgs/regions/{region.pk}/edit/", {"name": "一市新区", "finance_department": "一市新区财政局"})
    assert r.status_code == 302
    region.refresh_from_db()
    assert region.name == "一市新区" and region.finance_department.name == "一市新区财政局"


@pytest.mark.django_db
def test_bank_screens(world, users):
    c = client_for(users["c1_admin"])
    assert c.post("/orgs/banks/new/", {"code": "903", "name": "中国建设银行", "is_agent": "on"}).status_code == 302
    bank = Bank.objects.get(code="903")
    r = c.post(f"/orgs/banks/{bank.pk}/branches/new/", {"code": "903990101001", "name": "建行一县支行",
                                                        "region": "990101"})
    assert r.status_code == 302 and BankBranch.objects.get(code="903990101001").bank == bank
    html = c.get(f"/orgs/banks/{bank.pk}/").content.decode()
    assert "903990101001" in html
    listed = re.findall(r'href="/orgs/banks/\d+/">(\w+)</a>', c.get("/orgs/banks/", {"q": "建设"}).content.decode())
    assert listed == ["903"]


@pytest.mark.django_db
def test_api_create_update_and_problem_details(world, users):
    api = token_client(users["k1_admin"])
    r = api.post("/api/v1/orgs/agencies", {"code": "990101104", "name": "一市一县民政局", "region_code": "990101"},
                 content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["code"] == "990101104" and body["region_code"] == "990101" and body["parent_code"] is None
    r = api.patch(f"/api/v1/orgs/agencies/{body['id']}", {"kind": "other"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["kind"] == "other" and r.json()["name"] == "一市一县民政局"
    r = api.post("/api/v1/orgs/agencies", {"code": "990101102009", "name": "错", "parent_code": "990101101"},
                 content_type="application/json")
    assert r.status_code == 422
    assert r["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "orgs.agency.parent_prefix" and r.json()["field"] == "code"
    r = api.post("/api/v1/orgs/agencies", {"code": "990101104", "name": "重复", "region_code": "990101"},
                 content_type="application/json")
    assert r.status_code == 409 and r.json()["field"] == "code"
    # the viewer may read but not write
    viewer = token_client(users["k1_viewer"])
    r = viewer.post("/api/v1/orgs/agencies", {"code": "990101105", "name": "x", "region_code": "990101"},
                    content_type="application/json")
    assert r.status_code == 403


@pytest.mark.django_db
def test_api_regions_banks_and_paging(world, users):
    api = token_client(users["p_admin"])
    page = api.get("/api/v1/orgs/agencies", {"limit": 2, "offset": 2}).json()
    assert page["count"] == 7 and [i["code"] for i in page["items"]] == ["990101101001", "990101102"]
    r = api.post("/api/v1/orgs/regions", {"code": "990202", "name": "二市二县", "level": 3, "parent_code": "990200"},
                 content_type="application/json")
    assert r.status_code == 201 and r.json()["finance_department"] == "二市二县财政局"
    r = api.post("/api/v1/orgs/regions", {"code": "990302", "name": "错", "level": 3, "parent_code": "990200"},
                 content_type="application/json")
    assert r.status_code == 422 and r.json()["code"] == "orgs.region.parent_prefix"
    r = api.post("/api/v1/orgs/branches", {"bank_code": "902", "code": "902990202001", "name": "农行二市二县支行",
                                           "region_code": "990202"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["bank_name"] == "中国农业银行"
    banks = api.get("/api/v1/orgs/banks").json()
    assert [b["code"] for b in banks["items"]] == ["901", "902"]
    bank_op = token_client(users["icbc"])
    assert [b["code"] for b in bank_op.get("/api/v1/orgs/banks").json()["items"]] == ["901"]
    assert bank_op.get(f"/api/v1/orgs/banks/{world['b']['abc'].pk}").status_code == 404
    assert bank_op.get("/api/v1/orgs/branches", {"bank_code": "902"}).json()["count"] == 0


@pytest.mark.django_db
def test_every_api_operation_declares_a_function(world):
    from fmis.orgs.api import router

    ops = [op for view in router.path_operations.values() for op in view.operations]
    assert ops
    for op in ops:
        assert getattr(op.view_func, "fmis_function", "").startswith("orgs."), op.view_func.__name__


@pytest.mark.django_db
def test_csrf_is_required_for_session_writes(world, users):
    c = Client(enforce_csrf_checks=True)
    c.force_login(users["k1_admin"])
    r = c.post("/api/v1/orgs/agencies", {"code": "990101106", "name": "x", "region_code": "990101"},
               content_type="application/json")
    assert r.status_code in (401, 403)
    assert not Agency.objects.filter(code="990101106").exists()

"""A county user cannot see another county's agencies: not through the list, the detail page, the
search, the xlsx export or the API, and not by guessing ids. Out of scope answers exactly like
missing (404)."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from fmis.orgs.models import Agency, BankBranch, Region
from fmis.orgs.tests.conftest import codes

OWN = ["990101101", "990101101001", "990101102"]  # county 990101's agencies
FOREIGN = ["990100101", "990102101", "990102101001", "990201101"]


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def token_client(user) -> Client:
    from fmis.iam.models import ApiToken
    from fmis.iam.tokens import hash_token, new_raw_token

    raw = new_raw_token()
    ApiToken.objects.create(user=user, name="test", prefix=raw[:12], key_hash=hash_token(raw))
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def listed_codes(html: str) -> list[str]:
    """Agency codes linked from a page's tables (the query string echoed elsewhere is ignored)."""
    return sorted(re.findall(r'href="/orgs/agencies/\d+/">([0-9]+)</a>', html))


def xlsx_codes(resp) -> list[str]:
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return sorted(str(r[0]) for r in rows[1:])


@pytest.mark.django_db
def test_list_shows_only_own_county(world, users):
    c = client_for(users["k1_viewer"])
    html = c.get("/orgs/agencies/").content.decode()
    assert listed_codes(html) == OWN
    for code in FOREIGN:
        assert code not in html
    for name in ("一市二县", "二市一县", "一市教育局"):
        assert name not in html


@pytest.mark.django_db
def test_search_never_reaches_other_counties(world, users):
    c = client_for(users["k1_viewer"])
    for q in ("990102", "990102101", "二县", "二市", "教育局", "99"):
        listed = listed_codes(c.get("/orgs/agencies/", {"q": q}).content.decode())
        assert not set(listed) & set(FOREIGN), q
    # the search does work inside the scope
    assert listed_codes(c.get("/orgs/agencies/", {"q": "卫生"}).content.decode()) == ["990101102"]
    assert listed_codes(c.get("/orgs/agencies/", {"q": "教育局"}).content.decode()) == ["990101101"]
    # and filtering by a foreign region returns nothing rather than that region's agencies
    assert listed_codes(c.get("/orgs/agencies/", {"region": "990102"}).content.decode()) == []


@pytest.mark.django_db
def test_detail_of_foreign_agency_is_404_like_a_missing_one(world, users):
    c = client_for(users["k1_viewer"])
    assert c.get(f"/orgs/agencies/{world['a']['k1'].pk}/").status_code == 200
    missing = Agency.objects.order_by("-pk").first().pk + 1000
    assert c.get(f"/orgs/agencies/{missing}/").status_code == 404
    for key in ("c1", "k2", "k2sub", "k3"):
        assert c.get(f"/orgs/agencies/{world['a'][key].pk}/").status_code == 404


@pytest.mark.django_db
def test_guessing_every_id_reveals_only_own_agencies(world, users):
    c = client_for(users["k1_viewer"])
    api = token_client(users["k1_viewer"])
    pks = [a.pk for a in world["a"].values()]
    seen_ui, seen_api = [], []
    for pk in range(min(pks) - 5, max(pks) + 20):  # every id around the existing ones, and beyond
        r = c.get(f"/orgs/agencies/{pk}/")
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            seen_ui.append(pk)
        r = api.get(f"/api/v1/orgs/agencies/{pk}")
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            seen_api.append(r.json()["code"])
        else:
            assert r.json()["status"] == 404
    assert sorted(Agency.objects.filter(pk__in=seen_ui).values_list("code", flat=True)) == OWN
    assert sorted(seen_api) == OWN


@pytest.mark.django_db
def test_404_body_is_identical_for_missing_and_out_of_scope(world, users):
    api = token_client(users["k1_viewer"])
    missing = Agency.objects.order_by("-pk").first().pk + 1000
    a = api.get(f"/api/v1/orgs/agencies/{missing}")
    b = api.get(f"/api/v1/orgs/agencies/{world['a']['k2'].pk}")
    assert a.status_code == b.status_code == 404
    # everything but the request path is the same
    assert {k: v for k, v in a.json().items() if k != "instance"} == {
        k: v for k, v in b.json().items() if k != "instance"}


@pytest.mark.django_db
def test_export_holds_only_own_county(world, users):
    c = client_for(users["k1_viewer"])
    assert xlsx_codes(c.get("/orgs/agencies/", {"export": "xlsx"})) == OWN
    assert xlsx_codes(c.get("/orgs/agencies/", {"export": "xlsx", "q": "990102"})) == []
    assert xlsx_codes(c.get("/orgs/agencies/", {"export": "xlsx", "region": "990000"})) == OWN
    # a second county sees its own rows only
    c2 = client_for(users["k2_viewer"])
    assert xlsx_codes(c2.get("/orgs/agencies/", {"export": "xlsx"})) == ["990102101", "990102101001"]


@pytest.mark.django_db
def test_region_and_branch_exports_honour_scope(world, users):
    c = client_for(users["k1_viewer"])
    assert xlsx_codes(c.get("/orgs/regions/", {"export": "xlsx"})) == ["990101"]
    assert xlsx_codes(c.get("/orgs/branches/", {"export": "xlsx"})) == ["901990101001", "902990101001"]
    bank_user = client_for(users["icbc"])
    # the bank operator's role holds no export function
    assert bank_user.get("/orgs/branches/", {"export": "xlsx"}).status_code == 403
    html = bank_user.get("/orgs/branches/").content.decode()
    assert "901990101001" in html and "902990101001" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("auth", ["session", "token"])
def test_api_list_and_search_only_own_county(world, users, auth):
    api = client_for(users["k1_viewer"]) if auth == "session" else token_client(users["k1_viewer"])
    body = api.get("/api/v1/orgs/agencies", {"limit": 500}).json()
    assert body["count"] == len(OWN)
    assert sorted(i["code"] for i in body["items"]) == OWN
    for q in ("990102", "二县", "二市", "99"):
        items = api.get("/api/v1/orgs/agencies", {"q": q}).json()["items"]
        assert not {i["code"] for i in items} & set(FOREIGN), q
    assert api.get("/api/v1/orgs/agencies", {"region_code": "990102"}).json()["count"] == 0
    regions = api.get("/api/v1/orgs/regions").json()
    assert [r["code"] for r in regions["items"]] == ["990101"]


@pytest.mark.django_db
def test_api_writes_on_foreign_agency_answer_404_and_change_nothing(world, users):
    api = token_client(users["k1_admin"])
    foreign = world["a"]["k2"]
    assert api.patch(f"/api/v1/orgs/agencies/{foreign.pk}", {"name": "偷改"},
                     content_type="application/json").status_code == 404
    assert api.post(f"/api/v1/orgs/agencies/{foreign.pk}/disable").status_code == 404
    r = api.post("/api/v1/orgs/agencies", {"code": "990102103", "name": "越权", "region_code": "990102"},
                 content_type="application/json")
    assert r.status_code == 404 and r.json()["field"] == "region"
    foreign.refresh_from_db()
    assert (foreign.name, foreign.status) == ("一市二县教育局", Agency.Status.ACTIVE)
    assert not Agency.objects.filter(code="990102103").exists()


@pytest.mark.django_db
def test_ui_writes_on_foreign_agency_are_404(world, users):
    c = client_for(users["k1_admin"])
    foreign = world["a"]["k2"]
    assert c.get(f"/orgs/agencies/{foreign.pk}/edit/").status_code == 404
    assert c.post(f"/orgs/agencies/{foreign.pk}/edit/", {"name": "偷改", "kind": "admin"}).status_code == 404
    assert c.post(f"/orgs/agencies/{foreign.pk}/status/", {"action": "disable"}).status_code == 404
    foreign.refresh_from_db()
    assert (foreign.name, foreign.status) == ("一市二县教育局", Agency.Status.ACTIVE)


@pytest.mark.django_db
def test_selectors_scope_per_user(world, users):
    """The same restrict() filter behind every screen, for users with different scopes."""
    from fmis.orgs import selectors

    assert codes(selectors.agencies_for(user=users["c1_admin"])) == sorted(
        ["990100101", "990101101", "990101101001", "990101102", "990102101", "990102101001"])
    assert codes(selectors.agencies_for(user=users["k1_unit"])) == ["990101101", "990101101001"]
    assert codes(selectors.agencies_for(user=users["p_admin"])) == sorted(OWN + FOREIGN)
    assert codes(selectors.agencies_for(user=users["nobody"])) == []
    assert codes(selectors.regions_for(user=users["c1_admin"])) == ["990100", "990101", "990102"]
    assert codes(selectors.banks_for(user=users["icbc"])) == ["901"]
    assert codes(selectors.branches_for(user=users["icbc"])) == ["901990101001", "901990102001", "901990200001"]
    assert codes(selectors.branches_for(user=users["k1_viewer"])) == ["901990101001", "902990101001"]
    assert Region.objects.count() == 6 and BankBranch.objects.count() == 6


@pytest.mark.django_db
def test_user_without_function_gets_403_everywhere(world, users):
    c = client_for(users["nobody"])
    for url in ("/orgs/agencies/", "/orgs/regions/", "/orgs/banks/", f"/orgs/agencies/{world['a']['k1'].pk}/"):
        assert c.get(url).status_code == 403
    api = token_client(users["nobody"])
    r = api.get("/api/v1/orgs/agencies")
    assert r.status_code == 403 and r.json()["code"] == "iam.function_denied"


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(world):
    c = Client()
    r = c.get("/orgs/agencies/")
    assert r.status_code == 302 and "/iam/login/" in r["Location"]
    assert c.get("/api/v1/orgs/agencies").status_code == 401

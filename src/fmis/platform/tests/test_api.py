"""API errors as RFC 9457 problem documents, the platform router, and the offline docs page."""

import datetime as dt
import json
import logging
import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.testing import TestClient

from fmis.api import install_error_handlers
from fmis.platform import audit, selectors
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord

AUDIT_URL = "/api/v1/platform/audit"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"] == "application/problem+json"
    body = json.loads(resp.content)
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:fmis:error:{code}"
    assert body["title"] and body["detail"]
    return body


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def records(db, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    with transaction.atomic():
        for i in range(7):
            audit.record(alice, "orgs.agency.update", object_type="orgs.agency", object_id=str(i),
                         object_repr=f"单位{i}", before={"name": "a"}, after={"name": "b"})
        for i in range(3):
            audit.record(bob, "iam.user.create", object_type="iam.user", object_id=str(100 + i))
    return alice, bob


# --- health -------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_health_needs_no_login():
    resp = Client().get("/api/v1/platform/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_health_reports_an_unreachable_database(monkeypatch):
    monkeypatch.setattr(selectors, "database_reachable", lambda: False)
    body = problem(Client().get("/api/v1/platform/health"), 503, "platform.database_unreachable")
    assert body["instance"] == "/api/v1/platform/health"


@pytest.mark.django_db
def test_database_reachable_is_false_when_the_query_fails(monkeypatch):
    from django.db import OperationalError, connection

    assert selectors.database_reachable() is True

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    assert selectors.database_reachable() is False


# --- audit list ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_audit_list_needs_authentication(records):
    resp = Client().get(AUDIT_URL)
    problem(resp, 401, "auth.required")
    assert resp["WWW-Authenticate"].startswith("Bearer")
    problem(Client().get(AUDIT_URL, HTTP_AUTHORIZATION="Bearer fmis_not-a-token"), 401, "auth.required")


@pytest.mark.django_db
def test_audit_list_needs_the_function(records, clerk):
    body = problem(client_for(clerk).get(AUDIT_URL), 403, "iam.function_denied")
    assert "platform.audit.view" in body["detail"]


@pytest.mark.django_db
def test_audit_list_with_a_token(records, auditor):
    from fmis.iam.models import ApiToken
    from fmis.iam.tokens import hash_token, new_raw_token

    raw = new_raw_token()
    ApiToken.objects.create(user=auditor, name="t", key_hash=hash_token(raw))
    resp = Client().get(AUDIT_URL, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert resp.status_code == 200 and resp.json()["count"] == 10


@pytest.mark.django_db
def test_audit_list_filters_and_pages(records, auditor):
    alice, _bob = records
    c = client_for(auditor)
    body = c.get(AUDIT_URL, {"page_size": 4}).json()
    assert body["count"] == 10 and body["page"] == 1 and len(body["items"]) == 4
    ids = [i["id"] for i in body["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    page3 = c.get(AUDIT_URL, {"page_size": 4, "page": 3}).json()
    assert len(page3["items"]) == 2
    assert c.get(AUDIT_URL, {"page_size": 4, "page": 9}).json()["items"] == []

    assert c.get(AUDIT_URL, {"actor": "bob"}).json()["count"] == 3
    assert c.get(AUDIT_URL, {"actor": str(alice.pk)}).json()["count"] == 7
    assert c.get(AUDIT_URL, {"action": "orgs."}).json()["count"] == 7
    assert c.get(AUDIT_URL, {"action": "orgs"}).json()["count"] == 7
    assert c.get(AUDIT_URL, {"action": "or"}).json()["count"] == 0  # prefixes are whole segments
    assert c.get(AUDIT_URL, {"action": "iam.user.create"}).json()["count"] == 3
    one = c.get(AUDIT_URL, {"object_type": "orgs.agency", "object_id": "3"}).json()
    assert one["count"] == 1 and one["items"][0]["object_repr"] == "单位3"
    assert one["items"][0]["before"] == {"name": "a"} and one["items"][0]["after"] == {"name": "b"}
    today = timezone.localdate()
    assert c.get(AUDIT_URL, {"date_from": today.isoformat(), "date_to": today.isoformat()}).json()["count"] == 10
    assert c.get(AUDIT_URL, {"date_to": (today - dt.timedelta(days=1)).isoformat()}).json()["count"] == 0
    assert c.get(AUDIT_URL, {"date_from": (today + dt.timedelta(days=1)).isoformat()}).json()["count"] == 0


@pytest.mark.django_db
def test_superuser_sees_the_audit_log(records, superuser):
    assert client_for(superuser).get(AUDIT_URL).json()["count"] == 10


@pytest.mark.django_db
def test_audit_detail_and_404(records, auditor):
    c = client_for(auditor)
    rec = AuditRecord.objects.order_by("id").first()
    body = c.get(f"{AUDIT_URL}/{rec.pk}").json()
    assert body["hash"] == rec.hash and body["prev_hash"] == audit.GENESIS
    problem(c.get(f"{AUDIT_URL}/999999999"), 404, "platform.audit.not_found")


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field"), [
    ({"page": 0}, "page"),
    ({"page": "x"}, "page"),
    ({"page_size": 1000}, "page_size"),
    ({"date_from": "2024-13-45"}, "date_from"),
])
def test_query_validation_names_the_field(records, auditor, params, field):
    body = problem(client_for(auditor).get(AUDIT_URL, params), 422, "request.invalid")
    assert body["field"] == field
    assert body["errors"][0]["field"] == field and body["errors"][0]["message"]
    assert field in body["detail"]


@pytest.mark.django_db
def test_reversed_date_range_is_a_domain_error(records, auditor):
    body = problem(client_for(auditor).get(AUDIT_URL, {"date_from": "2024-05-02", "date_to": "2024-05-01"}),
                   422, "platform.audit.bad_range")
    assert body["field"] == "date_from"


@pytest.mark.django_db
def test_unknown_api_path_is_a_404_problem(auditor):
    c = client_for(auditor)
    problem(c.get("/api/v1/no/such/thing"), 404, "not_found")
    problem(Client().post("/api/v1/platform/nothing-here"), 404, "not_found")


# --- domain errors and unexpected exceptions through the real endpoint ---------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("exc", "status"), [
    (ValidationFailed("orgs.code_taken", "单位编码已存在", field="code", line=3,
                      errors=[{"line": 3, "field": "code", "message": "重复", "amount": Decimal("1.00")}]), 422),
    (Conflict("treasury.already_paid", "已支付"), 409),
    (NotFound("treasury.not_found", "不存在"), 404),
    (PermissionDenied("iam.out_of_scope", "不在范围内"), 403),
])
def test_domain_errors_keep_code_status_field_line_errors(auditor, monkeypatch, exc, status):
    def raise_it(**kwargs):
        raise exc

    monkeypatch.setattr(selectors, "audit_records", raise_it)
    body = problem(client_for(auditor).get(AUDIT_URL), status, exc.code)
    assert body["detail"] == exc.message
    assert body["title"] == exc.title
    if exc.field:
        assert body["field"] == "code" and body["line"] == 3
        assert body["errors"] == [{"line": 3, "field": "code", "message": "重复", "amount": "1.00"}]


@pytest.mark.django_db
def test_unexpected_exception_is_a_500_problem_without_traceback(auditor, monkeypatch, caplog):
    def boom(**kwargs):
        raise RuntimeError("secret connection string postgres://u:p@h/db")

    monkeypatch.setattr(selectors, "audit_records", boom)
    with caplog.at_level(logging.ERROR, logger="fmis.api"):
        resp = client_for(auditor).get(AUDIT_URL)
    body = problem(resp, 500, "server.error")
    text = resp.content.decode()
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert re.fullmatch(r"[0-9a-f]{12}", body["error_id"])
    logged = [r for r in caplog.records if r.name == "fmis.api"]
    assert logged and body["error_id"] in logged[0].getMessage()
    assert logged[0].exc_info and "secret connection string" in str(logged[0].exc_info[1])


# --- body validation and malformed bodies (the same handlers on a throwaway API) ----------------

class PaymentIn(Schema):
    amount: Decimal
    payee: str
    count: int = 1


@pytest.fixture(scope="module")
def test_api():
    api = NinjaAPI(urls_namespace="problem-test")
    install_error_handlers(api)

    @api.post("/pay")
    def pay(request, payload: PaymentIn):
        return {"ok": True}

    @api.get("/http-error")
    def http_error(request):
        from ninja.errors import HttpError

        raise HttpError(429, "slow down")

    @api.get("/django-validation")
    def django_validation(request):
        from django.core.exceptions import ValidationError

        raise ValidationError({"name": ["名称不能为空"]})

    return TestClient(api)


def test_body_validation_names_each_field(test_api):
    resp = test_api.post("/pay", json={"amount": "abc", "count": "x"})
    body = problem(resp, 422, "request.invalid")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"amount", "payee", "count"}
    assert body["field"] in fields
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["payee"] == "必填" and messages["count"] == "应为整数"
    assert "payee: 必填" in body["detail"]


def test_malformed_json_body_is_a_400_problem(test_api):
    resp = test_api.post("/pay", data=b"{not json", content_type="application/json")
    problem(resp, 400, "request.malformed")


def test_other_http_errors_and_django_validation_errors(test_api):
    problem(test_api.get("/http-error"), 429, "request.throttled")
    body = problem(test_api.get("/django-validation"), 422, "request.invalid")
    assert body["field"] == "name" and body["errors"] == [{"field": "name", "message": "名称不能为空"}]


# --- offline docs -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_docs_page_loads_swagger_from_this_server():
    c = Client()
    resp = c.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "swagger-ui" in html
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and not [r for r in refs if "://" in r or r.startswith("//")]  # nothing from outside
    assert "cdn" not in html.lower()
    for ref in refs:
        asset = c.get(ref)
        assert asset.status_code == 200, ref
        body = b"".join(asset.streaming_content)
        assert len(body) > 1000 or ref.endswith(("init.js", ".svg", ".png")), ref
    css = c.get(next(r for r in refs if r.endswith(".css")))
    assert css["Content-Type"].startswith("text/css")
    problem(c.get("/api/v1/docs/assets/settings.py"), 404, "not_found")
    problem(c.get("/api/v1/docs/assets/..%2F..%2Fmain.py"), 404, "not_found")


def test_platform_router_has_a_valid_openapi_schema():
    from fmis.platform.api import router

    api = NinjaAPI(urls_namespace="platform-schema-test")
    api.add_router("/platform/", router)
    schema = api.get_openapi_schema(path_prefix="")
    paths = schema["paths"]
    assert {"/platform/audit", "/platform/audit/{record_id}", "/platform/health"} <= set(paths)
    params = {p["name"] for p in paths["/platform/audit"]["get"]["parameters"]}
    assert {"object_type", "object_id", "actor", "action", "date_from", "date_to", "page", "page_size"} <= params

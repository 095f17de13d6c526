"""The basic information API: masked identity numbers, scope, review."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from .conftest import id_number

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_api_person_masked_scoped_and_reviewed(world):
    unit = client_for(world.unit_user)
    number = id_number(seq=55)
    body = {"agency_code": "990100101001", "fiscal_year": 2026, "name": "赵六", "id_number": number,
            "category": "active", "salary": {"30101": "5200.00"}}
    resp = unit.post("/api/v1/basicinfo/personnel", json.dumps(body), content_type="application/json")
    assert resp.status_code == 201, resp.content
    assert number not in resp.content.decode()
    pk = resp.json()["id"]
    assert resp.json()["id_number_masked"].startswith("3701**")
    bad = {**body, "id_number": "123"}
    resp = unit.post("/api/v1/basicinfo/personnel", json.dumps(bad), content_type="application/json")
    assert resp.status_code == 422 and resp.json()["field"] == "id_number"
    assert client_for(world.unit2_user).get(f"/api/v1/basicinfo/personnel/{pk}").status_code == 404
    resp = unit.post("/api/v1/basicinfo/submissions", json.dumps({"agency_code": "990100101001", "fiscal_year": 2026}),
                     content_type="application/json")
    assert resp.json()["status"] == "submitted"
    sub = resp.json()["id"]
    resp = unit.put(f"/api/v1/basicinfo/personnel/{pk}", json.dumps(body), content_type="application/json")
    assert resp.status_code == 409 and resp.json()["code"] == "basicinfo.year_locked"
    resp = client_for(world.supervisor).post(f"/api/v1/basicinfo/submissions/{sub}/review",
                                             json.dumps({"action": "return", "text": "工资项目不全"}),
                                             content_type="application/json")
    assert resp.json()["status"] == "returned" and resp.json()["return_reason"] == "工资项目不全"
    hist = client_for(world.finance).get("/api/v1/basicinfo/history?agency_code=990100101001&fiscal_year=2026").json()
    assert "basicinfo.personnel.create" in [h["action"] for h in hist]

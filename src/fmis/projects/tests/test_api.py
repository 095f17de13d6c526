"""The project API: scope (404 outside), declaration with problem details, review, library."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from fmis.projects import services
from fmis.projects.models import Project

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


BODY = {"name": "课后服务补助", "agency_code": "990100101001", "category": "31", "func_code": "2050101",
        "start_year": 2026, "end_year": 2027, "total_amount": "200000.00",
        "plans": {"2026": "100000.00", "2027": "100000.00"},
        "targets": [{"level1": "output", "level2": "数量指标", "level3": "受益学生", "target_value": "1200",
                     "unit": "人"}]}


def test_api_declare_review_and_library(world):
    unit = client_for(world.unit_user)
    resp = unit.post("/api/v1/projects/projects", json.dumps(BODY), content_type="application/json")
    assert resp.status_code == 201, resp.content
    pk = resp.json()["id"]
    assert resp.json()["code"] == "99010026101P001000001"
    bad = {**BODY, "plans": {"2026": "1.00", "2027": "2.00"}}
    resp = unit.post("/api/v1/projects/projects", json.dumps(bad), content_type="application/json")
    assert resp.status_code == 422
    assert resp.json()["code"] == "projects.plan_sum_mismatch" and resp.json()["field"] == "plans"
    assert Project.objects.count() == 1
    assert unit.post(f"/api/v1/projects/projects/{pk}/submit", json.dumps({}),
                     content_type="application/json").json()["status"] == "submitted"
    sup = client_for(world.supervisor)
    resp = sup.post(f"/api/v1/projects/projects/{pk}/review", json.dumps({"action": "return", "text": "请补充测算"}),
                    content_type="application/json")
    assert resp.status_code == 200 and resp.json()["return_reason"] == "请补充测算"
    # other unit: 404 like a missing project
    other = client_for(world.unit2_user)
    assert other.get(f"/api/v1/projects/projects/{pk}").status_code == 404
    assert other.get("/api/v1/projects/projects").json()["count"] == 0
    assert client_for(world.finance).get("/api/v1/projects/projects").json()["count"] == 1
    hist = unit.get(f"/api/v1/projects/projects/{pk}/history").json()
    assert "projects.project.returned" in [h["action"] for h in hist]


def test_api_library_and_roll_over(world, reserved):
    fin = client_for(world.finance)
    lib = fin.get("/api/v1/projects/library?fiscal_year=2026").json()
    assert lib["count"] == 1 and lib["items"][0]["plan_amount"] == "100000.00"
    resp = fin.post(f"/api/v1/projects/projects/{reserved.pk}/schedule",
                    json.dumps({"fiscal_year": 2026, "amount": "100000.00"}), content_type="application/json")
    assert resp.status_code == 200 and resp.json()["status"] == "scheduled"
    resp = fin.post("/api/v1/projects/library/roll-over", json.dumps({"region_code": "990100", "from_year": 2026}),
                    content_type="application/json")
    assert resp.json() == {"created": 1}
    assert fin.get("/api/v1/projects/library?fiscal_year=2027").json()["count"] == 1
    assert client_for(world.unit_user).post("/api/v1/projects/library/roll-over", json.dumps(
        {"region_code": "990100", "from_year": 2026}), content_type="application/json").status_code == 403
    resp = fin.post(f"/api/v1/projects/projects/{reserved.pk}/terminate", json.dumps({"reason": "政策到期"}),
                    content_type="application/json")
    assert resp.json()["status"] == "terminated"
    assert services  # the service module is what the API calls

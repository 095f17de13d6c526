"""The project screens render, show refusals on the page and stay in scope."""

from __future__ import annotations

import pytest
from django.test import Client

from fmis.projects.models import Project

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


FORM = {"name": "食堂改造", "agency": "", "category": "31", "func_code": "2050101", "start_year": "2026",
        "end_year": "2027", "total_amount": "90000", "plans": "2026:50000\n2027:40000",
        "targets": "产出指标/数量指标/改造面积/≥/300/平方米", "tags": "后勤"}


def test_declare_through_the_form_and_see_errors(world):
    web = client_for(world.unit_user)
    assert web.get("/projects/new/").status_code == 200
    bad = {**FORM, "agency": str(world.unit.pk), "plans": "2026:50000\n2027:30000"}
    resp = web.post("/projects/new/", bad)
    assert resp.status_code == 200
    assert "分年支出计划合计" in resp.content.decode()
    assert not Project.objects.exists()
    resp = web.post("/projects/new/", {**FORM, "agency": str(world.unit.pk)})
    assert resp.status_code == 302
    p = Project.objects.get()
    page = web.get(f"/projects/{p.pk}/").content.decode()
    assert p.code in page and "review-panel" in page and "attachments" in page
    assert web.get("/projects/").status_code == 200
    export = web.get("/projects/?export=xlsx")
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    assert web.get(f"/projects/{p.pk}/history/").status_code == 200
    assert client_for(world.unit2_user).get(f"/projects/{p.pk}/").status_code == 404


def test_library_and_roll_screen(world, reserved):
    web = client_for(world.finance)
    page = web.get("/projects/library/?year=2026").content.decode()
    assert reserved.code in page
    resp = web.post("/projects/library/", {"region": world.region.pk, "from_year": 2026})
    assert resp.status_code == 302
    assert reserved.code in web.get("/projects/library/?year=2027").content.decode()
    assert web.get("/projects/transfers/").status_code == 200


def test_project_screens_in_english(world, reserved):
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        web = client_for(world.unit_user)
        web.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        html = web.get("/projects/").content.decode()
        assert "<th>Project code</th>" in html and ">Reserved<" in html and "项目代码" not in html
        detail = web.get(f"/projects/{reserved.pk}/").content.decode()
        assert "Yearly plan" in detail and "Performance targets" in detail and "分年支出计划" not in detail

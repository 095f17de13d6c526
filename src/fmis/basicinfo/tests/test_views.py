"""The basic information screens render, stay in scope and show refusals on the page."""

from __future__ import annotations

import pytest
from django.test import Client

from fmis.basicinfo import services
from fmis.basicinfo.models import Personnel

from .conftest import id_number

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_screens_render_and_export(world):
    p = services.create_person(user=world.unit_user, data=world.person())
    services.create_vehicle(user=world.unit_user, data=world.vehicle())
    web = client_for(world.unit_user)
    for url in ["/basicinfo/", "/basicinfo/vehicles/", "/basicinfo/assets/", "/basicinfo/standards/",
                "/basicinfo/submissions/", "/basicinfo/personnel/new/", f"/basicinfo/personnel/{p.pk}/",
                "/basicinfo/import/personnel/", "/basicinfo/history/?year=2026", "/basicinfo/submissions/submit/"]:
        assert web.get(url).status_code == 200, url
    page = web.get("/basicinfo/").content.decode()
    assert p.id_number_masked in page
    assert web.get("/basicinfo/?export=xlsx")["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client_for(world.unit2_user).get(f"/basicinfo/personnel/{p.pk}/").status_code == 404
    assert web.get("/basicinfo/import/standards/").status_code == 404


def test_form_error_shown_and_submission_page(world):
    web = client_for(world.unit_user)
    resp = web.post("/basicinfo/personnel/new/", {"agency": world.unit.pk, "fiscal_year": 2026, "name": "张三",
                                                  "id_number": "123", "category": "active", "status": "active"})
    assert resp.status_code == 200 and "身份证号应为 18 位" in resp.content.decode()
    assert not Personnel.objects.exists()
    resp = web.post("/basicinfo/personnel/new/", {"agency": world.unit.pk, "fiscal_year": 2026, "name": "张三",
                                                  "id_number": id_number(), "category": "active", "status": "active",
                                                  "salary": "30101:4500"})
    assert resp.status_code == 302
    resp = web.post("/basicinfo/submissions/submit/", {"agency": world.unit.pk, "fiscal_year": 2026})
    assert resp.status_code == 302
    page = web.get(resp["Location"]).content.decode()
    assert "review-panel" in page and "审核中" in page


def test_personnel_list_in_english(world):
    from django.conf import settings
    from django.utils import translation

    services.create_person(user=world.unit_user, data=world.person())
    with translation.override(settings.LANGUAGE_CODE):
        web = client_for(world.unit_user)
        web.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        html = web.get("/basicinfo/").content.decode()
        assert "<th>ID number</th>" in html and ">Active<" in html and "<th>身份证号</th>" not in html

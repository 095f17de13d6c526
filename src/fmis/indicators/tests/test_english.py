"""The indicator screens in English (language cookie): page titles, status words, the review
panel and the xlsx export follow the language; the import template keeps its Chinese headers."""

import io

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from fmis.indicators import services
from fmis.indicators.models import Indicator


def english_client(user):
    c = Client()
    c.force_login(user)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return c


@pytest.fixture(autouse=True)
def restore_language():
    """A request activates its language in this thread; give the next test the default back."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.mark.django_db
def test_indicator_screens_read_in_english(world):
    ind = services.create_indicator(user=world.budget, data=world.entry(code="ZB-EN", agency_id=world.a1.pk,
                                                                        to_distribute=False))
    web = english_client(world.budget)
    html = web.get("/indicators/").content.decode()
    assert "<h1>Indicators</h1>" in html and "<th>Year</th>" in html
    assert ">Draft<" in html and "录入" not in html and "预算指标" not in html
    detail = web.get(f"/indicators/{ind.pk}/").content.decode()
    assert "Budget indicator · ZB-EN" in detail and "Payment mode" in detail and "Authorized payment" in detail
    assert "Submit for review" in detail and "Review status" in detail and "送审" not in detail
    services.submit_indicator(user=world.budget, indicator_id=ind.pk)
    detail = web.get(f"/indicators/{ind.pk}/").content.decode()
    assert "Under review: step 1 of 1" in detail and "：第" not in detail
    with translation.override("zh-hans"):
        assert Indicator.objects.get(pk=ind.pk).get_status_display() == "审核中"  # labels stay Chinese by default


@pytest.mark.django_db
def test_export_follows_the_language_and_import_headers_stay_chinese(world):
    services.create_indicator(user=world.budget, data=world.entry(code="ZB-X", agency_id=world.a1.pk,
                                                                  to_distribute=False))
    resp = english_client(world.budget).get("/indicators/?export=xlsx")
    assert "indicators.xlsx" in resp["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    header, row = list(ws.iter_rows(values_only=True))[:2]
    assert header[:4] == ("Fiscal year", "Region", "Agency", "Indicator code")
    assert "Authorized payment" in row and "Draft" in row
    page = english_client(world.budget).get("/indicators/import/").content.decode()
    assert "Import indicators" in page and "预算年度, 财政区划" in page  # the columns the import matches on

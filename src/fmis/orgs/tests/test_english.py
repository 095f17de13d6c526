"""The organisation screens in English: list titles read as plurals, status cells read
Enabled/Disabled while the buttons read Enable/Disable; the Chinese interface is unchanged."""

import pytest
from django.conf import settings
from django.utils import translation

from fmis.orgs.tests.test_leakage import client_for


@pytest.fixture(autouse=True)
def restore_language():
    """A request activates its language in this thread; give the next test the default back."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.mark.django_db
def test_region_screens_in_english_and_chinese(world, users):
    region = world["r"]["k1"]
    c = client_for(users["k1_admin"])
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = c.get("/orgs/regions/").content.decode()
    assert "<h1>Regions</h1>" in html and ">Enabled<" in html and "启用" not in html
    detail = c.get(f"/orgs/regions/{region.pk}/").content.decode()
    assert "Region · 990101" in detail and ">Enabled<" in detail and ">Disable</button>" in detail
    assert "<h1>Agencies</h1>" in c.get("/orgs/agencies/").content.decode()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = c.get(f"/orgs/regions/{region.pk}/").content.decode()
    assert ">启用<" in html and ">停用</button>" in html and "<h1>财政区划 · 990101" in html

"""The IAM screens in English: function names come from ``name_en``, data scope rules and the
explanations are translated, and status words read as states."""

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation


@pytest.fixture(autouse=True)
def restore_language():
    """A request activates its language in this thread; give the next test the default back."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


def english_client(user):
    c = Client()
    c.force_login(user)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return c


@pytest.mark.django_db
def test_role_and_explain_pages_in_english(make_region, make_role, make_user):
    region = make_region("990100", "一市")
    role = make_role("clerk", ["iam.explain", "iam.role.view", "orgs.region.view"],
                     rules=[("region", "subtree", ["990100"])], name="经办")
    user = make_user("clerk1", roles=[role], region=region)
    c = english_client(user)
    explain = c.get("/iam/explain/?function=orgs.region.view").content.decode()
    assert "Can I use a function?" in explain and "Regions (orgs.region.view)" in explain
    assert "Region: Given values and below (990100)" in explain and "经办 (clerk), own role" in explain
    refused = c.get("/iam/explain/?function=iam.user.manage").content.decode()
    assert "None of user clerk1&#x27;s roles" in refused and "Manage users (iam.user.manage)" in refused
    roles = c.get("/iam/roles/").content.decode()
    assert "<h1>Roles</h1>" in roles and ">Active<" in roles and "使用" not in roles
    with translation.override("zh-hans"):
        chinese = Client()
        chinese.force_login(user)
        assert "我能做某个功能吗？" in chinese.get("/iam/explain/").content.decode()

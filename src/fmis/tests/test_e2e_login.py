"""Browser tests of the UI shell in headless Chromium."""

import pytest
from playwright.sync_api import expect

PASSWORD = "Passw0rd!x"


@pytest.mark.django_db(transaction=True)
def test_login_shows_only_granted_menu(live_server, page, make_region, make_role, make_user):
    region = make_region("990100", "一市")
    role = make_role("viewer", ["orgs.agency.view"])
    make_user("viewer1", roles=[role], region=region, name="查看员")
    page.goto(f"{live_server.url}/")
    expect(page.locator("#id_username")).to_be_visible()
    page.fill("#id_username", "viewer1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_contain_text("查看员")
    menu = page.get_by_test_id("menu")
    expect(menu).to_contain_text("首页")
    expect(menu).not_to_contain_text("用户查询")


@pytest.mark.django_db(transaction=True)
def test_wrong_password_is_refused(live_server, page, make_region, make_user):
    make_user("someone", region=make_region("990200"))
    page.goto(f"{live_server.url}/iam/login/")
    page.fill("#id_username", "someone")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("不正确")

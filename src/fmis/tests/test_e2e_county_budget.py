"""A county budget user logs in and sees only their menu and their agencies (headless Chromium)."""

import re

import pytest
from playwright.sync_api import expect


@pytest.mark.django_db(transaction=True)
def test_county_budget_user_sees_own_menu_and_agencies(live_server, page):
    from fmis.orgs import demo
    from fmis.orgs.models import Agency

    demo.seed(scale="small")
    own = sorted(Agency.objects.filter(region__code__startswith="990101").values_list("code", flat=True))
    others = Agency.objects.exclude(region__code__startswith="990101").values_list("code", flat=True)
    assert own and others.exists()

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "county1_budget")
    page.fill("#id_password", demo.DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_contain_text("county1_budget")

    menu = page.get_by_test_id("menu")
    expect(menu).to_contain_text("预算单位")
    expect(menu).to_contain_text("指标查询")
    for foreign in ("用户查询", "角色查询", "审计日志", "审核链配置"):
        expect(menu).not_to_contain_text(foreign)

    menu.get_by_role("link", name="预算单位", exact=True).click()
    expect(page).to_have_url(re.compile(r"/orgs/agencies/"))
    shown = page.locator("table.grid tbody tr td:first-child").all_inner_texts()
    assert sorted(c.strip() for c in shown) == own

    # another county's agency is not reachable by searching for it either
    page.goto(f"{live_server.url}/orgs/agencies/?q={others.first()}")
    expect(page.locator("table.grid tbody tr")).to_have_count(0)

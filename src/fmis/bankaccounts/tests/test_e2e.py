"""In the browser: a unit applies to open an account, its supervising department and the
treasury division approve, the bank's flows arrive, and the report shows the balance."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from fmis.bankaccounts.tests.conftest import flows_csv

PASSWORD = "Passw0rd!x"
NUMBER = "6222000000000888"


def _login(browser, live_server, username):
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/iam/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    return page


@pytest.mark.django_db(transaction=True)
def test_open_approve_flows_report(live_server, browser, world, tmp_path):
    for u in (world.applicant, world.supervisor, world.treasury):
        u.set_password(PASSWORD)
        u.save(update_fields=["password"])

    unit = _login(browser, live_server, "applicant")
    unit.goto(f"{live_server.url}/bankaccounts/applications/open/")
    unit.select_option("#id_agency", str(world.unit.pk))
    unit.fill("#id_number", NUMBER)
    unit.fill("#id_name", "第一中学专项资金户")
    unit.select_option("#id_bank", str(world.bank.pk))
    unit.select_option("#id_nature", "special")
    unit.fill("#id_purpose", "专项资金核算")
    unit.fill("#id_opened_on", "2026-01-05")
    unit.fill("#id_reason", "专项资金需单独核算")
    unit.get_by_test_id("save").click()
    expect(unit.get_by_test_id("application-status")).to_have_attribute("data-status", "draft")
    app_url = unit.url
    unit.locator("button[data-action=submit]").click()
    expect(unit.get_by_test_id("application-status")).to_have_attribute("data-status", "pending")

    dept = _login(browser, live_server, "supervisor")
    dept.goto(app_url)
    dept.locator("button[data-action=approve]").click()
    expect(dept.get_by_test_id("review-status")).to_contain_text("国库处审批")

    treasury = _login(browser, live_server, "treasury")
    treasury.goto(app_url)
    treasury.locator("button[data-action=approve]").click()
    expect(treasury.get_by_test_id("application-status")).to_have_attribute("data-status", "approved")

    day = dt.date(2026, 3, 2)
    path = tmp_path / "901_flows.csv"
    path.write_bytes(flows_csv("901", day, [(NUMBER, "E1", "C", "5000.00"), (NUMBER, "E2", "D", "1234.56")]))
    treasury.goto(f"{live_server.url}/bankaccounts/exchange/import/")
    treasury.set_input_files("#id_file", str(path))
    treasury.get_by_test_id("save").click()
    expect(treasury.locator(".messages")).to_contain_text("新增 2 条")

    treasury.goto(f"{live_server.url}/bankaccounts/reports/balances/?agency={world.unit.code}&date_from=2026-03-01"
                  f"&date_to=2026-03-31")
    row = treasury.get_by_test_id("report").locator("tr", has_text=NUMBER)
    expect(row).to_contain_text("3,765.44")
    unit.goto(f"{live_server.url}/bankaccounts/accounts/")
    unit.get_by_role("link", name=NUMBER).click()
    expect(unit.get_by_test_id("account-balance")).to_have_text("3,765.44")

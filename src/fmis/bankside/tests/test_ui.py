"""In the browser: a bank operator enters a payment whose flow rule needs a pre-application and is
refused; submits the pre-application; a treasury user approves it; the payment goes through and
shows in the finance side's list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fmis.bankside.tests.test_services import env, setup_business  # noqa: F401

PASSWORD = "Passw0rd!x"


def _login(browser, live_server, username):
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/iam/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    return page


def _fill_payment(page, url):
    page.goto(f"{url}/bankside/payments/new/")
    for name, value in {"voucher_id": "V-UI-1", "merchant_no": "M1", "business_type": "tax", "budget_type": "iit",
                        "payee_account": "C1", "payee_name": "税务代收户", "bank_serial": "S-UI-1",
                        "amount": "321.00", "currency": "CNY", "date": "2026-11-20", "time": "10:20:30",
                        "purpose": "十一月个人所得税"}.items():
        page.fill(f"#id_{name}", value)


@pytest.mark.django_db(transaction=True)
def test_payment_needing_a_pre_application_goes_through_after_approval(live_server, browser, env):  # noqa: F811
    setup_business(env)
    for u in (env["op"], env["fin"]):
        u.set_password(PASSWORD)
        u.save(update_fields=["password"])

    bank = _login(browser, live_server, "op901")
    _fill_payment(bank, live_server.url)
    bank.get_by_test_id("save").click()
    expect(bank.locator('[data-field="pre_application"]')).to_contain_text("要求先取得审核通过的预申请")

    bank.goto(f"{live_server.url}/bankside/pre-applications/new/")
    bank.fill("#id_merchant_no", "M1")
    bank.fill("#id_business_type", "tax")
    bank.fill("#id_amount", "321.00")
    bank.fill("#id_purpose", "十一月个人所得税")
    bank.get_by_test_id("save").click()
    expect(bank.get_by_test_id("pre-status")).to_have_text("待审核")
    pre_id = bank.get_by_test_id("pre-id").inner_text().strip()

    treasury = _login(browser, live_server, "fin")
    treasury.goto(f"{live_server.url}/bankside/review/")
    form = treasury.get_by_test_id(f"review-{pre_id[:12]}")
    form.locator("select[name=decision]").select_option("approve")
    form.locator("button[type=submit]").click()
    expect(treasury.locator(".messages")).to_contain_text("预申请已审核通过")

    bank.goto(f"{live_server.url}/bankside/pre-applications/{pre_id}/")
    expect(bank.get_by_test_id("pre-status")).to_have_text("已通过")
    _fill_payment(bank, live_server.url)
    bank.fill("#id_pre_application", pre_id)
    bank.get_by_test_id("save").click()
    expect(bank.get_by_test_id("payment-status")).to_have_text("已支付")
    expect(bank.get_by_test_id("bookkeeping")).to_contain_text("减计")

    treasury.goto(f"{live_server.url}/bankside/payments/?q=V-UI-1")
    row = treasury.get_by_test_id("payments").locator("tr", has_text="V-UI-1")
    expect(row).to_contain_text("321.00")
    expect(row).to_contain_text("已支付")
    treasury.goto(f"{live_server.url}/bankside/execution/")
    expect(treasury.get_by_test_id("execution")).to_contain_text("321.00")

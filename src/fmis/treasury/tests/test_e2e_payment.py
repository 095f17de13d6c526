"""In headless Chromium: a unit accountant applies, the treasury division approves through the
review panel, the simulator pays, and the indicator page shows the consumption."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from fmis.platform import outbox
from fmis.treasury.models import PaymentVoucher
from fmis.treasury.tests.conftest import PASSWORD, wait_for


def login(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/iam/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_apply_approve_pay_and_see_consumption(live_server, page, world, banksim, make_role):
    from fmis.iam.models import UserRole

    w = world
    viewer = make_role("ind_viewer", ["indicators.view"], rules=[("region", "own_region_tree", [])])
    for u in (w.accountant, w.treasurer):
        UserRole.objects.create(user=u, role=viewer)
    banksim(seed=3)
    base = live_server.url

    login(page, base, "acc1")
    page.goto(f"{base}/treasury/applications/new/")
    page.select_option("#id_indicator", str(w.indicator.pk))
    page.fill("#id_payee_name", "示例文具公司")
    page.fill("#id_payee_account", "6228 4800 1234 5678")
    page.fill("#id_payee_bank", "示例银行营业部")
    page.fill("#id_amount", "888.00")
    page.fill("#id_purpose", "购买办公用品")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("application-status")).to_have_attribute("data-status", "draft")
    page.get_by_test_id("submit-application").click()
    expect(page.get_by_test_id("application-status")).to_have_attribute("data-status", "submitted")
    app_url = page.url

    login(page, base, "trs1")
    page.goto(app_url)
    page.locator("[data-testid=review-actions] button[data-action=approve]").click()
    expect(page.get_by_test_id("application-status")).to_have_attribute("data-status", "voucher_issued")

    assert outbox.deliver(topic="bank.voucher") == (1, 0)
    wait_for(lambda: PaymentVoucher.objects.filter(status="paid").exists(), what="the bank's receipt")

    page.goto(app_url)
    expect(page.get_by_test_id("application-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("voucher-paid")).to_contain_text("888.00")
    page.goto(f"{base}/indicators/{w.indicator.pk}/")
    expect(page.get_by_test_id("consumed")).to_contain_text("888.00")
    expect(page.get_by_test_id("available")).to_contain_text("9")  # 9,112.00 however it is grouped
    v = PaymentVoucher.objects.get()
    assert v.paid == Decimal("888.00")

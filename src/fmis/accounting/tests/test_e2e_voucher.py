"""A voucher's life in the browser (headless Chromium): one user enters a balanced voucher, is refused
the audit of their own voucher, another user audits and posts it, then follows the trial balance down
to the detail ledger and back to the posted voucher."""

import re

import pytest
from playwright.sync_api import expect

from fmis.accounting.tests.conftest import YEAR

PASSWORD = "Passw0rd!x"
AMOUNT = "1234.56"
SHOWN = "1,234.56"  # as the screens format it
ENTRANT_FUNCTIONS = ["accounting.set.view", "accounting.voucher.view", "accounting.voucher.create",
                     "accounting.voucher.audit", "accounting.ledger.view"]
KEEPER_FUNCTIONS = ["accounting.set.view", "accounting.voucher.view", "accounting.voucher.audit",
                    "accounting.voucher.post", "accounting.ledger.view"]
ADMIN_FUNCTIONS = ["accounting.set.view", "accounting.set.manage"]


def _login(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/iam/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_contain_text(username)


@pytest.mark.django_db(transaction=True)
def test_voucher_entered_audited_posted_and_traced_from_trial_balance(dictionary, live_server, page, make_region,
                                                                       make_agency, make_role, make_user):
    from fmis.accounting import services
    from fmis.accounting.models import Voucher

    prov = make_region("970000", "浏览器测试省")
    city = make_region("970100", "浏览器测试市", parent=prov)
    agency = make_agency("970100101", city, "浏览器测试单位", kind="inst")
    admin_role = make_role("pw_acc_admin", ADMIN_FUNCTIONS, rules=[("region", "own_region_tree", [])])
    entrant_role = make_role("pw_acc_entrant", ENTRANT_FUNCTIONS, rules=[("agency", "own_agency_tree", [])])
    keeper_role = make_role("pw_acc_keeper", KEEPER_FUNCTIONS, rules=[("agency", "own_agency_tree", [])])
    admin = make_user("pw_accadmin", roles=[admin_role], region=city, password=PASSWORD)
    make_user("pw_entrant", roles=[entrant_role], agency=agency, password=PASSWORD, name="制单员甲")
    make_user("pw_keeper", roles=[keeper_role], agency=agency, password=PASSWORD, name="会计乙")
    aset = services.create_account_set(
        data=services.AccountSetInput(code="2001", name="浏览器测试账套", start_year=YEAR, agency_id=agency.pk,
                                      poster_must_differ=True),
        user=admin)
    base = live_server.url

    # user A enters a voucher with a financial and a budgetary pair
    _login(page, base, "pw_entrant")
    page.goto(f"{base}/accounting/vouchers/new/")
    expect(page.get_by_test_id("current-set")).to_contain_text("2001")
    form = page.locator("#voucher-form")
    form.locator("input[name=date]").fill(f"{YEAR}-03-15")
    rows = form.locator("#lines tbody tr")
    expect(rows).to_have_count(4)
    lines = [("5001", AMOUNT, ""), ("1011", "", AMOUNT), ("720101", AMOUNT, ""), ("800101", "", AMOUNT)]
    for i, (code, debit, credit) in enumerate(lines):
        row = rows.nth(i)
        row.locator("input[name=summary]").fill("支付办公费")
        row.locator("input[name=account]").fill(code)
        row.locator("input[name=debit]").fill(debit)
        row.locator("input[name=credit]").fill(credit)
    expect(page.locator("#sum-debit")).to_have_text("2469.12")
    expect(page.locator("#sum-credit")).to_have_text("2469.12")
    form.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/accounting/vouchers/\d+/$"))
    v = Voucher.objects.get(account_set=aset)
    assert v.status == Voucher.Status.ENTERED and v.lines.count() == 4
    number = v.display_no
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.get_by_test_id("voucher-status")).to_have_text(Voucher.Status.ENTERED.label)
    voucher_url = page.url

    # user A may not audit their own voucher: the page says so and nothing changes
    page.locator("button[data-action=audit]").click()
    expect(page.locator(".messages .msg-error")).to_contain_text("审核人不能是制单人本人")
    expect(page.get_by_test_id("voucher-status")).to_have_text(Voucher.Status.ENTERED.label)
    v.refresh_from_db()
    assert v.status == Voucher.Status.ENTERED and v.audited_by_id is None

    # user B audits and posts it
    _login(page, base, "pw_keeper")
    page.goto(voucher_url)
    page.locator("button[data-action=audit]").click()
    expect(page.get_by_test_id("voucher-status")).to_have_text(Voucher.Status.AUDITED.label)
    page.locator("button[data-action=post]").click()
    expect(page.get_by_test_id("voucher-status")).to_have_text("已登账")
    v.refresh_from_db()
    assert v.status == Voucher.Status.POSTED and v.posted_by.username == "pw_keeper"

    # the trial balance of March shows the posted amounts on the accounts used
    page.goto(f"{base}/accounting/trial-balance/?year={YEAR}&period=3&level=1")
    tb = page.get_by_test_id("trial-balance")
    expected = {"5001": (SHOWN, None), "1011": (None, SHOWN), "7201": (SHOWN, None), "8001": (None, SHOWN)}
    for code, (debit, credit) in expected.items():
        row = tb.locator("tbody tr").filter(has=page.get_by_role("link", name=code, exact=True))
        expect(row).to_have_count(1)
        cells = row.locator("td")
        expect(cells.nth(4)).to_have_text(_figure(debit))
        expect(cells.nth(5)).to_have_text(_figure(credit))
    expect(page.get_by_text("试算平衡", exact=True)).to_be_visible()

    # drill down: the 5001 debit figure -> detail ledger -> the voucher
    row = tb.locator("tbody tr").filter(has=page.get_by_role("link", name="5001", exact=True))
    row.locator("td").nth(4).get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/accounting/ledger/detail/\?code=5001"))
    ledger = page.get_by_test_id("detail-ledger")
    entry = ledger.locator("tbody tr").filter(has=page.get_by_role("link", name=str(v)))
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(SHOWN)
    entry.get_by_role("link", name=str(v)).click()
    expect(page).to_have_url(voucher_url)
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.get_by_test_id("voucher-status")).to_have_text("已登账")


def _figure(shown: str | None) -> re.Pattern:
    """The whole cell text: the given figure, or for none a zero (0.00 or 0) or an empty cell."""
    return re.compile(rf"^\s*{re.escape(shown)}\s*$" if shown else r"^\s*(0(\.00)?)?\s*$")

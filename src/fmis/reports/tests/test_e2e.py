"""In the browser (headless Chromium): a unit accountant opens the balance sheet for a month, follows
a line down to its accounts, the detail ledger and the voucher; then designs a user-defined report
in the grid, is told which cell is wrong, fixes it and sees the figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from fmis.accounting.tests.conftest import YEAR, cr, dr

PASSWORD = "Passw0rd!x"


@pytest.mark.django_db(transaction=True)
def test_statement_drill_down_and_designer(books, live_server, page):
    v = books.post([dr("1011", "1234.56"), cr("4001", "1234.56"), dr("800101", "1234.56"), cr("600101", "1234.56")],
                   on=dt.date(YEAR, 3, 15))
    base = live_server.url
    page.goto(f"{base}/iam/login/")
    page.fill("#id_username", books.entrant.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("current-user")).to_contain_text(books.entrant.username)

    page.goto(f"{base}/reports/")
    selector = page.get_by_test_id("period-selector")
    selector.locator("select[name=year]").select_option(str(YEAR))
    selector.locator("select[name=period]").select_option("3")
    selector.locator("button[type=submit]").click()
    page.get_by_role("link", name="资产负债表").click()
    sheet = page.get_by_test_id("statement")
    expect(sheet.locator("tr", has_text="货币资金")).to_contain_text("1,234.56")
    expect(sheet.locator("tr", has_text=re.compile(r"^\s*资产总计"))).to_contain_text("1,234.56")
    expect(sheet.locator("tr", has_text="负债和净资产总计")).to_contain_text("1,234.56")
    expect(page.get_by_test_id("checks")).to_contain_text("相符")

    sheet.get_by_role("link", name="货币资金").click()
    accounts = page.get_by_test_id("line-accounts")
    row = accounts.locator("tr", has_text="1011").first
    expect(row).to_contain_text("1,234.56")
    row.get_by_role("link", name="明细账").click()
    expect(page).to_have_url(re.compile(r"/accounting/ledger/detail/\?code=1011"))
    page.locator(f"a[href='/accounting/vouchers/{v.pk}/']").first.click()
    expect(page).to_have_url(re.compile(rf"/accounting/vouchers/{v.pk}/$"))

    page.goto(f"{base}/reports/custom/new/")
    designer = page.get_by_test_id("designer")
    designer.locator("input[name=code]").fill("ZJ1")
    designer.locator("input[name=name]").fill("零余额账户情况")
    designer.locator("input[name=n_rows]").fill("2")
    designer.locator("input[name=n_cols]").fill("2")
    designer.get_by_role("button", name="调整表格").click()
    designer = page.get_by_test_id("designer")
    designer.locator("input[name=cell_A1]").fill("期末余额")
    designer.locator("input[name=cell_B1]").fill("=QM(1011)")
    designer.locator("input[name=cell_A2]").fill("本年累计收入")
    designer.locator("input[name=cell_B2]").fill("=LJ(4001,'贷'")
    designer.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("errors")).to_contain_text("单元格 B2")
    page.get_by_test_id("designer").locator("input[name=cell_B2]").fill("=LJ(4001,'贷')")
    page.get_by_test_id("designer").get_by_role("button", name="保存").click()
    report = page.get_by_test_id("custom-report")
    expect(report).to_be_visible()
    selector = page.get_by_test_id("period-selector")
    selector.locator("select[name=period]").select_option("3")
    selector.locator("button[type=submit]").click()
    expect(page.get_by_test_id("custom-report").locator("tr", has_text="期末余额")).to_contain_text("1,234.56")
    expect(page.get_by_test_id("custom-report").locator("tr", has_text="本年累计收入")).to_contain_text("1,234.56")

"""Functions (menus and actions) of the accounting module."""

from fmis.iam.functions import Fn

ROOT = "accounting"
SET_VIEW = "accounting.set.view"
SET_MANAGE = "accounting.set.manage"
VOUCHER_VIEW = "accounting.voucher.view"
VOUCHER_CREATE = "accounting.voucher.create"
VOUCHER_AUDIT = "accounting.voucher.audit"
VOUCHER_POST = "accounting.voucher.post"
VOUCHER_REVERSE = "accounting.voucher.reverse"
LEDGER_VIEW = "accounting.ledger.view"
CLOSE = "accounting.close"
CHART = "accounting.chart.manage"
RULE = "accounting.rule.manage"
OPENING_VIEW = "accounting.opening.view"
OPENING = "accounting.opening.manage"
TEMPLATE = "accounting.voucher.template"
RENUMBER = "accounting.voucher.renumber"
CARRY = "accounting.close.carry_forward"
YEAR_CLOSE = "accounting.close.year"

FUNCTIONS = [
    Fn(ROOT, "会计核算", "Accounting", "menu", order=500),
    Fn(SET_VIEW, "账套", "Account sets", "menu", ROOT, "accounting:sets", 501),
    Fn(SET_MANAGE, "账套维护", "Manage account sets", "action", SET_VIEW),
    Fn(VOUCHER_VIEW, "凭证查询", "Vouchers", "menu", ROOT, "accounting:vouchers", 502),
    Fn(VOUCHER_CREATE, "凭证录入", "Enter vouchers", "action", VOUCHER_VIEW),
    Fn(VOUCHER_AUDIT, "凭证审核", "Audit vouchers", "action", VOUCHER_VIEW),
    Fn(VOUCHER_POST, "凭证登账", "Post vouchers", "action", VOUCHER_VIEW),
    Fn(VOUCHER_REVERSE, "红字冲销", "Reverse vouchers", "action", VOUCHER_VIEW),
    Fn(LEDGER_VIEW, "科目余额表", "Trial balance and ledgers", "menu", ROOT, "accounting:trial_balance", 503),
    Fn(CLOSE, "期末结账", "Period closing", "menu", ROOT, "accounting:periods", 504),
    Fn(CHART, "会计科目", "Chart of accounts", "menu", ROOT, "accounting:chart", 505),
    Fn(RULE, "机制凭证规则", "Posting rules", "menu", ROOT, "accounting:rules", 506),
    Fn(OPENING_VIEW, "期初余额", "Opening balances", "menu", ROOT, "accounting:openings", 507),
    Fn(OPENING, "期初余额录入与登账", "Enter and post opening balances", "action", OPENING_VIEW),
    Fn(TEMPLATE, "凭证模板", "Voucher templates", "menu", ROOT, "accounting:templates", 508),
    Fn(RENUMBER, "凭证重新编号", "Renumber vouchers", "action", CLOSE),
    Fn(CARRY, "年末结转", "Year-end carry-forward", "action", CLOSE),
    Fn(YEAR_CLOSE, "年结与反年结", "Year close and reopen", "action", CLOSE),
]

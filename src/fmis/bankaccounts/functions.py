"""Functions of bank account supervision.

Codes are chosen for the demo roles' patterns (``fmis.orgs.demo.ROLE_DEFINITIONS``): every screen a
reader may open ends in ``view`` (leaders, budget and business divisions, unit cashiers hold
``bankaccounts.*view``); the treasury division holds ``bankaccounts.*``; a budget unit applies and
its supervising department (主管部门) reviews with ``bankaccounts.unit.*``; a bank delivers its
messages with ``bankaccounts.bank.deliver``. An xlsx export is governed by the function of the
report or list it exports: whoever may see a report may export and print exactly that.
"""

from fmis.iam.functions import Fn

ACCOUNT_VIEW = "bankaccounts.account.view"
ACCOUNT_REGISTER = "bankaccounts.account.register"
APPLICATION_VIEW = "bankaccounts.application.view"
APPLY = "bankaccounts.unit.apply"
UNIT_REVIEW = "bankaccounts.unit.review"
TREASURY_REVIEW = "bankaccounts.review"
INSPECTION_VIEW = "bankaccounts.inspection.view"
CHANGE_VIEW = "bankaccounts.history.view"
EXCHANGE_VIEW = "bankaccounts.exchange.view"
EXCHANGE_IMPORT = "bankaccounts.exchange.import"
BANK_DELIVER = "bankaccounts.bank.deliver"
ABSENCE_VIEW = "bankaccounts.absence.view"
EXCEPTION_VIEW = "bankaccounts.exception.view"
RECONCILE_VIEW = "bankaccounts.reconcile.view"
REPORT_DEPT = "bankaccounts.report.department.view"
REPORT_UNIT = "bankaccounts.report.unit.view"
REPORT_BANK = "bankaccounts.report.bank.view"
REPORT_INITIAL = "bankaccounts.report.initial.view"
REPORT_FLOWS = "bankaccounts.report.flows.view"
REPORT_BALANCES = "bankaccounts.report.balances.view"
REPORT_COUNTS = "bankaccounts.report.counts.view"
REPORT_CHANGES = "bankaccounts.report.changes.view"
REPORT_CHANGE_DETAIL = "bankaccounts.report.changedetail.view"

FUNCTIONS = [
    Fn("bankaccounts", "银行账户监管", "Bank account supervision", "menu", order=450),
    Fn(ACCOUNT_VIEW, "账户查询", "Bank accounts", "menu", "bankaccounts", "bankaccounts:accounts", 451),
    Fn(ACCOUNT_REGISTER, "存量账户登记与初始化", "Register existing accounts", "action", ACCOUNT_VIEW),
    Fn(APPLICATION_VIEW, "开户、变更、销户申请", "Account applications", "menu", "bankaccounts",
       "bankaccounts:applications", 452),
    Fn(APPLY, "单位申请与年检填报", "Apply (budget unit)", "action", APPLICATION_VIEW),
    Fn(UNIT_REVIEW, "主管部门审核", "Review (supervising department)", "action", APPLICATION_VIEW),
    Fn(TREASURY_REVIEW, "国库处审批", "Approve (treasury division)", "action", APPLICATION_VIEW),
    Fn(INSPECTION_VIEW, "账户年检", "Annual inspections", "menu", "bankaccounts", "bankaccounts:inspections", 453),
    Fn(CHANGE_VIEW, "账户变更记录", "Account history", "menu", "bankaccounts", "bankaccounts:history", 454),
    Fn("bankaccounts.exchange", "交换中心", "Exchange centre", "menu", "bankaccounts", order=460),
    Fn(EXCHANGE_VIEW, "交换批次", "Import batches", "menu", "bankaccounts.exchange", "bankaccounts:batches", 461),
    Fn(EXCHANGE_IMPORT, "导入银行报文", "Import bank messages", "action", EXCHANGE_VIEW),
    Fn(BANK_DELIVER, "银行报送流水与余额", "Deliver flows and balances (bank API)", "action", EXCHANGE_VIEW),
    Fn(ABSENCE_VIEW, "流水发送缺勤表", "Flow absence table", "menu", "bankaccounts.exchange",
       "bankaccounts:absence", 462),
    Fn(EXCEPTION_VIEW, "异常报文日志", "Exception message log", "menu", "bankaccounts.exchange",
       "bankaccounts:exceptions", 463),
    Fn(RECONCILE_VIEW, "账户核对", "Reconciliation", "menu", "bankaccounts.exchange", "bankaccounts:reconcile", 464),
    Fn("bankaccounts.report", "账户监管分析报表", "Supervision reports", "menu", "bankaccounts", order=470),
    Fn(REPORT_DEPT, "财政资金部门分布表", "Funds by department", "menu", "bankaccounts.report",
       "bankaccounts:report_department", 471),
    Fn(REPORT_UNIT, "财政资金预算单位分布表", "Funds by budget unit", "menu", "bankaccounts.report",
       "bankaccounts:report_unit", 472),
    Fn(REPORT_BANK, "财政资金银行分布表", "Funds by bank", "menu", "bankaccounts.report",
       "bankaccounts:report_bank", 473),
    Fn(REPORT_INITIAL, "账户初始化余额构成表", "Initial balance composition", "menu", "bankaccounts.report",
       "bankaccounts:report_initial", 474),
    Fn(REPORT_FLOWS, "账户交易流水明细表", "Flow detail", "menu", "bankaccounts.report",
       "bankaccounts:report_flows", 475),
    Fn(REPORT_BALANCES, "账户余额明细表", "Account balances", "menu", "bankaccounts.report",
       "bankaccounts:report_balances", 476),
    Fn(REPORT_COUNTS, "预算单位账户统计表", "Account counts", "menu", "bankaccounts.report",
       "bankaccounts:report_counts", 477),
    Fn(REPORT_CHANGES, "账户变更情况统计表", "Account changes (counts)", "menu", "bankaccounts.report",
       "bankaccounts:report_changes", 478),
    Fn(REPORT_CHANGE_DETAIL, "账户变更情况明细表", "Account changes (detail)", "menu", "bankaccounts.report",
       "bankaccounts:report_change_detail", 479),
]

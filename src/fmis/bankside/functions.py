"""Functions of the agent-bank budget business.

Codes follow the demo roles' patterns (``fmis.orgs.demo.ROLE_DEFINITIONS``): screens a reader may
open end in ``view`` (``bankside.*view``); the treasury division holds ``bankside.finance.*``
(business types, flow rules, pre-application review, the bank's consortium membership); bank
operators hold ``bankside.bank.*`` (merchants, accounts, funds, pre-applications, payments,
suspense refunds, the simulated core banking), scoped to their own bank. An xlsx export is
governed by the function of the list it exports.
"""

from fmis.bankside.cases import CASE_FUNCTIONS
from fmis.iam.functions import Fn

MERCHANT_VIEW = "bankside.merchant.view"
BUSINESS_TYPE_VIEW = "bankside.biztype.view"
RULE_VIEW = "bankside.rule.view"
PRE_APPLICATION_VIEW = "bankside.preapp.view"
PAYMENT_VIEW = "bankside.payment.view"
EXECUTION_VIEW = "bankside.execution.view"
STATEMENT_VIEW = "bankside.statement.view"

# finance side
BUSINESS_TYPE_DEFINE = "bankside.finance.business_type"
RULE_SET = "bankside.finance.rule"
REVIEW = "bankside.finance.approve"  # not "...review": "bankside.*view" is the readers' pattern
BANK_JOIN = "bankside.finance.bank_join"

# bank side
MERCHANT_REGISTER = "bankside.bank.merchant"
ACCOUNT_OPEN = "bankside.bank.account"
FUND = "bankside.bank.fund"
PRE_APPLICATION_SUBMIT = "bankside.bank.preapp"
PAY = "bankside.bank.pay"
REFUND = "bankside.bank.refund"
CORE = "bankside.bank.core"
CORE_OPEN = "bankside.bank.core.open"

FUNCTIONS = [
    Fn("bankside", "代理银行预算业务", "Agent-bank budget business", "menu", order=460),
    Fn(MERCHANT_VIEW, "商户与账户", "Merchants and accounts", "menu", "bankside", "bankside:merchants", 461),
    Fn(MERCHANT_REGISTER, "登记商户", "Register merchants", "action", MERCHANT_VIEW),
    Fn(ACCOUNT_OPEN, "开立客户/内部账户", "Open customer or suspense accounts", "action", MERCHANT_VIEW),
    Fn(BUSINESS_TYPE_VIEW, "业务类型", "Business types", "menu", "bankside", "bankside:business_types", 462),
    Fn(BUSINESS_TYPE_DEFINE, "维护业务类型", "Define business types", "action", BUSINESS_TYPE_VIEW),
    Fn(RULE_VIEW, "流程规则", "Flow rules", "menu", "bankside", "bankside:rules", 463),
    Fn(RULE_SET, "设置流程规则", "Set flow rules", "action", RULE_VIEW),
    Fn(PRE_APPLICATION_VIEW, "预申请", "Pre-applications", "menu", "bankside", "bankside:pre_applications", 464),
    Fn(PRE_APPLICATION_SUBMIT, "提交预申请", "Submit pre-applications", "action", PRE_APPLICATION_VIEW),
    Fn(REVIEW, "预申请审核", "Review pre-applications", "menu", "bankside", "bankside:review", 465),
    Fn(FUND, "资金入账", "Fund merchant accounts", "menu", "bankside", "bankside:fund", 466),
    Fn(PAY, "预算支付录入", "Enter budget payments", "menu", "bankside", "bankside:pay", 467),
    Fn(PAYMENT_VIEW, "预算支付", "Budget payments", "menu", "bankside", "bankside:payments", 468),
    Fn(REFUND, "内部账户待退款", "Suspense refunds", "menu", "bankside", "bankside:suspense", 469),
    Fn(EXECUTION_VIEW, "执行情况汇总", "Execution summary", "menu", "bankside", "bankside:execution", 470),
    Fn(STATEMENT_VIEW, "对账单", "Statements", "menu", "bankside", "bankside:statement", 471),
    Fn(CORE, "传统核心账户", "Core banking accounts", "menu", "bankside", "bankside:core", 472),
    Fn(CORE_OPEN, "开立核心账户", "Open core accounts", "action", CORE),
    Fn(BANK_JOIN, "代理银行入盟", "Bank consortium membership", "action", "bankside"),
]
FUNCTIONS += CASE_FUNCTIONS  # the exception flows (资金退回, 委托收款, 支付更正, 错缴资金退回)

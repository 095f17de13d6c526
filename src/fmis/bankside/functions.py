from fmis.iam.functions import Fn

MERCHANT_VIEW = "bankside.merchant.view"
RULE_VIEW = "bankside.rule.view"
PRE_APPLICATION_VIEW = "bankside.preapp.view"
PAYMENT_VIEW = "bankside.payment.view"
STATEMENT_VIEW = "bankside.statement.view"

FUNCTIONS = [
    Fn("bankside", "代理银行预算业务", "Agent-bank budget business", "menu", order=460),
    Fn(MERCHANT_VIEW, "商户", "Merchants", "menu", "bankside", "bankside:merchants", 461),
    Fn(RULE_VIEW, "流程规则", "Flow rules", "menu", "bankside", "bankside:rules", 462),
    Fn(PRE_APPLICATION_VIEW, "预申请", "Pre-applications", "menu", "bankside", "bankside:pre_applications", 463),
    Fn(PAYMENT_VIEW, "预算支付", "Budget payments", "menu", "bankside", "bankside:payments", 464),
    Fn(STATEMENT_VIEW, "对账单", "Statements", "menu", "bankside", "bankside:statement", 465),
]

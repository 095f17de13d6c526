from fmis.iam.functions import Fn

APP_VIEW = "treasury.application.view"
APP_CREATE = "treasury.application.create"
APP_SUBMIT = "treasury.application.submit"
APP_REVIEW = "treasury.review.application"
VOUCHER_VIEW = "treasury.voucher.view"
BANK_RECEIPT = "treasury.bank.receipt"
BANK_REFUND = "treasury.bank.refund"
BANK_STATEMENT = "treasury.bank.statement"
REFUND_VIEW = "treasury.refund.view"
REFUND_CREATE = "treasury.refund.create"
CORRECTION_VIEW = "treasury.correction.view"
CORRECTION_CREATE = "treasury.correction.create"
CORRECTION_SUBMIT = "treasury.correction.submit"
CORRECTION_REVIEW = "treasury.review.correction"
CLEARING_VIEW = "treasury.clearing.view"
CLEARING_RUN = "treasury.clearing.run"
PLAN_VIEW = "treasury.plan.view"
PLAN_CREATE = "treasury.plan.create"
PLAN_REVIEW = "treasury.review.plan"
CONFIG_MANAGE = "treasury.config.manage"
EXPORT = "treasury.export"

FUNCTIONS = [
    Fn("treasury", "国库支付", "Treasury payment", "menu", order=300),
    Fn(PLAN_VIEW, "用款计划", "Payment plans", "menu", "treasury", "treasury:plans", 305),
    Fn(PLAN_CREATE, "申报用款计划与采购计划", "Apply for plans", "action", PLAN_VIEW),
    Fn(PLAN_REVIEW, "批复用款计划", "Approve payment plans", "action", PLAN_VIEW),
    Fn(APP_VIEW, "支付申请", "Payment applications", "menu", "treasury", "treasury:applications", 310),
    Fn(APP_CREATE, "录入支付申请", "Create payment applications", "action", APP_VIEW),
    Fn(APP_SUBMIT, "提交支付申请", "Submit payment applications", "action", APP_VIEW),
    Fn(APP_REVIEW, "审核支付申请", "Review payment applications", "action", APP_VIEW),
    Fn(VOUCHER_VIEW, "支付凭证", "Payment vouchers", "menu", "treasury", "treasury:vouchers", 320),
    Fn(BANK_RECEIPT, "银行回单报送", "Bank receipts (bank API)", "action", VOUCHER_VIEW),
    Fn(BANK_REFUND, "银行退款报送", "Bank refunds (bank API)", "action", VOUCHER_VIEW),
    Fn(BANK_STATEMENT, "银行对账单报送", "Bank statements (bank API)", "action", VOUCHER_VIEW),
    Fn(REFUND_VIEW, "退款", "Refunds", "menu", "treasury", "treasury:refunds", 330),
    Fn(REFUND_CREATE, "登记退款", "Record refunds", "action", REFUND_VIEW),
    Fn(CORRECTION_VIEW, "支付更正", "Payment corrections", "menu", "treasury", "treasury:corrections", 340),
    Fn(CORRECTION_CREATE, "录入支付更正", "Create corrections", "action", CORRECTION_VIEW),
    Fn(CORRECTION_SUBMIT, "提交支付更正", "Submit corrections", "action", CORRECTION_VIEW),
    Fn(CORRECTION_REVIEW, "审核支付更正", "Review corrections", "action", CORRECTION_VIEW),
    Fn(CLEARING_VIEW, "清算", "Clearing", "menu", "treasury", "treasury:clearings", 350),
    Fn(CLEARING_RUN, "生成清算单", "Run clearing", "action", CLEARING_VIEW),
    Fn(CONFIG_MANAGE, "支付参数设置", "Treasury settings", "menu", "treasury", "treasury:config", 360),
    Fn(EXPORT, "国库支付导出", "Export treasury lists", "action", "treasury"),
]

from fmis.iam.functions import Fn

ALLOCATION_VIEW = "transfers.allocation.view"
ALLOCATE = "transfers.allocation.create"
RECEIVE = "transfers.allocation.receive"
EXPEND = "transfers.allocation.expend"
RECOVER = "transfers.allocation.recover"
CORRECT = "transfers.allocation.correct"
TRACE_VIEW = "transfers.trace.view"
STATS_VIEW = "transfers.stats.view"
MEMBER_VIEW = "transfers.member.view"
JOIN_SUBMIT = "transfers.member.join"
MEMBER_APPROVE = "transfers.member.approve"
MEMBER_REVOKE = "transfers.member.revoke"
BLOCK_VIEW = "transfers.block.view"
RECEIPT_VIEW = "transfers.receipt.view"
EXCHANGE_SUBMIT = "transfers.exchange.submit"
CONSORTIUM_MANAGE = "transfers.consortium.manage"
EXPORT = "transfers.allocation.export"

FUNCTIONS = [
    Fn("transfers", "转移支付", "Transfer payments", "menu", order=450),
    Fn(ALLOCATION_VIEW, "资金下达", "Allocations", "menu", "transfers", "transfers:allocations", 451),
    Fn(ALLOCATE, "下达与分配资金", "Allocate funds", "action", ALLOCATION_VIEW),
    Fn(RECEIVE, "确认接收", "Confirm receipt", "action", ALLOCATION_VIEW),
    Fn(EXPEND, "登记支出", "Record expenditure", "action", ALLOCATION_VIEW),
    Fn(RECOVER, "收回资金", "Recover funds", "action", ALLOCATION_VIEW),
    Fn(CORRECT, "更正下达", "Correct allocations", "action", ALLOCATION_VIEW),
    Fn(EXPORT, "导出下达记录", "Export allocations", "action", ALLOCATION_VIEW),
    Fn(TRACE_VIEW, "资金追溯", "Trace funds", "action", ALLOCATION_VIEW),
    Fn(STATS_VIEW, "统计分析", "Statistics", "menu", "transfers", "transfers:statistics", 452),
    Fn(MEMBER_VIEW, "联盟成员", "Consortium members", "menu", "transfers", "transfers:members", 453),
    Fn(JOIN_SUBMIT, "申请入盟", "Request to join", "action", MEMBER_VIEW),
    Fn(MEMBER_APPROVE, "审核入盟申请", "Approve join requests", "action", MEMBER_VIEW),
    Fn(MEMBER_REVOKE, "吊销成员证书", "Revoke certificates", "action", MEMBER_VIEW),
    Fn(BLOCK_VIEW, "区块浏览", "Blocks", "menu", "transfers", "transfers:blocks", 454),
    Fn(RECEIPT_VIEW, "交易回执", "Receipts", "action", BLOCK_VIEW),
    Fn(EXCHANGE_SUBMIT, "数据交换提交", "Data exchange: submit transactions", "action", BLOCK_VIEW),
    Fn(CONSORTIUM_MANAGE, "联盟设置", "Consortium set-up", "action", MEMBER_VIEW),
]

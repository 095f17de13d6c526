"""Functions (menus and actions) of budget preparation.

Units (and their 主管部门) hold ``budgeting.unit.*``: they see their own and their subordinates'
lines, declare (一上), compile (二上) and review as 主管部门. The budget division holds
``budgeting.*``: rounds and stages, finance review, control numbers and approval. Readers hold
``budgeting.*view``.
"""

from fmis.iam.functions import Fn

ROOT = "budgeting"
UNIT_VIEW = "budgeting.unit.view"
UNIT_DECLARE = "budgeting.unit.declare"
UNIT_REVIEW = "budgeting.unit.review"
MANAGE = "budgeting.manage"
REVIEW = "budgeting.review"
CONTROL = "budgeting.control"
APPROVE = "budgeting.approve"
EXPORT = "budgeting.unit.export"

FUNCTIONS = [
    Fn(ROOT, "预算编制", "Budget preparation", "menu", order=250),
    Fn(UNIT_VIEW, "预算编制批次", "Budget rounds", "menu", ROOT, "budgeting:rounds", 251),
    Fn(UNIT_DECLARE, "部门预算编报（预算单位）", "Declare and compile (unit)", "action", UNIT_VIEW),
    Fn(UNIT_REVIEW, "预算审核（主管部门）", "Review (supervising department)", "action", UNIT_VIEW),
    Fn(EXPORT, "预算汇总与公开表导出", "Summaries and disclosure tables", "action", UNIT_VIEW),
    Fn(MANAGE, "编制批次与阶段（预算处）", "Rounds and stages (budget division)", "action", UNIT_VIEW),
    Fn(REVIEW, "预算审核（预算处）", "Review (budget division)", "action", UNIT_VIEW),
    Fn(CONTROL, "预算控制数（预算处）", "Control numbers (budget division)", "action", UNIT_VIEW),
    Fn(APPROVE, "预算批复", "Approve the budget", "action", UNIT_VIEW),
]

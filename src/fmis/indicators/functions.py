"""Functions (menus and actions) of the indicator module.

Unit accountants need ``indicators.view``, ``indicators.execution.view`` and ``indicators.confirm``
(confirming the indicators distributed to their agency); the budget division holds ``indicators.*``.
"""

from fmis.iam.functions import Fn

ROOT = "indicators"
VIEW = "indicators.view"
MANAGE = "indicators.manage"
IMPORT = "indicators.import"
REVIEW = "indicators.review"
DISTRIBUTE = "indicators.distribute"
CONFIRM = "indicators.confirm"
ADJUST = "indicators.adjust"
ADJUST_REVIEW = "indicators.adjust.review"
FREEZE = "indicators.freeze"
CARRY_OVER = "indicators.carry_over"
EXECUTION_VIEW = "indicators.execution.view"
CONTROL_MANAGE = "indicators.control.manage"

FUNCTIONS = [
    Fn(ROOT, "预算指标", "Budget indicators", "menu", order=300),
    Fn(VIEW, "指标查询", "Indicators", "menu", ROOT, "indicators:list", 301),
    Fn(MANAGE, "指标录入", "Enter indicators", "action", VIEW),
    Fn(IMPORT, "指标导入", "Import indicators", "action", VIEW),
    Fn(REVIEW, "指标审核", "Review indicators", "action", VIEW),
    Fn(DISTRIBUTE, "指标分配", "Distribute indicators", "action", VIEW),
    Fn(CONFIRM, "指标确认（单位）", "Confirm indicators (unit)", "action", VIEW),
    Fn(ADJUST, "指标调整", "Indicator adjustments", "menu", ROOT, "indicators:adjustments", 302),
    Fn(ADJUST_REVIEW, "指标调整审核", "Review adjustments", "action", ADJUST),
    Fn(FREEZE, "指标冻结/解冻", "Freeze and unfreeze", "action", ADJUST),
    Fn(CARRY_OVER, "指标结转/收回", "Carry over and recover", "action", ADJUST),
    Fn(EXECUTION_VIEW, "预算执行情况", "Budget execution", "menu", ROOT, "indicators:execution", 303),
    Fn(CONTROL_MANAGE, "控制规则", "Control rules", "menu", ROOT, "indicators:controls", 304),
]

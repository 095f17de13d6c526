"""Functions (menus and actions) of the reports module. Codes fit the demo roles: readers hold
"reports.*view" and "reports.*export", unit accountants and the accounting division "reports.*"."""

from fmis.iam.functions import Fn

ROOT = "reports"
STATEMENT_VIEW = "reports.statement.view"
EXPORT = "reports.export"
CUSTOM_VIEW = "reports.custom.view"
CUSTOM_MANAGE = "reports.custom.manage"

FUNCTIONS = [
    Fn(ROOT, "会计报表", "Financial statements", "menu", order=520),
    Fn(STATEMENT_VIEW, "会计报表查询", "Statements", "menu", ROOT, "reports:statements", 521),
    Fn(EXPORT, "报表导出", "Export statements", "action", STATEMENT_VIEW),
    Fn(CUSTOM_VIEW, "自定义报表", "User-defined reports", "menu", ROOT, "reports:custom_list", 522),
    Fn(CUSTOM_MANAGE, "自定义报表设计", "Design user-defined reports", "action", CUSTOM_VIEW),
]

"""Functions (menus and actions) of the project library.

Units declare projects (``projects.manage``, ``projects.import``, ``projects.submit``); the review
chain is 主管部门 (``projects.review.supervisor``) → 业务处室 (``projects.review.division``) →
绩效处 (``projects.review.performance``) → 评审中心 (``projects.review.center``). The budget
division terminates projects, rolls the library to the next year and schedules projects into a
budget year (``projects.library.manage``). Reads use the ``*view`` functions.
"""

from fmis.iam.functions import Fn

ROOT = "projects"
VIEW = "projects.view"
MANAGE = "projects.manage"
IMPORT = "projects.import"
SUBMIT = "projects.submit"
REVIEW_SUPERVISOR = "projects.review.supervisor"
REVIEW_DIVISION = "projects.review.division"
REVIEW_PERFORMANCE = "projects.review.performance"
REVIEW_CENTER = "projects.review.center"
TRANSFER_VIEW = "projects.transfer.view"
LIBRARY_VIEW = "projects.library.view"
LIBRARY_MANAGE = "projects.library.manage"
TERMINATE = "projects.terminate"
SCHEDULE = "projects.schedule"

FUNCTIONS = [
    Fn(ROOT, "项目库", "Project library", "menu", order=230),
    Fn(VIEW, "项目申报", "Projects", "menu", ROOT, "projects:list", 231),
    Fn(MANAGE, "项目录入", "Enter projects", "action", VIEW),
    Fn(IMPORT, "项目导入", "Import projects", "action", VIEW),
    Fn(SUBMIT, "项目送审", "Submit projects", "action", VIEW),
    Fn(REVIEW_SUPERVISOR, "项目审核（主管部门）", "Review (supervising department)", "action", VIEW),
    Fn(REVIEW_DIVISION, "项目审核（业务处室）", "Review (business division)", "action", VIEW),
    Fn(REVIEW_PERFORMANCE, "项目绩效审核（绩效处）", "Performance review", "action", VIEW),
    Fn(REVIEW_CENTER, "项目审核（评审中心）", "Review (assessment centre)", "action", VIEW),
    Fn(TRANSFER_VIEW, "转移支付项目", "Transfer-payment projects", "menu", ROOT, "projects:transfers", 232),
    Fn(LIBRARY_VIEW, "项目储备情况", "Project reserve", "menu", ROOT, "projects:library", 233),
    Fn(LIBRARY_MANAGE, "项目库滚动与纳入预算", "Roll over and schedule", "action", LIBRARY_VIEW),
    Fn(SCHEDULE, "纳入预算", "Schedule into a budget year", "action", LIBRARY_VIEW),
    Fn(TERMINATE, "项目终止", "Terminate projects", "action", LIBRARY_VIEW),
]

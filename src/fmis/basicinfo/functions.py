"""Functions (menus and actions) of the basic information module.

Units maintain their own personnel, vehicles and assets (``basicinfo.manage``, ``basicinfo.import``)
and submit them (``basicinfo.submit``); the supervising department reviews first
(``basicinfo.review.supervisor``), then the finance business division
(``basicinfo.review.division``). Expenditure standards are kept by the finance department
(``basicinfo.standard.manage``). Every list is read with its ``*view`` function; exports use it too.
"""

from fmis.iam.functions import Fn

ROOT = "basicinfo"
VIEW = "basicinfo.view"
MANAGE = "basicinfo.manage"
IMPORT = "basicinfo.import"
SUBMIT = "basicinfo.submit"
SUBMISSION_VIEW = "basicinfo.submission.view"
REVIEW_SUPERVISOR = "basicinfo.review.supervisor"
REVIEW_DIVISION = "basicinfo.review.division"
VEHICLE_VIEW = "basicinfo.vehicle.view"
ASSET_VIEW = "basicinfo.asset.view"
STANDARD_VIEW = "basicinfo.standard.view"
STANDARD_MANAGE = "basicinfo.standard.manage"
HISTORY_VIEW = "basicinfo.history.view"

FUNCTIONS = [
    Fn(ROOT, "基础信息库", "Basic information", "menu", order=200),
    Fn(VIEW, "人员信息", "Personnel", "menu", ROOT, "basicinfo:personnel", 201),
    Fn(MANAGE, "基础信息维护", "Maintain basic information", "action", VIEW),
    Fn(IMPORT, "基础信息导入", "Import basic information", "action", VIEW),
    Fn(VEHICLE_VIEW, "车辆信息", "Vehicles", "menu", ROOT, "basicinfo:vehicles", 202),
    Fn(ASSET_VIEW, "资产信息", "Assets", "menu", ROOT, "basicinfo:assets", 203),
    Fn(SUBMISSION_VIEW, "基础信息报送", "Submissions", "menu", ROOT, "basicinfo:submissions", 204),
    Fn(SUBMIT, "基础信息送审", "Submit basic information", "action", SUBMISSION_VIEW),
    Fn(REVIEW_SUPERVISOR, "基础信息审核（主管部门）", "Review (supervising department)", "action", SUBMISSION_VIEW),
    Fn(REVIEW_DIVISION, "基础信息审核（业务处室）", "Review (business division)", "action", SUBMISSION_VIEW),
    Fn(STANDARD_VIEW, "支出标准", "Expenditure standards", "menu", ROOT, "basicinfo:standards", 205),
    Fn(STANDARD_MANAGE, "支出标准维护", "Maintain standards", "action", STANDARD_VIEW),
    Fn(HISTORY_VIEW, "变更历史", "Change history", "menu", ROOT, "basicinfo:history", 206),
]

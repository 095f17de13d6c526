from fmis.iam.functions import Fn

REGION_VIEW = "orgs.region.view"
REGION_MANAGE = "orgs.region.manage"
AGENCY_VIEW = "orgs.agency.view"
AGENCY_MANAGE = "orgs.agency.manage"
BANK_VIEW = "orgs.bank.view"
BANK_MANAGE = "orgs.bank.manage"
EXPORT = "orgs.export"

FUNCTIONS = [
    Fn("orgs", "组织机构", "Organisations", "menu", order=800),
    Fn(REGION_VIEW, "财政区划", "Regions", "menu", "orgs", "orgs:regions", 805),
    Fn(REGION_MANAGE, "财政区划维护", "Manage regions", "action", REGION_VIEW),
    Fn(AGENCY_VIEW, "预算单位", "Agencies", "menu", "orgs", "orgs:agencies", 810),
    Fn(AGENCY_MANAGE, "预算单位维护", "Manage agencies", "action", AGENCY_VIEW),
    Fn(BANK_VIEW, "代理银行", "Agent banks", "menu", "orgs", "orgs:banks", 820),
    Fn(BANK_MANAGE, "代理银行维护", "Manage agent banks", "action", BANK_VIEW),
    Fn(EXPORT, "组织机构导出", "Export organisations", "action", "orgs"),
]

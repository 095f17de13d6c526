from fmis.iam.functions import Fn

FUNCTIONS = [
    Fn("orgs", "组织机构", "Organisations", "menu", order=800),
    Fn("orgs.agency.view", "预算单位", "Agencies", "menu", "orgs", "orgs:agencies", 810),
]

"""A small province for the organisation tests, with users whose data scopes differ.

    990000 示例省
      990100 一市        agency 990100101
        990101 一市一县  agencies 990101101 (+ 990101101001), 990101102
        990102 一市二县  agencies 990102101 (+ 990102101001)
      990200 二市
        990201 二市一县  agency 990201101
"""

from __future__ import annotations

import pytest

from fmis.orgs.functions import (
    AGENCY_MANAGE,
    AGENCY_VIEW,
    BANK_MANAGE,
    BANK_VIEW,
    EXPORT,
    REGION_MANAGE,
    REGION_VIEW,
)

VIEW = [REGION_VIEW, AGENCY_VIEW, BANK_VIEW, EXPORT]
MANAGE = [*VIEW, REGION_MANAGE, AGENCY_MANAGE, BANK_MANAGE]
REGION_TREE = [("region", "own_region_tree", [])]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is slow by design; these tests create many users and check no hashing strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(make_region, make_agency):
    from fmis.orgs.models import Bank, BankBranch, FinanceDepartment

    r = {}
    r["p"] = make_region("990000", "示例省")
    r["c1"] = make_region("990100", "一市", parent=r["p"])
    r["k1"] = make_region("990101", "一市一县", parent=r["c1"])
    r["k2"] = make_region("990102", "一市二县", parent=r["c1"])
    r["c2"] = make_region("990200", "二市", parent=r["p"])
    r["k3"] = make_region("990201", "二市一县", parent=r["c2"])
    for reg in r.values():
        FinanceDepartment.objects.create(region=reg, code=reg.code, name=f"{reg.name}财政局")
    a = {}
    a["c1"] = make_agency("990100101", r["c1"], "一市教育局")
    a["k1"] = make_agency("990101101", r["k1"], "一市一县教育局")
    a["k1sub"] = make_agency("990101101001", r["k1"], "一市一县第一中学", parent=a["k1"], kind="inst")
    a["k1b"] = make_agency("990101102", r["k1"], "一市一县卫生健康委员会")
    a["k2"] = make_agency("990102101", r["k2"], "一市二县教育局")
    a["k2sub"] = make_agency("990102101001", r["k2"], "一市二县第一中学", parent=a["k2"], kind="inst")
    a["k3"] = make_agency("990201101", r["k3"], "二市一县教育局")
    b = {"icbc": Bank.objects.create(code="901", name="中国工商银行"),
         "abc": Bank.objects.create(code="902", name="中国农业银行")}
    br = {}
    for key, reg in (("k1", r["k1"]), ("k2", r["k2"]), ("c2", r["c2"])):
        for bkey, bank in b.items():
            br[f"{bkey}_{key}"] = BankBranch.objects.create(bank=bank, code=f"{bank.code}{reg.code}001",
                                                            name=f"{bank.name}{reg.name}支行", region=reg)
    return {"r": r, "a": a, "b": b, "br": br}


@pytest.fixture
def users(world, make_role, make_user):
    r, b = world["r"], world["b"]
    viewer = make_role("county_viewer", VIEW, rules=REGION_TREE)
    admin = make_role("region_admin", MANAGE, rules=REGION_TREE)
    unit = make_role("unit_acct", [AGENCY_VIEW, AGENCY_MANAGE], rules=[("agency", "own_agency_tree", [])])
    bank_role = make_role("bank_op", [BANK_VIEW], rules=[("bank", "own_bank", [])])
    return {
        "k1_viewer": make_user("k1_viewer", roles=[viewer], region=r["k1"]),
        "k2_viewer": make_user("k2_viewer", roles=[viewer], region=r["k2"]),
        "k1_admin": make_user("k1_admin", roles=[admin], region=r["k1"]),
        "c1_admin": make_user("c1_admin", roles=[admin], region=r["c1"]),
        "p_admin": make_user("p_admin", roles=[admin], region=r["p"]),
        "k1_unit": make_user("k1_unit", roles=[unit], agency=world["a"]["k1"]),
        "icbc": make_user("icbc_op", roles=[bank_role], org_type="bank", bank=b["icbc"], region=r["p"]),
        "nobody": make_user("nobody", region=r["k1"]),
    }


def codes(qs) -> list[str]:
    return sorted(qs.values_list("code", flat=True))

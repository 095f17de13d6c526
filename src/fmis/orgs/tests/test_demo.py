"""The demo seed: deterministic, idempotent, consistent with the organisation rules, with roles
whose function grants follow the patterns and data scopes that differ by region."""

from __future__ import annotations

import io
import re
from unittest import mock

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command

from fmis.orgs import demo, services
from fmis.orgs.models import Agency, Bank, BankBranch, FinanceDepartment, Region

try:
    from fmis.dictionary import services as dictionary_services
except ImportError:  # the dictionary module is written in parallel; only its preload is skipped then
    dictionary_services = None
HAS_PRELOAD = hasattr(dictionary_services, "preload_standard")


def seed(scale: str = "small", **kw):
    return demo.seed(scale=scale, with_dictionary=HAS_PRELOAD, **kw)


def snapshot() -> dict:
    """Everything the seed writes, by natural keys (ids excluded)."""
    from fmis.iam.models import DataRule, Role, RoleFunction, User, UserRole

    return {
        "regions": list(Region.objects.order_by("code").values_list("code", "name", "level", "parent__code",
                                                                      "is_active")),
        "departments": list(FinanceDepartment.objects.order_by("code").values_list("code", "name", "region__code")),
        "agencies": list(Agency.objects.order_by("code").values_list("code", "name", "region__code", "parent__code",
                                                                       "kind", "status")),
        "banks": list(Bank.objects.order_by("code").values_list("code", "name", "is_agent")),
        "branches": list(BankBranch.objects.order_by("code").values_list("code", "name", "bank__code",
                                                                          "region__code")),
        "users": list(User.objects.order_by("username").values_list(
            "username", "name", "org_type", "user_type", "region__code", "agency__code", "bank__code", "department")),
        "user_roles": sorted(UserRole.objects.values_list("user__username", "role__code")),
        "roles": list(Role.objects.order_by("code").values_list("code", "name")),
        "role_functions": sorted(RoleFunction.objects.values_list("role__code", "function__code")),
        "rules": sorted(DataRule.objects.values_list("role__code", "user__username", "dimension", "kind")),
    }


def test_plan_is_deterministic_and_sized_per_scale():
    assert demo.plan("small") == demo.plan("small")
    small = demo.plan("small")
    assert len(small.regions) == 7 and len(small.agencies) == 42
    assert [r.code for r in small.regions] == ["990000", "990100", "990101", "990102", "990200", "990201", "990202"]
    assert small.agencies[0] == demo.AgencySpec("990000101", "示例省教育厅", "990000", None, "admin")
    assert small.agencies[1] == demo.AgencySpec("990000101001", "示例省第一中学", "990000", "990000101", "inst")
    medium, large = demo.plan("medium"), demo.plan("large")
    assert len(medium.regions) == 26 and 9_000 <= len(medium.agencies) <= 11_000
    assert len(large.regions) == 145 and 95_000 <= len(large.agencies) <= 105_000
    for p in (small, medium, large):
        codes = [a.code for a in p.agencies]
        assert len(set(codes)) == len(codes)
        assert len({b.code for b in p.branches}) == len(p.branches) == 3 * len(p.regions)
        assert len({u.username for u in p.users}) == len(p.users)
    # a larger scale extends a smaller one: same codes, same names
    assert set(small.agencies) <= set(medium.agencies)
    assert {u.username: u for u in small.users}.items() <= {u.username: u for u in large.users}.items()
    with pytest.raises(ValueError):
        demo.plan("huge")


def test_plan_follows_the_code_rules():
    """Every planned region and agency passes the same validation the services apply."""
    p = demo.plan("small")
    regions = {r.code: Region(code=r.code, name=r.name, level=r.level) for r in p.regions}
    for i, r in enumerate(p.regions, start=1):
        regions[r.code].pk = i
    for r in p.regions:
        services.validate_region_code(code=r.code, level=r.level,
                                      parent=regions[r.parent_code] if r.parent_code else None)
    agencies = {}
    for a in p.agencies:
        region = regions[a.region_code]
        parent = agencies.get(a.parent_code)
        services.validate_agency_code(code=a.code, region=region, parent=parent)
        agencies[a.code] = Agency(code=a.code, name=a.name, region=region, parent=parent)


def test_demo_password_passes_the_policy():
    validate_password(demo.DEMO_PASSWORD)


def test_role_definitions_are_complete():
    codes = [r.code for r in demo.ROLE_DEFINITIONS]
    assert len(set(codes)) == len(codes) == 12
    used = {u.role_code for u in demo.plan("small").users}
    assert used == set(codes)
    leader = demo.ROLES_BY_CODE["leader_auditor"]
    # the leader reads business modules and the audit log, never user administration or writes
    assert leader.function_codes(["orgs.agency.view", "orgs.agency.manage", "orgs.export", "iam.user.view",
                                  "platform.audit.view", "treasury.application.view"]) == {
        "orgs.agency.view", "orgs.export", "platform.audit.view", "treasury.application.view"}
    assert demo.ROLES_BY_CODE["unit_accountant"].function_codes(
        ["orgs.agency.view", "orgs.region.view", "treasury.application.submit"]) == {
        "orgs.agency.view", "treasury.application.submit"}


@pytest.mark.django_db
def test_seed_small_creates_the_plan():
    report = seed()
    assert not report.skipped
    p = demo.plan("small")
    s = snapshot()
    assert [r[0] for r in s["regions"]] == sorted(r.code for r in p.regions)
    assert [a[:5] for a in s["agencies"]] == sorted((a.code, a.name, a.region_code, a.parent_code, a.kind)
                                                    for a in p.agencies)
    assert len(s["departments"]) == len(p.regions)
    assert ("990000", "示例省财政厅", "990000") in s["departments"]
    assert [b[0] for b in s["banks"]] == ["901", "902", "903"]
    assert len(s["branches"]) == 21
    usernames = {u[0] for u in s["users"]}
    assert usernames == {u.username for u in p.users} | {"admin"}
    for name in ("admin", "city1_admin", "city2_treasury", "county1_budget", "county4_leader", "prov_accounting",
                 "unit_990101101_acct", "unit_990101101_cashier", "unit_990101101001_acct", "icbc_operator"):
        assert name in usernames, name
    assert report.created["agencies"] == 42 and report.created["regions"] == 7
    assert report.dictionary_preloaded is HAS_PRELOAD


@pytest.mark.django_db
def test_seed_twice_is_idempotent_and_if_empty_skips():
    from fmis.platform.models import AuditRecord

    seed()
    first = snapshot()
    report = seed()
    assert first == snapshot()
    assert all(v == 0 for v in report.created.values()), report.created
    audits = AuditRecord.objects.count()
    assert seed(if_empty=True).skipped
    assert AuditRecord.objects.count() == audits and first == snapshot()


@pytest.mark.django_db
def test_seed_keeps_edits_and_restores_missing_rows():
    seed()
    Agency.objects.filter(code="990101101").update(name="改过的名称")
    Agency.objects.filter(code="990101102001").delete()
    seed()
    assert Agency.objects.get(code="990101101").name == "改过的名称"
    assert Agency.objects.filter(code="990101102001").exists()


@pytest.mark.django_db
def test_roles_get_functions_by_pattern_and_follow_new_functions():
    from fmis.iam.models import Function, Role, RoleFunction

    seed()
    all_codes = set(Function.objects.filter(is_active=True).values_list("code", flat=True))
    for definition in demo.ROLE_DEFINITIONS:
        granted = set(RoleFunction.objects.filter(role__code=definition.code)
                      .values_list("function__code", flat=True))
        assert granted == definition.function_codes(all_codes), definition.code
    assert "orgs.agency.manage" not in set(RoleFunction.objects.filter(role__code="leader_auditor")
                                           .values_list("function__code", flat=True))
    # a module added later: seeding again grants its functions to the roles whose patterns match
    Function.objects.create(code="futuremodule.application.submit", name="提交", kind="action")
    Function.objects.create(code="futuremodule.application.view", name="查询", kind="menu")
    with mock.patch.object(demo, "ROLE_DEFINITIONS", demo.ROLE_DEFINITIONS + (demo.RoleDefinition(
            "future_role", "新模块角色", ("futuremodule.*",), ()),)):
        seed_no_sync()
    future = set(Role.objects.get(code="future_role").functions.values_list("code", flat=True))
    leader = set(Role.objects.get(code="leader_auditor").functions.values_list("code", flat=True))
    assert future == {"futuremodule.application.submit", "futuremodule.application.view"}
    assert not any(c.startswith("futuremodule.") for c in leader)


def seed_no_sync():
    """Seed again without sync_functions() deactivating the test's extra functions."""
    from unittest import mock

    with mock.patch("fmis.iam.functions.sync_functions", return_value=0):
        seed()


@pytest.mark.django_db
def test_seeded_scopes_differ_by_region_and_role():
    from fmis.iam.models import User
    from fmis.orgs import selectors

    seed()

    def agency_regions(username: str) -> set[str]:
        user = User.objects.get(username=username)
        return set(selectors.agencies_for(user=user).values_list("region__code", flat=True))

    assert agency_regions("prov_budget") == {r.code for r in demo.plan("small").regions}
    assert agency_regions("city1_budget") == {"990100", "990101", "990102"}
    assert agency_regions("county1_budget") == {"990101"}
    assert agency_regions("county3_leader") == {"990201"}
    unit = User.objects.get(username="unit_990101101_acct")
    assert set(selectors.agencies_for(user=unit).values_list("code", flat=True)) == {"990101101", "990101101001"}
    sub = User.objects.get(username="unit_990101101001_acct")
    assert list(selectors.agencies_for(user=sub).values_list("code", flat=True)) == ["990101101001"]
    bank = User.objects.get(username="abc_operator")
    assert list(selectors.banks_for(user=bank).values_list("code", flat=True)) == ["902"]
    assert set(selectors.branches_for(user=bank).values_list("bank__code", flat=True)) == {"902"}
    assert selectors.agencies_for(user=bank).count() == 0


@pytest.mark.django_db
def test_demo_users_can_log_in_with_the_demo_password(client):
    seed()
    for username in ("county1_budget", "unit_990101101_acct", "icbc_operator", "admin"):
        client.logout()
        r = client.post("/iam/login/", {"username": username, "password": demo.DEMO_PASSWORD})
        assert r.status_code == 302, username
    assert client.get("/orgs/banks/").status_code == 200  # admin is a superuser


@pytest.mark.django_db
def test_seed_command_progress_and_demo_logins():
    from unittest import mock

    out, err = io.StringIO(), io.StringIO()
    real_seed = demo.seed

    def seed_from_command(**kw):
        return real_seed(**kw, with_dictionary=HAS_PRELOAD)

    with mock.patch.object(demo, "seed", side_effect=seed_from_command):
        call_command("seed", "--scale", "small", stdout=out, stderr=err)
        assert "示例省" in out.getvalue()
        assert re.search(r"预算单位\s+\[#+\]\s+42/42", err.getvalue())
        out2 = io.StringIO()
        call_command("seed", "--scale", "small", "--if-empty", stdout=out2, stderr=io.StringIO())
        assert "已存在" in out2.getvalue()
    logins = io.StringIO()
    call_command("demo_logins", stdout=logins)
    text = logins.getvalue()
    lines = text.splitlines()
    assert lines[0].startswith("用户编码") and lines[2].startswith("admin")
    for needle in ("county1_budget", "预算处", "990101 一市一县", "unit_990101101_acct", "990101101 一市一县教育局",
                   "icbc_operator", "中国工商银行", demo.DEMO_PASSWORD):
        assert needle in text, needle
    only = io.StringIO()
    call_command("demo_logins", "--role", "bank_operator", stdout=only)
    assert len(only.getvalue().splitlines()) == 2 + 3


@pytest.mark.django_db
def test_demo_logins_marks_changed_passwords():
    from fmis.iam.models import User

    seed()
    u = User.objects.get(username="county2_treasury")
    u.set_password("Another#Pass1")
    u.save()
    rows = {r.username: r for r in demo.demo_logins()}
    assert rows["county2_treasury"].password == "（已修改）"
    assert rows["county1_treasury"].password == demo.DEMO_PASSWORD


@pytest.mark.django_db
def test_seed_command_runs_other_modules_demo_seeders(monkeypatch):
    """Later modules add demo data through ``<app>.demo.seed_demo(scale=..., write=...)``."""
    import types

    from fmis.orgs.management.commands import seed as seed_command

    calls = []
    fake = types.ModuleType("fmis.dictionary.demo")
    fake.seed_demo = lambda *, scale, write: calls.append(scale)
    real_import = seed_command.importlib.import_module

    def import_module(name, *args):
        return fake if name == "fmis.dictionary.demo" else real_import(name, *args)

    monkeypatch.setattr(seed_command.importlib, "import_module", import_module)
    assert "dictionary" in [label for label, _ in seed_command.app_demo_seeders()]
    real_seed = demo.seed
    monkeypatch.setattr(demo, "seed", lambda **kw: real_seed(**kw, with_dictionary=HAS_PRELOAD))
    call_command("seed", "--scale", "small", stdout=io.StringIO(), stderr=io.StringIO())
    assert calls == ["small"]
    call_command("seed", "--scale", "small", "--if-empty", stdout=io.StringIO(), stderr=io.StringIO())
    assert calls == ["small"]  # --if-empty: nothing at all when the province exists

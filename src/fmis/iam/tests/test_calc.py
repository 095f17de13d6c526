"""Permission calculation (seed 003 §4.4.9): union across roles, intersection within a role, ignored
roles, delegations by date, restriction rules, delegator changes, superusers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fmis.iam import permissions
from fmis.iam.models import DataRule, Delegation, Role, Status, User, UserRole, today
from fmis.iam.permissions import can, clear_cache, merge_codes, restrict, scope_q
from fmis.orgs.models import Agency

F = "orgs.agency.view"


@pytest.fixture
def prov(make_region, make_agency):
    p = make_region("370000", "示例省")
    c1 = make_region("370100", "一市", parent=p)
    c2 = make_region("370200", "二市", parent=p)
    k1 = make_region("370102", "一县", parent=c1)
    k2 = make_region("370103", "二县", parent=c1)
    a = {
        "p": make_agency("370000101", p),
        "c1": make_agency("370100101", c1),
        "k1": make_agency("370102101", k1),
        "k1s": make_agency("370102101001", k1),
        "k2": make_agency("370103101", k2),
        "c2": make_agency("370200101", c2),
    }
    return {"p": p, "c1": c1, "c2": c2, "k1": k1, "k2": k2, "a": a}


def codes(user, function=F):
    clear_cache(user)
    return sorted(restrict(Agency.objects.all(), user, function).values_list("code", flat=True))


def fresh(user) -> User:
    return User.objects.select_related("agency", "region", "bank").get(pk=user.pk)


def delegate(delegator, delegates, roles, starts_on, ends_on, rules=()):
    d = Delegation.objects.create(delegator=delegator, starts_on=starts_on, ends_on=ends_on)
    d.delegates.set(delegates)
    d.roles.set(roles)
    for dim, kind, values in rules:
        DataRule.objects.create(delegation=d, dimension=dim, kind=kind, values=list(values))
    return d


@pytest.mark.django_db
def test_union_across_roles(prov, make_role, make_user):
    r1 = make_role("r1", [F], rules=[("region", "subtree", ["370102"])])
    r2 = make_role("r2", [F], rules=[("agency", "values", ["370200101"])])
    u = make_user("u", roles=[r1, r2])
    assert codes(u) == ["370102101", "370102101001", "370200101"]


@pytest.mark.django_db
def test_intersection_within_role_does_not_touch_other_roles(prov, make_role, make_user):
    r1 = make_role("r1", [F], rules=[("region", "subtree", ["370100"])])
    r2 = make_role("r2", [F], rules=[("agency", "values", ["370200101"])])
    u = make_user("u", roles=[r1, r2])
    # u within r1: only county 二县 (370103) and the city-level unit; r1 itself allows all of 一市
    DataRule.objects.create(role=r1, user=u, dimension="agency", kind="subtree", values=["370103", "370100101"])
    assert codes(u) == ["370100101", "370103101", "370200101"]
    # another user of r1 without user-in-role rules keeps the role's whole scope
    v = make_user("v", roles=[r1])
    assert codes(v) == ["370100101", "370102101", "370102101001", "370103101"]


@pytest.mark.django_db
def test_rules_on_different_dimensions_intersect_same_dimension_unite(prov, make_role, make_user):
    role = make_role("r", [F], rules=[("region", "subtree", ["370100"]), ("region", "values", ["370200"]),
                                      ("agency", "subtree", ["370102", "370200"])])
    u = make_user("u", roles=[role])
    assert codes(u) == ["370102101", "370102101001", "370200101"]


@pytest.mark.django_db
def test_role_without_rules_grants_everything_and_no_role_nothing(prov, make_role, make_user):
    wide = make_role("wide", [F])
    other = make_role("other", ["iam.explain"], rules=[("region", "values", ["370000"])])
    u = make_user("u", roles=[wide])
    assert scope_q(u, F, Agency) is None
    assert len(codes(u)) == 6
    n = make_user("n", roles=[other])
    assert codes(n) == [] and not can(n, F)


@pytest.mark.django_db
@pytest.mark.parametrize("kw", [{"status": Status.SUSPENDED}, {"status": Status.INVALID},
                                {"expires_on": dt.date(2000, 1, 1)}, {"expires_on": "today"}])
def test_suspended_invalid_or_expired_roles_are_ignored(prov, make_role, make_user, kw):
    if kw.get("expires_on") == "today":
        kw = {"expires_on": today()}  # today ≥ expiry: expired
    dead = make_role("dead", [F, "iam.explain"], **kw)
    live = make_role("live", [F], rules=[("agency", "values", ["370000101"])])
    u = make_user("u", roles=[dead, live])
    assert codes(u) == ["370000101"]
    assert not can(u, "iam.explain")
    # the assignment is kept: enabling the role brings it back
    Role.objects.filter(pk=dead.pk).update(status=Status.ACTIVE, expires_on=None)
    assert len(codes(u)) == 6 and can(fresh(u), "iam.explain")


@pytest.mark.django_db
def test_dynamic_own_region_tree(prov, make_role, make_user):
    role = make_role("city", [F], rules=[("region", "own_region_tree", [])])
    u = make_user("u", roles=[role], region=prov["c1"])
    assert codes(u) == ["370100101", "370102101", "370102101001", "370103101"]
    nobody = make_user("nowhere", roles=[role])  # no region: the dynamic range admits nothing
    assert codes(nobody) == []


@pytest.mark.django_db
def test_superuser_is_unrestricted(prov, make_user):
    su = make_user("su", user_type=User.UserType.SUPER)
    assert scope_q(su, F, Agency) is None and can(su, "anything.at.all")
    assert len(codes(su)) == 6


@pytest.mark.django_db
def test_inactive_user_has_nothing(prov, make_role, make_user):
    role = make_role("r", [F])
    u = make_user("u", roles=[role], expires_on=today())
    assert not can(u, F) and codes(u) == []


# --- delegations -------------------------------------------------------------------------------


@pytest.fixture
def deleg_setup(prov, make_role, make_user):
    role = make_role("k1role", [F], rules=[("region", "subtree", ["370102"])])
    boss = make_user("boss", roles=[role], region=prov["k1"])
    deputy = make_user("deputy", region=prov["k2"])
    return role, boss, deputy


@pytest.mark.django_db
@pytest.mark.parametrize("start,end,in_force", [(-1, 1, True), (0, 0, True), (1, 5, False), (-5, -1, False)])
def test_delegation_in_force_only_between_its_dates(deleg_setup, start, end, in_force):
    role, boss, deputy = deleg_setup
    t = today()
    delegate(boss, [deputy], [role], t + dt.timedelta(days=start), t + dt.timedelta(days=end))
    assert can(fresh(deputy), F) is in_force
    assert codes(deputy) == (["370102101", "370102101001"] if in_force else [])


@pytest.mark.django_db
def test_delegation_ends_by_itself(deleg_setup, monkeypatch):
    role, boss, deputy = deleg_setup
    t = today()
    delegate(boss, [deputy], [role], t, t + dt.timedelta(days=3))
    assert can(fresh(deputy), F)
    monkeypatch.setattr("fmis.iam.models.today", lambda: t + dt.timedelta(days=3))
    assert can(fresh(deputy), F)  # the end date itself is still in force
    monkeypatch.setattr("fmis.iam.models.today", lambda: t + dt.timedelta(days=4))
    assert not can(fresh(deputy), F)


@pytest.mark.django_db
def test_revoked_delegation_counts_for_nothing(deleg_setup):
    from django.utils import timezone

    role, boss, deputy = deleg_setup
    d = delegate(boss, [deputy], [role], today(), today())
    Delegation.objects.filter(pk=d.pk).update(revoked_at=timezone.now())
    assert not can(fresh(deputy), F)


@pytest.mark.django_db
def test_delegation_restriction_narrows(deleg_setup):
    role, boss, deputy = deleg_setup
    delegate(boss, [deputy], [role], today(), today(), rules=[("agency", "values", ["370102101001", "370103101"])])
    # role scope (370102 subtree) ∩ restriction: 370103101 is outside the role, so only one remains
    assert codes(deputy) == ["370102101001"]


@pytest.mark.django_db
def test_delegated_dynamic_range_is_the_delegators(prov, make_role, make_user):
    role = make_role("own", [F], rules=[("region", "own_region_tree", [])])
    boss = make_user("boss", roles=[role], region=prov["k1"])
    deputy = make_user("deputy", region=prov["c2"])
    delegate(boss, [deputy], [role], today(), today())
    assert codes(deputy) == ["370102101", "370102101001"]


@pytest.mark.django_db
def test_delegated_role_includes_delegators_rules_within_the_role(deleg_setup):
    role, boss, deputy = deleg_setup
    DataRule.objects.create(role=role, user=boss, dimension="agency", kind="values", values=["370102101"])
    delegate(boss, [deputy], [role], today(), today())
    assert codes(deputy) == ["370102101"]


@pytest.mark.django_db
def test_delegated_role_stops_when_delegator_loses_it(deleg_setup):
    role, boss, deputy = deleg_setup
    delegate(boss, [deputy], [role], today(), today())
    assert can(fresh(deputy), F)
    UserRole.objects.filter(user=boss, role=role).delete()
    assert not can(fresh(deputy), F)


@pytest.mark.django_db
@pytest.mark.parametrize("change", [{"status": Status.SUSPENDED}, {"status": Status.INVALID},
                                    {"expires_on": dt.date(2000, 1, 1)}, {"user_type": "super"}])
def test_delegated_role_stops_when_delegator_becomes_inactive(deleg_setup, change):
    role, boss, deputy = deleg_setup
    delegate(boss, [deputy], [role], today(), today())
    User.objects.filter(pk=boss.pk).update(**change)
    assert not can(fresh(deputy), F)


@pytest.mark.django_db
def test_delegated_role_stops_when_role_suspended(deleg_setup):
    role, boss, deputy = deleg_setup
    delegate(boss, [deputy], [role], today(), today())
    Role.objects.filter(pk=role.pk).update(status=Status.SUSPENDED)
    assert not can(fresh(deputy), F)


@pytest.mark.django_db
def test_own_and_delegated_scopes_unite(deleg_setup, make_role):
    role, boss, deputy = deleg_setup
    mine = make_role("mine", [F], rules=[("agency", "values", ["370200101"])])
    UserRole.objects.create(user=deputy, role=mine)
    delegate(boss, [deputy], [role], today(), today())
    assert codes(deputy) == ["370102101", "370102101001", "370200101"]


@pytest.mark.django_db
def test_delegations_cost_a_fixed_number_of_queries(prov, make_role, make_user):
    """No query per delegation or per delegated role (the old N+1)."""
    deputy = make_user("deputy")

    def queries_for(n):
        for i in range(n):
            role = make_role(f"q{n}_{i}", [F], rules=[("agency", "values", ["370000101"])])
            boss = make_user(f"boss{n}_{i}", roles=[role])
            delegate(boss, [deputy], [role], today(), today())
        u = fresh(deputy)
        with CaptureQueriesContext(connection) as ctx:
            permissions.function_codes(u)
        return len(ctx.captured_queries)

    one = queries_for(1)
    assert queries_for(4) == one


# --- query shape -------------------------------------------------------------------------------


def test_merge_codes_drops_covered_prefixes_and_values():
    ds = merge_codes({"370102101", "370200101", "37"}, {"3701", "370102", "3702"})
    assert ds.prefixes == ("3701", "3702")
    assert ds.exact == frozenset({"37"})
    assert ds.admits("370102101001") and ds.admits("37") and not ds.admits("3703")


@pytest.mark.django_db
def test_region_rules_on_agencies_filter_on_the_key_without_a_join(prov, make_role, make_user):
    role = make_role("r", [F], rules=[("region", "subtree", ["370100"]), ("region", "values", ["370200"])])
    u = make_user("u", roles=[role])
    qs = restrict(Agency.objects.all(), u, F)
    sql = str(qs.query)
    assert "JOIN" not in sql.upper() and "region_id" in sql
    assert sorted(qs.values_list("code", flat=True)) == [
        "370100101", "370102101", "370102101001", "370103101", "370200101"]


@pytest.mark.django_db
def test_scopes_on_one_dimension_merge_across_roles(prov, make_role, make_user):
    roles = [make_role(f"v{i}", [F], rules=[("agency", "values", [c])])
             for i, c in enumerate(["370000101", "370100101", "370200101"])]
    u = make_user("u", roles=roles)
    sql = str(restrict(Agency.objects.all(), u, F).query)
    assert sql.count(" IN (") == 1
    assert codes(u) == ["370000101", "370100101", "370200101"]


@pytest.mark.django_db
def test_many_related_rows_fall_back_to_a_subquery(prov, make_role, make_user, monkeypatch):
    monkeypatch.setattr(permissions, "RESOLVE_IDS_LIMIT", 2)
    role = make_role("r", [F], rules=[("region", "subtree", ["370100"])])  # 3 regions > limit
    u = make_user("u", roles=[role])
    sql = str(restrict(Agency.objects.all(), u, F).query)
    assert "SELECT" in sql.split("WHERE", 1)[1]
    assert codes(u) == ["370100101", "370102101", "370102101001", "370103101"]


@pytest.mark.django_db
def test_rule_on_a_dimension_the_model_lacks_does_not_restrict(prov, make_role, make_user):
    role = make_role("r", [F], rules=[("fund_type", "values", ["11"])])
    u = make_user("u", roles=[role])
    assert len(codes(u)) == 6


@pytest.mark.django_db
def test_require_object(prov, make_role, make_user):
    from fmis.platform.errors import PermissionDenied

    role = make_role("r", [F], rules=[("region", "subtree", ["370102"])])
    u = make_user("u", roles=[role])
    permissions.require_object(u, F, prov["a"]["k1s"])
    with pytest.raises(PermissionDenied) as exc:
        permissions.require_object(u, F, prov["a"]["c2"])
    assert exc.value.code == "iam.out_of_scope"

"""Management rules (seed 003 §4.4.3–4.4.8): manager-only edits, type levels, same-manager
assignment, grants limited to what the granter holds, status changes, deletes, copies, delegations,
automatic expiry; every write audited and nothing written on refusal."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from fmis.iam import services
from fmis.iam.models import DataRule, Delegation, Role, RoleFunction, Status, User, UserRole, today
from fmis.iam.permissions import can, clear_cache, own_function_codes
from fmis.iam.services import RoleInput, RuleInput, UserInput
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def mk_user(actor, username, user_type="normal", **kw):
    return services.create_user(actor=actor, username=username, password=PASSWORD, password_confirm=PASSWORD,
                                data=UserInput(name=kw.pop("name", username), user_type=user_type, **kw))


def mk_role(actor, code, **kw):
    return services.create_role(actor=actor, data=RoleInput(code=code, name=kw.pop("name", code), **kw))


def actions(obj=None, action=None):
    qs = AuditRecord.objects.all()
    if obj is not None:
        qs = qs.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("id").values_list("action", flat=True))


# --- users -------------------------------------------------------------------------------------


def test_admin_creates_user_it_then_manages(admin_a):
    u = mk_user(admin_a, "clerk1")
    assert u.manager_id == admin_a.pk and u.status == Status.ACTIVE and u.check_password(PASSWORD)
    assert actions(u) == ["iam.user.create"]
    rec = AuditRecord.objects.get(action="iam.user.create")
    assert rec.actor_id == admin_a.pk and "password" not in rec.after


def test_only_the_manager_edits_a_user(admin_a, admin_b, root):
    u = mk_user(admin_a, "clerk1")
    with pytest.raises(NotFound):
        services.update_user(actor=admin_b, user_id=u.pk, data=UserInput(name="改名"))
    assert User.objects.get(pk=u.pk).name == "clerk1"
    services.update_user(actor=admin_a, user_id=u.pk, data=UserInput(name="改名"))
    services.update_user(actor=root, user_id=u.pk, data=UserInput(name="再改"))  # the superuser manages all
    assert User.objects.get(pk=u.pk).name == "再改"
    assert actions(u) == ["iam.user.create", "iam.user.update", "iam.user.update"]


def test_admin_lists_only_its_own_users_superuser_all(admin_a, admin_b, root):
    from fmis.iam import selectors

    mk_user(admin_a, "a_user")
    mk_user(admin_b, "b_user")
    assert [u.username for u in selectors.users_for(user=admin_a)] == ["a_user"]
    assert {"a_user", "b_user", "adm_a", "adm_b", "ADMIN"} <= {u.username for u in selectors.users_for(user=root)}


def test_normal_user_cannot_manage_even_with_the_function(admin_a, give):
    u = mk_user(admin_a, "clerk1")
    r = mk_role(admin_a, "clerk_role")
    services.set_role_functions(actor=admin_a, role_id=r.pk, codes=["iam.user.manage"])
    services.set_user_roles(actor=admin_a, user_id=u.pk, role_ids=[r.pk])
    assert can(User.objects.get(pk=u.pk), "iam.user.manage")
    with pytest.raises(PermissionDenied) as exc:
        mk_user(User.objects.get(pk=u.pk), "x")
    assert exc.value.code == "iam.not_administrator"


def test_no_type_above_own_level(admin_a):
    with pytest.raises(PermissionDenied) as exc:
        mk_user(admin_a, "boss", user_type="super")
    assert exc.value.code == "iam.type_above_own"
    assert not User.objects.filter(username="boss").exists()
    u = mk_user(admin_a, "clerk1")
    services.update_user(actor=admin_a, user_id=u.pk, data=UserInput(name="c", user_type="admin"))  # upgrade ok
    with pytest.raises(PermissionDenied) as exc:
        services.update_user(actor=admin_a, user_id=u.pk, data=UserInput(name="c", user_type="super"))
    assert exc.value.code == "iam.upgrade_beyond_manager"
    assert User.objects.get(pk=u.pk).user_type == "admin"


def test_no_upgrade_beyond_the_users_manager_even_by_superuser(admin_a, root):
    u = mk_user(admin_a, "clerk1")
    with pytest.raises(PermissionDenied):
        services.update_user(actor=root, user_id=u.pk, data=UserInput(name="c", user_type="super"))


def test_admin_with_subordinates_cannot_change_type(admin_a, root):
    mk_user(admin_a, "clerk1")
    for new_type, code in (("normal", "iam.downgrade_has_subordinates"), ("super", "iam.upgrade_has_subordinates")):
        with pytest.raises(Conflict) as exc:
            services.update_user(actor=root, user_id=admin_a.pk, data=UserInput(name="a", user_type=new_type))
        assert exc.value.code == code
    assert User.objects.get(pk=admin_a.pk).user_type == "admin"


def test_superuser_managing_superusers_cannot_be_downgraded(root):
    s1 = mk_user(root, "s1", user_type="super")
    mk_user(s1, "s2", user_type="super")
    with pytest.raises(Conflict) as exc:
        services.update_user(actor=root, user_id=s1.pk, data=UserInput(name="s1", user_type="admin"))
    assert exc.value.code == "iam.downgrade_manages_superusers"


def test_builtin_superuser_cannot_be_changed(root):
    other = mk_user(root, "s1", user_type="super")
    with pytest.raises(PermissionDenied):
        services.update_user(actor=other, user_id=root.pk, data=UserInput(name="x", user_type="super"))
    with pytest.raises((PermissionDenied, NotFound)):
        services.delete_user(actor=other, user_id=root.pk)
    assert User.objects.filter(pk=root.pk, name="系统管理员").exists()


def test_suspend_and_enable(admin_a):
    u = mk_user(admin_a, "clerk1")
    services.change_user_status(actor=admin_a, user_id=u.pk, status=Status.SUSPENDED)
    assert not User.objects.get(pk=u.pk).is_active
    services.change_user_status(actor=admin_a, user_id=u.pk, status=Status.ACTIVE)
    assert User.objects.get(pk=u.pk).is_active
    assert actions(u)[-2:] == ["iam.user.suspend", "iam.user.enable"]


def test_enable_refused_while_expiry_not_after_today(admin_a):
    u = mk_user(admin_a, "clerk1")
    User.objects.filter(pk=u.pk).update(status=Status.SUSPENDED, expires_on=today())
    with pytest.raises(Conflict) as exc:
        services.change_user_status(actor=admin_a, user_id=u.pk, status=Status.ACTIVE)
    assert exc.value.code == "iam.enable_expired"
    assert User.objects.get(pk=u.pk).status == Status.SUSPENDED
    User.objects.filter(pk=u.pk).update(expires_on=today() + dt.timedelta(days=1))
    services.change_user_status(actor=admin_a, user_id=u.pk, status=Status.ACTIVE)
    assert User.objects.get(pk=u.pk).status == Status.ACTIVE


def test_disable_transfers_subordinates_to_a_same_type_user_of_the_actor(admin_a, new_admin, root):
    sub = mk_user(admin_a, "clerk1")
    role = mk_role(admin_a, "a_role")
    with pytest.raises(ValidationFailed) as exc:
        services.change_user_status(actor=root, user_id=admin_a.pk, status=Status.INVALID)
    assert exc.value.code == "iam.transfer_required"
    wrong = mk_user(root, "norm", user_type="normal")  # type differs from admin_a's
    with pytest.raises(ValidationFailed):
        services.change_user_status(actor=root, user_id=admin_a.pk, status=Status.INVALID, transfer_to_id=wrong.pk)
    assert User.objects.get(pk=admin_a.pk).status == Status.ACTIVE
    heir = new_admin("heir", functions=())
    services.change_user_status(actor=root, user_id=admin_a.pk, status=Status.INVALID, transfer_to_id=heir.pk)
    assert User.objects.get(pk=admin_a.pk).status == Status.INVALID
    assert User.objects.get(pk=sub.pk).manager_id == heir.pk
    assert Role.objects.get(pk=role.pk).manager_id == heir.pk
    assert "iam.user.transfer_subordinates" in actions(admin_a)


def test_delete_only_without_business(admin_a):
    quiet = mk_user(admin_a, "quiet")
    busy = mk_user(admin_a, "busy")
    services.create_group(actor=User.objects.get(pk=admin_a.pk), kind="user", name="根")
    # busy does something: an audit record with busy as actor
    from django.db import transaction

    from fmis.platform import audit
    with transaction.atomic():
        audit.record(busy, "test.business", busy)
    with pytest.raises(Conflict) as exc:
        services.delete_user(actor=admin_a, user_id=busy.pk)
    assert exc.value.code == "iam.user_has_business"
    assert User.objects.filter(pk=busy.pk).exists()
    services.delete_user(actor=admin_a, user_id=quiet.pk)
    assert not User.objects.filter(pk=quiet.pk).exists()
    assert AuditRecord.objects.filter(action="iam.user.delete", object_id=str(quiet.pk)).exists()


def test_delete_by_non_manager_is_not_found(admin_a, admin_b):
    u = mk_user(admin_a, "clerk1")
    with pytest.raises(NotFound):
        services.delete_user(actor=admin_b, user_id=u.pk)


def test_password_policy_on_create(admin_a):
    with pytest.raises(ValidationFailed) as exc:
        services.create_user(actor=admin_a, username="weak", password="12345678", password_confirm="12345678",
                             data=UserInput(name="weak"))
    assert exc.value.code == "iam.password_policy"
    with pytest.raises(ValidationFailed) as exc:
        services.create_user(actor=admin_a, username="weak", password=PASSWORD, password_confirm=PASSWORD + "x",
                             data=UserInput(name="weak"))
    assert exc.value.code == "iam.password_mismatch"
    assert not User.objects.filter(username="weak").exists()


def test_user_outside_the_admins_data_scope_is_refused(new_admin, make_region, make_agency, give):
    p = make_region("370000")
    c1 = make_region("370100", parent=p)
    c2 = make_region("370200", parent=p)
    mine, other = make_agency("370100101", c1), make_agency("370200101", c2)
    a = new_admin("scoped", functions=())
    give(a, ["iam.user.manage", "iam.user.view"], rules=[("agency", "subtree", ["3701"])])
    ok = mk_user(a, "in_scope", org_type="agency", agency_id=mine.pk)
    assert ok.region_id == c1.pk
    with pytest.raises(PermissionDenied) as exc:
        mk_user(a, "out_of_scope", org_type="agency", agency_id=other.pk)
    assert exc.value.code == "iam.user_out_of_scope"
    assert not User.objects.filter(username="out_of_scope").exists()


# --- roles, grants, assignments ------------------------------------------------------------------


def test_admin_cannot_grant_functions_it_lacks(new_admin, root):
    a = new_admin("limited", functions=["iam.role.manage", "iam.role.grant", "iam.role.view"])
    role = mk_role(a, "mine")
    with pytest.raises(PermissionDenied) as exc:
        services.set_role_functions(actor=a, role_id=role.pk, codes=["iam.role.view", "iam.user.manage"])
    assert exc.value.code == "iam.grant_beyond_own" and "iam.user.manage" in exc.value.message
    assert not RoleFunction.objects.filter(role=role).exists()
    assert services.set_role_functions(actor=a, role_id=role.pk, codes=["iam.role.view"]) == ["iam.role.view"]
    # the superuser grants anything; an admin's later edit leaves what it does not hold untouched
    services.set_role_functions(actor=root, role_id=role.pk, codes=["iam.role.view", "iam.user.manage"])
    services.set_role_functions(actor=a, role_id=role.pk, codes=[])
    assert sorted(Role.objects.get(pk=role.pk).functions.values_list("code", flat=True)) == ["iam.user.manage"]


def test_delegated_functions_do_not_count_as_grantable(new_admin, make_user, give, root):
    a = new_admin("limited", functions=["iam.role.grant", "iam.role.manage"])
    holder = make_user("holder")
    extra = give(holder, ["iam.user.manage"])
    d = Delegation.objects.create(delegator=holder, starts_on=today(), ends_on=today())
    d.delegates.set([a])
    d.roles.set([extra])
    clear_cache(a)
    assert can(a, "iam.user.manage") and "iam.user.manage" not in own_function_codes(a)


def test_assignment_needs_the_same_manager(admin_a, admin_b):
    u = mk_user(admin_a, "clerk1")
    mine = mk_role(admin_a, "a_role")
    theirs = mk_role(admin_b, "b_role")
    with pytest.raises(NotFound):
        services.set_user_roles(actor=admin_a, user_id=u.pk, role_ids=[theirs.pk])
    from fmis.iam.models import User as U
    root = U.objects.get(username="ADMIN")
    with pytest.raises(PermissionDenied) as exc:  # even the superuser cannot mix managers
        services.assign_role(actor=root, user_id=u.pk, role_id=theirs.pk)
    assert exc.value.code == "iam.manager_mismatch"
    assert services.set_user_roles(actor=admin_a, user_id=u.pk, role_ids=[mine.pk]) == ["a_role"]
    assert actions(u, "iam.user.set_roles")


def test_suspended_role_cannot_be_assigned_or_delegated(admin_a):
    u = mk_user(admin_a, "clerk1")
    role = mk_role(admin_a, "a_role")
    services.change_role_status(actor=admin_a, role_id=role.pk, status=Status.SUSPENDED)
    with pytest.raises(Conflict):
        services.set_user_roles(actor=admin_a, user_id=u.pk, role_ids=[role.pk])
    assert not UserRole.objects.filter(user=u).exists()


def test_role_enable_refused_when_expired(admin_a):
    role = mk_role(admin_a, "a_role", expires_on=today() + dt.timedelta(days=2))
    services.change_role_status(actor=admin_a, role_id=role.pk, status=Status.SUSPENDED)
    Role.objects.filter(pk=role.pk).update(expires_on=today())
    with pytest.raises(Conflict) as exc:
        services.change_role_status(actor=admin_a, role_id=role.pk, status=Status.ACTIVE)
    assert exc.value.code == "iam.enable_expired"


def test_role_delete_cascades(admin_a):
    u = mk_user(admin_a, "clerk1")
    role = mk_role(admin_a, "a_role")
    services.set_role_functions(actor=admin_a, role_id=role.pk, codes=["iam.explain"])
    services.set_user_roles(actor=admin_a, user_id=u.pk, role_ids=[role.pk])
    services.set_role_rules(actor=admin_a, role_id=role.pk, rules=[RuleInput("region", "values", ("370000",))])
    services.set_user_role_rules(actor=admin_a, role_id=role.pk, user_id=u.pk,
                                 rules=[RuleInput("agency", "values", ("370000101",))])
    d = Delegation.objects.create(delegator=u, starts_on=today(), ends_on=today())
    d.roles.set([role])
    services.delete_role(actor=admin_a, role_id=role.pk)
    assert not Role.objects.filter(pk=role.pk).exists()
    assert not UserRole.objects.filter(role_id=role.pk).exists()
    assert not RoleFunction.objects.filter(role_id=role.pk).exists()
    assert not DataRule.objects.filter(role_id=role.pk).exists()
    assert not Delegation.objects.filter(pk=d.pk).exists()
    assert AuditRecord.objects.filter(action="iam.role.delete", object_id=str(role.pk)).exists()


def test_only_the_manager_deletes_a_role(admin_a, admin_b):
    role = mk_role(admin_a, "a_role")
    with pytest.raises(NotFound):
        services.delete_role(actor=admin_b, role_id=role.pk)
    assert Role.objects.filter(pk=role.pk).exists()


def test_copy_functions_and_rules_overwrite(admin_a):
    src = mk_role(admin_a, "src")
    dst = mk_role(admin_a, "dst")
    services.set_role_functions(actor=admin_a, role_id=src.pk, codes=["iam.explain", "iam.user.view"])
    services.set_role_functions(actor=admin_a, role_id=dst.pk, codes=["iam.token.manage"])
    assert services.copy_role_functions(actor=admin_a, source_role_id=src.pk, target_role_id=dst.pk) == [
        "iam.explain", "iam.user.view"]
    services.set_role_rules(actor=admin_a, role_id=src.pk, rules=[RuleInput("region", "subtree", ("370100",))])
    services.set_role_rules(actor=admin_a, role_id=dst.pk, rules=[RuleInput("agency", "values", ("1", "2"))])
    services.copy_role_rules(actor=admin_a, source_role_id=src.pk, target_role_id=dst.pk)
    assert [(r.dimension, r.kind, r.values) for r in DataRule.objects.filter(role=dst)] == [
        ("region", "subtree", ["370100"])]
    assert actions(dst, "iam.role.copy_rules")


def test_copy_user_rules_within_a_role(admin_a):
    role = mk_role(admin_a, "r")
    u1, u2, outsider = mk_user(admin_a, "u1"), mk_user(admin_a, "u2"), mk_user(admin_a, "u3")
    for u in (u1, u2):
        services.set_user_roles(actor=admin_a, user_id=u.pk, role_ids=[role.pk])
    services.set_user_role_rules(actor=admin_a, role_id=role.pk, user_id=u1.pk,
                                 rules=[RuleInput("agency", "subtree", ("370102",))])
    services.set_user_role_rules(actor=admin_a, role_id=role.pk, user_id=u2.pk,
                                 rules=[RuleInput("fund_type", "values", ("11",)), RuleInput("agency", "values", ("9",))])
    services.copy_user_role_rules(actor=admin_a, role_id=role.pk, source_user_id=u1.pk, target_user_id=u2.pk)
    assert [(r.dimension, r.values) for r in DataRule.objects.filter(role=role, user=u2)] == [("agency", ["370102"])]
    with pytest.raises(NotFound):
        services.copy_user_role_rules(actor=admin_a, role_id=role.pk, source_user_id=u1.pk, target_user_id=outsider.pk)


def test_invalid_rules_are_refused_line_by_line_and_nothing_changes(admin_a):
    role = mk_role(admin_a, "r")
    services.set_role_rules(actor=admin_a, role_id=role.pk, rules=[RuleInput("region", "values", ("370000",))])
    bad = [RuleInput("region", "subtree", ("370100",)), RuleInput("nope", "values", ("1",)),
           RuleInput("agency", "own_region", ()), RuleInput("agency", "values", ())]
    with pytest.raises(ValidationFailed) as exc:
        services.set_role_rules(actor=admin_a, role_id=role.pk, rules=bad)
    assert [e["line"] for e in exc.value.errors] == [2, 3, 4]
    assert [(r.dimension, r.values) for r in DataRule.objects.filter(role=role)] == [("region", ["370000"])]


def test_user_rules_only_for_members(admin_a):
    role = mk_role(admin_a, "r")
    u = mk_user(admin_a, "u1")
    with pytest.raises(NotFound):
        services.set_user_role_rules(actor=admin_a, role_id=role.pk, user_id=u.pk,
                                     rules=[RuleInput("agency", "values", ("1",))])


# --- groups ------------------------------------------------------------------------------------


def test_group_tree_has_one_root_and_no_cycles(admin_a):
    root = services.create_group(actor=admin_a, kind="user", name="全部用户")
    with pytest.raises(ValidationFailed):
        services.create_group(actor=admin_a, kind="user", name="第二个根")
    child = services.create_group(actor=admin_a, kind="user", name="预算处", parent_id=root.pk)
    grandchild = services.create_group(actor=admin_a, kind="user", name="一科", parent_id=child.pk)
    with pytest.raises(ValidationFailed) as exc:
        services.update_group(actor=admin_a, kind="user", group_id=child.pk, name="预算处", parent_id=grandchild.pk)
    assert exc.value.code == "iam.group_cycle"
    with pytest.raises(Conflict):
        services.create_group(actor=admin_a, kind="user", name="一科", parent_id=child.pk)
    with pytest.raises(Conflict):
        services.delete_group(actor=admin_a, kind="user", group_id=child.pk)
    services.delete_group(actor=admin_a, kind="user", group_id=grandchild.pk)
    # role groups are a separate tree with their own root
    services.create_group(actor=admin_a, kind="role", name="全部角色")


# --- delegations -------------------------------------------------------------------------------


@pytest.fixture
def holder(admin_a, give):
    """A normal user (managed by admin_a) holding a role with a function, allowed to delegate."""
    u = mk_user(admin_a, "holder")
    give(u, ["iam.delegation.manage"])
    role = mk_role(admin_a, "work")
    services.set_role_functions(actor=admin_a, role_id=role.pk, codes=["iam.explain"])
    services.set_user_roles(actor=admin_a, user_id=u.pk,
                            role_ids=list(UserRole.objects.filter(user=u).values_list("role_id", flat=True)) + [role.pk])
    return User.objects.get(pk=u.pk), role


def test_delegate_a_held_role_then_revoke(holder, admin_a):
    u, role = holder
    deputy = mk_user(admin_a, "deputy")
    d = services.create_delegation(actor=u, delegate_ids=[deputy.pk], role_ids=[role.pk], starts_on=today(),
                                   ends_on=today() + dt.timedelta(days=5),
                                   rules=[RuleInput("agency", "values", ("370000101",))])
    assert can(User.objects.get(pk=deputy.pk), "iam.explain")
    assert actions(d) == ["iam.delegation.create"]
    services.revoke_delegation(actor=u, delegation_id=d.pk)
    assert not can(User.objects.get(pk=deputy.pk), "iam.explain")
    with pytest.raises(Conflict):
        services.revoke_delegation(actor=u, delegation_id=d.pk)
    assert actions(d) == ["iam.delegation.create", "iam.delegation.revoke"]


def test_cannot_delegate_a_role_one_manages_but_does_not_hold(admin_a):
    managed = mk_role(admin_a, "managed")
    deputy = mk_user(admin_a, "deputy")
    with pytest.raises(PermissionDenied) as exc:
        services.create_delegation(actor=admin_a, delegate_ids=[deputy.pk], role_ids=[managed.pk],
                                   starts_on=today(), ends_on=today())
    assert exc.value.code == "iam.delegate_not_held"
    assert not Delegation.objects.exists()


def test_superuser_cannot_delegate(root, admin_a):
    with pytest.raises(PermissionDenied) as exc:
        services.create_delegation(actor=root, delegate_ids=[admin_a.pk], role_ids=[1], starts_on=today(),
                                   ends_on=today())
    assert exc.value.code == "iam.superuser_cannot_delegate"


def test_delegation_targets_and_dates_are_checked(holder, root, admin_a):
    u, role = holder
    deputy = mk_user(admin_a, "deputy")
    cases = [
        ({"delegate_ids": [root.pk]}, "iam.delegate_superuser"),
        ({"delegate_ids": [u.pk]}, "iam.delegate_self"),
        ({"starts_on": today() + dt.timedelta(days=2), "ends_on": today() + dt.timedelta(days=1)}, "iam.dates_order"),
        ({"starts_on": today() - dt.timedelta(days=9), "ends_on": today() - dt.timedelta(days=1)},
         "iam.delegation_in_past"),
    ]
    for change, code in cases:
        kw = {"delegate_ids": [deputy.pk], "role_ids": [role.pk], "starts_on": today(), "ends_on": today(), **change}
        with pytest.raises(ValidationFailed) as exc:
            services.create_delegation(actor=u, **kw)
        assert exc.value.code == code
    assert not Delegation.objects.exists()


# --- tokens, expiry ----------------------------------------------------------------------------


def test_token_is_stored_hashed_and_revocable(admin_a):
    from fmis.iam.tokens import hash_token, user_for_token

    token, raw = services.create_token(user=admin_a, name="脚本")
    assert raw.startswith("fmis_") and token.key_hash == hash_token(raw) and raw not in token.key_hash
    assert user_for_token(raw).pk == admin_a.pk
    services.revoke_token(user=admin_a, token_id=token.pk)
    assert user_for_token(raw) is None
    assert AuditRecord.objects.filter(action="iam.token.create").exists()
    assert raw not in str(list(AuditRecord.objects.values_list("after", flat=True)))


def test_iam_expire_command_suspends_due_users_and_roles(admin_a):
    due = mk_user(admin_a, "due", expires_on=today() + dt.timedelta(days=1))
    later = mk_user(admin_a, "later", expires_on=today() + dt.timedelta(days=30))
    due_role = mk_role(admin_a, "due_role", expires_on=today() + dt.timedelta(days=1))
    User.objects.filter(pk=due.pk).update(expires_on=today())
    Role.objects.filter(pk=due_role.pk).update(expires_on=today() - dt.timedelta(days=1))
    out = StringIO()
    call_command("iam_expire", stdout=out)
    assert "suspended 1 user(s), 1 role(s)" in out.getvalue()
    assert User.objects.get(pk=due.pk).status == Status.SUSPENDED
    assert User.objects.get(pk=later.pk).status == Status.ACTIVE
    assert Role.objects.get(pk=due_role.pk).status == Status.SUSPENDED
    assert actions(due, "iam.user.expire") and actions(due_role, "iam.role.expire")
    call_command("iam_expire", "--date", (today() + dt.timedelta(days=30)).isoformat(), stdout=out)
    assert User.objects.get(pk=later.pk).status == Status.SUSPENDED

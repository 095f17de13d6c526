"""Reads of users, roles, groups, delegations, tokens and permissions, always through the filters.

User and role lists show what the function's data scope allows and, for anyone but a superuser,
only the users and roles the reader manages (created, or had transferred to it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from fmis.iam.models import (
    ApiToken,
    DataRule,
    Delegation,
    Function,
    Role,
    RoleGroup,
    Status,
    User,
    UserGroup,
    UserRole,
)
from fmis.iam.permissions import own_function_codes, require
from fmis.platform.errors import NotFound, ValidationFailed


def users_for(*, user: User, q: str = "", status: str = "", user_type: str = "", group_id: int | None = None,
              org_type: str = "", function: str = "iam.user.view") -> QuerySet[User]:
    qs = User.objects.restrict(user, function)
    if not user.is_superuser:
        qs = qs.filter(manager=user)
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(name__icontains=q) | Q(department__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if user_type:
        qs = qs.filter(user_type=user_type)
    if group_id:
        qs = qs.filter(group_id=group_id)
    if org_type:
        qs = qs.filter(org_type=org_type)
    return qs.select_related("manager", "group", "region", "agency", "bank").order_by("username")


def user_detail(*, user: User, user_id: int, function: str = "iam.user.view") -> User:
    obj = users_for(user=user, function=function).filter(pk=user_id).first()
    if obj is None:
        raise NotFound("iam.user_not_found", "用户不存在或不由您管理")
    return obj


def roles_for(*, user: User, q: str = "", status: str = "", group_id: int | None = None,
              function: str = "iam.role.view") -> QuerySet[Role]:
    qs = Role.objects.restrict(user, function)
    if not user.is_superuser:
        qs = qs.filter(manager=user)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if group_id:
        qs = qs.filter(group_id=group_id)
    return (qs.select_related("manager", "group").annotate(user_count=Count("user_roles", distinct=True))
            .order_by("code"))


def role_detail(*, user: User, role_id: int, function: str = "iam.role.view") -> Role:
    obj = roles_for(user=user, function=function).filter(pk=role_id).first()
    if obj is None:
        raise NotFound("iam.role_not_found", "角色不存在或不由您管理")
    return obj


def role_users(*, role: Role) -> QuerySet[User]:
    """The users assigned to `role` (the caller has checked it may see the role)."""
    return (User.objects.filter(user_roles__role=role)
            .prefetch_related(Prefetch("data_rules", queryset=DataRule.objects.filter(role=role).order_by("pk"),
                                       to_attr="rules_in_role"))
            .order_by("username"))


def role_rules(*, role: Role) -> list[DataRule]:
    return list(DataRule.objects.filter(role=role, user=None, delegation=None).order_by("pk"))


def user_role_rules(*, role: Role, user_id: int) -> list[DataRule]:
    return list(DataRule.objects.filter(role=role, user_id=user_id).order_by("pk"))


def user_roles(*, target: User) -> QuerySet[Role]:
    return Role.objects.filter(user_roles__user=target).order_by("code")


def assignable_roles(*, user: User, target: User) -> QuerySet[Role]:
    """Roles `user` may give `target`: same manager as the target, effective."""
    return roles_for(user=user, function="iam.role.assign").filter(manager_id=target.manager_id)


def transfer_candidates(*, user: User, target: User) -> QuerySet[User]:
    """Users who can take over `target`'s subordinates: created by `user`, same type, not invalid."""
    return (User.objects.filter(manager=user, user_type=target.user_type).exclude(pk=target.pk)
            .exclude(status=Status.INVALID).order_by("username"))


def held_roles(*, user: User) -> list[Role]:
    """Roles `user` holds itself and may delegate (effective ones)."""
    return [r for r in Role.objects.filter(user_roles__user=user).order_by("code") if r.is_effective]


def delegate_candidates(*, user: User, q: str = "") -> QuerySet[User]:
    """Admin and normal users who can receive a delegation from `user`."""
    require(user, "iam.delegation.manage")
    qs = (User.objects.filter(user_type__in=[User.UserType.ADMIN, User.UserType.NORMAL])
          .exclude(pk=user.pk).exclude(status=Status.INVALID))
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(name__icontains=q))
    return qs.order_by("username")


def users_by_username(*, user: User, usernames: list[str]) -> dict[str, User]:
    return {u.username: u for u in delegate_candidates(user=user).filter(username__in=usernames)}


def delegations_for(*, user: User, direction: str = "") -> QuerySet[Delegation]:
    """Delegations `user` gave or received ("given" / "received" / both); superusers see all."""
    require(user, "iam.delegation.manage")
    qs = Delegation.objects.all()
    if direction == "given":
        qs = qs.filter(delegator=user)
    elif direction == "received":
        qs = qs.filter(delegates=user)
    elif not user.is_superuser:
        qs = qs.filter(Q(delegator=user) | Q(delegates=user))
    return (qs.distinct().select_related("delegator", "revoked_by")
            .prefetch_related("delegates", "roles", Prefetch("data_rules", queryset=DataRule.objects.order_by("pk")))
            .order_by("-starts_on", "-pk"))


def delegation_detail(*, user: User, delegation_id: int) -> Delegation:
    obj = delegations_for(user=user).filter(pk=delegation_id).first()
    if obj is None:
        raise NotFound("iam.delegation_not_found", "授权不存在")
    return obj


def tokens_for(*, user: User) -> QuerySet[ApiToken]:
    require(user, "iam.token.manage")
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def groups(*, kind: str) -> list:
    """The tree of user groups or role groups, depth-first, each node with ``depth``."""
    if kind not in ("user", "role"):
        raise NotFound("iam.group_kind", "类别种类只能是 user 或 role")
    model = UserGroup if kind == "user" else RoleGroup
    nodes = list(model.objects.order_by("name"))
    children: dict[int | None, list] = {}
    for n in nodes:
        children.setdefault(n.parent_id, []).append(n)
    out: list = []

    def walk(parent_id, depth):
        for n in children.get(parent_id, []):
            n.depth = depth
            out.append(n)
            walk(n.pk, depth + 1)

    walk(None, 0)
    return out


@dataclass
class FunctionNode:
    code: str
    name: str
    kind: str
    depth: int
    checked: bool
    grantable: bool


def function_tree(*, user: User, role: Role | None = None) -> list[FunctionNode]:
    """The function tree, depth-first, marking the role's functions and those `user` may grant."""
    fns = list(Function.objects.filter(is_active=True).order_by("order", "code"))
    granted = set(role.functions.values_list("code", flat=True)) if role is not None else set()
    grantable = own_function_codes(user)
    children: dict[int | None, list[Function]] = {}
    for f in fns:
        children.setdefault(f.parent_id, []).append(f)
    out: list[FunctionNode] = []

    def walk(parent_id, depth):
        for f in children.get(parent_id, []):
            out.append(FunctionNode(f.code, f.display_name, f.kind, depth, f.code in granted, f.code in grantable))
            walk(f.pk, depth + 1)

    walk(None, 0)
    return out


def org_ids(*, region_code: str = "", agency_code: str = "", bank_code: str = "") -> dict[str, int | None]:
    """Ids of the region, agency and bank named by code (for the user form), or ValidationFailed."""
    from fmis.orgs.models import Agency, Bank, Region

    out: dict[str, int | None] = {"region_id": None, "agency_id": None, "bank_id": None}
    for key, model, code, label in (("region_id", Region, region_code, "财政区划"), ("agency_id", Agency, agency_code, "预算单位"),
                                    ("bank_id", Bank, bank_code, "代理银行")):
        code = (code or "").strip()
        if code:
            pk = model.objects.filter(code=code).values_list("pk", flat=True).first()
            if pk is None:
                raise ValidationFailed(f"iam.{key[:-3]}_not_found", f"{label}编码 {code} 不存在", field=key[:-3])
            out[key] = pk
    return out


def explain_target(*, user: User, user_id: int | None) -> User:
    """Whose permissions `user` may view: itself; a superuser anyone; an administrator its own users."""
    require(user, "iam.explain")
    if user_id is None or int(user_id) == user.pk:
        return user
    if user.is_superuser:
        target = User.objects.select_related("agency", "agency__region", "region", "bank").filter(pk=user_id).first()
    else:
        target = (User.objects.select_related("agency", "agency__region", "region", "bank")
                  .filter(pk=user_id, manager=user).first())
    if target is None:
        raise NotFound("iam.user_not_found", "用户不存在或不由您管理")
    return target


def role_effective_scopes(*, user: User, role_id: int) -> dict:
    """A role's effective data permissions: its own rules, each member's (non-delegated) scope, and each
    delegation of it in force (delegated scope), as rule texts."""
    from fmis.iam.models import today

    role = role_detail(user=user, role_id=role_id)
    rules = role_rules(role=role)
    members = []
    for u in role_users(role=role):
        members.append({"user": u, "rules": list(u.rules_in_role)})
    on = today()
    delegated = []
    for d in (Delegation.objects.filter(roles=role, revoked_at__isnull=True, starts_on__lte=on, ends_on__gte=on)
              .select_related("delegator").prefetch_related("delegates").order_by("pk")):
        holder_rules = [r for r in DataRule.objects.filter(role=role, user=d.delegator).order_by("pk")]
        delegated.append({"delegation": d, "delegator": d.delegator, "delegates": list(d.delegates.all()),
                          "delegator_rules": holder_rules,
                          "restriction": list(d.data_rules.order_by("pk")),
                          "delegator_holds": UserRole.objects.filter(user=d.delegator, role=role).exists()})
    return {"role": role, "rules": rules, "members": members, "delegated": delegated}

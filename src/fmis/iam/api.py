"""IAM API under /api/v1/iam/: users, groups, roles, grants, data rules, delegations, tokens, passwords
and the permission queries offered to other systems (seed 003 §4.4.1):

- ``GET /me/permissions``: the caller's effective functions and data scopes;
- ``GET /roles/{id}/effective-permissions``: a role's data permissions, own members and delegated;
- ``GET /users/{id}/data-permissions/own`` and ``.../delegated``: a user's non-delegated and
  delegated data permissions, per role;
- ``GET /users/{id}/data-permissions/by-element?dimension=...``: a user's permission on one element.

Lists answer ``{"count": n, "items": [...]}`` (``limit``/``offset``); objects that do not exist or
that the caller does not manage answer 404 alike.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import update_session_auth_hash
from ninja import Field, Query, Router, Schema

from fmis.iam import explain, selectors, services
from fmis.iam.api_auth import requires
from fmis.iam.dimensions import DIMENSIONS
from fmis.iam.models import ApiToken, DataRule, Delegation, Role, User
from fmis.iam.permissions import RoleScope, role_contexts
from fmis.platform.api_schemas import page_schema
from fmis.platform.errors import ValidationFailed
from fmis.platform.listing import api_page

router = Router(tags=["iam"])

MAX_LIMIT = 500


class Paging(Schema):
    q: str = ""
    limit: int = 50
    offset: int = 0



# --- schemas -----------------------------------------------------------------------------------


class RuleIO(Schema):
    dimension: str
    kind: str
    values: list[str] = Field(default_factory=list)


class RuleOut(RuleIO):
    text: str


def _rule_out(r: DataRule) -> dict:
    return {"dimension": r.dimension, "kind": r.kind, "values": list(r.values), "text": str(r)}


def _rules_in(rules: list[RuleIO]) -> list[services.RuleInput]:
    return [services.RuleInput(r.dimension, r.kind, tuple(r.values)) for r in rules]


class UserOut(Schema):
    id: int
    username: str
    name: str
    user_type: str
    user_type_name: str
    org_type: str
    region_code: str | None
    agency_code: str | None
    bank_code: str | None
    department: str
    manager: str | None
    group_id: int | None
    expires_on: dt.date | None
    status: str
    status_name: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_user_type_name(obj: User) -> str:
        return str(obj.get_user_type_display())

    @staticmethod
    def resolve_status_name(obj: User) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_region_code(obj: User) -> str | None:
        return obj.region.code if obj.region_id else None

    @staticmethod
    def resolve_agency_code(obj: User) -> str | None:
        return obj.agency.code if obj.agency_id else None

    @staticmethod
    def resolve_bank_code(obj: User) -> str | None:
        return obj.bank.code if obj.bank_id else None

    @staticmethod
    def resolve_manager(obj: User) -> str | None:
        return obj.manager.username if obj.manager_id else None


UserPage = page_schema(UserOut, "UserPage")


class UserFilter(Paging):
    status: str = ""
    user_type: str = ""
    org_type: str = ""
    group_id: int | None = None


class UserDataIn(Schema):
    name: str
    user_type: str = User.UserType.NORMAL
    org_type: str = User.OrgType.FINANCE
    region_id: int | None = None
    agency_id: int | None = None
    bank_id: int | None = None
    department: str = ""
    group_id: int | None = None
    expires_on: dt.date | None = None
    note: str = ""

    def to_input(self) -> services.UserInput:
        return services.UserInput(**self.model_dump())


class UserCreateIn(UserDataIn):
    username: str
    password: str
    password_confirm: str


class StatusIn(Schema):
    status: str
    transfer_to: int | None = None


class PasswordIn(Schema):
    password: str
    password_confirm: str


class ChangePasswordIn(Schema):
    old_password: str
    new_password: str
    new_password_confirm: str


class RoleIdsIn(Schema):
    role_ids: list[int]


class RoleCodesOut(Schema):
    roles: list[str]


class RoleOut(Schema):
    id: int
    code: str
    name: str
    group_id: int | None
    manager: str | None
    expires_on: dt.date | None
    status: str
    status_name: str
    effective: bool
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_manager(obj: Role) -> str | None:
        return obj.manager.username if obj.manager_id else None

    @staticmethod
    def resolve_status_name(obj: Role) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_effective(obj: Role) -> bool:
        return obj.is_effective


class RoleDetailOut(RoleOut):
    functions: list[str]
    users: list[str]
    rules: list[RuleOut]

    @staticmethod
    def resolve_functions(obj: Role) -> list[str]:
        return sorted(obj.functions.values_list("code", flat=True))

    @staticmethod
    def resolve_users(obj: Role) -> list[str]:
        return sorted(obj.user_roles.values_list("user__username", flat=True))

    @staticmethod
    def resolve_rules(obj: Role) -> list[dict]:
        return [_rule_out(r) for r in selectors.role_rules(role=obj)]


RolePage = page_schema(RoleOut, "RolePage")


class RoleFilter(Paging):
    status: str = ""
    group_id: int | None = None


class RoleIn(Schema):
    code: str
    name: str
    group_id: int | None = None
    expires_on: dt.date | None = None
    note: str = ""

    def to_input(self) -> services.RoleInput:
        return services.RoleInput(**self.model_dump())


class CodesIn(Schema):
    functions: list[str]


class CodesOut(Schema):
    functions: list[str]


class RulesIn(Schema):
    rules: list[RuleIO]


class RulesOut(Schema):
    rules: list[RuleOut]


class GroupOut(Schema):
    id: int
    name: str
    parent_id: int | None
    note: str


class GroupIn(Schema):
    name: str
    parent_id: int | None = None
    note: str = ""


class DelegationOut(Schema):
    id: int
    delegator: str
    delegates: list[str]
    roles: list[str]
    starts_on: dt.date
    ends_on: dt.date
    note: str
    state: str
    state_name: str
    revoked_at: dt.datetime | None
    rules: list[RuleOut]

    @staticmethod
    def resolve_delegator(obj: Delegation) -> str:
        return obj.delegator.username

    @staticmethod
    def resolve_delegates(obj: Delegation) -> list[str]:
        return [u.username for u in obj.delegates.all()]

    @staticmethod
    def resolve_roles(obj: Delegation) -> list[str]:
        return [r.code for r in obj.roles.all()]

    @staticmethod
    def resolve_state(obj: Delegation) -> str:
        return obj.state()

    @staticmethod
    def resolve_state_name(obj: Delegation) -> str:
        return str(obj.state_label)

    @staticmethod
    def resolve_rules(obj: Delegation) -> list[dict]:
        return [_rule_out(r) for r in obj.data_rules.all()]


DelegationPage = page_schema(DelegationOut, "DelegationPage")


class DelegationFilter(Schema):
    direction: str = ""
    limit: int = 50
    offset: int = 0


class DelegationIn(Schema):
    delegate_ids: list[int]
    role_ids: list[int]
    starts_on: dt.date
    ends_on: dt.date
    note: str = ""
    rules: list[RuleIO] = Field(default_factory=list)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    usable: bool

    @staticmethod
    def resolve_usable(obj: ApiToken) -> bool:
        return obj.is_usable


class TokenCreatedOut(TokenOut):
    token: str


class TokenIn(Schema):
    name: str
    expires_at: dt.datetime | None = None


class OkOut(Schema):
    ok: bool = True


# --- permission documents ---------------------------------------------------------------------


def _scope_doc(scope: RoleScope) -> dict:
    return {
        "role_code": scope.role_code,
        "role_name": scope.role_name,
        "delegated": scope.delegated,
        "delegated_by": scope.delegated_by,
        "starts_on": scope.starts_on.isoformat() if scope.starts_on else None,
        "ends_on": scope.ends_on.isoformat() if scope.ends_on else None,
        "functions": sorted(scope.functions),
        "description": scope.describe(),
        "parts": [
            {"label": label,
             "rules": [{"dimension": r.dimension, "kind": r.kind, "values": list(r.values), "text": r.describe(),
                        "resolved": {"kind": r.resolved(scope.subject).kind,
                                     "values": list(r.resolved(scope.subject).values)}} for r in rules]}
            for label, rules in zip(scope.part_labels, scope.parts, strict=False)
        ],
    }


def _element_doc(scope: RoleScope, dimension: str) -> dict:
    """One role's permission on one element: per restricting part, the codes and subtrees admitted."""
    parts = []
    for label, dims in zip(scope.part_labels, scope.dimension_scopes(), strict=False):
        ds = dims.get(dimension)
        if ds is not None:
            parts.append({"label": label, "values": sorted(ds.exact), "subtrees": list(ds.prefixes)})
    return {"role_code": scope.role_code, "role_name": scope.role_name, "delegated": scope.delegated,
            "delegated_by": scope.delegated_by, "functions": sorted(scope.functions),
            "unrestricted": not parts, "parts": parts}


def _user_doc(user: User) -> dict:
    return {"id": user.pk, "username": user.username, "name": user.name, "user_type": user.user_type,
            "is_superuser": user.is_superuser}


# --- me ---------------------------------------------------------------------------------------


@router.get("/me/permissions", response=dict)
@requires("iam.explain")
def my_permissions(request):
    """The caller's effective functions (with the roles granting each) and each role's data scope."""
    user = request.user
    rows = explain.effective_functions(user)
    return {
        "user": _user_doc(user),
        "unrestricted": user.is_superuser,
        "functions": [{"code": r.code, "name": r.name, "kind": r.kind, "granted_by": r.grant_labels} for r in rows],
        "roles": [_scope_doc(s) for s in role_contexts(user)],
    }


@router.get("/me/can", response=dict)
@requires("iam.explain")
def can_i(request, function: str):
    """May the caller execute `function`? Yes with the granting roles, or no with the reasons."""
    ans = explain.can_i(request.user, function)
    return {"function": ans.code, "name": ans.function_name, "allowed": ans.allowed,
            "granted_by": ans.grant_labels, "reasons": ans.reasons}


@router.post("/me/password", response=OkOut)
@requires("iam.password.change")
def change_password(request, body: ChangePasswordIn):
    services.change_password(user=request.user, old_password=body.old_password, new_password=body.new_password,
                             new_password_confirm=body.new_password_confirm)
    if not getattr(request, "fmis_token_auth", False):
        update_session_auth_hash(request, request.user)
    return {"ok": True}


# --- users ------------------------------------------------------------------------------------


@router.get("/users", response=UserPage)
@requires("iam.user.view")
def list_users(request, filters: Query[UserFilter]):
    qs = selectors.users_for(user=request.user, q=filters.q, status=filters.status, user_type=filters.user_type,
                             org_type=filters.org_type, group_id=filters.group_id)
    return api_page(qs, filters.limit, filters.offset)


@router.get("/users/{user_id}", response=UserOut)
@requires("iam.user.view")
def get_user(request, user_id: int):
    return selectors.user_detail(user=request.user, user_id=user_id)


@router.post("/users", response={201: UserOut})
@requires("iam.user.manage")
def create_user(request, body: UserCreateIn):
    data = services.UserInput(**body.model_dump(exclude={"username", "password", "password_confirm"}))
    user = services.create_user(actor=request.user, username=body.username, password=body.password,
                                password_confirm=body.password_confirm, data=data)
    return 201, user


@router.put("/users/{user_id}", response=UserOut)
@requires("iam.user.manage")
def update_user(request, user_id: int, body: UserDataIn):
    return services.update_user(actor=request.user, user_id=user_id, data=body.to_input())


@router.post("/users/{user_id}/status", response=UserOut)
@requires("iam.user.manage")
def user_status(request, user_id: int, body: StatusIn):
    return services.change_user_status(actor=request.user, user_id=user_id, status=body.status,
                                       transfer_to_id=body.transfer_to)


@router.post("/users/{user_id}/password", response=OkOut)
@requires("iam.user.manage")
def reset_password(request, user_id: int, body: PasswordIn):
    services.reset_password(actor=request.user, user_id=user_id, password=body.password,
                            password_confirm=body.password_confirm)
    return {"ok": True}


@router.delete("/users/{user_id}", response={204: None})
@requires("iam.user.manage")
def delete_user(request, user_id: int, transfer_to: int | None = None):
    services.delete_user(actor=request.user, user_id=user_id, transfer_to_id=transfer_to)
    return 204, None


@router.get("/users/{user_id}/roles", response=RoleCodesOut)
@requires("iam.user.view")
def get_user_roles(request, user_id: int):
    target = selectors.user_detail(user=request.user, user_id=user_id)
    return {"roles": [r.code for r in selectors.user_roles(target=target)]}


@router.put("/users/{user_id}/roles", response=RoleCodesOut)
@requires("iam.role.assign")
def set_user_roles(request, user_id: int, body: RoleIdsIn):
    return {"roles": services.set_user_roles(actor=request.user, user_id=user_id, role_ids=body.role_ids)}


@router.get("/users/{user_id}/data-permissions/own", response=dict)
@requires("iam.explain")
def user_own_data_permissions(request, user_id: int):
    """The user's non-delegated data permissions, per role (scope as that role)."""
    target = selectors.explain_target(user=request.user, user_id=user_id)
    return {"user": _user_doc(target), "unrestricted": target.is_superuser,
            "roles": [_scope_doc(s) for s in role_contexts(target) if not s.delegated]}


@router.get("/users/{user_id}/data-permissions/delegated", response=dict)
@requires("iam.explain")
def user_delegated_data_permissions(request, user_id: int):
    """The user's delegated data permissions in force, per delegated role."""
    target = selectors.explain_target(user=request.user, user_id=user_id)
    return {"user": _user_doc(target), "unrestricted": target.is_superuser,
            "roles": [_scope_doc(s) for s in role_contexts(target) if s.delegated]}


@router.get("/users/{user_id}/data-permissions/by-element", response=dict)
@requires("iam.explain")
def user_data_permissions_by_element(request, user_id: int, dimension: str, function: str = ""):
    """The user's permission on one element (e.g. ``agency``), per role, optionally only the roles that
    grant `function`: the values and subtrees each restricting part admits, or unrestricted."""
    if dimension not in DIMENSIONS:
        raise ValidationFailed("iam.dimension_unknown", f"数据项 {dimension} 不存在", field="dimension")
    target = selectors.explain_target(user=request.user, user_id=user_id)
    contexts = [s for s in role_contexts(target) if not function or function in s.functions]
    return {"user": _user_doc(target), "dimension": dimension, "dimension_name": DIMENSIONS[dimension].name,
            "unrestricted": target.is_superuser, "roles": [_element_doc(s, dimension) for s in contexts]}


# --- groups -----------------------------------------------------------------------------------


@router.get("/groups/{kind}", response=list[GroupOut])
@requires("iam.group.manage")
def list_groups(request, kind: str):
    return selectors.groups(kind=kind)


@router.post("/groups/{kind}", response={201: GroupOut})
@requires("iam.group.manage")
def create_group(request, kind: str, body: GroupIn):
    return 201, services.create_group(actor=request.user, kind=kind, name=body.name, parent_id=body.parent_id,
                                      note=body.note)


@router.put("/groups/{kind}/{group_id}", response=GroupOut)
@requires("iam.group.manage")
def update_group(request, kind: str, group_id: int, body: GroupIn):
    return services.update_group(actor=request.user, kind=kind, group_id=group_id, name=body.name,
                                 parent_id=body.parent_id, note=body.note)


@router.delete("/groups/{kind}/{group_id}", response={204: None})
@requires("iam.group.manage")
def delete_group(request, kind: str, group_id: int):
    services.delete_group(actor=request.user, kind=kind, group_id=group_id)
    return 204, None


# --- roles ------------------------------------------------------------------------------------


@router.get("/roles", response=RolePage)
@requires("iam.role.view")
def list_roles(request, filters: Query[RoleFilter]):
    qs = selectors.roles_for(user=request.user, q=filters.q, status=filters.status, group_id=filters.group_id)
    return api_page(qs, filters.limit, filters.offset)


@router.get("/roles/{role_id}", response=RoleDetailOut)
@requires("iam.role.view")
def get_role(request, role_id: int):
    return selectors.role_detail(user=request.user, role_id=role_id)


@router.post("/roles", response={201: RoleOut})
@requires("iam.role.manage")
def create_role(request, body: RoleIn):
    return 201, services.create_role(actor=request.user, data=body.to_input())


@router.put("/roles/{role_id}", response=RoleOut)
@requires("iam.role.manage")
def update_role(request, role_id: int, body: RoleIn):
    return services.update_role(actor=request.user, role_id=role_id, data=body.to_input())


@router.post("/roles/{role_id}/status", response=RoleOut)
@requires("iam.role.manage")
def role_status(request, role_id: int, body: StatusIn):
    return services.change_role_status(actor=request.user, role_id=role_id, status=body.status)


@router.delete("/roles/{role_id}", response={204: None})
@requires("iam.role.manage")
def delete_role(request, role_id: int):
    services.delete_role(actor=request.user, role_id=role_id)
    return 204, None


@router.put("/roles/{role_id}/functions", response=CodesOut)
@requires("iam.role.grant")
def set_role_functions(request, role_id: int, body: CodesIn):
    return {"functions": services.set_role_functions(actor=request.user, role_id=role_id, codes=body.functions)}


@router.post("/roles/{role_id}/functions/copy-from/{source_id}", response=CodesOut)
@requires("iam.role.grant")
def copy_role_functions(request, role_id: int, source_id: int):
    return {"functions": services.copy_role_functions(actor=request.user, source_role_id=source_id,
                                                      target_role_id=role_id)}


@router.get("/roles/{role_id}/rules", response=RulesOut)
@requires("iam.role.view")
def get_role_rules(request, role_id: int):
    role = selectors.role_detail(user=request.user, role_id=role_id)
    return {"rules": [_rule_out(r) for r in selectors.role_rules(role=role)]}


@router.put("/roles/{role_id}/rules", response=RulesOut)
@requires("iam.scope.manage")
def set_role_rules(request, role_id: int, body: RulesIn):
    rules = services.set_role_rules(actor=request.user, role_id=role_id, rules=_rules_in(body.rules))
    return {"rules": [_rule_out(r) for r in rules]}


@router.post("/roles/{role_id}/rules/copy-from/{source_id}", response=RulesOut)
@requires("iam.scope.manage")
def copy_role_rules(request, role_id: int, source_id: int):
    rules = services.copy_role_rules(actor=request.user, source_role_id=source_id, target_role_id=role_id)
    return {"rules": [_rule_out(r) for r in rules]}


@router.get("/roles/{role_id}/users/{user_id}/rules", response=RulesOut)
@requires("iam.role.view")
def get_user_role_rules(request, role_id: int, user_id: int):
    role = selectors.role_detail(user=request.user, role_id=role_id)
    return {"rules": [_rule_out(r) for r in selectors.user_role_rules(role=role, user_id=user_id)]}


@router.put("/roles/{role_id}/users/{user_id}/rules", response=RulesOut)
@requires("iam.scope.manage")
def set_user_role_rules(request, role_id: int, user_id: int, body: RulesIn):
    rules = services.set_user_role_rules(actor=request.user, role_id=role_id, user_id=user_id,
                                         rules=_rules_in(body.rules))
    return {"rules": [_rule_out(r) for r in rules]}


@router.post("/roles/{role_id}/users/{user_id}/rules/copy-to/{target_user_id}", response=RulesOut)
@requires("iam.scope.manage")
def copy_user_role_rules(request, role_id: int, user_id: int, target_user_id: int):
    rules = services.copy_user_role_rules(actor=request.user, role_id=role_id, source_user_id=user_id,
                                          target_user_id=target_user_id)
    return {"rules": [_rule_out(r) for r in rules]}


@router.get("/roles/{role_id}/effective-permissions", response=dict)
@requires("iam.role.view")
def role_effective_permissions(request, role_id: int):
    """A role's effective data permissions: its rules, each member's scope as the role (non-delegated),
    and each delegation of the role in force (delegated)."""
    doc = selectors.role_effective_scopes(user=request.user, role_id=role_id)
    role = doc["role"]
    return {
        "role": {"id": role.pk, "code": role.code, "name": role.name, "effective": role.is_effective},
        "rules": [_rule_out(r) for r in doc["rules"]],
        "members": [{"user": m["user"].username, "user_rules": [_rule_out(r) for r in m["rules"]]}
                    for m in doc["members"]],
        "delegated": [{"delegation_id": d["delegation"].pk, "delegator": d["delegator"].username,
                       "delegates": [u.username for u in d["delegates"]],
                       "starts_on": d["delegation"].starts_on.isoformat(),
                       "ends_on": d["delegation"].ends_on.isoformat(),
                       "delegator_holds_role": d["delegator_holds"],
                       "delegator_rules": [_rule_out(r) for r in d["delegator_rules"]],
                       "restriction": [_rule_out(r) for r in d["restriction"]]} for d in doc["delegated"]],
    }


# --- delegations ------------------------------------------------------------------------------


@router.get("/delegations", response=DelegationPage)
@requires("iam.delegation.manage")
def list_delegations(request, filters: Query[DelegationFilter]):
    qs = selectors.delegations_for(user=request.user, direction=filters.direction)
    limit = max(1, min(filters.limit, MAX_LIMIT))
    offset = max(0, filters.offset)
    return {"count": qs.count(), "items": list(qs[offset:offset + limit])}


@router.get("/delegations/{delegation_id}", response=DelegationOut)
@requires("iam.delegation.manage")
def get_delegation(request, delegation_id: int):
    return selectors.delegation_detail(user=request.user, delegation_id=delegation_id)


@router.post("/delegations", response={201: DelegationOut})
@requires("iam.delegation.manage")
def create_delegation(request, body: DelegationIn):
    d = services.create_delegation(actor=request.user, delegate_ids=body.delegate_ids, role_ids=body.role_ids,
                                   starts_on=body.starts_on, ends_on=body.ends_on, note=body.note,
                                   rules=_rules_in(body.rules))
    return 201, selectors.delegation_detail(user=request.user, delegation_id=d.pk)


@router.post("/delegations/{delegation_id}/revoke", response=DelegationOut)
@requires("iam.delegation.manage")
def revoke_delegation(request, delegation_id: int):
    d = services.revoke_delegation(actor=request.user, delegation_id=delegation_id)
    return selectors.delegation_detail(user=request.user, delegation_id=d.pk)


# --- API tokens -------------------------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut])
@requires("iam.token.manage")
def list_tokens(request):
    return list(selectors.tokens_for(user=request.user))


@router.post("/tokens", response={201: TokenCreatedOut})
@requires("iam.token.manage")
def create_token(request, body: TokenIn):
    """The raw token is in this answer only; it is stored hashed and cannot be shown again."""
    token, raw = services.create_token(user=request.user, name=body.name, expires_at=body.expires_at)
    token.token = raw
    return 201, token


@router.post("/tokens/{token_id}/revoke", response=TokenOut)
@requires("iam.token.manage")
def revoke_token(request, token_id: int):
    return services.revoke_token(user=request.user, token_id=token_id)

"""Every write of users, groups, roles, grants, data rules, delegations, tokens and passwords.

Management rules (seed 003 §4.4): administrators (superusers and admin users) manage only the
users and roles they created (``manager``); the superuser may manage every user and role. A user
may not be given a type above its manager's level or the actor's; users and roles are assigned to
each other only when they have the same manager; an admin user grants only functions it holds
through its own roles. Each function here is one transaction, checks the function permission
first, locks the rows it decides on and writes an audit record.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from fmis.iam import tokens
from fmis.iam.dimensions import DIMENSIONS
from fmis.iam.models import (
    ApiToken,
    DataRule,
    Delegation,
    Function,
    Role,
    RoleFunction,
    RoleGroup,
    Status,
    User,
    UserGroup,
    UserRole,
    today,
)
from fmis.iam.permissions import DYNAMIC_KINDS, clear_cache, own_function_codes, require
from fmis.platform import audit
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord

UT = User.UserType
LEVEL = {UT.NORMAL: 0, UT.ADMIN: 1, UT.SUPER: 2}


# ---------------------------------------------------------------------------------------------
# shared checks


def _require_administrator(actor: User) -> None:
    if actor.user_type == UT.NORMAL:
        raise PermissionDenied("iam.not_administrator", "普通用户不能创建或管理用户、角色和权限")


def _managed_users(actor: User, function: str) -> QuerySet[User]:
    qs = User.objects.restrict(actor, function)
    return qs if actor.is_superuser else qs.filter(manager=actor)


def _managed_roles(actor: User, function: str) -> QuerySet[Role]:
    qs = Role.objects.restrict(actor, function)
    return qs if actor.is_superuser else qs.filter(manager=actor)


def _lock_user(actor: User, user_id: int, function: str) -> User:
    """The user `user_id`, locked, if `actor` manages it; NotFound otherwise (never reveal it exists)."""
    require(actor, function)
    _require_administrator(actor)
    user = _managed_users(actor, function).select_for_update(of=("self",)).filter(pk=user_id).first()
    if user is None:
        raise NotFound("iam.user_not_found", "用户不存在或不由您管理")
    return user


def _lock_role(actor: User, role_id: int, function: str) -> Role:
    require(actor, function)
    _require_administrator(actor)
    role = _managed_roles(actor, function).select_for_update(of=("self",)).filter(pk=role_id).first()
    if role is None:
        raise NotFound("iam.role_not_found", "角色不存在或不由您管理")
    return role


def _refuse_builtin(user: User) -> None:
    if user.is_builtin:
        raise PermissionDenied("iam.builtin_user", f"系统预设用户 {user.username} 不能修改或删除")


def _refuse_self(actor: User, user: User, what: str) -> None:
    if actor.pk == user.pk:
        raise PermissionDenied("iam.self_management", f"不能{what}自己")


def _check_expiry_for_active(expires_on: dt.date | None, field: str = "expires_on") -> None:
    if expires_on is not None and expires_on <= today():
        raise ValidationFailed("iam.expiry_not_future", "过期日期须晚于今天（或留空表示永不过期）", field=field)


def _password_errors(password: str, confirm: str, user: User, field: str = "password") -> None:
    if not password:
        raise ValidationFailed("iam.password_empty", "密码不能为空", field=field)
    if password != confirm:
        raise ValidationFailed("iam.password_mismatch", "两次输入的密码不一致", field=f"{field}_confirm")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed("iam.password_policy", "密码不符合安全要求：" + "；".join(exc.messages),
                               field=field, errors=[{"field": field, "message": m} for m in exc.messages]) from None


_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}$")


def _identifier(value: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if not _IDENTIFIER_RE.match(value):
        raise ValidationFailed(f"iam.{field}_invalid",
                               f"{label}须为 1–50 位字母、数字、下划线、点或连字符，且以字母或数字开头", field=field)
    return value


def _group_or_none(model, group_id: int | None, field: str = "group"):
    if group_id is None:
        return None
    group = model.objects.filter(pk=group_id).first()
    if group is None:
        raise ValidationFailed("iam.group_not_found", "所选类别不存在", field=field)
    return group


# ---------------------------------------------------------------------------------------------
# user groups and role groups (two independent trees, each with one root)


GROUP_MODELS = {"user": UserGroup, "role": RoleGroup}


def _group_model(kind: str):
    try:
        return GROUP_MODELS[kind]
    except KeyError:
        raise ValidationFailed("iam.group_kind", "类别种类只能是 user 或 role", field="kind") from None


def _lock_group_tree(model) -> None:
    """Serialise edits of one tree so that a move can never create a cycle."""
    list(model.objects.select_for_update().values_list("pk", flat=True))


def create_group(*, actor: User, kind: str, name: str, parent_id: int | None = None, note: str = ""):
    model = _group_model(kind)
    require(actor, "iam.group.manage")
    _require_administrator(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("iam.group_name_required", "名称不能为空", field="name")
    with transaction.atomic():
        _lock_group_tree(model)
        parent = _group_or_none(model, parent_id, "parent")
        if parent is None and model.objects.filter(parent__isnull=True).exists():
            raise ValidationFailed("iam.group_root_exists", "已有根结点：新类别须指定上级", field="parent")
        try:
            with transaction.atomic():
                group = model.objects.create(name=name, parent=parent, note=note or "")
        except IntegrityError:
            raise Conflict("iam.group_name_taken", f"同一上级下已有名为“{name}”的类别", field="name") from None
        audit.record(actor, f"iam.{kind}_group.create", group)
    return group


def update_group(*, actor: User, kind: str, group_id: int, name: str, parent_id: int | None, note: str = ""):
    model = _group_model(kind)
    require(actor, "iam.group.manage")
    _require_administrator(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("iam.group_name_required", "名称不能为空", field="name")
    with transaction.atomic():
        _lock_group_tree(model)
        group = model.objects.filter(pk=group_id).first()
        if group is None:
            raise NotFound("iam.group_not_found", "类别不存在")
        before = audit.snapshot(group)
        parent = _group_or_none(model, parent_id, "parent")
        if (parent is None) != (group.parent_id is None):
            raise ValidationFailed("iam.group_root_fixed", "根结点不能移到其他类别下，其他类别也不能成为根结点",
                                   field="parent")
        node = parent
        while node is not None:
            if node.pk == group.pk:
                raise ValidationFailed("iam.group_cycle", "不能把类别移到它自己或它的下级之下", field="parent")
            node = node.parent
        group.name, group.parent, group.note = name, parent, note or ""
        try:
            with transaction.atomic():
                group.save()
        except IntegrityError:
            raise Conflict("iam.group_name_taken", f"同一上级下已有名为“{name}”的类别", field="name") from None
        audit.record(actor, f"iam.{kind}_group.update", group, before=before)
    return group


def delete_group(*, actor: User, kind: str, group_id: int) -> None:
    model = _group_model(kind)
    require(actor, "iam.group.manage")
    _require_administrator(actor)
    with transaction.atomic():
        _lock_group_tree(model)
        group = model.objects.filter(pk=group_id).first()
        if group is None:
            raise NotFound("iam.group_not_found", "类别不存在")
        if group.children.exists():
            raise Conflict("iam.group_has_children", f"类别“{group.name}”下还有下级类别，不能删除")
        members = group.users if kind == "user" else group.roles
        if members.exists():
            raise Conflict("iam.group_in_use", f"类别“{group.name}”下还有{'用户' if kind == 'user' else '角色'}，不能删除")
        before = audit.snapshot(group)
        audit.record(actor, f"iam.{kind}_group.delete", None, before=before, object_type=group._meta.label_lower,
                     object_id=str(group.pk), object_repr=str(group))
        group.delete()


# ---------------------------------------------------------------------------------------------
# users


@dataclass(frozen=True)
class UserInput:
    """The editable attributes of a user (用户属性)."""

    name: str
    user_type: str = UT.NORMAL
    org_type: str = User.OrgType.FINANCE
    region_id: int | None = None
    agency_id: int | None = None
    bank_id: int | None = None
    department: str = ""
    group_id: int | None = None
    expires_on: dt.date | None = None
    note: str = ""


def _apply_user_input(user: User, data: UserInput) -> None:
    from fmis.orgs.models import Agency, Bank, Region

    name = (data.name or "").strip()
    if not name:
        raise ValidationFailed("iam.user_name_required", "用户名称不能为空", field="name")
    if data.org_type not in User.OrgType.values:
        raise ValidationFailed("iam.org_type_invalid", "机构类型不正确", field="org_type")
    if data.user_type not in UT.values:
        raise ValidationFailed("iam.user_type_invalid", "用户类型不正确", field="user_type")
    region = agency = bank = None
    if data.region_id is not None:
        region = Region.objects.filter(pk=data.region_id).first()
        if region is None:
            raise ValidationFailed("iam.region_not_found", "所选财政区划不存在", field="region")
    if data.agency_id is not None:
        agency = Agency.objects.filter(pk=data.agency_id).first()
        if agency is None:
            raise ValidationFailed("iam.agency_not_found", "所选预算单位不存在", field="agency")
    if data.bank_id is not None:
        bank = Bank.objects.filter(pk=data.bank_id).first()
        if bank is None:
            raise ValidationFailed("iam.bank_not_found", "所选代理银行不存在", field="bank")
    if data.org_type == User.OrgType.AGENCY and agency is None:
        raise ValidationFailed("iam.agency_required", "机构类型为预算单位时须选择所属预算单位", field="agency")
    if data.org_type == User.OrgType.BANK and bank is None:
        raise ValidationFailed("iam.bank_required", "机构类型为代理银行时须选择所属银行", field="bank")
    if agency is not None and region is None:
        region = agency.region
    user.name = name
    user.org_type = data.org_type
    user.region, user.agency, user.bank = region, agency, bank
    user.department = (data.department or "").strip()
    user.group = _group_or_none(UserGroup, data.group_id)
    user.expires_on = data.expires_on
    user.note = data.note or ""


def create_user(*, actor: User, username: str, password: str, password_confirm: str, data: UserInput) -> User:
    """New user managed by `actor`; its type may not exceed the actor's."""
    require(actor, "iam.user.manage")
    _require_administrator(actor)
    username = _identifier(username, "username", "用户编码")
    user = User(username=username, manager=actor, status=Status.ACTIVE)
    _apply_user_input(user, data)
    if LEVEL[data.user_type] > LEVEL[actor.user_type]:
        raise PermissionDenied("iam.type_above_own", "不能创建级别高于自己的用户（管理用户不能创建超级用户）",
                               field="user_type")
    _check_expiry_for_active(data.expires_on)
    user.user_type = data.user_type
    _password_errors(password, password_confirm, user)
    user.set_password(password)
    with transaction.atomic():
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            raise Conflict("iam.username_taken", f"用户编码 {username} 已被使用", field="username") from None
        _require_in_scope(actor, user)
        audit.record(actor, "iam.user.create", user)
    return user


def _require_in_scope(actor: User, user: User) -> None:
    """The user's region, agency and bank must lie in the actor's data scope for user maintenance."""
    if not _managed_users(actor, "iam.user.manage").filter(pk=user.pk).exists():
        raise PermissionDenied("iam.user_out_of_scope", "用户所属的区划、单位或银行不在您的数据权限范围内",
                               field="agency")


def _check_type_change(actor: User, user: User, new_type: str) -> None:
    if new_type not in LEVEL:
        raise ValidationFailed("iam.user_type_invalid", "用户类型不正确", field="user_type")
    old = user.user_type
    if new_type == old:
        return
    _refuse_self(actor, user, "修改")
    ceiling = LEVEL[actor.user_type]
    if user.manager is not None:
        ceiling = min(ceiling, LEVEL[user.manager.user_type])
    if LEVEL[new_type] > ceiling:
        raise PermissionDenied("iam.upgrade_beyond_manager",
                               "用户类型不能高于其管理者（及您自己）的级别", field="user_type")
    manages_users = User.objects.filter(manager=user)
    if LEVEL[new_type] > LEVEL[old]:
        if old == UT.ADMIN and manages_users.exists():
            raise Conflict("iam.upgrade_has_subordinates", "该管理用户已创建了其他用户，不能升级", field="user_type")
        return
    # downgrade
    if old == UT.ADMIN and manages_users.exists():
        raise Conflict("iam.downgrade_has_subordinates", "该管理用户已创建了其他用户，不能降级", field="user_type")
    if old == UT.SUPER and manages_users.filter(user_type=UT.SUPER).exists():
        raise Conflict("iam.downgrade_manages_superusers", "该用户是超级用户的管理者，不能改为管理用户或普通用户",
                       field="user_type")
    if new_type == UT.NORMAL and (manages_users.exists() or Role.objects.filter(manager=user).exists()):
        raise Conflict("iam.downgrade_manages_others", "该用户管理着其他用户或角色，不能改为普通用户",
                       field="user_type")


def update_user(*, actor: User, user_id: int, data: UserInput) -> User:
    """Edit a user's attributes, including an upgrade or downgrade of its type (only by its manager)."""
    with transaction.atomic():
        user = _lock_user(actor, user_id, "iam.user.manage")
        _refuse_builtin(user)
        before = audit.snapshot(user)
        _check_type_change(actor, user, data.user_type)
        if data.expires_on != user.expires_on and user.status == Status.ACTIVE:
            _check_expiry_for_active(data.expires_on)
        _apply_user_input(user, data)
        user.user_type = data.user_type
        user.save()
        _require_in_scope(actor, user)
        audit.record(actor, "iam.user.update", user, before=before)
    return user


def reset_password(*, actor: User, user_id: int, password: str, password_confirm: str) -> None:
    """The manager sets a new password for a user it manages."""
    with transaction.atomic():
        user = _lock_user(actor, user_id, "iam.user.manage")
        _refuse_builtin(user)
        _password_errors(password, password_confirm, user)
        user.set_password(password)
        user.failed_logins, user.locked_until = 0, None
        user.save(update_fields=["password", "failed_logins", "locked_until", "updated_at"])
        audit.record(actor, "iam.user.reset_password", user, after={"password": "（已重置）"})


def change_password(*, user: User, old_password: str, new_password: str, new_password_confirm: str) -> None:
    """A user changes its own password; the new one must pass AUTH_PASSWORD_VALIDATORS."""
    require(user, "iam.password.change")
    if not user.check_password(old_password or ""):
        raise ValidationFailed("iam.old_password_wrong", "原密码不正确", field="old_password")
    if new_password == old_password:
        raise ValidationFailed("iam.password_unchanged", "新密码不能与原密码相同", field="new_password")
    _password_errors(new_password, new_password_confirm, user, field="new_password")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(new_password)
        locked.save(update_fields=["password", "updated_at"])
        user.password = locked.password
        audit.record(user, "iam.user.change_password", locked, after={"password": "（已修改）"})


def _transfer_subordinates(actor: User, user: User, transfer_to_id: int | None) -> User | None:
    """Hand the users and roles `user` manages to `transfer_to_id`: a user created by `actor` with the
    same type as `user` (seed 003: 停用/删除时的下属用户移交)."""
    users = User.objects.filter(manager=user)
    roles = Role.objects.filter(manager=user)
    if not users.exists() and not roles.exists():
        return None
    if transfer_to_id is None:
        raise ValidationFailed("iam.transfer_required",
                               f"用户 {user.username} 管理着其他用户或角色，须指定移交给哪个用户", field="transfer_to")
    to = (User.objects.select_for_update().filter(pk=transfer_to_id, manager=actor, user_type=user.user_type)
          .exclude(pk=user.pk).exclude(status=Status.INVALID).first())
    if to is None:
        raise ValidationFailed("iam.transfer_target_invalid",
                               f"移交对象须是由您创建、类型为{user.get_user_type_display()}且未停用的其他用户",
                               field="transfer_to")
    moved_users = sorted(users.values_list("pk", flat=True))
    moved_roles = sorted(roles.values_list("pk", flat=True))
    users.update(manager=to)
    roles.update(manager=to)
    audit.record(actor, "iam.user.transfer_subordinates", user,
                 before={"manager": user.pk, "users": moved_users, "roles": moved_roles},
                 after={"manager": to.pk, "users": moved_users, "roles": moved_roles})
    return to


def change_user_status(*, actor: User, user_id: int, status: str, transfer_to_id: int | None = None) -> User:
    """使用 → 暂停 (suspend), 使用/暂停 → 无效 (disable, subordinates transferred), 暂停/无效 → 使用
    (enable, only while the expiry date is after today)."""
    if status not in Status.values:
        raise ValidationFailed("iam.status_invalid", "状态不正确", field="status")
    with transaction.atomic():
        user = _lock_user(actor, user_id, "iam.user.manage")
        _refuse_builtin(user)
        _refuse_self(actor, user, "停用、暂停或启用")
        before = audit.snapshot(user)
        _set_status(user, status, "用户")
        if status == Status.INVALID:
            _transfer_subordinates(actor, user, transfer_to_id)
        User.objects.filter(pk=user.pk).update(status=status, updated_at=timezone.now())
        user.refresh_from_db()
        audit.record(actor, f"iam.user.{_STATUS_ACTION[status]}", user, before=before)
    return user


_STATUS_ACTION = {Status.ACTIVE: "enable", Status.SUSPENDED: "suspend", Status.INVALID: "disable"}


def _set_status(obj, status: str, what: str) -> None:
    """Validate a status transition of a locked user or role (the caller writes it)."""
    current = obj.status
    if status == current:
        raise Conflict("iam.status_unchanged", f"该{what}已是“{Status(status).label}”状态")
    if status == Status.SUSPENDED and current != Status.ACTIVE:
        raise Conflict("iam.suspend_not_active", f"只有“使用”状态的{what}可以暂停")
    if status == Status.ACTIVE and obj.expires_on is not None and obj.expires_on <= today():
        raise Conflict("iam.enable_expired",
                       f"该{what}的过期日期 {obj.expires_on:%Y-%m-%d} 不晚于今天，须先把过期日期改到今天以后才能启用",
                       field="expires_on")


def delete_user(*, actor: User, user_id: int, transfer_to_id: int | None = None) -> None:
    """Only by its manager, and only if the user has done no business (no audit record as actor)."""
    with transaction.atomic():
        user = _lock_user(actor, user_id, "iam.user.manage")
        _refuse_builtin(user)
        _refuse_self(actor, user, "删除")
        if AuditRecord.objects.filter(actor_id=user.pk).exists():
            raise Conflict("iam.user_has_business", f"用户 {user.username} 已发生业务，不能删除，可改为停用")
        _transfer_subordinates(actor, user, transfer_to_id)
        before = audit.snapshot(user)
        before["roles"] = sorted(user.user_roles.values_list("role__code", flat=True))
        audit.record(actor, "iam.user.delete", None, before=before, object_type=user._meta.label_lower,
                     object_id=str(user.pk), object_repr=str(user))
        user.delete()


# ---------------------------------------------------------------------------------------------
# roles


@dataclass(frozen=True)
class RoleInput:
    code: str
    name: str
    group_id: int | None = None
    expires_on: dt.date | None = None
    note: str = ""


def _apply_role_input(role: Role, data: RoleInput) -> None:
    code = _identifier(data.code, "code", "角色编码")
    name = (data.name or "").strip()
    if not name:
        raise ValidationFailed("iam.role_name_required", "角色名称不能为空", field="name")
    role.code, role.name = code, name
    role.group = _group_or_none(RoleGroup, data.group_id)
    role.expires_on = data.expires_on
    role.note = data.note or ""


def create_role(*, actor: User, data: RoleInput) -> Role:
    require(actor, "iam.role.manage")
    _require_administrator(actor)
    _check_expiry_for_active(data.expires_on)
    role = Role(manager=actor, status=Status.ACTIVE)
    _apply_role_input(role, data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                role.save(force_insert=True)
        except IntegrityError:
            raise Conflict("iam.role_code_taken", f"角色编码 {role.code} 已被使用", field="code") from None
        audit.record(actor, "iam.role.create", role)
    return role


def update_role(*, actor: User, role_id: int, data: RoleInput) -> Role:
    with transaction.atomic():
        role = _lock_role(actor, role_id, "iam.role.manage")
        before = audit.snapshot(role)
        if data.expires_on != role.expires_on and role.status == Status.ACTIVE:
            _check_expiry_for_active(data.expires_on)
        _apply_role_input(role, data)
        try:
            with transaction.atomic():
                role.save()
        except IntegrityError:
            raise Conflict("iam.role_code_taken", f"角色编码 {role.code} 已被使用", field="code") from None
        audit.record(actor, "iam.role.update", role, before=before)
    return role


def change_role_status(*, actor: User, role_id: int, status: str) -> Role:
    """A suspended or invalid role keeps its assignments and delegations, which stop counting."""
    if status not in Status.values:
        raise ValidationFailed("iam.status_invalid", "状态不正确", field="status")
    with transaction.atomic():
        role = _lock_role(actor, role_id, "iam.role.manage")
        before = audit.snapshot(role)
        _set_status(role, status, "角色")
        Role.objects.filter(pk=role.pk).update(status=status, updated_at=timezone.now())
        role.refresh_from_db()
        audit.record(actor, f"iam.role.{_STATUS_ACTION[status]}", role, before=before)
    return role


def delete_role(*, actor: User, role_id: int) -> None:
    """Deletes the role with its assignments, functions, data rules (role and role-user) and removes it
    from delegations (a delegation left without roles is deleted)."""
    with transaction.atomic():
        role = _lock_role(actor, role_id, "iam.role.manage")
        before = audit.snapshot(role)
        before["functions"] = sorted(role.functions.values_list("code", flat=True))
        before["users"] = sorted(role.user_roles.values_list("user__username", flat=True))
        before["rules"] = [str(r) for r in role.data_rules.order_by("pk")]
        delegation_ids = list(role.delegations.values_list("pk", flat=True))
        audit.record(actor, "iam.role.delete", None, before=before, object_type=role._meta.label_lower,
                     object_id=str(role.pk), object_repr=str(role))
        role.delete()
        emptied = Delegation.objects.filter(pk__in=delegation_ids, roles__isnull=True)
        for d in emptied:
            audit.record(actor, "iam.delegation.delete", None, before=audit.snapshot(d),
                         object_type=d._meta.label_lower, object_id=str(d.pk), object_repr=str(d))
        emptied.delete()


# ---------------------------------------------------------------------------------------------
# function permissions of a role


def _set_functions(actor: User, role: Role, wanted: set[str]) -> set[str]:
    known = set(Function.objects.filter(code__in=wanted, is_active=True).values_list("code", flat=True))
    unknown = wanted - known
    if unknown:
        raise ValidationFailed("iam.function_unknown", "功能不存在或已停用：" + "、".join(sorted(unknown)),
                               field="functions")
    grantable = own_function_codes(actor)
    current = set(role.functions.values_list("code", flat=True))
    add = wanted - current
    beyond = add - grantable
    if beyond:
        raise PermissionDenied("iam.grant_beyond_own", "不能授予自己不具有的功能：" + "、".join(sorted(beyond)),
                               field="functions")
    # an administrator's edit touches only the functions it holds; others on the role stay as they are
    remove = (current - wanted) & grantable
    if remove:
        RoleFunction.objects.filter(role=role, function__code__in=remove).delete()
    if add:
        fns = Function.objects.filter(code__in=add)
        RoleFunction.objects.bulk_create([RoleFunction(role=role, function=f) for f in fns], ignore_conflicts=True)
    return (current - remove) | add


def set_role_functions(*, actor: User, role_id: int, codes: Iterable[str]) -> list[str]:
    """Grant exactly `codes` (within what the actor holds; superuser: any function)."""
    with transaction.atomic():
        role = _lock_role(actor, role_id, "iam.role.grant")
        before = sorted(role.functions.values_list("code", flat=True))
        result = sorted(_set_functions(actor, role, {c.strip() for c in codes if c and c.strip()}))
        if result != before:
            audit.record(actor, "iam.role.set_functions", role, before={"functions": before},
                         after={"functions": result})
    return result


def copy_role_functions(*, actor: User, source_role_id: int, target_role_id: int) -> list[str]:
    """角色功能权限复制: the target gets the source's functions (replacing its own)."""
    if source_role_id == target_role_id:
        raise ValidationFailed("iam.copy_same_role", "源角色与目标角色不能相同", field="target")
    with transaction.atomic():
        target = _lock_role(actor, target_role_id, "iam.role.grant")
        source = _managed_roles(actor, "iam.role.grant").filter(pk=source_role_id).first()
        if source is None:
            raise NotFound("iam.role_not_found", "源角色不存在或不由您管理")
        before = sorted(target.functions.values_list("code", flat=True))
        result = sorted(_set_functions(actor, target, set(source.functions.values_list("code", flat=True))))
        audit.record(actor, "iam.role.copy_functions", target, before={"functions": before},
                     after={"functions": result, "source": source.code})
    return result


# ---------------------------------------------------------------------------------------------
# data rules


@dataclass(frozen=True)
class RuleInput:
    """One range rule: a dimension (fmis.iam.dimensions), a kind (DataRule.Kind) and values."""

    dimension: str
    kind: str
    values: tuple[str, ...] = ()


def validate_rules(rules: Iterable[RuleInput]) -> list[RuleInput]:
    """Normalised rules, or ValidationFailed listing every bad line (1-based)."""
    out: list[RuleInput] = []
    errors: list[dict] = []
    for n, r in enumerate(rules, start=1):
        dim = (r.dimension or "").strip()
        kind = (r.kind or "").strip()
        values = tuple(dict.fromkeys(v.strip() for v in (r.values or ()) if v and v.strip()))
        if dim not in DIMENSIONS:
            errors.append({"line": n, "field": "dimension", "message": f"第 {n} 条：数据项 {dim or '（空）'} 不存在"})
            continue
        if kind not in DataRule.Kind.values:
            errors.append({"line": n, "field": "kind", "message": f"第 {n} 条：规则类型 {kind or '（空）'} 不正确"})
            continue
        if kind in DYNAMIC_KINDS:
            if DYNAMIC_KINDS[kind] != dim:
                errors.append({"line": n, "field": "kind", "message":
                               f"第 {n} 条：“{DataRule.Kind(kind).label}”只能用于{DIMENSIONS[DYNAMIC_KINDS[kind]].name}"})
                continue
            if values:
                errors.append({"line": n, "field": "values", "message":
                               f"第 {n} 条：“{DataRule.Kind(kind).label}”不需要填写值"})
                continue
        else:
            if not values:
                errors.append({"line": n, "field": "values", "message": f"第 {n} 条：须至少填写一个值"})
                continue
            bad = [v for v in values if not v.replace(".", "").replace("-", "").isalnum() or len(v) > 60]
            if bad:
                errors.append({"line": n, "field": "values", "message":
                               f"第 {n} 条：值 {'、'.join(bad)} 不是有效的编码"})
                continue
        out.append(RuleInput(dim, kind, values))
    if errors:
        raise ValidationFailed("iam.rules_invalid", "数据权限规则有误：" + "；".join(e["message"] for e in errors),
                               errors=errors)
    return out


def _rule_texts(qs) -> list[str]:
    return [str(r) for r in qs.order_by("pk")]


def _replace_rules(owner_filter: dict, rules: Sequence[RuleInput]) -> None:
    DataRule.objects.filter(**owner_filter).delete()
    DataRule.objects.bulk_create([DataRule(dimension=r.dimension, kind=r.kind, values=list(r.values), **owner_filter)
                                  for r in rules])


def set_role_rules(*, actor: User, role_id: int, rules: Iterable[RuleInput]) -> list[DataRule]:
    """The role's data scope: the widest any user of the role gets through it."""
    rules = validate_rules(rules)
    with transaction.atomic():
        role = _lock_role(actor, role_id, "iam.scope.manage")
        owner = {"role": role, "user": None, "delegation": None}
        before = _rule_texts(DataRule.objects.filter(**owner))
        _replace_rules(owner, rules)
        audit.record(actor, "iam.role.set_rules", role, before={"rules": before},
                     after={"rules": _rule_texts(DataRule.objects.filter(**owner))})
        return list(DataRule.objects.filter(**owner).order_by("pk"))


def _assigned_user(role: Role, user_id: int) -> User:
    user = User.objects.filter(pk=user_id, user_roles__role=role).first()
    if user is None:
        raise NotFound("iam.user_not_in_role", "该用户不属于此角色")
    return user


def set_user_role_rules(*, actor: User, role_id: int, user_id: int, rules: Iterable[RuleInput]) -> list[DataRule]:
    """The data scope of a user within a role (intersected with the role's); no rules = the role's scope."""
    rules = validate_rules(rules)
    with transaction.atomic():
        role = _lock_role(actor, role_id, "iam.scope.manage")
        user = _assigned_user(role, user_id)
        owner = {"role": role, "user": user, "delegation": None}
        before = _rule_texts(DataRule.objects.filter(**owner))
        _replace_rules(owner, rules)
        audit.record(actor, "iam.role.set_user_rules", role, object_repr=f"{role} / {user}",
                     before={"user": user.username, "rules": before},
                     after={"user": user.username, "rules": _rule_texts(DataRule.objects.filter(**owner))})
        return list(DataRule.objects.filter(**owner).order_by("pk"))


def copy_role_rules(*, actor: User, source_role_id: int, target_role_id: int) -> list[DataRule]:
    """Copy a role's data rules to another role; the copy overwrites the target's rules."""
    if source_role_id == target_role_id:
        raise ValidationFailed("iam.copy_same_role", "源角色与目标角色不能相同", field="target")
    with transaction.atomic():
        target = _lock_role(actor, target_role_id, "iam.scope.manage")
        source = _managed_roles(actor, "iam.scope.manage").filter(pk=source_role_id).first()
        if source is None:
            raise NotFound("iam.role_not_found", "源角色不存在或不由您管理")
        src = [RuleInput(r.dimension, r.kind, tuple(r.values))
               for r in DataRule.objects.filter(role=source, user=None, delegation=None).order_by("pk")]
        owner = {"role": target, "user": None, "delegation": None}
        before = _rule_texts(DataRule.objects.filter(**owner))
        _replace_rules(owner, src)
        audit.record(actor, "iam.role.copy_rules", target, before={"rules": before},
                     after={"rules": _rule_texts(DataRule.objects.filter(**owner)), "source": source.code})
        return list(DataRule.objects.filter(**owner).order_by("pk"))


def copy_user_role_rules(*, actor: User, role_id: int, source_user_id: int, target_user_id: int) -> list[DataRule]:
    """Copy one user's data rules within a role to another user of the same role (overwrites)."""
    if source_user_id == target_user_id:
        raise ValidationFailed("iam.copy_same_user", "源用户与目标用户不能相同", field="target")
    with transaction.atomic():
        role = _lock_role(actor, role_id, "iam.scope.manage")
        source = _assigned_user(role, source_user_id)
        target = _assigned_user(role, target_user_id)
        src = [RuleInput(r.dimension, r.kind, tuple(r.values))
               for r in DataRule.objects.filter(role=role, user=source).order_by("pk")]
        owner = {"role": role, "user": target, "delegation": None}
        before = _rule_texts(DataRule.objects.filter(**owner))
        _replace_rules(owner, src)
        audit.record(actor, "iam.role.copy_user_rules", role, object_repr=f"{role} / {target}",
                     before={"user": target.username, "rules": before},
                     after={"user": target.username, "source_user": source.username,
                            "rules": _rule_texts(DataRule.objects.filter(**owner))})
        return list(DataRule.objects.filter(**owner).order_by("pk"))


# ---------------------------------------------------------------------------------------------
# user-role assignments


def _check_assignable(user: User, role: Role) -> None:
    if user.is_superuser:
        raise ValidationFailed("iam.superuser_has_no_roles", f"{user.username} 是超级用户，超级用户没有所属角色",
                               field="user")
    if user.manager_id != role.manager_id:
        raise PermissionDenied("iam.manager_mismatch",
                               f"用户 {user.username} 与角色 {role.code} 的管理者不同，不能分配", field="role")
    if not role.is_effective:
        raise Conflict("iam.role_not_effective", f"角色 {role.code} 已暂停、无效或过期，不能分配", field="role")


def set_user_roles(*, actor: User, user_id: int, role_ids: Iterable[int]) -> list[str]:
    """Make the user's roles exactly `role_ids` (roles and user must have the same manager)."""
    wanted = {int(r) for r in role_ids}
    with transaction.atomic():
        user = _lock_user(actor, user_id, "iam.role.assign")
        current = set(user.user_roles.values_list("role_id", flat=True))
        add, remove = wanted - current, current - wanted
        roles = {r.pk: r for r in _managed_roles(actor, "iam.role.assign").select_for_update(of=("self",))
                 .filter(pk__in=add | remove).order_by("pk")}
        missing = (add | remove) - set(roles)
        if missing:
            raise NotFound("iam.role_not_found", "角色不存在或不由您管理")
        for pk in sorted(add):
            _check_assignable(user, roles[pk])
        before = sorted(Role.objects.filter(pk__in=current).values_list("code", flat=True))
        if remove:
            UserRole.objects.filter(user=user, role_id__in=remove).delete()
            DataRule.objects.filter(user=user, role_id__in=remove).delete()
        UserRole.objects.bulk_create([UserRole(user=user, role_id=pk) for pk in sorted(add)], ignore_conflicts=True)
        after = sorted(Role.objects.filter(user_roles__user=user).values_list("code", flat=True))
        if add or remove:
            audit.record(actor, "iam.user.set_roles", user, before={"roles": before}, after={"roles": after})
        clear_cache(user)
    return after


def assign_role(*, actor: User, user_id: int, role_id: int) -> UserRole:
    with transaction.atomic():
        user = _lock_user(actor, user_id, "iam.role.assign")
        role = _managed_roles(actor, "iam.role.assign").select_for_update(of=("self",)).filter(pk=role_id).first()
        if role is None:
            raise NotFound("iam.role_not_found", "角色不存在或不由您管理")
        _check_assignable(user, role)
        link, created = UserRole.objects.get_or_create(user=user, role=role)
        if created:
            audit.record(actor, "iam.user.assign_role", user, after={"role": role.code})
    return link


def unassign_role(*, actor: User, user_id: int, role_id: int) -> None:
    """Removes the assignment and the user's data rules within the role."""
    with transaction.atomic():
        user = _lock_user(actor, user_id, "iam.role.assign")
        role = _managed_roles(actor, "iam.role.assign").filter(pk=role_id).first()
        if role is None or not UserRole.objects.filter(user=user, role=role).exists():
            raise NotFound("iam.user_not_in_role", "该用户不属于此角色")
        UserRole.objects.filter(user=user, role=role).delete()
        DataRule.objects.filter(user=user, role=role).delete()
        audit.record(actor, "iam.user.unassign_role", user, before={"role": role.code})


# ---------------------------------------------------------------------------------------------
# delegations (授权)


def create_delegation(*, actor: User, delegate_ids: Iterable[int], role_ids: Iterable[int], starts_on: dt.date,
                      ends_on: dt.date, note: str = "", rules: Iterable[RuleInput] = ()) -> Delegation:
    """Hand roles the actor holds (not roles it manages) to admin or normal users for a date range,
    optionally narrowed by restriction rules. Superusers have no roles and cannot delegate."""
    require(actor, "iam.delegation.manage")
    if actor.is_superuser:
        raise PermissionDenied("iam.superuser_cannot_delegate", "超级用户没有所属角色，不能授权")
    delegate_ids = sorted({int(x) for x in delegate_ids})
    role_ids = sorted({int(x) for x in role_ids})
    if not delegate_ids:
        raise ValidationFailed("iam.delegates_required", "请选择被授权用户", field="delegates")
    if not role_ids:
        raise ValidationFailed("iam.roles_required", "请选择要授权的角色", field="roles")
    if starts_on is None or ends_on is None:
        raise ValidationFailed("iam.dates_required", "开始日期和结束日期都必须填写", field="starts_on")
    if ends_on < starts_on:
        raise ValidationFailed("iam.dates_order", "结束日期不能早于开始日期", field="ends_on")
    if ends_on < today():
        raise ValidationFailed("iam.delegation_in_past", "结束日期不能早于今天", field="ends_on")
    rules = validate_rules(rules)
    with transaction.atomic():
        delegates = list(User.objects.filter(pk__in=delegate_ids).order_by("pk"))
        if len(delegates) != len(delegate_ids):
            raise ValidationFailed("iam.delegate_not_found", "被授权用户不存在", field="delegates")
        for d in delegates:
            if d.pk == actor.pk:
                raise ValidationFailed("iam.delegate_self", "不能授权给自己", field="delegates")
            if d.user_type == UT.SUPER:
                raise ValidationFailed("iam.delegate_superuser", f"{d.username} 是超级用户，只能授权给管理用户或普通用户",
                                       field="delegates")
            if d.status == Status.INVALID:
                raise ValidationFailed("iam.delegate_invalid", f"用户 {d.username} 已停用", field="delegates")
        # lock the actor's assignments of these roles so they cannot be removed underneath us
        held = list(UserRole.objects.select_for_update().filter(user=actor, role_id__in=role_ids)
                    .select_related("role").order_by("role_id"))
        if len(held) != len(role_ids):
            raise PermissionDenied("iam.delegate_not_held",
                                   "只能授权自己所属的角色（不是自己创建的角色）", field="roles")
        for link in held:
            if not link.role.is_effective:
                raise Conflict("iam.role_not_effective", f"角色 {link.role.code} 已暂停、无效或过期，不能授权",
                               field="roles")
        delegation = Delegation.objects.create(delegator=actor, starts_on=starts_on, ends_on=ends_on,
                                               note=note or "")
        delegation.delegates.set(delegates)
        delegation.roles.set([link.role for link in held])
        DataRule.objects.bulk_create([DataRule(delegation=delegation, dimension=r.dimension, kind=r.kind,
                                               values=list(r.values)) for r in rules])
        audit.record(actor, "iam.delegation.create", delegation, after={
            **audit.snapshot(delegation),
            "delegates": [d.username for d in delegates], "roles": [link.role.code for link in held],
            "rules": _rule_texts(delegation.data_rules.all())})
    return delegation


def revoke_delegation(*, actor: User, delegation_id: int) -> Delegation:
    """收回: the delegator (or a superuser) ends a delegation before its end date."""
    require(actor, "iam.delegation.manage")
    with transaction.atomic():
        qs = Delegation.objects.all() if actor.is_superuser else Delegation.objects.filter(delegator=actor)
        delegation = qs.select_for_update().filter(pk=delegation_id).first()
        if delegation is None:
            raise NotFound("iam.delegation_not_found", "授权不存在或不是您做出的授权")
        if delegation.revoked_at is not None:
            raise Conflict("iam.delegation_revoked", "该授权已收回")
        if delegation.ends_on < today():
            raise Conflict("iam.delegation_ended", "该授权已过结束日期，已自动收回")
        before = audit.snapshot(delegation)
        Delegation.objects.filter(pk=delegation.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor)
        delegation.refresh_from_db()
        audit.record(actor, "iam.delegation.revoke", delegation, before=before)
    return delegation


# ---------------------------------------------------------------------------------------------
# API tokens


def create_token(*, user: User, name: str, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; the raw token is returned only here (stored as SHA-256)."""
    require(user, "iam.token.manage")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("iam.token_name_required", "请填写令牌名称", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("iam.token_expiry_past", "过期时间须晚于现在", field="expires_at")
    raw = tokens.new_raw_token()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:12], key_hash=tokens.hash_token(raw),
                                        expires_at=expires_at)
        audit.record(user, "iam.token.create", token, after=audit.snapshot(token, exclude=("key_hash",)))
    return token, raw


def revoke_token(*, user: User, token_id: int) -> ApiToken:
    require(user, "iam.token.manage")
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        token = ApiToken.objects.filter(pk=token_id, user=user).first()
        if token is None:
            raise NotFound("iam.token_not_found", "令牌不存在")
        if not updated:
            raise Conflict("iam.token_revoked", "该令牌已撤销")
        audit.record(user, "iam.token.revoke", token, after=audit.snapshot(token, exclude=("key_hash",)))
    return token


# ---------------------------------------------------------------------------------------------
# automatic suspension at the expiry date


def expire_due(*, on: dt.date | None = None) -> dict[str, list[str]]:
    """使用 → 暂停 for every user and role whose expiry date has come (today ≥ expiry)."""
    on = on or today()
    done: dict[str, list[str]] = {"users": [], "roles": []}
    due = Q(status=Status.ACTIVE, expires_on__isnull=False, expires_on__lte=on)
    with transaction.atomic():
        for key, model in (("users", User), ("roles", Role)):
            for obj in model.objects.select_for_update(skip_locked=True).filter(due).order_by("pk"):
                before = audit.snapshot(obj)
                model.objects.filter(pk=obj.pk, status=Status.ACTIVE).update(status=Status.SUSPENDED,
                                                                            updated_at=timezone.now())
                obj.refresh_from_db()
                audit.record(None, f"iam.{key[:-1]}.expire", obj, before=before)
                done[key].append(obj.username if key == "users" else obj.code)
    return done

"""Why can I, why can't I: a user's effective functions with the roles that grant them, and the
reasons a function is refused (no role holds it, the role is suspended or expired, the delegation
has not started, has ended or was revoked, the delegator no longer holds the role ...)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from fmis.iam.models import Delegation, Function, Role, Status, User, today
from fmis.iam.permissions import RoleScope, role_contexts, scopes_for


def grant_label(scope: RoleScope) -> str:
    role = _("%(name)s（%(code)s）") % {"name": scope.role_name, "code": scope.role_code}
    if scope.delegated:
        return _("%(role)s，由 %(name)s（%(user)s）授权，%(start)s 至 %(end)s") % {
            "role": role, "name": scope.delegated_by_name or scope.delegated_by, "user": scope.delegated_by,
            "start": f"{scope.starts_on:%Y-%m-%d}", "end": f"{scope.ends_on:%Y-%m-%d}"}
    return _("%(role)s，自有角色") % {"role": role}


def user_state(user: User) -> str:
    """Why `user` is not active, in words ("" when it is)."""
    if user.status != Status.ACTIVE:
        return _("用户 %(user)s 的状态为“%(status)s”") % {"user": user.username, "status": user.get_status_display()}
    if user.expires_on is not None and user.expires_on <= today():
        return _("用户 %(user)s 已于 %(date)s 过期") % {"user": user.username, "date": f"{user.expires_on:%Y-%m-%d}"}
    return ""


def role_state(role: Role) -> str:
    """Why `role` does not count, in words ("" when it is effective)."""
    if role.status != Status.ACTIVE:
        return _("角色 %(name)s（%(code)s）的状态为“%(status)s”") % {
            "name": role.name, "code": role.code, "status": role.get_status_display()}
    if role.expires_on is not None and role.expires_on <= today():
        return _("角色 %(name)s（%(code)s）已于 %(date)s 过期") % {
            "name": role.name, "code": role.code, "date": f"{role.expires_on:%Y-%m-%d}"}
    return ""


@dataclass
class FunctionRow:
    code: str
    name: str
    kind: str
    grants: list[RoleScope] = field(default_factory=list)

    @property
    def grant_labels(self) -> list[str]:
        return [grant_label(g) for g in self.grants]


def effective_functions(user: User) -> list[FunctionRow]:
    """Every function `user` may execute, in menu order, with the role contexts that grant it."""
    fns = list(Function.objects.filter(is_active=True).order_by("order", "code"))
    if user.is_superuser and user.is_active:
        return [FunctionRow(f.code, f.display_name, f.kind) for f in fns]
    by_code: dict[str, list[RoleScope]] = {}
    for scope in role_contexts(user):
        for code in scope.functions:
            by_code.setdefault(code, []).append(scope)
    return [FunctionRow(f.code, f.display_name, f.kind, by_code[f.code]) for f in fns if f.code in by_code]


@dataclass
class Answer:
    code: str
    allowed: bool
    function_name: str = ""
    grants: list[RoleScope] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def grant_labels(self) -> list[str]:
        return [grant_label(g) for g in self.grants]


def can_i(user: User, code: str) -> Answer:
    """Whether `user` may execute function `code`, with the granting roles or the reasons why not."""
    code = (code or "").strip()
    fn = Function.objects.filter(code=code).first()
    if fn is None:
        return Answer(code, False, reasons=[_("功能 %(code)s 不存在") % {"code": code or _("（空）")}])
    name = fn.display_name
    ans = Answer(code, False, function_name=name)
    if not fn.is_active:
        ans.reasons.append(_("功能 %(name)s（%(code)s）已停用") % {"name": name, "code": code})
        return ans
    state = user_state(user)
    if state:
        ans.reasons.append(_("%(state)s，不能执行任何功能") % {"state": state})
        return ans
    if user.is_superuser:
        ans.allowed = True
        ans.reasons.append(_("超级用户不受功能和数据权限限制"))
        return ans
    ans.grants = scopes_for(user, code)
    if ans.grants:
        ans.allowed = True
        return ans
    on = today()
    for role in Role.objects.filter(user_roles__user=user, functions=fn).order_by("code"):
        why = role_state(role)
        ans.reasons.append(_("%(why)s，不参与权限计算") % {"why": why} if why
                           else _("角色 %(code)s 包含此功能，但未生效") % {"code": role.code})
    for d in (Delegation.objects.filter(delegates=user, roles__functions=fn).distinct()
              .select_related("delegator").order_by("-ends_on", "pk")):
        for role in d.roles.filter(functions=fn).order_by("code"):
            who = _("%(delegator)s（%(username)s）授权的角色 %(role)s（%(code)s）") % {
                "delegator": d.delegator.name, "username": d.delegator.username, "role": role.name, "code": role.code}
            if d.revoked_at is not None:
                ans.reasons.append(_("%(who)s已于 %(date)s 收回") % {"who": who, "date": f"{d.revoked_at:%Y-%m-%d}"})
            elif on < d.starts_on:
                ans.reasons.append(_("%(who)s尚未开始（%(date)s 起生效）") % {"who": who, "date": f"{d.starts_on:%Y-%m-%d}"})
            elif on > d.ends_on:
                ans.reasons.append(_("%(who)s已于 %(date)s 结束") % {"who": who, "date": f"{d.ends_on:%Y-%m-%d}"})
            elif user_state(d.delegator):
                ans.reasons.append(_("%(who)s不再有效：%(why)s") % {"who": who, "why": user_state(d.delegator)})
            elif d.delegator.is_superuser:
                ans.reasons.append(_("%(who)s不再有效：授权人已成为超级用户，其角色被忽略") % {"who": who})
            elif not role.user_roles.filter(user=d.delegator).exists():
                ans.reasons.append(_("%(who)s不再有效：授权人已不再拥有该角色") % {"who": who})
            elif role_state(role):
                ans.reasons.append(_("%(who)s不再有效：%(why)s") % {"who": who, "why": role_state(role)})
    if not ans.reasons:
        ans.reasons.append(_("用户 %(user)s 的任何角色（包括被授权的角色）都不包含功能 %(name)s（%(code)s）") % {
            "user": user.username, "name": name, "code": code})
    return ans

"""Why can I, why can't I: a user's effective functions with the roles that grant them, and the
reasons a function is refused (no role holds it, the role is suspended or expired, the delegation
has not started, has ended or was revoked, the delegator no longer holds the role ...)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fmis.iam.models import Delegation, Function, Role, Status, User, today
from fmis.iam.permissions import RoleScope, role_contexts, scopes_for


def grant_label(scope: RoleScope) -> str:
    role = f"{scope.role_name}（{scope.role_code}）"
    if scope.delegated:
        return (f"{role}，由 {scope.delegated_by_name or scope.delegated_by}（{scope.delegated_by}）授权，"
                f"{scope.starts_on:%Y-%m-%d} 至 {scope.ends_on:%Y-%m-%d}")
    return f"{role}，自有角色"


def user_state(user: User) -> str:
    """Why `user` is not active, in words ("" when it is)."""
    if user.status != Status.ACTIVE:
        return f"用户 {user.username} 的状态为“{user.get_status_display()}”"
    if user.expires_on is not None and user.expires_on <= today():
        return f"用户 {user.username} 已于 {user.expires_on:%Y-%m-%d} 过期"
    return ""


def role_state(role: Role) -> str:
    """Why `role` does not count, in words ("" when it is effective)."""
    if role.status != Status.ACTIVE:
        return f"角色 {role.name}（{role.code}）的状态为“{role.get_status_display()}”"
    if role.expires_on is not None and role.expires_on <= today():
        return f"角色 {role.name}（{role.code}）已于 {role.expires_on:%Y-%m-%d} 过期"
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
        return [FunctionRow(f.code, f.name, f.kind) for f in fns]
    by_code: dict[str, list[RoleScope]] = {}
    for scope in role_contexts(user):
        for code in scope.functions:
            by_code.setdefault(code, []).append(scope)
    return [FunctionRow(f.code, f.name, f.kind, by_code[f.code]) for f in fns if f.code in by_code]


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
        return Answer(code, False, reasons=[f"功能 {code or '（空）'} 不存在"])
    ans = Answer(code, False, function_name=fn.name)
    if not fn.is_active:
        ans.reasons.append(f"功能 {fn.name}（{code}）已停用")
        return ans
    state = user_state(user)
    if state:
        ans.reasons.append(state + "，不能执行任何功能")
        return ans
    if user.is_superuser:
        ans.allowed = True
        ans.reasons.append("超级用户不受功能和数据权限限制")
        return ans
    ans.grants = scopes_for(user, code)
    if ans.grants:
        ans.allowed = True
        return ans
    on = today()
    for role in Role.objects.filter(user_roles__user=user, functions=fn).order_by("code"):
        why = role_state(role)
        ans.reasons.append(f"{why}，不参与权限计算" if why else f"角色 {role.code} 包含此功能，但未生效")
    for d in (Delegation.objects.filter(delegates=user, roles__functions=fn).distinct()
              .select_related("delegator").order_by("-ends_on", "pk")):
        for role in d.roles.filter(functions=fn).order_by("code"):
            who = f"{d.delegator.name}（{d.delegator.username}）授权的角色 {role.name}（{role.code}）"
            if d.revoked_at is not None:
                ans.reasons.append(f"{who}已于 {d.revoked_at:%Y-%m-%d} 收回")
            elif on < d.starts_on:
                ans.reasons.append(f"{who}尚未开始（{d.starts_on:%Y-%m-%d} 起生效）")
            elif on > d.ends_on:
                ans.reasons.append(f"{who}已于 {d.ends_on:%Y-%m-%d} 结束")
            elif user_state(d.delegator):
                ans.reasons.append(f"{who}不再有效：{user_state(d.delegator)}")
            elif d.delegator.is_superuser:
                ans.reasons.append(f"{who}不再有效：授权人已成为超级用户，其角色被忽略")
            elif not role.user_roles.filter(user=d.delegator).exists():
                ans.reasons.append(f"{who}不再有效：授权人已不再拥有该角色")
            elif role_state(role):
                ans.reasons.append(f"{who}不再有效：{role_state(role)}")
    if not ans.reasons:
        ans.reasons.append(f"用户 {user.username} 的任何角色（包括被授权的角色）都不包含功能 {fn.name}（{code}）")
    return ans

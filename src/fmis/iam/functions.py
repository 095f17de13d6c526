"""The function tree (menus and actions), declared in code by each app and synced to the database.

Each app may have a module ``<app>/functions.py`` with ``FUNCTIONS``: a list of ``Fn``. Codes are
dotted; a function's parent is named explicitly (menus nest, actions hang under a menu). The tree
is synced after every ``migrate`` and by ``fmis seed``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class Fn:
    code: str
    name: str
    name_en: str
    kind: str = "action"  # "menu" or "action"
    parent: str | None = None
    url_name: str = ""
    order: int = 0


FUNCTIONS = [
    Fn("system", "系统管理", "System", "menu", order=900),
    Fn("iam", "用户与权限", "Users and permissions", "menu", "system", order=910),
    Fn("iam.user.view", "用户查询", "View users", "menu", "iam", "iam:users", 911),
    Fn("iam.user.manage", "用户维护", "Manage users", "action", "iam.user.view"),
    Fn("iam.role.assign", "分配角色", "Assign roles", "action", "iam.user.view"),
    Fn("iam.role.view", "角色查询", "View roles", "menu", "iam", "iam:roles", 912),
    Fn("iam.role.manage", "角色维护", "Manage roles", "action", "iam.role.view"),
    Fn("iam.role.grant", "设置功能权限", "Grant functions", "action", "iam.role.view"),
    Fn("iam.scope.manage", "设置数据权限", "Set data scopes", "action", "iam.role.view"),
    Fn("iam.delegation.manage", "授权管理", "Delegations", "menu", "iam", "iam:delegations", 913),
    Fn("iam.explain", "权限查看", "My permissions", "menu", "iam", "iam:explain", 914),
    Fn("iam.token.manage", "API令牌", "API tokens", "menu", "iam", "iam:tokens", 915),
    Fn("iam.group.manage", "用户组与角色组", "User and role groups", "menu", "iam", "iam:groups", 916),
    Fn("iam.password.change", "修改密码", "Change password", "menu", "iam", "iam:password", 917),
    Fn("platform.audit.view", "审计日志", "Audit log", "menu", "system", "platform:audit", 920),
]


def all_functions() -> list[Fn]:
    out: list[Fn] = []
    for cfg in apps.get_app_configs():
        if not cfg.name.startswith("fmis."):
            continue
        try:
            mod = importlib.import_module(f"{cfg.name}.functions")
        except ModuleNotFoundError as exc:
            if exc.name == f"{cfg.name}.functions":
                continue
            raise
        out.extend(getattr(mod, "FUNCTIONS", []))
    return out


def sync_functions() -> int:
    """Create or update the Function rows from code; deactivate the ones no longer declared."""
    from django.db import transaction

    from fmis.iam.models import Function

    fns = all_functions()
    codes = [f.code for f in fns]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        raise ValueError(f"duplicate function codes: {sorted(dupes)}")
    with transaction.atomic():
        existing = {f.code: f for f in Function.objects.all()}
        for fn in fns:
            obj = existing.get(fn.code) or Function(code=fn.code)
            obj.name, obj.name_en, obj.kind, obj.url_name, obj.order = fn.name, fn.name_en, fn.kind, fn.url_name, fn.order
            obj.is_active = True
            obj.parent = None
            obj.save()
            existing[fn.code] = obj
        for fn in fns:
            if fn.parent:
                if fn.parent not in existing:
                    raise ValueError(f"function {fn.code}: unknown parent {fn.parent}")
                Function.objects.filter(code=fn.code).update(parent=existing[fn.parent])
        Function.objects.exclude(code__in=codes).update(is_active=False)
    return len(fns)


def sync_functions_after_migrate(sender, **kwargs):
    sync_functions()

"""IAM test fixtures: the preset superuser, administrators holding the IAM functions, and a helper
that gives a user a role with some functions (the role managed by the user's own manager)."""

from __future__ import annotations

import itertools

import pytest

IAM_FUNCTIONS = [
    "iam.user.view", "iam.user.manage", "iam.role.assign", "iam.role.view", "iam.role.manage", "iam.role.grant",
    "iam.scope.manage", "iam.delegation.manage", "iam.explain", "iam.token.manage", "iam.group.manage",
    "iam.password.change",
]
PASSWORD = "Str0ng!Passw"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    # the production hasher (Argon2) costs ~100 ms a call; the rules under test do not depend on it
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def root(db):
    from fmis.iam.functions import sync_functions
    from fmis.iam.models import User

    sync_functions()
    return User.objects.create_user("ADMIN", PASSWORD, name="系统管理员", user_type="super", is_builtin=True)


@pytest.fixture
def give(db):
    """give(user, ["code", ...], rules=[(dim, kind, values)], **role fields) -> Role assigned to user."""
    from fmis.iam.functions import sync_functions
    from fmis.iam.models import DataRule, Function, Role, RoleFunction, UserRole
    from fmis.iam.permissions import clear_cache

    sync_functions()
    counter = itertools.count(1)

    def make(user, codes, rules=(), **kw):
        n = next(counter)
        kw.setdefault("manager", user.manager)
        role = Role.objects.create(code=kw.pop("code", f"g{n}_{user.username}"), name=kw.pop("name", f"角色{n}"), **kw)
        for c in codes:
            fn, _ = Function.objects.get_or_create(code=c, defaults={"name": c, "kind": "action"})
            RoleFunction.objects.create(role=role, function=fn)
        for dim, kind, values in rules:
            DataRule.objects.create(role=role, dimension=dim, kind=kind, values=list(values))
        UserRole.objects.create(user=user, role=role)
        clear_cache(user)
        return role

    return make


@pytest.fixture
def new_admin(root, give):
    """new_admin("a1", functions=IAM_FUNCTIONS, manager=root) -> an admin user holding those functions."""
    from fmis.iam.models import User

    def make(username, functions=tuple(IAM_FUNCTIONS), manager=None, **kw):
        kw.setdefault("name", username)
        user = User.objects.create_user(username, PASSWORD, user_type="admin", manager=manager or root, **kw)
        if functions:
            give(user, list(functions))
        return user

    return make


@pytest.fixture
def admin_a(new_admin):
    return new_admin("adm_a")


@pytest.fixture
def admin_b(new_admin):
    return new_admin("adm_b")

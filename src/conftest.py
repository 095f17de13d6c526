"""Shared test fixtures: users with roles and data rules, and headless Chromium for Playwright."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Property tests run on shared, loaded machines: how fast examples are generated and how long one
# takes are not what they test (the examples and their assertions are).
settings.register_profile("fmis", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("fmis")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture
def make_region(db):
    from fmis.orgs.models import Region

    def make(code: str, name: str | None = None, level: int | None = None, parent=None):
        if level is None:
            level = 1 if code.endswith("0000") else 2 if code.endswith("00") else 3
        return Region.objects.create(code=code, name=name or f"区划{code}", level=level, parent=parent)

    return make


@pytest.fixture
def make_agency(db):
    from fmis.orgs.models import Agency

    def make(code: str, region, name: str | None = None, parent=None, **kw):
        return Agency.objects.create(code=code, name=name or f"单位{code}", region=region, parent=parent, **kw)

    return make


@pytest.fixture
def make_role(db):
    """make_role("R1", ["orgs.agency.view"], rules=[("region", "subtree", ["370100"])])"""
    from fmis.iam.functions import sync_functions
    from fmis.iam.models import DataRule, Function, Role, RoleFunction

    sync_functions()

    def make(code: str, functions: list[str], rules=(), **kw):
        role = Role.objects.create(code=code, name=kw.pop("name", code), **kw)
        for fc in functions:
            fn, _ = Function.objects.get_or_create(code=fc, defaults={"name": fc, "kind": "action"})
            RoleFunction.objects.create(role=role, function=fn)
        for dim, kind, values in rules:
            DataRule.objects.create(role=role, dimension=dim, kind=kind, values=list(values))
        return role

    return make


@pytest.fixture
def make_user(db):
    """make_user("u1", roles=[role], region=..., agency=..., password=...)"""
    from fmis.iam.models import User, UserRole

    def make(username: str, roles=(), password: str = "Passw0rd!x", **kw):
        kw.setdefault("name", username)
        if kw.get("agency") is not None:
            kw.setdefault("org_type", User.OrgType.AGENCY)
            kw.setdefault("region", kw["agency"].region)
        user = User.objects.create_user(username, password, **kw)
        for r in roles:
            UserRole.objects.create(user=user, role=r)
        return user

    return make


@pytest.fixture(autouse=True)
def _empty_local_ledger(request):
    """The local ledger node and orderer write on connections of their own, outside a test's
    transaction, so a test that seeds the transfers demo leaves blocks behind that the rollback does
    not remove. Every database test starts with an empty local ledger."""
    from django.conf import settings

    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "live_server"} & set(request.fixturenames))
    if not uses_db or "fmis.transfers" not in settings.INSTALLED_APPS:
        yield
        return
    request.getfixturevalue("django_db_setup")
    import psycopg

    from fmis.transfers import local
    from fmis.transfers.ledger import dbutil
    from fmis.transfers.ledger.schema import NODE_TABLES

    with psycopg.connect(dbutil.django_dsn(), autocommit=True, options="-c fmis.allow_truncate=on") as conn:
        present = conn.execute("SELECT to_regclass('transfers_order_log') IS NOT NULL").fetchone()[0]
        if present and conn.execute("SELECT EXISTS (SELECT 1 FROM transfers_order_log)").fetchone()[0]:
            local.reset()
            conn.execute(f"TRUNCATE {', '.join(NODE_TABLES)}, transfers_order_log")
            conn.execute("UPDATE transfers_order_head SET seq = 0")
    yield

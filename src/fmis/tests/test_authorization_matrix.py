"""Every API operation × every seeded role → allowed exactly when the role holds the operation's
function. Generated from the mounted operations and the function tree, so operations added later
are covered without touching this file."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from fmis.api import api
from fmis.iam.api_auth import iter_operations

# Operations that deliberately need no function (any authenticated user, or nobody at all).
OPEN_OPERATIONS = {
    ("GET", "platform/health"),
    ("GET", "iam/me/permissions"),
}
UNKNOWN_ID = "987654321"


def _concrete(path: str) -> str:
    path = re.sub(r"\{[^}]*:path\}", "x/y", path)
    path = re.sub(r"\{(?:int:)?[a-z_]*(?:_id|pk|id)\}", UNKNOWN_ID, path)
    return re.sub(r"\{[^}]+\}", "X0", path).replace("//", "/")


def operations():
    out = []
    for path, methods, op in iter_operations(api):
        if not op.include_in_schema:
            continue
        for method in methods:
            out.append((method, path.strip("/"), getattr(op.view_func, "fmis_function", None)))
    return out


def test_every_operation_declares_a_function():
    undeclared = [(m, p) for m, p, fn in operations() if fn is None and (m, p) not in OPEN_OPERATIONS]
    assert undeclared == []


def test_declared_functions_exist_in_the_function_tree():
    from fmis.iam.functions import all_functions

    codes = {f.code for f in all_functions()}
    missing = sorted({fn for _, _, fn in operations() if fn and fn not in codes})
    assert missing == []


@pytest.mark.django_db
def test_matrix_of_operations_and_seeded_roles():
    from fmis.iam.models import Function, User
    from fmis.orgs import demo

    demo.seed(scale="small")
    all_codes = set(Function.objects.filter(is_active=True).values_list("code", flat=True))
    ops = operations()
    assert len(ops) > 20
    failures = []
    checked = 0
    for role in demo.ROLE_DEFINITIONS:
        granted = role.function_codes(all_codes)
        user = User.objects.filter(user_roles__role__code=role.code).order_by("username").first()
        assert user is not None, f"no demo user holds {role.code}"
        client = Client()
        client.force_login(user)
        for method, path, function in ops:
            if function is None:
                continue
            url = "/api/v1/" + _concrete(path)
            resp = client.generic(method, url, data="{}", content_type="application/json")
            checked += 1
            allowed = function in granted
            if resp.status_code >= 500:
                failures.append(f"{role.code} {method} {url}: {resp.status_code}")
            elif allowed and resp.status_code in (401, 403):
                failures.append(f"{role.code} {method} {url}: expected allowed ({function}), got {resp.status_code}")
            elif not allowed and resp.status_code != 403:
                failures.append(f"{role.code} {method} {url}: expected 403 ({function}), got {resp.status_code}")
            elif not allowed and resp.json().get("code") != "iam.function_denied":
                failures.append(f"{role.code} {method} {url}: denied for the wrong reason {resp.json()}")
    assert checked > 100
    assert failures == []


@pytest.mark.django_db
def test_anonymous_caller_gets_401_everywhere():
    client = Client()
    wrong = []
    for method, path, function in operations():
        if function is None:
            continue
        url = "/api/v1/" + _concrete(path)
        resp = client.generic(method, url, data="{}", content_type="application/json")
        if resp.status_code != 401 or not resp["Content-Type"].startswith("application/problem+json"):
            wrong.append(f"{method} {url}: {resp.status_code}")
    assert wrong == []

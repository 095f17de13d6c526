"""Fixtures for the reports tests: the accounting books of the accounting tests (a unit with its
account set, an entrant, an auditor, an outsider in another unit), with the reports functions
granted to the same roles, and the standard statements loaded."""

from __future__ import annotations

import pytest

from fmis.accounting.tests.conftest import Books, build_books, dictionary  # noqa: F401 - `dictionary` is a fixture

REPORTS = ["reports.statement.view", "reports.export", "reports.custom.view", "reports.custom.manage"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def grant(role_codes: list[str], functions: list[str]) -> None:
    from fmis.iam.models import Function, Role, RoleFunction

    for code in role_codes:
        role = Role.objects.get(code=code)
        for fc in functions:
            fn, _ = Function.objects.get_or_create(code=fc, defaults={"name": fc, "kind": "action"})
            RoleFunction.objects.get_or_create(role=role, function=fn)


@pytest.fixture
def books(dictionary, make_region, make_agency, make_role, make_user) -> Books:  # noqa: F811
    from fmis.reports.services import ensure_standard_statements

    b = build_books(make_region, make_agency, make_role, make_user)
    grant(["acc_admin", "acc_unit"], REPORTS)
    ensure_standard_statements()
    return b

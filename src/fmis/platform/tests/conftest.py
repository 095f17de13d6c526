"""Fixtures for the platform tests: an auditor, a user without the audit function, raw SQL on the
audit table with its append-only triggers switched off (only to simulate tampering)."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """These tests are not about passwords: hash them cheaply (the login tests use Argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def audit_log_starts_empty(request):
    """These tests count and chain audit records from an empty log. Other apps write audit records
    when the test database is migrated (e.g. preloaded standard statements), so the log is emptied
    first: inside the test's transaction for ordinary tests, committed for transactional ones (whose
    tables are emptied after the test anyway). The test connections may truncate the table."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    with connection.cursor() as cur:
        cur.execute("TRUNCATE platform_auditrecord")
    yield


@pytest.fixture
def auditor(make_role, make_user):
    role = make_role("auditor", ["platform.audit.view"])
    return make_user("auditor1", roles=[role], name="审计员")


@pytest.fixture
def clerk(make_role, make_user):
    role = make_role("clerk", ["iam.user.view"])
    return make_user("clerk1", roles=[role], name="经办人")


@pytest.fixture
def superuser(db):
    from fmis.iam.models import User

    return User.objects.create_superuser("root1", "Passw0rd!x")


@contextlib.contextmanager
def tampering():
    """Switch off the append-only triggers of platform_auditrecord, as an attacker with DDL rights
    would, and switch them back on afterwards."""
    with connection.cursor() as cur:
        cur.execute("ALTER TABLE platform_auditrecord DISABLE TRIGGER USER")
    try:
        with connection.cursor() as cur:
            yield cur
    finally:
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE platform_auditrecord ENABLE TRIGGER USER")


@pytest.fixture
def tamper():
    return tampering

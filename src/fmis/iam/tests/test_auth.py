"""Login lockout (also under concurrent attempts), API tokens, password policy."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from fmis.iam import services
from fmis.iam.models import User
from fmis.platform.errors import ValidationFailed
from fmis.platform.models import AuditRecord

from .conftest import PASSWORD


@pytest.fixture
def clerk(make_user, give, settings):
    settings.FMIS_LOGIN_MAX_FAILURES = 3
    settings.FMIS_LOGIN_LOCK_MINUTES = 15
    u = make_user("clerk", password=PASSWORD)
    give(u, ["iam.explain", "iam.token.manage", "iam.password.change"])
    return u


def login(username, password):
    request = RequestFactory().post("/iam/login/")
    user = authenticate(request, username=username, password=password)
    return user, getattr(request, "fmis_login_error", "")


@pytest.mark.django_db
def test_lockout_after_repeated_failures(clerk):
    assert login("clerk", "wrong")[0] is None
    assert login("clerk", "wrong")[0] is None
    assert User.objects.get(pk=clerk.pk).failed_logins == 2
    user, error = login("clerk", "wrong")
    assert user is None and error == "locked"
    locked = User.objects.get(pk=clerk.pk)
    assert locked.locked_until > timezone.now()
    # the right password is refused while locked, and the refusal does not count as a failure
    assert login("clerk", PASSWORD) == (None, "locked")
    assert AuditRecord.objects.filter(action="iam.user.locked", object_id=str(clerk.pk)).count() == 1
    # after the lock time a right password logs in and clears the counter
    User.objects.filter(pk=clerk.pk).update(locked_until=timezone.now() - timezone.timedelta(seconds=1))
    user, _ = login("clerk", PASSWORD)
    assert user is not None and user.pk == clerk.pk
    assert User.objects.get(pk=clerk.pk).locked_until is None


@pytest.mark.django_db
def test_success_resets_the_failure_count(clerk):
    login("clerk", "wrong")
    login("clerk", "wrong")
    assert login("clerk", PASSWORD)[0] is not None
    assert User.objects.get(pk=clerk.pk).failed_logins == 0
    login("clerk", "wrong")
    login("clerk", "wrong")
    assert login("clerk", PASSWORD)[0] is not None  # two fresh failures are below the limit of three


@pytest.mark.django_db
def test_unknown_user_and_suspended_user(clerk):
    assert login("nobody", "x") == (None, "")
    User.objects.filter(pk=clerk.pk).update(status="suspended")
    assert login("clerk", PASSWORD) == (None, "inactive")


@pytest.mark.django_db(transaction=True)
def test_concurrent_failed_logins_still_lock(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FMIS_LOGIN_MAX_FAILURES = 5
    u = make_user("target", password=PASSWORD)
    barrier = threading.Barrier(12)
    results: list[str] = []

    def attempt():
        try:
            barrier.wait()
            user, error = login("target", "wrong-password")
            results.append("in" if user else (error or "refused"))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "in" not in results and len(results) == 12
    after = User.objects.get(pk=u.pk)
    assert after.locked_until is not None and after.locked_until > timezone.now()
    # no failure was lost: each counted failure either raised the counter or locked the account
    # (a lock restarts the count); attempts refused as already locked were not counted
    locks = AuditRecord.objects.filter(action="iam.user.locked").count()
    counted = results.count("refused") + locks
    assert locks >= 1 and counted >= 5
    assert counted == 5 * locks + after.failed_logins
    assert login("target", PASSWORD) == (None, "locked")


# --- API tokens --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_authenticates_the_api_and_revoked_token_is_refused(clerk):
    token, raw = services.create_token(user=clerk, name="脚本")
    api = Client()
    r = api.get("/api/v1/iam/me/permissions", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["user"]["username"] == "clerk"
    assert {f["code"] for f in body["functions"]} == {"iam.explain", "iam.token.manage", "iam.password.change"}
    assert api.get("/api/v1/iam/me/permissions", HTTP_AUTHORIZATION="Bearer fmis_not-a-token").status_code == 401
    services.revoke_token(user=clerk, token_id=token.pk)
    r = api.get("/api/v1/iam/me/permissions", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 401 and r["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_token_of_suspended_user_is_refused(clerk):
    _, raw = services.create_token(user=clerk, name="脚本")
    User.objects.filter(pk=clerk.pk).update(status="suspended")
    assert Client().get("/api/v1/iam/me/permissions", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.django_db
def test_token_create_and_list_over_the_api_show_the_raw_token_once(clerk):
    _, raw = services.create_token(user=clerk, name="boot")
    api = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    r = api.post("/api/v1/iam/tokens", data={"name": "第二个"}, content_type="application/json", **auth)
    assert r.status_code == 201 and r.json()["token"].startswith("fmis_")
    listed = api.get("/api/v1/iam/tokens", **auth).json()
    assert len(listed) == 2 and all("token" not in t for t in listed)


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_change_enforces_the_policy(clerk):
    for weak, code in (("short1!", "iam.password_policy"), ("12345678901", "iam.password_policy"),
                       ("alllowercaseletters", "iam.password_policy")):
        with pytest.raises(ValidationFailed) as exc:
            services.change_password(user=clerk, old_password=PASSWORD, new_password=weak, new_password_confirm=weak)
        assert exc.value.code == code
    with pytest.raises(ValidationFailed) as exc:
        services.change_password(user=clerk, old_password="wrong", new_password="N3w!Passwd", new_password_confirm="N3w!Passwd")
    assert exc.value.code == "iam.old_password_wrong"
    assert User.objects.get(pk=clerk.pk).check_password(PASSWORD)
    services.change_password(user=clerk, old_password=PASSWORD, new_password="N3w!Passwd",
                             new_password_confirm="N3w!Passwd")
    assert User.objects.get(pk=clerk.pk).check_password("N3w!Passwd")
    assert AuditRecord.objects.filter(action="iam.user.change_password", actor_id=clerk.pk).exists()


@pytest.mark.django_db
def test_password_change_over_the_api_answers_problem_details(clerk):
    _, raw = services.create_token(user=clerk, name="t")
    r = Client().post("/api/v1/iam/me/password", content_type="application/json",
                      data={"old_password": PASSWORD, "new_password": "123", "new_password_confirm": "123"},
                      HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert r.status_code == 422 and r.json()["code"] == "iam.password_policy"

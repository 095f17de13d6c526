"""Login: Argon2 passwords, lockout after repeated failures, only 使用 users.

Lockout is decided in the database, one statement per attempt, so concurrent attempts cannot
lose a failure: a failed password increments ``failed_logins`` and, on the attempt that reaches
``FMIS_LOGIN_MAX_FAILURES``, sets ``locked_until`` (and restarts the count) in the same UPDATE; a
correct password succeeds only through an UPDATE that also requires the account not to be locked
at that moment, so a lock set by a concurrent failure is never bypassed.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fmis.iam.models import User
from fmis.platform import audit


def _flag(request, error: str) -> None:
    if request is not None:
        request.fmis_login_error = error


def record_failure(user: User, now: dt.datetime) -> bool:
    """Count one failed password for `user`; True if this failure locked the account."""
    limit = max(1, int(settings.FMIS_LOGIN_MAX_FAILURES))
    until = now + dt.timedelta(minutes=settings.FMIS_LOGIN_LOCK_MINUTES)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {User._meta.db_table} SET "
                "failed_logins = CASE WHEN failed_logins + 1 >= %s THEN 0 ELSE failed_logins + 1 END, "
                "locked_until = CASE WHEN failed_logins + 1 >= %s THEN %s ELSE locked_until END "
                "WHERE id = %s RETURNING failed_logins = 0 AND locked_until = %s",
                [limit, limit, until, user.pk, until])
            row = cur.fetchone()
        locked = bool(row and row[0])
        if locked:
            audit.record(None, "iam.user.locked", user, before={"username": user.username},
                         after={"username": user.username, "locked_until": until.isoformat(),
                                "failures": limit})
    return locked


class FmisBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            User().set_password(password)  # same cost whether or not the user exists
            return None
        now = timezone.now()
        if user.locked_until and user.locked_until > now:
            _flag(request, "locked")
            return None
        if not user.check_password(password):
            if record_failure(user, now):
                _flag(request, "locked")
            return None
        # the password is right: succeed only if no concurrent failure locked the account meanwhile
        cleared = (User.objects.filter(pk=user.pk)
                   .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
                   .update(failed_logins=0, locked_until=None))
        if not cleared:
            _flag(request, "locked")
            return None
        user.failed_logins, user.locked_until = 0, None
        if not user.is_active:
            _flag(request, "inactive")
            return None
        return user

    def user_can_authenticate(self, user):
        return user.is_active

    def get_user(self, user_id):
        user = User.objects.select_related("agency", "region", "bank", "agency__region").filter(pk=user_id).first()
        return user if user is not None and user.is_active else None

"""Login: Argon2 passwords, lockout after repeated failures, only 使用 users."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import F
from django.utils import timezone

from fmis.iam.models import Status, User


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
            if request is not None:
                request.fmis_login_error = "locked"
            return None
        if user.status == Status.ACTIVE and user.expires_on and user.expires_on <= timezone.localdate():
            User.objects.filter(pk=user.pk, status=Status.ACTIVE).update(status=Status.SUSPENDED)
            user.status = Status.SUSPENDED
        if not user.check_password(password):
            User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
            user.refresh_from_db(fields=["failed_logins"])
            if user.failed_logins >= settings.FMIS_LOGIN_MAX_FAILURES:
                User.objects.filter(pk=user.pk).update(
                    locked_until=now + dt.timedelta(minutes=settings.FMIS_LOGIN_LOCK_MINUTES), failed_logins=0)
                if request is not None:
                    request.fmis_login_error = "locked"
            return None
        if not user.is_active:
            if request is not None:
                request.fmis_login_error = "inactive"
            return None
        if user.failed_logins or user.locked_until:
            User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        return user

    def user_can_authenticate(self, user):
        return user.is_active

    def get_user(self, user_id):
        user = User.objects.select_related("agency", "region", "bank", "agency__region").filter(pk=user_id).first()
        return user if user is not None and user.is_active else None

"""``Model.objects.restrict(user, function)``: the one door through which users read data."""

from __future__ import annotations

from django.db import models


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, function: str) -> RestrictedQuerySet:
        from fmis.iam.permissions import restrict

        return restrict(self, user, function)

"""API tokens: shown once on creation, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

PREFIX = "fmis_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_raw_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def user_for_token(raw: str):
    from fmis.iam.models import ApiToken

    if not raw or not raw.startswith(PREFIX):
        return None
    now = timezone.now()
    tok = (ApiToken.objects.select_related("user", "user__agency", "user__region", "user__bank")
           .filter(key_hash=hash_token(raw), revoked_at__isnull=True).first())
    if tok is None or (tok.expires_at and tok.expires_at <= now) or not tok.user.is_active:
        return None
    if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
        type(tok).objects.filter(pk=tok.pk).update(last_used_at=now)
    return tok.user

"""Encryption of private keys at rest (the installation's key store), with a key derived from
``SECRET_KEY`` (or ``FMIS_KEYSTORE_SECRET`` when set)."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    secret = os.environ.get("FMIS_KEYSTORE_SECRET") or settings.SECRET_KEY
    key = hashlib.sha256(b"fmis.transfers.keystore\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(private_key: bytes) -> bytes:
    return _fernet().encrypt(bytes(private_key))


def unseal(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(bytes(token))
    except InvalidToken:
        raise ValueError("the key store cannot be decrypted with this installation's secret") from None

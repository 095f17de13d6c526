"""Database helpers: retrying a transaction on serialization failures and deadlocks."""

from __future__ import annotations

import functools
import random
import time

from django.db import OperationalError, transaction

from fmis.platform.errors import Conflict

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__ or exc.__context__
    return getattr(cause, "sqlstate", None) or getattr(exc, "sqlstate", None)


def retry_on_conflict(fn=None, *, attempts: int = 8):
    """Run `fn` in its own transaction, retrying it on serialization failures and deadlocks.

    Must be the outermost transaction: inside another atomic block a retry would not help, so
    the error is re-raised there.
    """

    def deco(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return func(*args, **kwargs)
                except OperationalError as exc:
                    if _sqlstate(exc) not in RETRYABLE_SQLSTATES or transaction.get_connection().in_atomic_block:
                        raise
                    if attempt == attempts:
                        raise Conflict("db.busy", "系统繁忙，请稍后重试") from exc
                    time.sleep(random.uniform(0, 0.005 * 2 ** attempt))
            raise AssertionError("unreachable")

        return wrapper

    return deco(fn) if fn is not None else deco

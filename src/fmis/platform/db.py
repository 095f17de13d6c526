"""Database helpers: retrying a transaction on serialization failures and deadlocks, and a cache
that lives for one such transaction."""

from __future__ import annotations

import functools
import random
import time
from contextvars import ContextVar

from django.db import OperationalError, transaction

from fmis.platform.errors import Conflict

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected

_cache: ContextVar[dict | None] = ContextVar("fmis_transaction_cache", default=None)


def transaction_cache() -> dict | None:
    """A dict for values that cannot change while one service transaction runs (configuration,
    code → id look-ups), shared by everything the service calls; None outside a service.

    It lives for one attempt of the outermost ``retry_on_conflict`` function: a retry starts
    empty, and nothing survives the transaction. A service that writes what a key caches must
    drop that key (``invalidate``)."""
    return _cache.get()


def cached(key, compute):
    """``compute()`` once per service transaction for `key` (every time outside one)."""
    cache = _cache.get()
    if cache is None:
        return compute()
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = compute()
        return value


def invalidate(*keys) -> None:
    cache = _cache.get()
    if cache is not None:
        for key in keys:
            cache.pop(key, None)


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__ or exc.__context__
    return getattr(cause, "sqlstate", None) or getattr(exc, "sqlstate", None)


def retry_on_conflict(fn=None, *, attempts: int = 8):
    """Run `fn` in its own transaction, retrying it on serialization failures and deadlocks.

    Must be the outermost transaction: inside another atomic block a retry would not help, so
    the error is re-raised there. The audit records the function writes are chained when it
    returns (``audit.deferred()``), so the audit chain's lock is held only from then to the commit.
    """

    def deco(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            from fmis.platform import audit  # the audit log's models load after the app registry

            for attempt in range(1, attempts + 1):
                token = _cache.set({}) if _cache.get() is None else None
                try:
                    with transaction.atomic(), audit.deferred():
                        return func(*args, **kwargs)
                except OperationalError as exc:
                    if _sqlstate(exc) not in RETRYABLE_SQLSTATES or transaction.get_connection().in_atomic_block:
                        raise
                    if attempt == attempts:
                        raise Conflict("db.busy", "系统繁忙，请稍后重试") from exc
                    time.sleep(random.uniform(0, 0.005 * 2 ** attempt))
                finally:
                    if token is not None:
                        _cache.reset(token)
            raise AssertionError("unreachable")

        return wrapper

    return deco(fn) if fn is not None else deco

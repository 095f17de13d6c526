"""Domain events, dispatched synchronously in the publishing transaction.

A module subscribes with ``@subscribe("treasury.payment_settled")`` (or ``"*"`` for every event);
handlers run inside the same database transaction as the publisher, so either the business write
and all its consequences commit, or none of them does: a handler that raises rolls the publisher
back. Every event is also stored in ``EventRecord``. What must leave the process goes through the
outbox (``fmis.platform.outbox``), never straight from a handler.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

from fmis.platform.jsonutil import jsonable
from fmis.platform.models import EventRecord

Handler = Callable[[str, dict], Any]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str):
    """Decorator: call the function as ``fn(name, payload)`` whenever `name` is published."""

    def register(fn: Handler) -> Handler:
        if fn not in _handlers[name]:
            _handlers[name].append(fn)
        return fn

    return register


def unsubscribe(name: str, fn: Handler) -> None:
    if fn in _handlers.get(name, ()):
        _handlers[name].remove(fn)


def handlers_for(name: str) -> list[Handler]:
    return list(_handlers.get(name, ())) + list(_handlers.get("*", ()))


def publish(name: str, payload: dict[str, Any]) -> EventRecord:
    """Store the event and run its handlers, in order, in the current transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.publish must be called inside a transaction")
    if not name or len(name) > 100:
        raise ValueError(f"event name must be 1–100 characters: {name!r}")
    data = jsonable(payload)
    rec = EventRecord.objects.create(name=name, payload=data)
    for handler in handlers_for(name):
        handler(name, data)
    return rec

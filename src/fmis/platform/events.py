"""Domain events, dispatched synchronously in the publishing transaction.

A module subscribes with ``@subscribe("treasury.payment_settled")``; handlers run inside the same
database transaction as the publisher, so either both the business write and its consequences
commit, or neither does. Every event is also stored in ``EventRecord``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

from fmis.platform.jsonutil import jsonable
from fmis.platform.models import EventRecord

_handlers: dict[str, list[Callable[[str, dict], Any]]] = defaultdict(list)


def subscribe(name: str):
    def register(fn: Callable[[str, dict], Any]):
        if fn not in _handlers[name]:
            _handlers[name].append(fn)
        return fn

    return register


def publish(name: str, payload: dict[str, Any]) -> EventRecord:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.publish must be called inside a transaction")
    data = jsonable(payload)
    rec = EventRecord.objects.create(name=name, payload=data)
    for handler in list(_handlers.get(name, ())) + list(_handlers.get("*", ())):
        handler(name, data)
    return rec

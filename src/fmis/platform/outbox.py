"""The outbox: messages that leave the process, written in the business transaction and
delivered later, at least once, idempotently (``(topic, key)`` is unique)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from fmis.platform.jsonutil import jsonable
from fmis.platform.models import OutboxMessage

_senders: dict[str, Callable[[OutboxMessage], None]] = {}


def register_sender(topic: str):
    def deco(fn: Callable[[OutboxMessage], None]):
        _senders[topic] = fn
        return fn

    return deco


def enqueue(*, topic: str, key: str, payload: dict[str, Any]) -> OutboxMessage:
    """Write a message in the current transaction. The same (topic, key) is written once."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox.enqueue must be called inside a transaction")
    msg, _ = OutboxMessage.objects.get_or_create(topic=topic, key=key, defaults={"payload": jsonable(payload)})
    return msg


def deliver(*, topic: str | None = None, limit: int = 100, max_attempts: int = 10) -> tuple[int, int]:
    """Send pending messages; returns (sent, failed). Safe to run in several processes."""
    sent = failed = 0
    tried: set[int] = set()
    for _ in range(limit):
        with transaction.atomic():
            qs = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
                status=OutboxMessage.Status.PENDING, attempts__lt=max_attempts)
            if topic:
                qs = qs.filter(topic=topic)
            if tried:
                qs = qs.exclude(id__in=tried)
            msg = qs.order_by("id").first()
            if msg is None:
                break
            tried.add(msg.pk)
            sender = _senders.get(msg.topic)
            msg.attempts += 1
            try:
                if sender is None:
                    raise LookupError(f"no sender registered for topic {msg.topic}")
                with transaction.atomic():
                    sender(msg)
                msg.status = OutboxMessage.Status.SENT
                msg.sent_at = timezone.now()
                msg.last_error = ""
                sent += 1
            except Exception as exc:  # delivery failures are recorded, not raised
                msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if msg.attempts >= max_attempts:
                    msg.status = OutboxMessage.Status.FAILED
                failed += 1
            msg.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    return sent, failed

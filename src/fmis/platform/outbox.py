"""The outbox: messages that leave the process (bank messages, ledger submissions).

A service writes the message with ``enqueue()`` in its business transaction, so the message exists
if and only if the business write committed. ``deliver()`` (``fmis outbox deliver``) sends pending
messages through the sender registered for their topic. Delivery is at least once: a message is
marked sent in the same transaction that locked it, so a crash after the send and before the commit
sends it again, and receivers de-duplicate on ``(topic, key)``. Several deliverers may run at once:
each message is locked with ``FOR UPDATE SKIP LOCKED`` while it is being sent, so no two send it
at the same time. A failing send is retried with exponential backoff and marked failed after
``max_attempts``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fmis.platform.errors import Conflict
from fmis.platform.jsonutil import jsonable
from fmis.platform.models import OutboxMessage

log = logging.getLogger(__name__)

Sender = Callable[[OutboxMessage], None]
# a batch sender sends several messages of its topic at once and answers, per message, None (sent)
# or the exception that kept it from being sent
BatchSender = Callable[[list[OutboxMessage]], list[Exception | None]]
_senders: dict[str, Sender] = {}
_batch_senders: dict[str, tuple[BatchSender, int]] = {}

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)


def register_sender(topic: str):
    """Decorator: ``fn(message)`` sends one message of `topic`; raising means "not sent"."""

    def deco(fn: Sender) -> Sender:
        _senders[topic] = fn
        return fn

    return deco


def register_batch_sender(topic: str, *, size: int = 200):
    """Decorator: ``fn(messages) -> [None | exception, ...]`` sends up to `size` messages of `topic`
    in one go (e.g. one round trip to the ordering service); ``deliver`` then locks, sends and marks
    them together. A topic with a batch sender needs no one-message sender."""

    def deco(fn: BatchSender) -> BatchSender:
        _batch_senders[topic] = (fn, max(1, size))
        return fn

    return deco


def unregister_sender(topic: str) -> None:
    _senders.pop(topic, None)
    _batch_senders.pop(topic, None)


def _outcome(msg: OutboxMessage, exc: Exception | None, at: dt.datetime, max_attempts: int) -> bool:
    """Record one send attempt on `msg` (not saved); True if it was sent."""
    msg.attempts += 1
    if exc is None:
        msg.status = OutboxMessage.Status.SENT
        msg.sent_at = timezone.now()
        msg.last_error = ""
        msg.next_attempt_at = None
        return True
    log.warning("outbox message %s (%s/%s) attempt %s failed: %s", msg.pk, msg.topic, msg.key, msg.attempts, exc)
    msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if msg.attempts >= max_attempts:
        msg.status = OutboxMessage.Status.FAILED
        msg.next_attempt_at = None
    else:
        msg.next_attempt_at = at + backoff(msg.attempts)
    return False


_FIELDS = ["status", "attempts", "last_error", "sent_at", "next_attempt_at"]


def _deliver_batches(topic: str, *, limit: int, max_attempts: int, now: dt.datetime | None) -> tuple[int, int]:
    fn, size = _batch_senders[topic]
    sent = failed = 0
    tried: set[int] = set()
    while sent + failed < limit:
        at = now or timezone.now()
        with transaction.atomic():
            qs = (OutboxMessage.objects.select_for_update(skip_locked=True)
                  .filter(status=OutboxMessage.Status.PENDING, topic=topic)
                  .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=at)))
            if tried:
                qs = qs.exclude(id__in=tried)
            batch = list(qs.order_by("id")[:min(size, limit - sent - failed)])
            if not batch:
                break
            tried.update(m.pk for m in batch)
            try:
                with transaction.atomic():
                    results = fn(batch)
                if len(results) != len(batch):
                    raise RuntimeError(f"batch sender for {topic} answered {len(results)} of {len(batch)} messages")
            except Exception as exc:  # noqa: BLE001 - the whole batch is recorded as not sent and retried
                results = [exc] * len(batch)
            for msg, exc in zip(batch, results, strict=True):
                if _outcome(msg, exc, at, max_attempts):
                    sent += 1
                else:
                    failed += 1
            OutboxMessage.objects.bulk_update(batch, _FIELDS)
    return sent, failed


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after `attempts` failures: 30 s, 1 min, 2 min, … at most 1 h."""
    return min(BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 20)), BACKOFF_MAX)


def enqueue(*, topic: str, key: str, payload: dict[str, Any]) -> OutboxMessage:
    """Write a message in the current transaction. The same (topic, key) is written once.

    Enqueueing the same (topic, key) again with the same payload returns the existing message; with
    a different payload it is refused (``outbox.key_reused``): a key names one message forever.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox.enqueue must be called inside a transaction")
    if not topic or not key:
        raise ValueError("outbox messages need a topic and a key")
    data = jsonable(payload)
    now = timezone.now()
    with connection.cursor() as cur:  # one statement when the key is new (the usual case)
        cur.execute("INSERT INTO platform_outboxmessage (topic, key, payload, status, attempts, last_error, created_at) "
                    "VALUES (%s, %s, %s::jsonb, %s, 0, '', %s) ON CONFLICT (topic, key) DO NOTHING RETURNING id",
                    [topic, key, json.dumps(data, ensure_ascii=False), OutboxMessage.Status.PENDING.value, now])
        row = cur.fetchone()
    if row is not None:
        msg = OutboxMessage(id=row[0], topic=topic, key=key, payload=data, status=OutboxMessage.Status.PENDING,
                            attempts=0, last_error="", created_at=now)
        msg._state.adding = False
        msg._state.db = connection.alias
        return msg
    msg = OutboxMessage.objects.get(topic=topic, key=key)
    if msg.payload != data:
        raise Conflict("outbox.key_reused", f"消息 {topic}/{key} 已存在且内容不同", topic=topic, key=key)
    return msg


def deliver(*, topic: str | None = None, limit: int = 100, max_attempts: int = 10,
            now: dt.datetime | None = None) -> tuple[int, int]:
    """Send up to `limit` due messages; returns (sent, failed attempts). Safe to run in parallel.

    Only topics with a registered sender are delivered (a process that cannot send a topic leaves
    its messages for one that can). Each message is tried at most once per call.
    """
    sent = failed = 0
    tried: set[int] = set()
    topics = [topic] if topic else [*_batch_senders, *(t for t in _senders if t not in _batch_senders)]
    for t in [t for t in topics if t in _batch_senders]:
        s, f = _deliver_batches(t, limit=limit - sent - failed, max_attempts=max_attempts, now=now)
        sent, failed = sent + s, failed + f
    topics = [t for t in topics if t in _senders and t not in _batch_senders]
    if not topics or sent + failed >= limit:
        return sent, failed
    for _ in range(limit - sent - failed):
        at = now or timezone.now()
        with transaction.atomic():
            qs = (OutboxMessage.objects.select_for_update(skip_locked=True)
                  .filter(status=OutboxMessage.Status.PENDING, topic__in=topics)
                  .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=at)))
            if tried:
                qs = qs.exclude(id__in=tried)
            msg = qs.order_by("id").first()
            if msg is None:
                break
            tried.add(msg.pk)
            error = None
            try:
                with transaction.atomic():  # a sender's own writes roll back if it fails
                    _senders[msg.topic](msg)
            except Exception as exc:  # noqa: BLE001 - any failure to send is recorded and retried, not raised
                error = exc
            if _outcome(msg, error, at, max_attempts):
                sent += 1
            else:
                failed += 1
            msg.save(update_fields=_FIELDS)
    return sent, failed


def retry(*, message_id: int, user) -> bool:
    """Put a failed message back in the queue (an operator's decision after fixing the cause)."""
    from fmis.platform import audit

    with transaction.atomic():
        msg = OutboxMessage.objects.select_for_update().filter(pk=message_id,
                                                               status=OutboxMessage.Status.FAILED).first()
        if msg is None:
            return False
        before = audit.snapshot(msg)
        msg.status, msg.attempts, msg.next_attempt_at = OutboxMessage.Status.PENDING, 0, None
        msg.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit.record(user, "platform.outbox.retry", msg, before=before)
        return True

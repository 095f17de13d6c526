"""The audit log: who, when, what, before/after, hash-chained.

``record()`` must be called inside the business transaction. A transaction-scoped advisory lock
orders the chain: the previous hash is read and the new row written while holding it, and the
lock is released at commit, so the chain follows commit order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from fmis.platform.jsonutil import canonical, jsonable
from fmis.platform.models import AuditRecord

GENESIS = "0" * 64
_LOCK_KEY = 7_301_001  # advisory lock id for the audit chain


def snapshot(obj: models.Model | None, *, exclude: tuple[str, ...] = ("password",)) -> dict | None:
    """A JSON-safe dict of a model instance's concrete fields, for before/after."""
    if obj is None:
        return None
    data = model_to_dict(obj, fields=[f.name for f in obj._meta.concrete_fields if f.name not in exclude])
    for f in obj._meta.concrete_fields:
        if f.is_relation and f.name in data:
            data[f.name] = getattr(obj, f.attname)
    return jsonable(data)


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


def _hash_fields(r: AuditRecord) -> dict[str, Any]:
    return {
        "id": r.pk, "at": r.at.astimezone(timezone.utc).isoformat(), "actor_id": r.actor_id,
        "actor_name": r.actor_name, "action": r.action, "object_type": r.object_type,
        "object_id": r.object_id, "object_repr": r.object_repr, "before": r.before, "after": r.after,
        "prev_hash": r.prev_hash,
    }


def record(actor, action: str, obj: models.Model | None = None, *, before: dict | None = None,
           after: dict | None = None, object_type: str = "", object_id: str = "",
           object_repr: str = "") -> AuditRecord:
    """Append one audit record in the current transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must be called inside a transaction")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:300]
        if after is None:
            after = snapshot(obj)
    actor_id = getattr(actor, "pk", None)
    actor_name = getattr(actor, "username", "") or ("system" if actor is None else str(actor))
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cur.execute("SELECT nextval(pg_get_serial_sequence('platform_auditrecord', 'id'))")
        new_id = cur.fetchone()[0]
    last = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first()
    rec = AuditRecord(id=new_id, at=timezone.now(), actor_id=actor_id, actor_name=actor_name[:150],
                      action=action, object_type=object_type, object_id=str(object_id),
                      object_repr=object_repr[:300], before=jsonable(before), after=jsonable(after),
                      prev_hash=last or GENESIS)
    rec.hash = _digest(_hash_fields(rec))
    rec.save(force_insert=True)
    return rec


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def verify(*, batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; report the first row whose hash or link does not match."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditRecord.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            return VerifyResult(True, checked)
        for r in rows:
            if r.prev_hash != prev:
                return VerifyResult(False, checked, r.pk, "上一条哈希不匹配（记录被删除或插入）")
            if _digest(_hash_fields(r)) != r.hash:
                return VerifyResult(False, checked, r.pk, "本条哈希不匹配（记录内容被修改）")
            prev = r.hash
            checked += 1
            last_id = r.pk

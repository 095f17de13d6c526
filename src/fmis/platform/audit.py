"""The audit log: who, when, what, before/after, hash-chained.

``record()`` must be called inside the business transaction, so that the record commits or rolls
back with the write it describes. A transaction-scoped advisory lock orders the chain: the id is
drawn, the previous hash read and the new row written while holding it, and the lock is released
at commit, so the chain follows commit order and a rolled-back record never becomes anyone's
predecessor. It is one statement per record, the database function ``platform_audit_append``
(migration 0004): Python sends the record's canonical JSON cut around the two values drawn under
the lock (id and previous hash) and the database hashes it. ``deferred()`` queues a service's
records and seals them together at its end (``platform_audit_append_many``, migration 0005), so
the lock is held only from then to the commit. Ids may have gaps (a rolled-back transaction
consumed one); the chain does not.

Each row's hash is SHA-256 over the canonical JSON of its own fields and the previous row's hash.
``verify()`` walks the chain in id order and reports the first row that does not fit: its content
was modified, a record before it was deleted, or it was inserted. A trigger (migration 0002/0003)
refuses UPDATE, DELETE and TRUNCATE. Deleting the newest records cannot be seen from the chain
alone: ``head()`` gives the latest (id, hash) for keeping elsewhere, and ``verify(anchors=...)``
checks such kept pairs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from fmis.platform.jsonutil import canonical, jsonable
from fmis.platform.models import AuditRecord

GENESIS = "0" * 64
_LOCK_KEY = 7_301_001  # advisory lock id for the audit chain (taken by the SQL functions of 0004/0005)
_SECRET_FIELDS = ("password", "secret", "token_hash", "key_hash")


def _field_value(value: Any) -> Any:
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds())
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)  # a float column is never money; kept as text so hashing stays exact
    return jsonable(value)


def snapshot(obj: models.Model | None, *, exclude: tuple[str, ...] = _SECRET_FIELDS) -> dict | None:
    """A JSON-safe dict of a model instance's concrete fields, for before/after.

    Foreign keys appear under the field name with the related id; secrets are left out.
    """
    if obj is None:
        return None
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.name in exclude:
            continue
        data[f.name] = _field_value(getattr(obj, f.attname))
    return data


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


def _hash_fields(r: AuditRecord) -> dict[str, Any]:
    return {
        "id": r.pk, "at": r.at.astimezone(dt.UTC).isoformat(), "actor_id": r.actor_id,
        "actor_name": r.actor_name, "action": r.action, "object_type": r.object_type,
        "object_id": r.object_id, "object_repr": r.object_repr, "before": r.before, "after": r.after,
        "prev_hash": r.prev_hash,
    }


def compute_hash(r: AuditRecord) -> str:
    """The hash a record must carry, given its fields and ``prev_hash``."""
    return _digest(_hash_fields(r))


def record(actor, action: str, obj: models.Model | None = None, *, before: dict | None = None,
           after: dict | None = None, object_type: str = "", object_id: str | int = "",
           object_repr: str = "") -> AuditRecord:
    """Append one audit record in the current transaction.

    `actor` is the user (None for the system); `action` a dotted code such as "orgs.agency.update";
    `obj` the object written (its snapshot is the `after` unless given). Call it after the write,
    inside the same ``transaction.atomic()``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must be called inside a transaction")
    if not action or len(action) > 100:
        raise ValueError(f"audit action must be 1–100 characters: {action!r}")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or ("" if obj.pk is None else str(obj.pk))
        object_repr = object_repr or str(obj)
        if after is None:
            after = snapshot(obj)
    object_id = str(object_id)
    if len(object_type) > 100 or len(object_id) > 64:
        raise ValueError(f"audit object type/id too long: {object_type!r} {object_id!r}")
    actor_id = getattr(actor, "pk", None)
    actor_name = getattr(actor, "username", "") or ("system" if actor is None else str(actor))
    before, after = jsonable(before), jsonable(after)
    rec = AuditRecord(at=timezone.now(), actor_id=actor_id, actor_name=actor_name[:150], action=action,
                      object_type=object_type, object_id=object_id, object_repr=object_repr[:300], before=before,
                      after=after)
    head, middle = _hash_text_around_id(rec)
    queue = _queue.get()
    if queue is not None:
        queue.append(_Queued(rec, head, middle, _savepoint_marker()))
        return rec
    with connection.cursor() as cur:
        cur.execute("SELECT new_id, new_prev_hash, new_hash FROM platform_audit_append("
                    "%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s)",
                    [rec.at, actor_id, rec.actor_name, action, object_type, object_id, rec.object_repr,
                     None if before is None else json.dumps(before, ensure_ascii=False),
                     None if after is None else json.dumps(after, ensure_ascii=False), head, middle])
        rec.id, rec.prev_hash, rec.hash = cur.fetchone()
    rec._state.adding = False
    rec._state.db = connection.alias
    return rec


@dataclass
class _Queued:
    record: AuditRecord
    head: str
    middle: str
    marker: Any


_queue: ContextVar[list[_Queued] | None] = ContextVar("fmis_audit_queue", default=None)


def _savepoint_marker():
    """A no-op commit hook registered where the record was written: Django drops it if a savepoint
    around that point is rolled back, which tells ``deferred()`` to drop the record too."""

    def marker():
        return None

    transaction.on_commit(marker)
    return marker


@contextmanager
def deferred():
    """Queue the audit records written in the block and chain them all at its end, in one statement.

    For a service transaction whose last step is this block's end: the chain's lock is then taken
    just before the commit (and held only while the records are sealed and the transaction
    commits) instead of from the first record on. The records are chained in the order they were
    written, adjacent to each other, exactly as ``record()`` would have chained them; a record
    written inside a savepoint that was later rolled back is dropped with it. Until the block
    ends, the ``AuditRecord`` objects ``record()`` returned have no id and no hash yet.
    Nested blocks join the outermost one. If the block raises, nothing is written.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.deferred must be used inside a transaction")
    if _queue.get() is not None:
        yield
        return
    queue: list[_Queued] = []
    token = _queue.set(queue)
    try:
        yield
    finally:
        _queue.reset(token)
    _seal(queue)


def _seal(queue: list[_Queued]) -> None:
    alive = {id(func) for _, func, _ in connection.run_on_commit}
    kept = [q for q in queue if id(q.marker) in alive]
    if not kept:
        return
    payload = [{"at": q.record.at.isoformat(), "actor_id": q.record.actor_id, "actor_name": q.record.actor_name,
                "action": q.record.action, "object_type": q.record.object_type, "object_id": q.record.object_id,
                "object_repr": q.record.object_repr, "before": q.record.before, "after": q.record.after,
                "head": q.head, "middle": q.middle} for q in kept]
    with connection.cursor() as cur:
        cur.execute("SELECT ord, new_id, new_prev_hash, new_hash FROM platform_audit_append_many(%s::jsonb)",
                    [json.dumps(payload, ensure_ascii=False)])
        rows = cur.fetchall()
    for ord_, new_id, prev_hash, hash_ in rows:
        rec = kept[ord_].record
        rec.id, rec.prev_hash, rec.hash = new_id, prev_hash, hash_
        rec._state.adding = False
        rec._state.db = connection.alias


def _hash_text_around_id(r: AuditRecord) -> tuple[str, str]:
    """The canonical JSON that ``compute_hash`` hashes, cut where the id and the previous hash go.

    Keys are sorted, so the text is ``head + str(id) + middle + prev_hash + '"}'``: the database
    fills in the two values it draws under the chain's lock (``platform_audit_append``)."""
    fields = _hash_fields(r)
    keys = sorted(fields)
    i, j = keys.index("id"), keys.index("prev_hash")
    if j != len(keys) - 1 or not 0 < i < j:  # the cut relies on this order of the field names
        raise AssertionError(f"unexpected audit hash fields: {keys}")

    def pairs(names):
        return ",".join(f"{json.dumps(k)}:{canonical(fields[k])}" for k in names)

    return "{" + pairs(keys[:i]) + ',"id":', "," + pairs(keys[i + 1:j]) + ',"prev_hash":"'


def diff(rec: AuditRecord) -> list[dict[str, Any]]:
    """Field by field: [{"field", "before", "after", "changed"}], sorted by field name."""
    b = rec.before if isinstance(rec.before, dict) else {}
    a = rec.after if isinstance(rec.after, dict) else {}
    keys = sorted(set(b) | set(a))
    return [{"field": k, "before": b.get(k), "after": a.get(k),
             "changed": (k in a) != (k in b) or b.get(k) != a.get(k)} for k in keys]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    kind: str = ""  # "modified", "deleted", "inserted", "anchor"
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.checked} audit records verified"
        return (f"BROKEN at audit record id={self.broken_id} ({self.kind}): {self.reason}; "
                f"{self.checked} records before it verified")


def head() -> tuple[int, str] | None:
    """The newest record's (id, hash), to keep outside the database as an anchor."""
    row = AuditRecord.objects.order_by("-id").values_list("id", "hash").first()
    return (row[0], row[1]) if row else None


def verify(*, batch: int = 2000, anchors: Mapping[int, str] | None = None) -> VerifyResult:
    """Walk the chain in id order; report the first record whose hash or link does not match.

    A record whose own hash is wrong was modified. A record whose link skips back over the record
    before it shows that record was inserted; any other broken link shows records were deleted
    before it. `anchors` ({id: hash} kept elsewhere) must all be found, unchanged.
    """
    pending = dict(anchors or {})
    prev, prev_prev, prev_id = GENESIS, None, None
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditRecord.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            break
        for r in rows:
            if r.prev_hash != prev:
                if prev_id is not None and r.prev_hash == prev_prev:
                    return VerifyResult(False, checked - 1, prev_id, "inserted",
                                        f"记录 {prev_id} 是插入的（其后的记录 {r.pk} 链接到它之前的记录）")
                return VerifyResult(False, checked, r.pk, "deleted",
                                    "上一条哈希不匹配：此记录之前的记录被删除或替换")
            if compute_hash(r) != r.hash:
                return VerifyResult(False, checked, r.pk, "modified", "本条哈希不匹配：记录内容被修改")
            if r.pk in pending and pending.pop(r.pk) != r.hash:
                return VerifyResult(False, checked, r.pk, "anchor", "记录与保存在别处的锚定哈希不一致")
            prev_prev, prev, prev_id = prev, r.hash, r.pk
            checked += 1
            last_id = r.pk
    if pending:
        missing = min(pending)
        return VerifyResult(False, checked, missing, "anchor", f"锚定的记录 {missing} 已不存在（记录被删除）")
    return VerifyResult(True, checked)

"""Reads of the platform's tables that users see.

The audit log is deliberately global: it is not narrowed by data permission rules. Its readers are
auditors and system administrators, whose job is to see every write in the installation, whoever
made it and whatever agency or region it touched; a log filtered by the reader's scope would hide
exactly the writes an auditor is looking for. Access is therefore controlled by the function
``platform.audit.view`` alone, which should be granted only to such roles.
"""

from __future__ import annotations

import datetime as dt

from django.db import DatabaseError, connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from fmis.iam.permissions import require
from fmis.platform.errors import NotFound, ValidationFailed
from fmis.platform.models import AuditRecord

AUDIT_VIEW = "platform.audit.view"


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_records(*, user, object_type: str = "", object_id: str = "", actor: str = "", action: str = "",
                  date_from: dt.date | None = None, date_to: dt.date | None = None,
                  q: str = "") -> QuerySet[AuditRecord]:
    """Audit records, newest first, filtered; `date_to` is inclusive (local dates).

    `actor` matches the user name or, when numeric, the user id; `action` matches a code or a code
    prefix ("orgs." gives every orgs action); `q` searches the object, action and user.
    """
    require(user, AUDIT_VIEW)
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("platform.audit.bad_range", "开始日期不能晚于结束日期", field="date_from")
    qs = AuditRecord.objects.all()
    if object_type:
        qs = qs.filter(object_type=object_type.strip().lower())
    if object_id:
        qs = qs.filter(object_id=str(object_id).strip())
    if actor:
        actor = actor.strip()
        cond = Q(actor_name__iexact=actor)
        if actor.isdigit():
            cond |= Q(actor_id=int(actor))
        qs = qs.filter(cond)
    if action:
        action = action.strip()
        qs = qs.filter(Q(action=action) | Q(action__startswith=action.rstrip(".") + "."))
    if date_from:
        qs = qs.filter(at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(at__lt=_day_start(date_to + dt.timedelta(days=1)))
    if q:
        q = q.strip()
        qs = qs.filter(Q(object_repr__icontains=q) | Q(action__icontains=q) | Q(actor_name__icontains=q)
                       | Q(object_id=q))
    return qs.order_by("-id")


def audit_record(*, user, pk: int) -> AuditRecord:
    require(user, AUDIT_VIEW)
    rec = AuditRecord.objects.filter(pk=pk).first()
    if rec is None:
        raise NotFound("platform.audit.not_found", "审计记录不存在", field="id")
    return rec


def database_reachable() -> bool:
    """True when a trivial query answers."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    except DatabaseError:
        return False

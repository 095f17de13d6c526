"""Platform API: the audit log (for auditors) and a health check (for load balancers)."""


import datetime as dt
from typing import Any

from ninja import Query, Router, Schema
from pydantic import Field

from fmis.iam.api_auth import requires
from fmis.platform import selectors
from fmis.platform.errors import ServiceUnavailable

router = Router(tags=["platform"])

MAX_PAGE_SIZE = 200


class AuditFilters(Schema):
    object_type: str = Field("", max_length=100, description="e.g. orgs.agency")
    object_id: str = Field("", max_length=64)
    actor: str = Field("", max_length=150, description="user name, or user id")
    action: str = Field("", max_length=100, description="action code or prefix, e.g. orgs.")
    date_from: dt.date | None = None
    date_to: dt.date | None = Field(None, description="inclusive")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class AuditOut(Schema):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any = None
    after: Any = None
    prev_hash: str
    hash: str


class AuditPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[AuditOut]


class HealthOut(Schema):
    status: str
    database: str


@router.get("/audit", response=AuditPage, summary="List audit records")
@requires("platform.audit.view")
def audit_list(request, filters: Query[AuditFilters]):
    qs = selectors.audit_records(user=request.user, object_type=filters.object_type, object_id=filters.object_id,
                                 actor=filters.actor, action=filters.action, date_from=filters.date_from,
                                 date_to=filters.date_to)
    start = (filters.page - 1) * filters.page_size
    return {"count": qs.count(), "page": filters.page, "page_size": filters.page_size,
            "items": list(qs[start:start + filters.page_size])}


@router.get("/audit/{record_id}", response=AuditOut, summary="One audit record")
@requires("platform.audit.view")
def audit_detail(request, record_id: int):
    return selectors.audit_record(user=request.user, pk=record_id)


@router.get("/health", response=HealthOut, auth=None, summary="Is the service up and the database reachable")
def health(request):
    if not selectors.database_reachable():
        raise ServiceUnavailable("platform.database_unreachable", "数据库无法连接")
    return {"status": "ok", "database": "ok"}

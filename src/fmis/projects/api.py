"""Project library API under /api/v1/projects/: projects (declare, edit, submit, review, terminate,
history, import), the yearly library (list, roll over, schedule) and the category tree.

Lists take ``limit`` and ``offset`` and answer ``{"count": n, "items": [...]}``. Projects outside
the caller's data scope answer 404 exactly like missing ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile

from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page
from fmis.projects import selectors, services
from fmis.projects.functions import (
    IMPORT,
    LIBRARY_MANAGE,
    LIBRARY_VIEW,
    MANAGE,
    SCHEDULE,
    SUBMIT,
    TERMINATE,
    VIEW,
)
from fmis.projects.models import LibraryEntry, Project

router = Router(tags=["projects"])


# --- schemas -----------------------------------------------------------------------------------

class PlanOut(Schema):
    year: int
    amount: Decimal


class TargetSchema(Schema):
    level1: str
    level2: str
    level3: str
    comparator: str = "≥"
    target_value: str
    unit: str = ""


class ProjectOut(Schema):
    id: int
    code: str
    name: str
    agency_code: str
    agency_name: str
    region_code: str
    category: str
    category_name: str
    func_code: str
    eco_code: str
    fund_type: str
    start_year: int
    end_year: int
    total_amount: Decimal
    status: str
    status_name: str
    is_transfer: bool
    target_region_code: str | None
    tags: list[str]
    summary: str
    return_reason: str
    terminate_reason: str
    plans: list[PlanOut]
    targets: list[TargetSchema]

    @staticmethod
    def resolve_agency_code(obj: Project) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_agency_name(obj: Project) -> str:
        return obj.agency.name

    @staticmethod
    def resolve_region_code(obj: Project) -> str:
        return obj.region.code

    @staticmethod
    def resolve_category(obj: Project) -> str:
        return obj.category_id

    @staticmethod
    def resolve_category_name(obj: Project) -> str:
        return obj.category.name

    @staticmethod
    def resolve_status_name(obj: Project) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_target_region_code(obj: Project) -> str | None:
        return obj.target_region.code if obj.target_region_id else None

    @staticmethod
    def resolve_plans(obj: Project):
        return list(obj.plans.order_by("year"))

    @staticmethod
    def resolve_targets(obj: Project):
        return list(obj.performance_targets.order_by("pk"))


ProjectPage = page_schema(ProjectOut)


class ProjectFilter(Schema):
    q: str = ""
    status: str = ""
    year: int | None = None
    category: str = ""
    transfer: bool | None = None
    tag: str = ""
    limit: int = 50
    offset: int = 0


class ProjectIn(Schema):
    name: str
    agency_code: str
    category: str
    func_code: str
    start_year: int
    end_year: int
    total_amount: Decimal
    plans: dict[int, Decimal]
    targets: list[TargetSchema] = []
    code: str = ""
    eco_code: str = ""
    fund_type: str = ""
    is_transfer: bool = False
    target_region_code: str | None = None
    tags: list[str] = []
    basis: str = ""
    summary: str = ""


class ReviewIn(Schema):
    action: str
    text: str = ""
    step: int | None = None


class ReasonIn(Schema):
    reason: str


class CommentIn(Schema):
    comment: str = ""


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int


class LibraryEntryOut(Schema):
    id: int
    project_id: int
    project_code: str
    project_name: str
    agency_code: str
    category: str
    library_year: int
    plan_amount: Decimal
    remaining_amount: Decimal
    status: str
    scheduled_amount: Decimal | None

    @staticmethod
    def resolve_project_code(obj: LibraryEntry) -> str:
        return obj.project.code

    @staticmethod
    def resolve_project_name(obj: LibraryEntry) -> str:
        return obj.project.name

    @staticmethod
    def resolve_agency_code(obj: LibraryEntry) -> str:
        return obj.project.agency.code

    @staticmethod
    def resolve_category(obj: LibraryEntry) -> str:
        return obj.project.category_id


LibraryPage = page_schema(LibraryEntryOut)


class LibraryFilter(Schema):
    fiscal_year: int
    agency_code: str = ""
    include_scheduled: bool = False
    limit: int = 50
    offset: int = 0


class RollIn(Schema):
    region_code: str
    from_year: int


class RollOut(Schema):
    created: int


class ScheduleIn(Schema):
    fiscal_year: int
    amount: Decimal
    source_type: str = ""
    source_id: str = ""


class CategoryOut(Schema):
    code: str
    name: str
    parent: str | None
    is_leaf: bool
    remark: str

    @staticmethod
    def resolve_parent(obj) -> str | None:
        return obj.parent_id


class HistoryOut(Schema):
    id: int
    at: dt.datetime
    actor_name: str
    action: str
    before: dict | None
    after: dict | None


# --- helpers -----------------------------------------------------------------------------------

def _agency_id(code: str) -> int:
    from fmis.orgs.models import Agency
    from fmis.platform.errors import ValidationFailed

    agency = Agency.objects.filter(code=(code or "").strip()).first()
    if agency is None:
        raise ValidationFailed("projects.agency_missing", f"单位 {code} 不存在", field="agency_code")
    return agency.pk


def _region_id(code: str | None) -> int | None:
    from fmis.orgs.models import Region
    from fmis.platform.errors import ValidationFailed

    if not code:
        return None
    region = Region.objects.filter(code=code.strip()).first()
    if region is None:
        raise ValidationFailed("projects.region_missing", f"财政区划 {code} 不存在", field="target_region_code")
    return region.pk


def _input(body: ProjectIn) -> services.ProjectInput:
    return services.ProjectInput(
        name=body.name, agency_id=_agency_id(body.agency_code), category=body.category, func_code=body.func_code,
        start_year=body.start_year, end_year=body.end_year, total_amount=body.total_amount,
        plans=dict(body.plans), code=body.code, eco_code=body.eco_code, fund_type=body.fund_type,
        is_transfer=body.is_transfer, target_region_id=_region_id(body.target_region_code), tags=body.tags,
        basis=body.basis, summary=body.summary,
        targets=[services.TargetInput(t.level1, t.level2, t.level3, t.target_value, t.unit, t.comparator)
                 for t in body.targets])


# --- projects ----------------------------------------------------------------------------------

@router.get("/projects", response=ProjectPage)
@requires(VIEW)
def list_projects(request, filters: Query[ProjectFilter]):
    qs = selectors.projects_for(user=request.user, q=filters.q, status=filters.status, year=filters.year,
                                category=filters.category, transfer=filters.transfer, tag=filters.tag)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/projects", response={201: ProjectOut})
@requires(MANAGE)
def create_project(request, body: ProjectIn):
    return 201, services.create_project(user=request.user, data=_input(body))


@router.post("/projects/import", response=ImportOut)
@requires(IMPORT)
def import_projects(request, file: UploadedFile = File(...)):  # noqa: B008
    return services.import_projects(user=request.user, file=file)


@router.get("/projects/{project_id}", response=ProjectOut)
@requires(VIEW)
def get_project(request, project_id: int):
    return selectors.project_detail(user=request.user, project_id=project_id)


@router.put("/projects/{project_id}", response=ProjectOut)
@requires(MANAGE)
def update_project(request, project_id: int, body: ProjectIn):
    return services.update_project(user=request.user, project_id=project_id, data=_input(body))


@router.delete("/projects/{project_id}", response={204: None})
@requires(MANAGE)
def delete_project(request, project_id: int):
    services.delete_project(user=request.user, project_id=project_id)
    return 204, None


@router.post("/projects/{project_id}/submit", response=ProjectOut)
@requires(SUBMIT)
def submit_project(request, project_id: int, body: CommentIn):
    return services.submit_project(user=request.user, project_id=project_id, comment=body.comment)


@router.post("/projects/{project_id}/review", response=ProjectOut)
@requires(VIEW)
def review_project(request, project_id: int, body: ReviewIn):
    """Approve, return (with a reason), reject or withdraw; the current step's function decides."""
    return services.review_project(user=request.user, project_id=project_id, action=body.action, text=body.text,
                                   step=body.step)


@router.post("/projects/{project_id}/terminate", response=ProjectOut)
@requires(TERMINATE)
def terminate_project(request, project_id: int, body: ReasonIn):
    return services.terminate_project(user=request.user, project_id=project_id, reason=body.reason)


@router.post("/projects/{project_id}/schedule", response=LibraryEntryOut)
@requires(SCHEDULE)
def schedule_project(request, project_id: int, body: ScheduleIn):
    source = {"type": body.source_type, "id": body.source_id} if body.source_type else None
    return services.schedule(project_id=project_id, fiscal_year=body.fiscal_year, amount=body.amount,
                             user=request.user, source=source)


@router.get("/projects/{project_id}/history", response=list[HistoryOut])
@requires(VIEW)
def project_history(request, project_id: int):
    return list(selectors.history(user=request.user, project_id=project_id)[:500])


# --- library -----------------------------------------------------------------------------------

@router.get("/library", response=LibraryPage)
@requires(LIBRARY_VIEW)
def list_library(request, filters: Query[LibraryFilter]):
    agency_id = _agency_id(filters.agency_code) if filters.agency_code else None
    qs = selectors.library(user=request.user, fiscal_year=filters.fiscal_year, agency_id=agency_id,
                           include_scheduled=filters.include_scheduled)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/library/roll-over", response=RollOut)
@requires(LIBRARY_MANAGE)
def roll_over(request, body: RollIn):
    from fmis.orgs.models import Region
    from fmis.platform.errors import NotFound

    region = Region.objects.filter(code=body.region_code.strip()).first()
    if region is None:
        raise NotFound("projects.region_not_found", "财政区划不存在或不在您的数据权限范围内", field="region_code")
    return {"created": services.roll_over(region_id=region.pk, from_year=body.from_year, user=request.user)}


@router.get("/categories", response=list[CategoryOut])
@requires(VIEW)
def list_categories(request):
    return list(selectors.categories())

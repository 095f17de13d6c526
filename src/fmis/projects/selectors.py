"""Reads of the project library, always through the data-permission filter: a unit sees its own
projects, a supervising department its subordinates' (agency code subtree), the budget division
its region's."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from fmis.platform.errors import NotFound
from fmis.platform.models import AuditRecord
from fmis.projects import functions as fn
from fmis.projects.models import LibraryEntry, Project, ProjectCategory


def projects_for(*, user, q: str = "", status: str = "", year: int | None = None, category: str = "",
                 agency_id: int | None = None, transfer: bool | None = None, tag: str = "") -> QuerySet[Project]:
    qs = Project.objects.restrict(user, fn.VIEW).select_related("agency", "category", "region", "target_region")
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(agency__name__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if year:
        qs = qs.filter(start_year__lte=year, end_year__gte=year)
    if category:
        qs = qs.filter(category__code__startswith=category)
    if agency_id:
        qs = qs.filter(agency_id=agency_id)
    if transfer is not None:
        qs = qs.filter(is_transfer=transfer)
    if tag:
        qs = qs.filter(tags__contains=[tag])
    return qs.order_by("-start_year", "code")


def project_detail(*, user, project_id, function: str = fn.VIEW) -> Project:
    """One project in the user's scope; missing and out-of-scope alike are NotFound."""
    qs = Project.objects.restrict(user, function).select_related("agency", "category", "region", "target_region",
                                                                 "created_by")
    project = qs.filter(pk=project_id).first() if str(project_id).isdigit() else None
    if project is None:
        raise NotFound("projects.not_found", "项目不存在", field="project")
    return project


def library(*, user, fiscal_year: int, agency_id: int | None = None,
            include_scheduled: bool = False) -> QuerySet[LibraryEntry]:
    """The year's library: reserved projects with a plan amount for `fiscal_year`, in the user's
    scope (what budget preparation chooses from). With `include_scheduled`, also the ones already
    scheduled into that year."""
    statuses = [LibraryEntry.Status.RESERVED] + ([LibraryEntry.Status.SCHEDULED] if include_scheduled else [])
    qs = (LibraryEntry.objects.restrict(user, fn.LIBRARY_VIEW)
          .filter(library_year=fiscal_year, status__in=statuses, plan_amount__gt=0,
                  project__status__in=[Project.Status.RESERVED, Project.Status.SCHEDULED])
          .select_related("project", "project__agency", "project__category"))
    if agency_id:
        qs = qs.filter(project__agency_id=agency_id)
    return qs.order_by("project__agency__code", "project__code")


def library_entries(*, user, fiscal_year: int | None = None, q: str = "", status: str = "",
                    agency_id: int | None = None) -> QuerySet[LibraryEntry]:
    """Every library row in scope (储备情况查询), any status."""
    qs = LibraryEntry.objects.restrict(user, fn.LIBRARY_VIEW).select_related("project", "project__agency",
                                                                             "project__category")
    if fiscal_year:
        qs = qs.filter(library_year=fiscal_year)
    if q:
        qs = qs.filter(Q(project__code__icontains=q) | Q(project__name__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if agency_id:
        qs = qs.filter(project__agency_id=agency_id)
    return qs.order_by("-library_year", "project__code")


def categories() -> QuerySet[ProjectCategory]:
    return ProjectCategory.objects.order_by("code")


def leaf_categories() -> QuerySet[ProjectCategory]:
    return ProjectCategory.objects.filter(is_leaf=True).order_by("code")


def history(*, user, project_id) -> QuerySet[AuditRecord]:
    """The audit records of one project (and of its library rows), newest first."""
    project = project_detail(user=user, project_id=project_id)
    entry_ids = [str(pk) for pk in LibraryEntry.objects.filter(project=project).values_list("pk", flat=True)]
    return AuditRecord.objects.filter(
        Q(object_type="projects.project", object_id=str(project.pk))
        | Q(object_type="projects.libraryentry", object_id__in=entry_ids)).order_by("-id")


def transfers_received(*, user) -> QuerySet[Project]:
    """Approved transfer-payment projects declared by upper levels for regions in the user's scope
    (what a lower-level finance department is to receive)."""
    from fmis.orgs.models import Region

    regions = Region.objects.restrict(user, fn.TRANSFER_VIEW).values("pk")
    return (Project.objects.filter(is_transfer=True, target_region__in=regions,
                                   status__in=[Project.Status.RESERVED, Project.Status.SCHEDULED,
                                               Project.Status.COMPLETED])
            .select_related("agency", "category", "region", "target_region").order_by("-start_year", "code"))

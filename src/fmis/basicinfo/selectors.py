"""Reads of the basic information base, always through the data-permission filter: a unit sees
its own agency, a supervising department its subordinates, the budget division its region."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from fmis.basicinfo import functions as fn
from fmis.basicinfo.models import Asset, ExpenditureStandard, InfoSubmission, Personnel, Vehicle
from fmis.platform.errors import NotFound
from fmis.platform.models import AuditRecord

BASICINFO_TYPES = ("basicinfo.personnel", "basicinfo.vehicle", "basicinfo.asset", "basicinfo.infosubmission")


def _agency_filter(qs, *, fiscal_year=None, agency_id=None):
    if fiscal_year:
        qs = qs.filter(fiscal_year=fiscal_year)
    if agency_id:
        qs = qs.filter(agency_id=agency_id)
    return qs


def personnel(*, user, fiscal_year: int | None = None, agency_id: int | None = None, q: str = "",
              category: str = "") -> QuerySet[Personnel]:
    qs = _agency_filter(Personnel.objects.restrict(user, fn.VIEW), fiscal_year=fiscal_year, agency_id=agency_id)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(post__icontains=q) | Q(agency__name__icontains=q)
                       | Q(agency__code__startswith=q))
    if category:
        qs = qs.filter(category=category)
    return qs.select_related("agency").prefetch_related("salary_items").order_by("agency__code", "name", "pk")


def person(*, user, person_id) -> Personnel:
    obj = (Personnel.objects.restrict(user, fn.VIEW).select_related("agency").filter(pk=person_id).first()
           if str(person_id).isdigit() else None)
    if obj is None:
        raise NotFound("basicinfo.not_found", "人员不存在", field="id")
    return obj


def vehicles(*, user, fiscal_year: int | None = None, agency_id: int | None = None, q: str = "") -> QuerySet[Vehicle]:
    qs = _agency_filter(Vehicle.objects.restrict(user, fn.VEHICLE_VIEW), fiscal_year=fiscal_year,
                        agency_id=agency_id)
    if q:
        qs = qs.filter(Q(plate_no__icontains=q) | Q(brand__icontains=q) | Q(agency__name__icontains=q))
    return qs.select_related("agency").order_by("agency__code", "plate_no")


def assets(*, user, fiscal_year: int | None = None, agency_id: int | None = None, q: str = "") -> QuerySet[Asset]:
    qs = _agency_filter(Asset.objects.restrict(user, fn.ASSET_VIEW), fiscal_year=fiscal_year, agency_id=agency_id)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(agency__name__icontains=q))
    return qs.select_related("agency").order_by("agency__code", "code")


def standards(*, user, fiscal_year: int | None = None, region_id: int | None = None, kind: str = "",
              q: str = "", active_only: bool = False) -> QuerySet[ExpenditureStandard]:
    qs = ExpenditureStandard.objects.restrict(user, fn.STANDARD_VIEW).select_related("region")
    if fiscal_year:
        qs = qs.filter(fiscal_year=fiscal_year)
    if region_id:
        qs = qs.filter(region_id=region_id)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(eco_code__startswith=q))
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("region__code", "kind", "eco_code", "pk")


def submissions(*, user, fiscal_year: int | None = None, status: str = "", q: str = "") -> QuerySet[InfoSubmission]:
    qs = InfoSubmission.objects.restrict(user, fn.SUBMISSION_VIEW).select_related("agency")
    if fiscal_year:
        qs = qs.filter(fiscal_year=fiscal_year)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(agency__name__icontains=q) | Q(agency__code__startswith=q))
    return qs.order_by("-fiscal_year", "agency__code")


def submission(*, user, submission_id) -> InfoSubmission:
    obj = (InfoSubmission.objects.restrict(user, fn.SUBMISSION_VIEW).select_related("agency")
           .filter(pk=submission_id).first() if str(submission_id).isdigit() else None)
    if obj is None:
        raise NotFound("basicinfo.not_found", "基础信息报送不存在", field="id")
    return obj


def year_counts(*, agency_id: int, fiscal_year: int) -> dict:
    """Head counts by category, and vehicles and assets, of one agency-year (for the submission page)."""
    by_cat = dict(Personnel.objects.filter(agency_id=agency_id, fiscal_year=fiscal_year)
                  .values_list("category").annotate(n=Count("pk")).values_list("category", "n"))
    return {"personnel": sum(by_cat.values()), "by_category": by_cat,
            "vehicles": Vehicle.objects.filter(agency_id=agency_id, fiscal_year=fiscal_year).count(),
            "assets": Asset.objects.filter(agency_id=agency_id, fiscal_year=fiscal_year).count()}


def history(*, user, agency_id: int, fiscal_year: int) -> QuerySet[AuditRecord]:
    """Change history of one agency-year's basic information (including deleted rows), newest first."""
    from fmis.orgs.models import Agency

    agency = (Agency.objects.restrict(user, fn.HISTORY_VIEW).filter(pk=agency_id).first()
              if str(agency_id).isdigit() else None)
    if agency is None:
        raise NotFound("basicinfo.not_found", "预算单位不存在", field="agency")
    year = int(fiscal_year)
    return (AuditRecord.objects.filter(object_type__in=BASICINFO_TYPES)
            .filter(Q(after__agency=agency.pk, after__fiscal_year=year)
                    | Q(before__agency=agency.pk, before__fiscal_year=year))
            .order_by("-id"))


def standards_history(*, user, region_id: int) -> QuerySet[AuditRecord]:
    from fmis.orgs.models import Region

    region = Region.objects.restrict(user, fn.STANDARD_VIEW).filter(pk=region_id).first()
    if region is None:
        raise NotFound("basicinfo.not_found", "财政区划不存在", field="region")
    return (AuditRecord.objects.filter(object_type="basicinfo.expenditurestandard")
            .filter(Q(after__region=region.pk) | Q(before__region=region.pk)).order_by("-id"))

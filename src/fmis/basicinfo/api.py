"""Basic information API under /api/v1/basicinfo/: personnel (identity numbers only masked),
vehicles, assets, expenditure standards, imports, the agency-year submission and its review, and
the change history.

Lists take ``limit`` and ``offset`` and answer ``{"count": n, "items": [...]}``. Rows outside the
caller's data scope answer 404 exactly like missing ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from fmis.basicinfo import selectors, services
from fmis.basicinfo.functions import (
    ASSET_VIEW,
    HISTORY_VIEW,
    IMPORT,
    MANAGE,
    STANDARD_MANAGE,
    STANDARD_VIEW,
    SUBMISSION_VIEW,
    SUBMIT,
    VEHICLE_VIEW,
    VIEW,
)
from fmis.basicinfo.models import ExpenditureStandard, InfoSubmission, Personnel, Vehicle
from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.errors import NotFound, ValidationFailed
from fmis.platform.listing import api_page

router = Router(tags=["basicinfo"])


# --- schemas -----------------------------------------------------------------------------------

class SalaryOut(Schema):
    eco_code: str
    name: str
    monthly_amount: Decimal


class PersonOut(Schema):
    id: int
    agency_code: str
    agency_name: str
    fiscal_year: int
    name: str
    id_number_masked: str
    category: str
    category_name: str
    post: str
    grade: str
    status: str
    salary_items: list[SalaryOut]

    @staticmethod
    def resolve_agency_code(obj: Personnel) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_agency_name(obj: Personnel) -> str:
        return obj.agency.name

    @staticmethod
    def resolve_category_name(obj: Personnel) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_salary_items(obj: Personnel):
        return list(obj.salary_items.all())


PersonPage = page_schema(PersonOut)


class PersonIn(Schema):
    agency_code: str
    fiscal_year: int
    name: str
    id_number: str = ""
    category: str = "active"
    post: str = ""
    grade: str = ""
    status: str = "active"
    salary: dict[str, Decimal] = {}


class YearFilter(Schema):
    fiscal_year: int | None = None
    agency_code: str = ""
    q: str = ""
    limit: int = 50
    offset: int = 0


class VehicleOut(Schema):
    id: int
    agency_code: str
    fiscal_year: int
    plate_no: str
    vehicle_type: str
    brand: str
    displacement: str
    purchase_date: dt.date | None
    original_value: Decimal
    status: str

    @staticmethod
    def resolve_agency_code(obj: Vehicle) -> str:
        return obj.agency.code


VehiclePage = page_schema(VehicleOut)


class VehicleIn(Schema):
    agency_code: str
    fiscal_year: int
    plate_no: str
    vehicle_type: str = "general"
    brand: str = ""
    displacement: str = ""
    purchase_date: dt.date | None = None
    original_value: Decimal = Decimal(0)
    status: str = "in_use"


class AssetOut(Schema):
    id: int
    agency_code: str
    fiscal_year: int
    code: str
    name: str
    category: str
    quantity: Decimal
    unit: str
    original_value: Decimal
    net_value: Decimal
    acquired_on: dt.date | None
    status: str

    @staticmethod
    def resolve_agency_code(obj) -> str:
        return obj.agency.code


AssetPage = page_schema(AssetOut)


class AssetIn(Schema):
    agency_code: str
    fiscal_year: int
    code: str
    name: str
    category: str
    quantity: Decimal = Decimal(1)
    unit: str = ""
    original_value: Decimal = Decimal(0)
    net_value: Decimal = Decimal(0)
    acquired_on: dt.date | None = None
    status: str = "in_use"


class StandardOut(Schema):
    id: int
    region_code: str
    fiscal_year: int
    name: str
    kind: str
    basis: str
    person_category: str | None
    agency_type: str | None
    vehicle_type: str | None
    eco_code: str
    func_code: str | None
    amount: Decimal
    is_active: bool

    @staticmethod
    def resolve_region_code(obj: ExpenditureStandard) -> str:
        return obj.region.code


StandardPage = page_schema(StandardOut)


class StandardIn(Schema):
    region_code: str
    fiscal_year: int
    name: str
    kind: str
    eco_code: str
    amount: Decimal
    basis: str = ""
    person_category: str | None = None
    agency_type: str | None = None
    vehicle_type: str | None = None
    func_code: str | None = None
    is_active: bool = True


class StandardFilter(Schema):
    fiscal_year: int | None = None
    region_code: str = ""
    kind: str = ""
    q: str = ""
    limit: int = 50
    offset: int = 0


class SubmissionOut(Schema):
    id: int
    agency_code: str
    agency_name: str
    fiscal_year: int
    status: str
    status_name: str
    return_reason: str

    @staticmethod
    def resolve_agency_code(obj: InfoSubmission) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_agency_name(obj: InfoSubmission) -> str:
        return obj.agency.name

    @staticmethod
    def resolve_status_name(obj: InfoSubmission) -> str:
        return str(obj.get_status_display())


SubmissionPage = page_schema(SubmissionOut)


class SubmitIn(Schema):
    agency_code: str
    fiscal_year: int
    comment: str = ""


class ReviewIn(Schema):
    action: str
    text: str = ""
    step: int | None = None


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int


class HistoryOut(Schema):
    id: int
    at: dt.datetime
    actor_name: str
    action: str
    object_type: str
    object_repr: str
    before: dict | None
    after: dict | None


# --- helpers -----------------------------------------------------------------------------------

def _agency_id(code: str) -> int:
    from fmis.orgs.models import Agency

    agency = Agency.objects.filter(code=(code or "").strip()).first()
    if agency is None:
        raise ValidationFailed("basicinfo.agency_missing", f"预算单位 {code} 不存在", field="agency_code")
    return agency.pk


def _region_id(code: str) -> int:
    from fmis.orgs.models import Region

    region = Region.objects.filter(code=(code or "").strip()).first()
    if region is None:
        raise ValidationFailed("basicinfo.region_missing", f"财政区划 {code} 不存在", field="region_code")
    return region.pk


def _person_input(body: PersonIn) -> services.PersonInput:
    return services.PersonInput(agency_id=_agency_id(body.agency_code), fiscal_year=body.fiscal_year,
                                name=body.name, id_number=body.id_number, category=body.category, post=body.post,
                                grade=body.grade, status=body.status, salary=dict(body.salary))


def _vehicle_input(body: VehicleIn) -> services.VehicleInput:
    return services.VehicleInput(agency_id=_agency_id(body.agency_code), fiscal_year=body.fiscal_year,
                                 plate_no=body.plate_no, vehicle_type=body.vehicle_type, brand=body.brand,
                                 displacement=body.displacement, purchase_date=body.purchase_date,
                                 original_value=body.original_value, status=body.status)


def _asset_input(body: AssetIn) -> services.AssetInput:
    return services.AssetInput(agency_id=_agency_id(body.agency_code), fiscal_year=body.fiscal_year, code=body.code,
                               name=body.name, category=body.category, quantity=body.quantity, unit=body.unit,
                               original_value=body.original_value, net_value=body.net_value,
                               acquired_on=body.acquired_on, status=body.status)


def _standard_input(body: StandardIn) -> services.StandardInput:
    return services.StandardInput(
        region_id=_region_id(body.region_code), fiscal_year=body.fiscal_year, name=body.name, kind=body.kind,
        eco_code=body.eco_code, amount=body.amount, basis=body.basis, person_category=body.person_category,
        agency_type=body.agency_type, vehicle_type=body.vehicle_type, func_code=body.func_code,
        is_active=body.is_active)


def _filter_agency(code: str) -> int | None:
    return _agency_id(code) if code else None


# --- personnel ---------------------------------------------------------------------------------

@router.get("/personnel", response=PersonPage)
@requires(VIEW)
def list_personnel(request, filters: Query[YearFilter]):
    qs = selectors.personnel(user=request.user, fiscal_year=filters.fiscal_year,
                             agency_id=_filter_agency(filters.agency_code), q=filters.q)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/personnel", response={201: PersonOut})
@requires(MANAGE)
def create_person(request, body: PersonIn):
    return 201, services.create_person(user=request.user, data=_person_input(body))


@router.post("/personnel/import", response=ImportOut)
@requires(IMPORT)
def import_personnel(request, fiscal_year: Form[int], file: UploadedFile = File(...)):  # noqa: B008
    return services.import_personnel(user=request.user, file=file, fiscal_year=fiscal_year)


@router.get("/personnel/{person_id}", response=PersonOut)
@requires(VIEW)
def get_person(request, person_id: int):
    return selectors.person(user=request.user, person_id=person_id)


@router.put("/personnel/{person_id}", response=PersonOut)
@requires(MANAGE)
def update_person(request, person_id: int, body: PersonIn):
    return services.update_person(user=request.user, person_id=person_id, data=_person_input(body))


@router.delete("/personnel/{person_id}", response={204: None})
@requires(MANAGE)
def delete_person(request, person_id: int):
    services.delete_person(user=request.user, person_id=person_id)
    return 204, None


# --- vehicles and assets -----------------------------------------------------------------------

@router.get("/vehicles", response=VehiclePage)
@requires(VEHICLE_VIEW)
def list_vehicles(request, filters: Query[YearFilter]):
    qs = selectors.vehicles(user=request.user, fiscal_year=filters.fiscal_year,
                            agency_id=_filter_agency(filters.agency_code), q=filters.q)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/vehicles", response={201: VehicleOut})
@requires(MANAGE)
def create_vehicle(request, body: VehicleIn):
    return 201, services.create_vehicle(user=request.user, data=_vehicle_input(body))


@router.post("/vehicles/import", response=ImportOut)
@requires(IMPORT)
def import_vehicles(request, fiscal_year: Form[int], file: UploadedFile = File(...)):  # noqa: B008
    return services.import_vehicles(user=request.user, file=file, fiscal_year=fiscal_year)


@router.put("/vehicles/{vehicle_id}", response=VehicleOut)
@requires(MANAGE)
def update_vehicle(request, vehicle_id: int, body: VehicleIn):
    return services.update_vehicle(user=request.user, vehicle_id=vehicle_id, data=_vehicle_input(body))


@router.delete("/vehicles/{vehicle_id}", response={204: None})
@requires(MANAGE)
def delete_vehicle(request, vehicle_id: int):
    services.delete_vehicle(user=request.user, vehicle_id=vehicle_id)
    return 204, None


@router.get("/assets", response=AssetPage)
@requires(ASSET_VIEW)
def list_assets(request, filters: Query[YearFilter]):
    qs = selectors.assets(user=request.user, fiscal_year=filters.fiscal_year,
                          agency_id=_filter_agency(filters.agency_code), q=filters.q)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/assets", response={201: AssetOut})
@requires(MANAGE)
def create_asset(request, body: AssetIn):
    return 201, services.create_asset(user=request.user, data=_asset_input(body))


@router.post("/assets/import", response=ImportOut)
@requires(IMPORT)
def import_assets(request, fiscal_year: Form[int], file: UploadedFile = File(...)):  # noqa: B008
    return services.import_assets(user=request.user, file=file, fiscal_year=fiscal_year)


@router.put("/assets/{asset_id}", response=AssetOut)
@requires(MANAGE)
def update_asset(request, asset_id: int, body: AssetIn):
    return services.update_asset(user=request.user, asset_id=asset_id, data=_asset_input(body))


@router.delete("/assets/{asset_id}", response={204: None})
@requires(MANAGE)
def delete_asset(request, asset_id: int):
    services.delete_asset(user=request.user, asset_id=asset_id)
    return 204, None


# --- standards ---------------------------------------------------------------------------------

@router.get("/standards", response=StandardPage)
@requires(STANDARD_VIEW)
def list_standards(request, filters: Query[StandardFilter]):
    region_id = _region_id(filters.region_code) if filters.region_code else None
    qs = selectors.standards(user=request.user, fiscal_year=filters.fiscal_year, region_id=region_id,
                             kind=filters.kind, q=filters.q)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/standards", response={201: StandardOut})
@requires(STANDARD_MANAGE)
def create_standard(request, body: StandardIn):
    return 201, services.create_standard(user=request.user, data=_standard_input(body))


@router.post("/standards/import", response=ImportOut)
@requires(STANDARD_MANAGE)
def import_standards(request, region_code: Form[str], fiscal_year: Form[int],
                     file: UploadedFile = File(...)):  # noqa: B008
    return services.import_standards(user=request.user, file=file, region_id=_region_id(region_code),
                                     fiscal_year=fiscal_year)


@router.put("/standards/{standard_id}", response=StandardOut)
@requires(STANDARD_MANAGE)
def update_standard(request, standard_id: int, body: StandardIn):
    return services.update_standard(user=request.user, standard_id=standard_id, data=_standard_input(body))


@router.delete("/standards/{standard_id}", response={204: None})
@requires(STANDARD_MANAGE)
def delete_standard(request, standard_id: int):
    services.delete_standard(user=request.user, standard_id=standard_id)
    return 204, None


# --- submissions -------------------------------------------------------------------------------

@router.get("/submissions", response=SubmissionPage)
@requires(SUBMISSION_VIEW)
def list_submissions(request, filters: Query[YearFilter]):
    qs = selectors.submissions(user=request.user, fiscal_year=filters.fiscal_year, q=filters.q)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/submissions", response=SubmissionOut)
@requires(SUBMIT)
def submit_year(request, body: SubmitIn):
    return services.submit_year(user=request.user, agency_id=_agency_id(body.agency_code),
                                fiscal_year=body.fiscal_year, comment=body.comment)


@router.get("/submissions/{submission_id}", response=SubmissionOut)
@requires(SUBMISSION_VIEW)
def get_submission(request, submission_id: int):
    return selectors.submission(user=request.user, submission_id=submission_id)


@router.post("/submissions/{submission_id}/review", response=SubmissionOut)
@requires(SUBMISSION_VIEW)
def review_submission(request, submission_id: int, body: ReviewIn):
    """Approve, return (with a reason) or withdraw; the current step's function decides."""
    return services.review_year(user=request.user, submission_id=submission_id, action=body.action,
                                text=body.text, step=body.step)


@router.get("/history", response=list[HistoryOut])
@requires(HISTORY_VIEW)
def history(request, agency_code: str, fiscal_year: int):
    try:
        agency_id = _agency_id(agency_code)
    except ValidationFailed:
        raise NotFound("basicinfo.not_found", "预算单位不存在", field="agency_code") from None
    return list(selectors.history(user=request.user, agency_id=agency_id, fiscal_year=fiscal_year)[:500])

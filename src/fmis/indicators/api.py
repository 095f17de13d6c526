"""Indicator API under /api/v1/indicators/: indicators, their movements and lineage, entry,
import, review, distribution, unit confirmation, adjustment documents, control rules and the
budget-execution summary.

Lists take ``limit`` and ``offset`` and answer ``{"count": n, "items": [...]}``. Indicators and
documents outside the caller's data scope answer 404 exactly like missing ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile

from fmis.iam.api_auth import requires
from fmis.indicators import controls, selectors, services
from fmis.indicators.functions import (
    ADJUST,
    ADJUST_REVIEW,
    CONFIRM,
    CONTROL_MANAGE,
    DISTRIBUTE,
    EXECUTION_VIEW,
    IMPORT,
    MANAGE,
    REVIEW,
    VIEW,
)
from fmis.indicators.models import Adjustment, ControlRule, Indicator, Movement
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["indicators"])




# --- schemas -----------------------------------------------------------------------------------

class IndicatorOut(Schema):
    id: int
    fiscal_year: int
    region_code: str
    agency_code: str | None
    agency_name: str | None
    code: str
    doc_no: str
    title: str
    project_code: str
    func_code: str
    gov_eco_code: str
    dept_eco_code: str
    fund_type: str
    indicator_type: str
    pay_mode: str
    status: str
    status_name: str
    to_distribute: bool
    amount: Decimal
    total: Decimal
    frozen: Decimal
    reserved: Decimal
    consumed: Decimal
    available: Decimal
    source_id: int | None

    @staticmethod
    def resolve_region_code(obj: Indicator) -> str:
        return obj.region.code

    @staticmethod
    def resolve_agency_code(obj: Indicator) -> str | None:
        return obj.agency.code if obj.agency_id else None

    @staticmethod
    def resolve_agency_name(obj: Indicator) -> str | None:
        return obj.agency.name if obj.agency_id else None

    @staticmethod
    def resolve_status_name(obj: Indicator) -> str:
        return str(obj.get_status_display())


IndicatorPage = page_schema(IndicatorOut, "IndicatorPage")


class IndicatorFilter(Schema):
    q: str = ""
    status: str = ""
    fiscal_year: int | None = None
    agency: str = ""
    func_code: str = ""
    fund_type: str = ""
    limit: int = 50
    offset: int = 0


class IndicatorIn(Schema):
    fiscal_year: int
    region_code: str
    agency_code: str | None = None
    code: str
    title: str
    func_code: str
    gov_eco_code: str
    dept_eco_code: str
    fund_type: str
    indicator_type: str
    pay_mode: str
    amount: Decimal
    doc_no: str = ""
    project_code: str = ""
    to_distribute: bool = False
    doc_date: dt.date | None = None


class MovementOut(Schema):
    id: int
    kind: str
    kind_name: str
    d_total: Decimal
    d_frozen: Decimal
    d_reserved: Decimal
    d_consumed: Decimal
    counterpart_id: int | None
    source_type: str
    source_id: int | None
    source_no: str
    note: str
    created_at: dt.datetime

    @staticmethod
    def resolve_kind_name(obj: Movement) -> str:
        return str(obj.get_kind_display())


class LineageOut(Schema):
    source: IndicatorOut | None
    derived: list[IndicatorOut]


class ImportOut(Schema):
    created: int
    unchanged: int


class ReviewIn(Schema):
    action: str
    text: str = ""
    step: int | None = None


class SplitIn(Schema):
    agency_code: str
    amount: Decimal
    title: str = ""


class DistributeIn(Schema):
    total: Decimal | None = None
    lines: list[SplitIn]


class AdjustmentLineIn(Schema):
    indicator_id: int
    amount: Decimal
    target_id: int | None = None
    note: str = ""


class AdjustmentIn(Schema):
    kind: str
    reason: str
    doc_no: str = ""
    lines: list[AdjustmentLineIn]


class AdjustmentLineOut(Schema):
    line_no: int
    indicator_id: int
    indicator_code: str
    target_id: int | None
    amount: Decimal
    note: str

    @staticmethod
    def resolve_indicator_code(obj) -> str:
        return obj.indicator.code


class AdjustmentOut(Schema):
    id: int
    number: str
    fiscal_year: int
    region_code: str
    kind: str
    kind_name: str
    reason: str
    doc_no: str
    status: str
    status_name: str
    lines: list[AdjustmentLineOut]

    @staticmethod
    def resolve_region_code(obj: Adjustment) -> str:
        return obj.region.code

    @staticmethod
    def resolve_kind_name(obj: Adjustment) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_status_name(obj: Adjustment) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_lines(obj: Adjustment):
        return list(selectors.adjustment_lines(adjustment=obj))


AdjustmentPage = page_schema(AdjustmentOut, "AdjustmentPage")


class ExecutionRow(Schema):
    key: str
    name: str
    budget: Decimal
    frozen: Decimal
    reserved: Decimal
    paid: Decimal
    available: Decimal
    rate: Decimal


class RuleIn(Schema):
    fiscal_year: int
    region_code: str
    level: str = ControlRule.Level.HARD
    match: str = ControlRule.Match.EXACT
    threshold_percent: Decimal = Decimal(0)
    require_plan: bool = False
    fund_type: str = ""
    func_prefix: str = ""
    eco_prefix: str = ""
    indicator_type: str = ""
    pay_mode: str = ""
    note: str = ""


class RuleOut(Schema):
    id: int
    fiscal_year: int
    region_code: str
    level: str
    match: str
    threshold_percent: Decimal
    require_plan: bool
    fund_type: str
    func_prefix: str
    eco_prefix: str
    indicator_type: str
    pay_mode: str
    note: str

    @staticmethod
    def resolve_region_code(obj: ControlRule) -> str:
        return obj.region.code


class CheckIn(Schema):
    amount: Decimal
    func_code: str
    gov_eco_code: str
    dept_eco_code: str
    fund_type: str
    pay_mode: str
    plan_available: Decimal | None = None


class WarningOut(Schema):
    code: str
    message: str
    field: str


# --- helpers -----------------------------------------------------------------------------------

def _region_id(code: str) -> int:
    from fmis.orgs.models import Region
    from fmis.platform.errors import ValidationFailed

    region = Region.objects.filter(code=(code or "").strip()).first()
    if region is None:
        raise ValidationFailed("indicator.region_missing", f"财政区划 {code} 不存在", field="region_code")
    return region.pk


def _agency_id(code: str | None, field: str = "agency_code") -> int | None:
    from fmis.orgs.models import Agency
    from fmis.platform.errors import ValidationFailed

    if not code:
        return None
    agency = Agency.objects.filter(code=code.strip()).first()
    if agency is None:
        raise ValidationFailed("indicator.agency_missing", f"预算单位 {code} 不存在", field=field)
    return agency.pk


def _input(body: IndicatorIn) -> services.IndicatorInput:
    return services.IndicatorInput(
        fiscal_year=body.fiscal_year, region_id=_region_id(body.region_code), agency_id=_agency_id(body.agency_code),
        code=body.code, title=body.title, func_code=body.func_code, gov_eco_code=body.gov_eco_code,
        dept_eco_code=body.dept_eco_code, fund_type=body.fund_type, indicator_type=body.indicator_type,
        pay_mode=body.pay_mode, amount=body.amount, doc_no=body.doc_no, project_code=body.project_code,
        to_distribute=body.to_distribute, doc_date=body.doc_date)


def _rule_input(body: RuleIn) -> services.RuleInput:
    data = body.dict()
    data["region_id"] = _region_id(data.pop("region_code"))
    return services.RuleInput(**data)


# --- indicators --------------------------------------------------------------------------------

@router.get("/indicators", response=IndicatorPage)
@requires(VIEW)
def list_indicators(request, filters: Query[IndicatorFilter]):
    qs = selectors.indicators_for(user=request.user, q=filters.q, status=filters.status,
                                  fiscal_year=filters.fiscal_year, agency=filters.agency,
                                  func_code=filters.func_code, fund_type=filters.fund_type)
    return api_page(qs, filters.limit, filters.offset)


@router.post("/indicators", response={201: IndicatorOut})
@requires(MANAGE)
def create_indicator(request, body: IndicatorIn):
    ind = services.create_indicator(user=request.user, data=_input(body))
    return 201, selectors.indicator_detail(user=request.user, indicator_id=ind.pk, function=MANAGE)


@router.post("/indicators/import", response=ImportOut)
@requires(IMPORT)
def import_indicators(request, file: UploadedFile = File(...)):  # noqa: B008
    return services.import_indicators(user=request.user, file=file)


@router.get("/indicators/{indicator_id}", response=IndicatorOut)
@requires(VIEW)
def get_indicator(request, indicator_id: int):
    return selectors.indicator_detail(user=request.user, indicator_id=indicator_id)


@router.put("/indicators/{indicator_id}", response=IndicatorOut)
@requires(MANAGE)
def update_indicator(request, indicator_id: int, body: IndicatorIn):
    services.update_indicator(user=request.user, indicator_id=indicator_id, data=_input(body))
    return selectors.indicator_detail(user=request.user, indicator_id=indicator_id, function=MANAGE)


@router.get("/indicators/{indicator_id}/movements", response=list[MovementOut])
@requires(VIEW)
def indicator_movements(request, indicator_id: int):
    ind = selectors.indicator_detail(user=request.user, indicator_id=indicator_id)
    return list(selectors.movements_of(indicator=ind))


@router.get("/indicators/{indicator_id}/lineage", response=LineageOut)
@requires(VIEW)
def indicator_lineage(request, indicator_id: int):
    ind = selectors.indicator_detail(user=request.user, indicator_id=indicator_id)
    return selectors.lineage(user=request.user, indicator=ind)


@router.post("/indicators/{indicator_id}/submit", response=IndicatorOut)
@requires(MANAGE)
def submit_indicator(request, indicator_id: int):
    return services.submit_indicator(user=request.user, indicator_id=indicator_id)


@router.post("/indicators/{indicator_id}/review", response=IndicatorOut)
@requires(REVIEW)
def review_indicator(request, indicator_id: int, body: ReviewIn):
    ind = selectors.indicator_detail(user=request.user, indicator_id=indicator_id, function=REVIEW)
    services.review(user=request.user, document=ind, action=body.action, text=body.text, step=body.step)
    return selectors.indicator_detail(user=request.user, indicator_id=indicator_id, function=REVIEW)


@router.post("/indicators/{indicator_id}/distribute", response=list[IndicatorOut])
@requires(DISTRIBUTE)
def distribute(request, indicator_id: int, body: DistributeIn):
    splits = [services.Split(_agency_id(ln.agency_code, "lines"), ln.amount, ln.title) for ln in body.lines]
    return services.distribute(user=request.user, indicator_id=indicator_id, splits=splits, total=body.total)


@router.post("/indicators/{indicator_id}/confirm", response=IndicatorOut)
@requires(CONFIRM)
def confirm(request, indicator_id: int):
    return services.confirm(user=request.user, indicator_id=indicator_id)


@router.post("/indicators/{indicator_id}/check", response=list[WarningOut])
@requires(VIEW)
def check_application(request, indicator_id: int, body: CheckIn):
    ind = selectors.indicator_detail(user=request.user, indicator_id=indicator_id)
    return controls.check_application(indicator=ind, **body.dict())


# --- adjustments -------------------------------------------------------------------------------

@router.get("/adjustments", response=AdjustmentPage)
@requires(ADJUST)
def list_adjustments(request, q: str = "", status: str = "", kind: str = "", limit: int = 50, offset: int = 0):
    return api_page(selectors.adjustments_for(user=request.user, q=q, status=status, kind=kind), limit, offset)


@router.post("/adjustments", response={201: AdjustmentOut})
@requires(ADJUST)
def create_adjustment(request, body: AdjustmentIn):
    adj = services.create_adjustment(user=request.user, kind=body.kind, reason=body.reason, doc_no=body.doc_no,
                                      lines=[services.LineInput(ln.indicator_id, ln.amount, ln.target_id, ln.note)
                                             for ln in body.lines])
    return 201, adj


@router.get("/adjustments/{adjustment_id}", response=AdjustmentOut)
@requires(ADJUST)
def get_adjustment(request, adjustment_id: int):
    return selectors.adjustment_detail(user=request.user, adjustment_id=adjustment_id)


@router.post("/adjustments/{adjustment_id}/submit", response=AdjustmentOut)
@requires(ADJUST)
def submit_adjustment(request, adjustment_id: int):
    return services.submit_adjustment(user=request.user, adjustment_id=adjustment_id)


@router.post("/adjustments/{adjustment_id}/review", response=AdjustmentOut)
@requires(ADJUST_REVIEW)
def review_adjustment(request, adjustment_id: int, body: ReviewIn):
    from fmis.platform.errors import NotFound

    adj = Adjustment.objects.restrict(request.user, ADJUST_REVIEW).filter(pk=adjustment_id).first()
    if adj is None:
        raise NotFound("indicators.adjustment.not_found", "调整单不存在", field="adjustment")
    services.review(user=request.user, document=adj, action=body.action, text=body.text, step=body.step)
    adj.refresh_from_db()
    return adj


# --- execution and control rules ---------------------------------------------------------------

@router.get("/execution", response=list[ExecutionRow])
@requires(EXECUTION_VIEW)
def execution(request, fiscal_year: int | None = None, group: str = "agency"):
    return selectors.execution_summary(user=request.user, fiscal_year=fiscal_year, group=group)


@router.get("/controls", response=list[RuleOut])
@requires(CONTROL_MANAGE)
def list_rules(request, fiscal_year: int | None = None):
    return list(selectors.control_rules_for(user=request.user, fiscal_year=fiscal_year))


@router.post("/controls", response={201: RuleOut})
@requires(CONTROL_MANAGE)
def create_rule(request, body: RuleIn):
    return 201, services.save_control_rule(user=request.user, data=_rule_input(body))


@router.put("/controls/{rule_id}", response=RuleOut)
@requires(CONTROL_MANAGE)
def update_rule(request, rule_id: int, body: RuleIn):
    return services.save_control_rule(user=request.user, data=_rule_input(body), rule_id=rule_id)


@router.delete("/controls/{rule_id}", response={204: None})
@requires(CONTROL_MANAGE)
def delete_rule(request, rule_id: int):
    services.delete_control_rule(user=request.user, rule_id=rule_id)
    return 204, None

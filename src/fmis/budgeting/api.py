"""Budget preparation API under /api/v1/budgeting/: rounds and stages, lines, basic expenditure
computation, projects from the library, 二上 compilation, submissions and their review, control
numbers, approval (which issues the indicators) and summaries.

Lists take ``limit`` and ``offset`` and answer ``{"count": n, "items": [...]}``. Rounds, lines and
submissions outside the caller's data scope answer 404 exactly like missing ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema

from fmis.budgeting import selectors, services
from fmis.budgeting.functions import APPROVE, CONTROL, MANAGE, REVIEW, UNIT_DECLARE, UNIT_VIEW
from fmis.budgeting.models import BudgetLine, BudgetRound, Submission
from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["budgeting"])


class RoundOut(Schema):
    id: int
    fiscal_year: int
    region_code: str
    name: str
    stage: str
    stage_name: str
    status: str
    doc_no: str

    @staticmethod
    def resolve_region_code(obj: BudgetRound) -> str:
        return obj.region.code

    @staticmethod
    def resolve_stage_name(obj: BudgetRound) -> str:
        return str(obj.get_stage_display())


RoundPage = page_schema(RoundOut, "BudgetRoundPage")


class RoundIn(Schema):
    region_code: str
    fiscal_year: int
    name: str = ""


class StageIn(Schema):
    to: str


class LineOut(Schema):
    id: int
    round_id: int
    agency_code: str
    department_code: str
    kind: str
    source: str
    project_id: int | None
    project_code: str
    pro_kind: str
    title: str
    func_code: str
    gov_eco_code: str
    dept_eco_code: str
    fund_type: str
    amount_applied: Decimal
    amount_reviewed: Decimal | None
    amount_compiled: Decimal | None
    amount_approved: Decimal | None
    basis: str
    indicator_id: int | None

    @staticmethod
    def resolve_agency_code(obj: BudgetLine) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_department_code(obj: BudgetLine) -> str:
        return obj.department.code


LinePage = page_schema(LineOut, "BudgetLinePage")


class LineFilter(Schema):
    q: str = ""
    agency: str = ""
    kind: str = ""
    limit: int = 50
    offset: int = 0


class ComputeIn(Schema):
    func_code: str = ""
    fund_type: str = services.DEFAULT_FUND_TYPE


class ComputeOut(Schema):
    lines: int
    removed: int
    total: Decimal


class ProjectChoiceIn(Schema):
    project_id: int
    amount: Decimal | None = None
    dept_eco_code: str = ""
    fund_type: str = ""


class LineIn(Schema):
    title: str
    func_code: str
    dept_eco_code: str
    amount: Decimal
    fund_type: str = services.DEFAULT_FUND_TYPE
    gov_eco_code: str = ""


class AmountIn(Schema):
    amount: Decimal


class CompileIn(Schema):
    amounts: dict[int, Decimal] | None = None


class SubmitIn(Schema):
    comment: str = ""


class SubmissionOut(Schema):
    id: int
    round_id: int
    agency_code: str
    stage: str
    status: str

    @staticmethod
    def resolve_agency_code(obj: Submission) -> str:
        return obj.agency.code


class ReviewIn(Schema):
    action: str
    text: str = ""
    step: int | None = None


class ControlIn(Schema):
    department_id: int
    amount: Decimal
    fund_type: str = ""
    note: str = ""


class ControlOut(Schema):
    department_id: int
    department_code: str
    fund_type: str
    amount: Decimal
    compiled: Decimal
    left: Decimal


class ApproveIn(Schema):
    department_id: int | None = None
    doc_no: str = ""
    doc_date: dt.date | None = None


class ApproveOut(Schema):
    departments: list[int]
    indicators: int
    amount: Decimal


class SummaryRow(Schema):
    key: str
    name: str
    lines: int
    amount_applied: Decimal
    amount_reviewed: Decimal
    amount_compiled: Decimal
    amount_approved: Decimal


# --- rounds -------------------------------------------------------------------------------------

@router.get("/rounds", response=RoundPage)
@requires(UNIT_VIEW)
def list_rounds(request, q: str = "", limit: int = 50, offset: int = 0):
    return api_page(selectors.rounds_for(user=request.user, q=q), limit, offset)


@router.post("/rounds", response={201: RoundOut})
@requires(MANAGE)
def open_round(request, body: RoundIn):
    from fmis.orgs.models import Region

    region = Region.objects.filter(code=body.region_code).first()
    rnd = services.open_round(user=request.user, region_id=region.pk if region else 0, fiscal_year=body.fiscal_year,
                              name=body.name)
    return 201, selectors.round_detail(user=request.user, round_id=rnd.pk)


@router.get("/rounds/{round_id}", response=RoundOut)
@requires(UNIT_VIEW)
def get_round(request, round_id: int):
    return selectors.round_detail(user=request.user, round_id=round_id)


@router.post("/rounds/{round_id}/stage", response=RoundOut)
@requires(MANAGE)
def advance_stage(request, round_id: int, body: StageIn):
    services.advance_stage(user=request.user, round_id=round_id, to=body.to)
    return selectors.round_detail(user=request.user, round_id=round_id)


# --- lines --------------------------------------------------------------------------------------

@router.get("/rounds/{round_id}/lines", response=LinePage)
@requires(UNIT_VIEW)
def list_lines(request, round_id: int, filters: Query[LineFilter]):
    rnd = selectors.round_detail(user=request.user, round_id=round_id)
    qs = selectors.lines_for(user=request.user, rnd=rnd, q=filters.q, agency=filters.agency, kind=filters.kind)
    return api_page(qs, filters.limit, filters.offset)


@router.get("/lines/{line_id}", response=LineOut)
@requires(UNIT_VIEW)
def get_line(request, line_id: int):
    return selectors.line_detail(user=request.user, line_id=line_id)


@router.post("/rounds/{round_id}/agencies/{agency_id}/compute", response=ComputeOut)
@requires(UNIT_DECLARE)
def compute_basic(request, round_id: int, agency_id: int, body: ComputeIn):
    return services.compute_basic(user=request.user, round_id=round_id, agency_id=agency_id,
                                  func_code=body.func_code, fund_type=body.fund_type)


@router.post("/rounds/{round_id}/agencies/{agency_id}/projects", response={201: list[LineOut]})
@requires(UNIT_DECLARE)
def add_projects(request, round_id: int, agency_id: int, body: list[ProjectChoiceIn]):
    created = services.add_project_lines(
        user=request.user, round_id=round_id, agency_id=agency_id,
        choices=[services.ProjectChoice(project_id=c.project_id, amount=c.amount, dept_eco_code=c.dept_eco_code,
                                        fund_type=c.fund_type) for c in body])
    return 201, [selectors.line_detail(user=request.user, line_id=ln.pk) for ln in created]


@router.post("/rounds/{round_id}/agencies/{agency_id}/lines", response={201: LineOut})
@requires(UNIT_DECLARE)
def add_line(request, round_id: int, agency_id: int, body: LineIn):
    line = services.add_line(user=request.user, round_id=round_id, agency_id=agency_id, data=services.LineInput(
        kind=BudgetLine.Kind.BASIC, title=body.title, func_code=body.func_code, dept_eco_code=body.dept_eco_code,
        amount=body.amount, fund_type=body.fund_type, gov_eco_code=body.gov_eco_code))
    return 201, selectors.line_detail(user=request.user, line_id=line.pk)


@router.put("/lines/{line_id}/amount", response=LineOut)
@requires(UNIT_DECLARE)
def update_line_amount(request, line_id: int, body: AmountIn):
    services.update_line_amount(user=request.user, line_id=line_id, amount=body.amount)
    return selectors.line_detail(user=request.user, line_id=line_id)


@router.delete("/lines/{line_id}", response={204: None})
@requires(UNIT_DECLARE)
def delete_line(request, line_id: int):
    services.delete_line(user=request.user, line_id=line_id)
    return 204, None


@router.put("/lines/{line_id}/reviewed", response=LineOut)
@requires(REVIEW)
def set_reviewed(request, line_id: int, body: AmountIn):
    services.set_reviewed_amount(user=request.user, line_id=line_id, amount=body.amount)
    return selectors.line_detail(user=request.user, line_id=line_id)


@router.post("/rounds/{round_id}/agencies/{agency_id}/compile", response=list[LineOut])
@requires(UNIT_DECLARE)
def compile_lines(request, round_id: int, agency_id: int, body: CompileIn):
    lines = services.compile_lines(user=request.user, round_id=round_id, agency_id=agency_id, amounts=body.amounts)
    return [selectors.line_detail(user=request.user, line_id=ln.pk) for ln in lines]


# --- submissions --------------------------------------------------------------------------------

@router.post("/rounds/{round_id}/agencies/{agency_id}/submit", response=SubmissionOut)
@requires(UNIT_DECLARE)
def submit(request, round_id: int, agency_id: int, body: SubmitIn):
    return services.submit(user=request.user, round_id=round_id, agency_id=agency_id, comment=body.comment)


@router.get("/rounds/{round_id}/submissions", response=list[SubmissionOut])
@requires(UNIT_VIEW)
def list_submissions(request, round_id: int):
    rnd = selectors.round_detail(user=request.user, round_id=round_id)
    return list(selectors.submissions_for(user=request.user, rnd=rnd))


@router.post("/submissions/{submission_id}/review", response=SubmissionOut)
@requires(UNIT_VIEW)
def review(request, submission_id: int, body: ReviewIn):
    services.review(user=request.user, submission_id=submission_id, action=body.action, text=body.text,
                    step=body.step)
    return selectors.submission_detail(user=request.user, submission_id=submission_id)


# --- control numbers and approval ---------------------------------------------------------------

@router.get("/rounds/{round_id}/controls", response=list[ControlOut])
@requires(UNIT_VIEW)
def list_controls(request, round_id: int):
    rnd = selectors.round_detail(user=request.user, round_id=round_id)
    return [{"department_id": r["control"].department_id, "department_code": r["control"].department.code,
             "fund_type": r["control"].fund_type, "amount": r["control"].amount, "compiled": r["compiled"],
             "left": r["left"]} for r in selectors.control_numbers_for(user=request.user, rnd=rnd)]


@router.post("/rounds/{round_id}/controls", response=ControlOut)
@requires(CONTROL)
def set_control(request, round_id: int, body: ControlIn):
    services.set_control_number(user=request.user, round_id=round_id, department_id=body.department_id,
                                amount=body.amount, fund_type=body.fund_type, note=body.note)
    rnd = selectors.round_detail(user=request.user, round_id=round_id)
    row = next(r for r in selectors.control_numbers_for(user=request.user, rnd=rnd)
               if r["control"].department_id == body.department_id and r["control"].fund_type == body.fund_type.strip())
    return {"department_id": body.department_id, "department_code": row["control"].department.code,
            "fund_type": row["control"].fund_type, "amount": row["control"].amount, "compiled": row["compiled"],
            "left": row["left"]}


@router.post("/rounds/{round_id}/approve", response=ApproveOut)
@requires(APPROVE)
def approve(request, round_id: int, body: ApproveIn):
    result = services.approve(user=request.user, round_id=round_id, department_id=body.department_id,
                              doc_no=body.doc_no, doc_date=body.doc_date)
    return {"departments": [a.department_id for a in result.approvals], "indicators": result.indicators,
            "amount": result.amount}


@router.get("/rounds/{round_id}/summary", response=list[SummaryRow])
@requires(UNIT_VIEW)
def summary(request, round_id: int, by: str = "department", level: int = 0):
    rnd = selectors.round_detail(user=request.user, round_id=round_id)
    if by == "function":
        return selectors.summary_by_function(user=request.user, rnd=rnd, level=level or 3)
    if by in ("economic", "gov_economic"):
        return selectors.summary_by_economic(user=request.user, rnd=rnd, level=level or 2, gov=by == "gov_economic")
    return selectors.summary_by_department(user=request.user, rnd=rnd)

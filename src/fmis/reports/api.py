"""Reports API under /api/v1/reports/: the standard statements as JSON, a line's drill-down, the
unit expenditure detail and user-defined reports (list, save, delete, compute).

Account sets and reports outside the caller's data scope answer 404 exactly like missing ones.
"""

from __future__ import annotations

from decimal import Decimal

from ninja import Router, Schema

from fmis.iam.api_auth import requires
from fmis.reports import selectors, services
from fmis.reports.functions import CUSTOM_MANAGE, CUSTOM_VIEW, STATEMENT_VIEW

router = Router(tags=["reports"])


class StatementDefOut(Schema):
    code: str
    name: str
    form_no: str
    basis: str
    columns: list[dict]


class ColumnOut(Schema):
    key: str
    title: str
    available: bool


class RowOut(Schema):
    code: str
    name: str
    indent: int
    is_total: bool
    is_heading: bool
    accounts: list[str]
    values: dict[str, Decimal | None]


class CheckOut(Schema):
    name: str
    column: str
    ok: bool
    left: Decimal | None
    right: Decimal | None


class StatementOut(Schema):
    code: str
    name: str
    form_no: str
    account_set_id: int
    account_set: str
    year: int
    period: int
    columns: list[ColumnOut]
    rows: list[RowOut]
    checks: list[CheckOut]
    errors: list[str]


class LinePartOut(Schema):
    column: str
    func: str
    func_name: str
    code: str
    name: str
    side: str
    aux: str
    value: Decimal | None


class LineDetailOut(Schema):
    line: RowOut
    parts: list[LinePartOut]
    lines: list[str]


class CustomReportOut(Schema):
    id: int
    code: str
    name: str
    note: str
    account_set_id: int | None
    n_rows: int
    n_cols: int
    cells: dict[str, str]


class CustomReportIn(Schema):
    code: str
    name: str
    note: str = ""
    account_set_id: int | None = None
    n_rows: int
    n_cols: int
    cells: dict[str, str] = {}


class CellOut(Schema):
    key: str
    kind: str
    text: str
    value: Decimal | None
    error: str


class CustomResultOut(Schema):
    report_id: int
    account_set_id: int
    year: int
    period: int
    grid: list[list[CellOut]]
    errors: list[str]


@router.get("/statements", response=list[StatementDefOut])
@requires(STATEMENT_VIEW)
def list_statements(request):
    return list(selectors.statement_defs())


@router.get("/sets/{account_set_id}/statements/{code}", response=StatementOut)
@requires(STATEMENT_VIEW)
def get_statement(request, account_set_id: int, code: str, year: int, period: int):
    return selectors.statement(user=request.user, account_set_id=account_set_id, code=code, year=year,
                               period=period).as_dict()


@router.get("/sets/{account_set_id}/statements/{code}/lines/{line}", response=LineDetailOut)
@requires(STATEMENT_VIEW)
def get_statement_line(request, account_set_id: int, code: str, line: str, year: int, period: int):
    st, row, parts, refs = selectors.line_detail(user=request.user, account_set_id=account_set_id, code=code,
                                                 line=line, year=year, period=period)
    out = next(r for r in st.as_dict()["rows"] if r["code"] == row.code)
    return {"line": out, "parts": [p.__dict__ for p in parts], "lines": refs}


@router.get("/sets/{account_set_id}/unit-expenditure", response=dict)
@requires(STATEMENT_VIEW)
def get_unit_expenditure(request, account_set_id: int, year: int, period: int, cumulative: bool = True,
                         eco: str = "dept_eco"):
    from fmis.platform.jsonutil import jsonable_lenient

    detail = selectors.unit_expenditure(user=request.user, account_set_id=account_set_id, year=year, period=period,
                                        cumulative=cumulative, eco=eco)
    return jsonable_lenient(detail.as_dict())


@router.get("/custom", response=list[CustomReportOut])
@requires(CUSTOM_VIEW)
def list_custom(request, q: str = ""):
    return list(selectors.custom_reports(user=request.user, q=q))


@router.post("/custom", response={201: CustomReportOut})
@requires(CUSTOM_MANAGE)
def create_custom(request, body: CustomReportIn):
    return 201, services.save_custom_report(user=request.user, **body.dict())


@router.get("/custom/{pk}", response=CustomReportOut)
@requires(CUSTOM_VIEW)
def get_custom(request, pk: int):
    return selectors.custom_report(user=request.user, pk=pk)


@router.put("/custom/{pk}", response=CustomReportOut)
@requires(CUSTOM_MANAGE)
def update_custom(request, pk: int, body: CustomReportIn):
    return services.save_custom_report(user=request.user, report_id=pk, **body.dict())


@router.delete("/custom/{pk}", response={204: None})
@requires(CUSTOM_MANAGE)
def delete_custom(request, pk: int):
    services.delete_custom_report(user=request.user, report_id=pk)
    return 204, None


@router.get("/custom/{pk}/values", response=CustomResultOut)
@requires(CUSTOM_VIEW)
def compute_custom(request, pk: int, account_set_id: int, year: int, period: int):
    res = selectors.compute_custom(user=request.user, report_id=pk, account_set_id=account_set_id, year=year,
                                   period=period)
    return {"report_id": res.report.pk, "account_set_id": res.account_set.pk, "year": res.year, "period": res.period,
            "grid": res.grid, "errors": res.errors}

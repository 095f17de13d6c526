"""Accounting API under /api/v1/accounting/: account sets, vouchers (entry, audit, posting,
reversal), the trial balance, period closing and the unposted business events.

Account sets and vouchers outside the caller's data scope answer 404 exactly like missing ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from fmis.accounting import selectors, services
from fmis.accounting.functions import (
    CARRY,
    CLOSE,
    LEDGER_VIEW,
    OPENING,
    OPENING_VIEW,
    RENUMBER,
    RULE,
    SET_MANAGE,
    SET_VIEW,
    TEMPLATE,
    VOUCHER_AUDIT,
    VOUCHER_CREATE,
    VOUCHER_POST,
    VOUCHER_REVERSE,
    VOUCHER_VIEW,
    YEAR_CLOSE,
)
from fmis.iam.api_auth import requires

router = Router(tags=["accounting"])
MAX_LIMIT = 500


class AccountSetOut(Schema):
    id: int
    code: str
    name: str
    agency_id: int | None
    region_id: int
    start_year: int
    code_format: str
    numbering_mode: str
    is_enabled: bool
    machine_auto_post: bool
    poster_must_differ: bool


class AccountSetIn(Schema):
    code: str
    name: str
    start_year: int
    agency_id: int | None = None
    region_id: int | None = None
    code_format: str = "4-2-2"
    numbering_mode: str = "per_category"
    poster_must_differ: bool = False
    machine_auto_post: bool = True


class LineIn(Schema):
    account_code: str
    summary: str = ""
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    aux: dict[str, str] = {}


class VoucherIn(Schema):
    account_set_id: int
    date: dt.date
    category_id: int | None = None
    attachments: int = 0
    period_number: int | None = None
    lines: list[LineIn]


class LineOut(Schema):
    line_no: int
    summary: str
    account_code: str
    basis: str
    debit: Decimal
    credit: Decimal
    aux: dict


class VoucherOut(Schema):
    id: int
    account_set_id: int
    year: int
    period: int
    date: dt.date
    word: str
    number: int
    status: str
    summary: str
    debit_total: Decimal
    attachments: int
    is_machine: bool
    source_type: str
    source_id: str
    source_no: str
    reversal_of_id: int | None
    lines: list[LineOut] = []


class ReverseIn(Schema):
    date: dt.date | None = None


class TrialRowOut(Schema):
    code: str
    name: str
    basis: str
    opening: Decimal
    debit: Decimal
    credit: Decimal
    cum_debit: Decimal
    cum_credit: Decimal
    closing: Decimal


class TrialBalanceOut(Schema):
    year: int
    period: int
    level: int
    balanced: bool
    rows: list[TrialRowOut]
    totals: dict[str, dict[str, Decimal]]


class PeriodOut(Schema):
    id: int
    year: int
    number: int
    status: str
    start_date: dt.date
    end_date: dt.date


class EventPostingOut(Schema):
    id: int
    event_name: str
    outcome: str
    message: str
    agency_code: str
    fiscal_year: int | None
    source_type: str
    source_id: str
    source_no: str
    voucher_id: int | None


def _voucher_out(v, with_lines: bool = True) -> dict:
    out = {"id": v.pk, "account_set_id": v.account_set_id, "year": v.period.year, "period": v.period.number,
           "date": v.date, "word": v.category.word, "number": v.number, "status": v.status, "summary": v.summary,
           "debit_total": v.debit_total, "attachments": v.attachments, "is_machine": v.is_machine,
           "source_type": v.source_type, "source_id": v.source_id, "source_no": v.source_no,
           "reversal_of_id": v.reversal_of_id, "lines": []}
    if with_lines:
        out["lines"] = [{"line_no": x.line_no, "summary": x.summary, "account_code": x.account.code,
                         "basis": x.basis, "debit": x.debit, "credit": x.credit, "aux": x.aux}
                        for x in v.lines.select_related("account").order_by("line_no")]
    return out


@router.get("/sets", response=list[AccountSetOut])
@requires(SET_VIEW)
def list_sets(request, q: str = ""):
    return list(selectors.account_sets(user=request.user, q=q))


@router.post("/sets", response={201: AccountSetOut})
@requires(SET_MANAGE)
def create_set(request, body: AccountSetIn):
    return 201, services.create_account_set(data=services.AccountSetInput(**body.dict()), user=request.user)


@router.get("/sets/{pk}/periods", response=list[PeriodOut])
@requires(SET_VIEW)
def list_periods(request, pk: int):
    aset = selectors.account_set(user=request.user, pk=pk)
    return list(selectors.periods(user=request.user, aset=aset))


class VoucherQuery(Schema):
    account_set_id: int | None = None
    q: str = ""
    account: str = ""
    amount: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""
    limit: int = 100
    offset: int = 0


@router.get("/vouchers", response=dict)
@requires(VOUCHER_VIEW)
def list_vouchers(request, params: Query[VoucherQuery]):
    aset = selectors.account_set(user=request.user, pk=params.account_set_id) if params.account_set_id else None
    qs = selectors.vouchers(user=request.user, aset=aset, f=selectors.VoucherFilter(
        q=params.q, account=params.account, amount=params.amount, date_from=params.date_from,
        date_to=params.date_to, status=params.status))
    limit, offset = max(1, min(params.limit, MAX_LIMIT)), max(0, params.offset)
    return {"count": qs.count(), "items": [_voucher_out(v, False) for v in qs[offset:offset + limit]]}


@router.get("/vouchers/{pk}", response=VoucherOut)
@requires(VOUCHER_VIEW)
def get_voucher(request, pk: int):
    return _voucher_out(selectors.voucher(user=request.user, pk=pk))


@router.post("/vouchers", response={201: VoucherOut})
@requires(VOUCHER_CREATE)
def create_voucher(request, body: VoucherIn):
    v = services.create_voucher(
        account_set_id=body.account_set_id, date=body.date, category_id=body.category_id,
        attachments=body.attachments, period_number=body.period_number, user=request.user,
        lines=[services.LineInput(account_code=x.account_code, summary=x.summary, debit=x.debit, credit=x.credit,
                                  aux=x.aux) for x in body.lines])
    return 201, _voucher_out(selectors.voucher(user=request.user, pk=v.pk))


@router.post("/vouchers/{pk}/audit", response=VoucherOut)
@requires(VOUCHER_AUDIT)
def audit_voucher(request, pk: int):
    services.audit_voucher(voucher_id=pk, user=request.user)
    return _voucher_out(selectors.voucher(user=request.user, pk=pk))


@router.post("/vouchers/{pk}/unaudit", response=VoucherOut)
@requires(VOUCHER_AUDIT)
def unaudit_voucher(request, pk: int):
    services.unaudit_voucher(voucher_id=pk, user=request.user)
    return _voucher_out(selectors.voucher(user=request.user, pk=pk))


@router.post("/vouchers/{pk}/post", response=VoucherOut)
@requires(VOUCHER_POST)
def post_voucher(request, pk: int):
    services.post_voucher(voucher_id=pk, user=request.user)
    return _voucher_out(selectors.voucher(user=request.user, pk=pk))


@router.post("/vouchers/{pk}/unpost", response=VoucherOut)
@requires(VOUCHER_POST)
def unpost_voucher(request, pk: int):
    services.unpost_voucher(voucher_id=pk, user=request.user)
    return _voucher_out(selectors.voucher(user=request.user, pk=pk))


@router.post("/vouchers/{pk}/reverse", response={201: VoucherOut})
@requires(VOUCHER_REVERSE)
def reverse_voucher(request, pk: int, body: ReverseIn):
    v = services.reverse_voucher(voucher_id=pk, date=body.date, user=request.user)
    return 201, _voucher_out(selectors.voucher(user=request.user, pk=v.pk))


@router.get("/sets/{pk}/trial-balance", response=TrialBalanceOut)
@requires(LEDGER_VIEW)
def trial_balance(request, pk: int, year: int, period: int, level: int = 1):
    tb = selectors.trial_balance(user=request.user, aset_id=pk, year=year, number=period, level=level)
    return {"year": year, "period": period, "level": level, "balanced": tb.balanced,
            "rows": [r.__dict__ for r in tb.rows], "totals": tb.totals}


@router.post("/periods/{pk}/close", response=PeriodOut)
@requires(CLOSE)
def close_period(request, pk: int):
    return services.close_period(period_id=pk, user=request.user)


@router.post("/periods/{pk}/reopen", response=PeriodOut)
@requires(CLOSE)
def reopen_period(request, pk: int):
    return services.reopen_period(period_id=pk, user=request.user)


@router.get("/events", response=list[EventPostingOut])
@requires(RULE)
def list_event_postings(request, outcome: str = "", limit: int = 100, offset: int = 0):
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    return list(selectors.event_postings(user=request.user, outcome=outcome)[offset:offset + limit])


class RuleLineSchema(Schema):
    basis: str
    side: str
    account_code: str
    amount: str = "amount"
    aux: dict[str, str] = {}


class RuleSchema(Schema):
    code: str
    name: str
    event: str
    conditions: dict = {}
    summary: str
    priority: int = 100
    is_active: bool = True
    lines: list[RuleLineSchema] = []


def _rule_out(rule) -> dict:
    return {"code": rule.code, "name": rule.name, "event": rule.event, "conditions": rule.conditions,
            "summary": rule.summary, "priority": rule.priority, "is_active": rule.is_active,
            "lines": [{"basis": x.basis, "side": x.side, "account_code": x.account_code, "amount": x.amount,
                       "aux": x.aux} for x in rule.lines.all()]}


@router.get("/rules", response=list[RuleSchema])
@requires(RULE)
def list_rules(request):
    return [_rule_out(r) for r in selectors.posting_rules()]


@router.put("/rules/{code}", response=RuleSchema)
@requires(RULE)
def save_rule(request, code: str, body: RuleSchema):
    spec = {**body.dict(), "code": code}
    return _rule_out(services.save_rule(spec=spec, user=request.user))


@router.post("/events/{pk}/repost", response=EventPostingOut)
@requires(RULE)
def repost_event(request, pk: int):
    return services.repost_event(posting_id=pk, user=request.user)



# --- opening balances ---------------------------------------------------------------------------------

class OpeningRowOut(Schema):
    id: int
    account_code: str
    account_name: str
    basis: str
    direction: str
    aux: dict
    amount: Decimal


class OpeningCheckOut(Schema):
    balanced: bool
    rows: int
    totals: dict[str, dict[str, Decimal]]
    problems: list[str]


class OpeningsOut(Schema):
    year: int
    status: str
    source: str
    check: OpeningCheckOut
    rows: list[OpeningRowOut]


class OpeningIn(Schema):
    year: int
    account_code: str
    amount: Decimal
    direction: str = ""
    aux: dict[str, str] = {}


class FiscalYearOut(Schema):
    year: int
    opening_status: str
    opening_source: str
    status: str


def _check_out(chk) -> dict:
    return {"balanced": chk.balanced, "rows": chk.rows, "totals": chk.totals, "problems": chk.problems}


def _openings_out(o) -> dict:
    fy = o.fiscal_year
    return {"year": o.year, "status": fy.opening_status if fy else "draft", "source": fy.opening_source if fy else "",
            "check": _check_out(o.check),
            "rows": [{"id": r.pk, "account_code": r.account.code, "account_name": r.account.full_name,
                      "basis": r.account.basis, "direction": r.account.direction, "aux": r.aux, "amount": r.amount}
                     for r in o.rows]}


def _fy_out(fy) -> dict:
    return {"year": fy.year, "opening_status": fy.opening_status, "opening_source": fy.opening_source,
            "status": fy.status}


@router.get("/sets/{pk}/openings", response=OpeningsOut)
@requires(OPENING_VIEW)
def list_openings(request, pk: int, year: int):
    return _openings_out(selectors.openings(user=request.user, aset_id=pk, year=year))


@router.put("/sets/{pk}/openings", response=OpeningsOut)
@requires(OPENING)
def set_opening(request, pk: int, body: OpeningIn):
    services.set_opening_balance(account_set_id=pk, year=body.year, user=request.user, row=services.OpeningInput(
        account_code=body.account_code, amount=body.amount, direction=body.direction, aux=body.aux))
    return _openings_out(selectors.openings(user=request.user, aset_id=pk, year=body.year))


@router.post("/sets/{pk}/openings/import", response=dict)
@requires(OPENING)
def import_openings(request, pk: int, year: Form[int], file: File[UploadedFile]):
    return services.import_opening_balances(account_set_id=pk, year=year, file=file, user=request.user)


@router.post("/sets/{pk}/openings/carry", response=OpeningsOut)
@requires(OPENING)
def carry_openings(request, pk: int, year: int):
    services.carry_opening_balances(account_set_id=pk, year=year, user=request.user)
    return _openings_out(selectors.openings(user=request.user, aset_id=pk, year=year))


@router.post("/sets/{pk}/openings/post", response=FiscalYearOut)
@requires(OPENING)
def post_openings(request, pk: int, year: int):
    return _fy_out(services.post_opening_balances(account_set_id=pk, year=year, user=request.user))


@router.post("/sets/{pk}/openings/unpost", response=FiscalYearOut)
@requires(OPENING)
def unpost_openings(request, pk: int, year: int):
    return _fy_out(services.unpost_opening_balances(account_set_id=pk, year=year, user=request.user))


# --- voucher templates --------------------------------------------------------------------------------

class TemplateLineSchema(Schema):
    account_code: str
    direction: str
    summary: str = ""
    amount: Decimal | None = None
    aux: dict[str, str] = {}


class TemplateIn(Schema):
    code: str
    name: str
    category_id: int | None = None
    lines: list[TemplateLineSchema]


class TemplateFromVoucherIn(Schema):
    code: str
    name: str
    with_amounts: bool = True


class TemplateOut(Schema):
    id: int
    account_set_id: int
    code: str
    name: str
    category_id: int | None
    lines: list[TemplateLineSchema]


def _template_out(t) -> dict:
    return {"id": t.pk, "account_set_id": t.account_set_id, "code": t.code, "name": t.name,
            "category_id": t.category_id,
            "lines": [{"account_code": x["account"], "direction": x["direction"], "summary": x["summary"],
                       "amount": x["amount"], "aux": x["aux"]} for x in services.template_rows(t)]}


@router.get("/sets/{pk}/templates", response=list[TemplateOut])
@requires(TEMPLATE)
def list_templates(request, pk: int, q: str = ""):
    aset = selectors.account_set(user=request.user, pk=pk)
    return [_template_out(t) for t in selectors.templates(user=request.user, aset=aset, q=q)]


@router.post("/sets/{pk}/templates", response={201: TemplateOut})
@requires(TEMPLATE)
def create_template(request, pk: int, body: TemplateIn):
    t = services.save_template(account_set_id=pk, code=body.code, name=body.name, category_id=body.category_id,
                               user=request.user, lines=[services.TemplateLineInput(**x.dict()) for x in body.lines])
    return 201, _template_out(t)


@router.post("/vouchers/{pk}/template", response={201: TemplateOut})
@requires(TEMPLATE)
def template_from_voucher(request, pk: int, body: TemplateFromVoucherIn):
    t = services.save_voucher_as_template(voucher_id=pk, code=body.code, name=body.name,
                                          with_amounts=body.with_amounts, user=request.user)
    return 201, _template_out(t)


@router.get("/templates/{pk}", response=TemplateOut)
@requires(TEMPLATE)
def get_template(request, pk: int):
    return _template_out(selectors.template(user=request.user, pk=pk))


@router.delete("/templates/{pk}", response={204: None})
@requires(TEMPLATE)
def delete_template(request, pk: int):
    services.delete_template(template_id=pk, user=request.user)
    return 204, None


# --- numbers, year-end, year close --------------------------------------------------------------------

class RenumberOut(Schema):
    changed: int
    gaps: list[str]


class PeriodCheckOut(Schema):
    period_id: int
    problems: list[str]
    gaps: list[str]


@router.get("/periods/{pk}/check", response=PeriodCheckOut)
@requires(CLOSE)
def period_check(request, pk: int):
    p = selectors.period(user=request.user, pk=pk)
    return {"period_id": p.pk, "problems": services.period_check(p), "gaps": services.number_gaps(p)}


@router.post("/periods/{pk}/renumber", response=RenumberOut)
@requires(RENUMBER)
def renumber(request, pk: int):
    return services.renumber_vouchers(period_id=pk, user=request.user)


@router.post("/sets/{pk}/carry-forward", response={201: list[VoucherOut]})
@requires(CARRY)
def carry_forward(request, pk: int, year: int):
    made = services.generate_carry_forward(account_set_id=pk, year=year, user=request.user)
    return 201, [_voucher_out(v) for v in made]


@router.get("/sets/{pk}/years", response=list[FiscalYearOut])
@requires(SET_VIEW)
def list_years(request, pk: int):
    aset = selectors.account_set(user=request.user, pk=pk)
    return [{"year": y["year"], "opening_status": y["state"].opening_status if y["state"] else "draft",
             "opening_source": y["state"].opening_source if y["state"] else "entered",
             "status": y["state"].status if y["state"] else "open"}
            for y in selectors.fiscal_years(user=request.user, aset=aset)]


@router.post("/sets/{pk}/years/{year}/close", response=FiscalYearOut)
@requires(YEAR_CLOSE)
def close_year(request, pk: int, year: int):
    return _fy_out(services.close_year(account_set_id=pk, year=year, user=request.user))


@router.post("/sets/{pk}/years/{year}/reopen", response=FiscalYearOut)
@requires(YEAR_CLOSE)
def reopen_year(request, pk: int, year: int):
    return _fy_out(services.reopen_year(account_set_id=pk, year=year, user=request.user))

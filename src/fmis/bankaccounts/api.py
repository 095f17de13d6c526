"""Bank account supervision API under /api/v1/bankaccounts/: accounts and their history,
applications and inspections with their review actions, the exchange centre (banks deliver flows
and balances to ``exchange/messages`` with their operator's token; the treasury imports files at
``exchange/import``), the exception log, the absence table, reconciliation and the reports.

A bank message is the request body itself (XML or CSV, docs/bank-flows.md), read as a stream: the
declared ``Content-Length`` is checked against the size limit before anything is read. A refused
message answers 422 naming the line and field, with ``params.exception_id`` pointing at its entry in
the exception log; a message delivered again answers 200 with ``redelivered: true``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile

from fmis.bankaccounts import functions as F
from fmis.bankaccounts import selectors, services
from fmis.bankaccounts.models import AccountChange, Application, BankAccount, ExceptionMessage
from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["bankaccounts"])


class AccountOut(Schema):
    id: int
    number: str
    name: str
    agency_code: str
    department_code: str
    bank_code: str
    branch_code: str | None
    nature: str
    currency: str
    purpose: str
    approval_doc: str
    opened_on: dt.date
    closed_on: dt.date | None
    status: str
    opening_balance: Decimal
    initialized_on: dt.date | None
    last_inspection_year: int | None

    @staticmethod
    def resolve_agency_code(obj: BankAccount) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_department_code(obj: BankAccount) -> str:
        return obj.department.code

    @staticmethod
    def resolve_bank_code(obj: BankAccount) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_branch_code(obj: BankAccount) -> str | None:
        return obj.branch.code if obj.branch else None


class AccountDetailOut(AccountOut):
    balance: Decimal


class ChangeOut(Schema):
    id: int
    kind: str
    field: str
    field_label: str
    old_value: str
    new_value: str
    application_id: int | None
    inspection_id: int | None
    requested_by: str | None
    changed_by: str | None
    changed_at: dt.datetime

    @staticmethod
    def resolve_requested_by(obj: AccountChange) -> str | None:
        return obj.requested_by.username if obj.requested_by else None

    @staticmethod
    def resolve_changed_by(obj: AccountChange) -> str | None:
        return obj.changed_by.username if obj.changed_by else None


class ApplicationOut(Schema):
    id: int
    number: str
    kind: str
    status: str
    agency_code: str
    account_id: int | None
    account_number: str
    account_name: str
    bank_code: str
    nature: str
    currency: str
    purpose: str
    approval_doc: str
    opened_on: dt.date
    closed_on: dt.date | None
    reason: str
    return_reason: str

    @staticmethod
    def resolve_agency_code(obj: Application) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_bank_code(obj: Application) -> str:
        return obj.bank.code


class InspectionOut(Schema):
    id: int
    account_id: int
    year: int
    status: str
    conclusion: str
    still_needed: bool
    usage: str
    return_reason: str


class AccountIn(Schema):
    agency_id: int
    number: str
    name: str
    bank_id: int
    nature: str
    opened_on: dt.date
    currency: str = "CNY"
    branch_id: int | None = None
    purpose: str = ""
    approval_doc: str = ""


class OpenIn(AccountIn):
    reason: str


class RegisterIn(AccountIn):
    initialized_on: dt.date | None = None
    opening: dict[str, Decimal] = {}


class ChangeIn(Schema):
    reason: str
    name: str | None = None
    branch_id: int | None = None
    nature: str | None = None
    purpose: str | None = None
    approval_doc: str | None = None


class CloseIn(Schema):
    closed_on: dt.date
    reason: str


class InspectionIn(Schema):
    year: int
    usage: str
    conclusion: str = "compliant"
    still_needed: bool = True


class ActionIn(Schema):
    text: str = ""
    step: int | None = None


class ImportOut(Schema):
    batch_id: int
    bank_code: str
    kind: str
    business_date: dt.date
    lines: int
    inserted: int
    duplicates: int
    redelivered: bool


class ExceptionOut(Schema):
    id: int
    bank_code: str
    business_date: dt.date | None
    kind: str
    fmt: str
    source: str
    filename: str
    code: str
    reason: str
    errors: list
    size: int
    received_at: dt.datetime


class ExceptionDetailOut(ExceptionOut):
    raw: str
    raw_truncated: bool


class ReportOut(Schema):
    title: str
    headers: list[str]
    rows: list[list]
    totals: list | None
    filters: list[tuple[str, str]]


class AbsenceOut(Schema):
    days: list[dt.date]
    banks: list[dict]


class ReconcileOut(Schema):
    unregistered: list[dict]
    silent: list[dict]
    mismatches: list[dict]


class Paging(Schema):
    q: str = ""
    status: str = ""
    limit: int = 50
    offset: int = 0


def _data(body: AccountIn) -> services.AccountData:
    return services.AccountData(agency_id=body.agency_id, number=body.number, name=body.name, bank_id=body.bank_id,
                                nature=body.nature, opened_on=body.opened_on, currency=body.currency,
                                branch_id=body.branch_id, purpose=body.purpose, approval_doc=body.approval_doc)


def _detail(user, pk: int) -> BankAccount:
    acct = selectors.account(user=user, pk=pk)
    acct.balance = selectors.balance_of(user=user, account_id=pk)
    return acct


# --- accounts -----------------------------------------------------------------------------------

@router.get("/accounts", response=page_schema(AccountOut))
@requires(F.ACCOUNT_VIEW)
def list_accounts(request, params: Query[Paging]):
    return api_page(selectors.accounts(user=request.user, q=params.q, status=params.status), params.limit,
                    params.offset)


@router.get("/accounts/{pk}", response=AccountDetailOut)
@requires(F.ACCOUNT_VIEW)
def get_account(request, pk: int):
    return _detail(request.user, pk)


@router.get("/accounts/{pk}/history", response=list[ChangeOut])
@requires(F.ACCOUNT_VIEW)
def account_history(request, pk: int):
    selectors.account(user=request.user, pk=pk)
    return list(selectors.account_history(user=request.user, account_id=pk)[:1000])


@router.post("/accounts", response={201: AccountDetailOut})
@requires(F.ACCOUNT_REGISTER)
def register_account(request, body: RegisterIn):
    opening = (services.OpeningItems(body.initialized_on or body.opened_on, dict(body.opening))
               if body.opening else None)
    acct = services.register_account(user=request.user, data=_data(body), opening=opening)
    return 201, _detail(request.user, acct.pk)


@router.post("/accounts/{pk}/change", response={201: ApplicationOut})
@requires(F.APPLY)
def apply_change(request, pk: int, body: ChangeIn):
    app = services.apply_change(user=request.user, account_id=pk, reason=body.reason, change=services.ChangeData(
        name=body.name, branch_id=body.branch_id, nature=body.nature, purpose=body.purpose,
        approval_doc=body.approval_doc))
    return 201, app


@router.post("/accounts/{pk}/close", response={201: ApplicationOut})
@requires(F.APPLY)
def apply_close(request, pk: int, body: CloseIn):
    return 201, services.apply_close(user=request.user, account_id=pk, closed_on=body.closed_on, reason=body.reason)


@router.post("/accounts/{pk}/inspections", response={201: InspectionOut})
@requires(F.APPLY)
def create_inspection(request, pk: int, body: InspectionIn):
    return 201, services.create_inspection(user=request.user, account_id=pk, year=body.year, usage=body.usage,
                                           conclusion=body.conclusion, still_needed=body.still_needed)


# --- applications and inspections -----------------------------------------------------------------

@router.get("/applications", response=page_schema(ApplicationOut))
@requires(F.APPLICATION_VIEW)
def list_applications(request, params: Query[Paging]):
    return api_page(selectors.applications(user=request.user, q=params.q, status=params.status), params.limit,
                    params.offset)


@router.get("/applications/{pk}", response=ApplicationOut)
@requires(F.APPLICATION_VIEW)
def get_application(request, pk: int):
    return selectors.application(user=request.user, pk=pk)


@router.post("/applications", response={201: ApplicationOut})
@requires(F.APPLY)
def apply_open(request, body: OpenIn):
    return 201, services.apply_open(user=request.user, data=_data(body), reason=body.reason)


@router.post("/applications/{pk}/{action}", response=ApplicationOut)
@requires(F.APPLICATION_VIEW)
def act_on_application(request, pk: int, action: str, body: ActionIn):
    """``action``: submit, approve, return (text = reason), reject (text = reason), withdraw."""
    return services.act_on_application(user=request.user, application_id=pk, action=action, text=body.text,
                                       step=body.step)


@router.get("/inspections", response=page_schema(InspectionOut))
@requires(F.INSPECTION_VIEW)
def list_inspections(request, params: Query[Paging]):
    return api_page(selectors.inspections(user=request.user, q=params.q, status=params.status), params.limit,
                    params.offset)


@router.post("/inspections/{pk}/{action}", response=InspectionOut)
@requires(F.INSPECTION_VIEW)
def act_on_inspection(request, pk: int, action: str, body: ActionIn):
    return services.act_on_inspection(user=request.user, inspection_id=pk, action=action, text=body.text,
                                      step=body.step)


# --- exchange centre ------------------------------------------------------------------------------

class _BodyStream:
    """The request body as a stream, with the declared length as its size."""

    def __init__(self, request):
        self.request = request
        try:
            self.size = int(request.META.get("CONTENT_LENGTH") or "")
        except ValueError:
            self.size = None

    def read(self, n: int = -1) -> bytes:
        return self.request.read(n)


@router.post("/exchange/messages", response=ImportOut)
@requires(F.BANK_DELIVER)
def deliver_message(request, filename: str = ""):
    """A bank delivers one flows or balances message (XML or CSV) as the request body."""
    return services.import_message(user=request.user, stream=_BodyStream(request), source="api", filename=filename)


@router.post("/exchange/import", response=ImportOut)
@requires(F.EXCHANGE_IMPORT)
def import_file(request, file: File[UploadedFile]):
    return services.import_message(user=request.user, stream=file.file, source="file", filename=file.name or "")


class ExceptionFilter(Schema):
    bank: str = ""
    kind: str = ""
    date: dt.date | None = None
    limit: int = 50
    offset: int = 0


@router.get("/exchange/exceptions", response=page_schema(ExceptionOut))
@requires(F.EXCEPTION_VIEW)
def list_exceptions(request, params: Query[ExceptionFilter]):
    return api_page(selectors.exceptions(user=request.user, bank=params.bank, kind=params.kind, date=params.date),
                    params.limit, params.offset)


@router.get("/exchange/exceptions/{pk}", response=ExceptionDetailOut)
@requires(F.EXCEPTION_VIEW)
def get_exception(request, pk: int) -> ExceptionMessage:
    return selectors.exception(user=request.user, pk=pk)


@router.get("/exchange/absence", response=AbsenceOut)
@requires(F.ABSENCE_VIEW)
def absence(request, date_from: dt.date, date_to: dt.date):
    days, rows = selectors.absence(user=request.user, date_from=date_from, date_to=date_to)
    return {"days": days, "banks": [{"bank_code": r.bank.code, "bank_name": r.bank.name, "cells": r.cells,
                                     "absent_days": r.absent_days} for r in rows]}


@router.get("/exchange/reconcile", response=ReconcileOut)
@requires(F.RECONCILE_VIEW)
def reconcile(request, date_from: dt.date, date_to: dt.date):
    silent = [{"account_id": a.pk, "number": a.number, "agency_code": a.agency.code, "bank_code": a.bank.code}
              for a in selectors.silent_accounts(user=request.user, date_from=date_from, date_to=date_to)[:2000]]
    return {"unregistered": selectors.unregistered_accounts(user=request.user, date_from=date_from, date_to=date_to),
            "silent": silent, "mismatches": selectors.balance_mismatches(user=request.user, day=date_to)}


# --- reports ------------------------------------------------------------------------------------

class ReportFilter(Schema):
    date_from: str = ""
    date_to: str = ""
    status: str = "active"
    agency: str = ""
    department: str = ""
    bank: str = ""
    currency: str = ""
    number: str = ""
    balance_gt: str = ""
    balance_lt: str = ""
    kind: str = ""


@router.get("/reports/{name}", response=ReportOut)
@requires(F.ACCOUNT_VIEW)
def get_report(request, name: str, params: Query[ReportFilter]):
    """``name``: department, unit, bank, initial, flows, balances, counts, changes, change_detail; each
    also needs its own report function."""
    rep = selectors.report(name, user=request.user, filters=selectors.parse_filters(params.dict()))
    return {"title": rep.title, "headers": rep.headers, "rows": rep.rows, "totals": rep.totals,
            "filters": rep.filters}


"""Exception flows of the agent-bank business (seed 004 §54) under /api/v1/bankside/cases/.

Writes go to the consortium ledger through ``fmis.bankside.cases`` and answer the ledger's verdict
(``tx_id``, ``status`` valid / pending, ``block``); a refusal answers RFC 9457 problem details with
the contract's code. Lists are scoped like the payments; an id outside the user's scope answers
404 like an unknown one. Amounts are yuan (decimal strings), as on the finance side.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema

from fmis.bankside import cases
from fmis.bankside.schemas import OfMerchant, OutcomeOut, Paging, outcome
from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["bankside cases"])


class CaseFilter(Paging):
    kind: str = ""
    status: str = ""
    date: dt.date | None = None


class StatusFilter(Paging):
    kind: str = ""
    status: str = ""


class CaseOut(OfMerchant):
    ledger_id: str
    kind: str
    payment: str | None
    authorisation: str | None
    amount: Decimal
    currency: str
    date: dt.date
    bank_serial: str
    reason: str
    branch: str
    mode: str
    status: str
    application: str | None
    rule_version: int
    before: dict | None
    after: dict | None
    core_serial: str
    block: int

    @staticmethod
    def resolve_payment(obj) -> str | None:
        return obj.payment.ledger_id if obj.payment_id else None

    @staticmethod
    def resolve_authorisation(obj) -> str | None:
        return obj.authorisation.ledger_id if obj.authorisation_id else None

    @staticmethod
    def resolve_application(obj) -> str | None:
        return obj.application.ledger_id if obj.application_id else None


class AuthorisationOut(OfMerchant):
    ledger_id: str
    budget_type: str
    customer_account: str
    customer_name: str
    currency: str
    reference: str
    limit: Decimal
    total_limit: Decimal | None
    collected: Decimal
    collections: int
    valid_from: dt.date
    valid_to: dt.date | None
    status: str
    revoke_reason: str
    block: int


class ApplicationOut(OfMerchant):
    ledger_id: str
    kind: str
    payment: str | None
    authorisation: str | None
    amount: Decimal
    changes: dict
    reason: str
    rule_version: int
    approver_region: str
    status: str
    comment: str
    case: str
    submitted_block: int
    reviewed_block: int | None

    @staticmethod
    def resolve_payment(obj) -> str | None:
        return obj.payment.ledger_id if obj.payment_id else None

    @staticmethod
    def resolve_authorisation(obj) -> str | None:
        return obj.authorisation.ledger_id if obj.authorisation_id else None

    @staticmethod
    def resolve_case(obj) -> str:
        return obj.case_ledger_id


class GiveBackIn(Schema):
    payment: str
    amount: Decimal
    date: dt.date
    bank_serial: str
    reason: str
    application: str = ""


class CorrectionIn(Schema):
    payment: str
    changes: dict[str, str]
    date: dt.date
    reason: str
    application: str = ""


class CollectionIn(Schema):
    authorisation: str
    amount: Decimal
    date: dt.date
    bank_serial: str
    purpose: str
    application: str = ""


class AuthorisationIn(Schema):
    merchant_no: str
    business_type: str
    budget_type: str
    customer_account: str
    customer_name: str
    limit: Decimal
    total_limit: Decimal | None = None
    valid_from: dt.date
    valid_to: dt.date | None = None
    reference: str


class RevokeIn(Schema):
    reason: str


class ApplicationIn(Schema):
    kind: str
    reason: str
    payment: str = ""
    authorisation: str = ""
    amount: Decimal | None = None
    changes: dict[str, str] | None = None


class ReviewIn(Schema):
    decision: str
    comment: str = ""


CasePage = page_schema(CaseOut)
AuthorisationPage = page_schema(AuthorisationOut)
ApplicationPage = page_schema(ApplicationOut)


@router.get("", response=CasePage)
@requires(cases.CASE_VIEW)
def list_cases(request, f: Query[CaseFilter]):
    qs = cases.cases(user=request.user, q=f.q, kind=f.kind, status=f.status, date=f.date)
    return api_page(qs.select_related("application"), f.limit, f.offset)


@router.post("/returns", response=OutcomeOut)
@requires(cases.RETURN)
def return_payment(request, body: GiveBackIn):
    """资金退回 of (part of) a paid payment."""
    return outcome(cases.return_payment(user=request.user, **body.dict()))


@router.post("/mistaken-refunds", response=OutcomeOut)
@requires(cases.REFUND_MISTAKEN)
def refund_mistaken(request, body: GiveBackIn):
    """错缴资金退回 of (part of) a payment made to the wrong payee."""
    return outcome(cases.refund_mistaken(user=request.user, **body.dict()))


@router.post("/corrections", response=OutcomeOut)
@requires(cases.CORRECT)
def correct_payment(request, body: CorrectionIn):
    """支付更正 of a payment's classification fields."""
    return outcome(cases.correct_payment(user=request.user, **body.dict()))


@router.post("/collections", response=OutcomeOut)
@requires(cases.COLLECT)
def collect(request, body: CollectionIn):
    """委托收款 under a registered authorisation."""
    return outcome(cases.collect(user=request.user, **body.dict()))


@router.get("/authorisations", response=AuthorisationPage)
@requires(cases.AUTHORISATION_VIEW)
def list_authorisations(request, f: Query[StatusFilter]):
    return api_page(cases.authorisations(user=request.user, q=f.q, status=f.status), f.limit, f.offset)


@router.post("/authorisations", response=OutcomeOut)
@requires(cases.AUTHORISATION_MANAGE)
def register_authorisation(request, body: AuthorisationIn):
    return outcome(cases.register_authorisation(user=request.user, **body.dict()))


@router.post("/authorisations/{ledger_id}/revoke", response=OutcomeOut)
@requires(cases.AUTHORISATION_MANAGE)
def revoke_authorisation(request, ledger_id: str, body: RevokeIn):
    return outcome(cases.revoke_authorisation(user=request.user, authorisation=ledger_id, reason=body.reason))


@router.get("/applications", response=ApplicationPage)
@requires(cases.CASE_APPLICATION_VIEW)
def list_applications(request, f: Query[StatusFilter]):
    return api_page(cases.applications(user=request.user, q=f.q, kind=f.kind, status=f.status), f.limit, f.offset)


@router.post("/applications", response=OutcomeOut)
@requires(cases.CASE_APPLICATION_SUBMIT)
def submit_application(request, body: ApplicationIn):
    return outcome(cases.submit_case_application(user=request.user, **body.dict()))


@router.post("/applications/{ledger_id}/review", response=OutcomeOut)
@requires(cases.CASE_APPLICATION_REVIEW)
def review_application(request, ledger_id: str, body: ReviewIn):
    return outcome(cases.review_case_application(user=request.user, application=ledger_id, decision=body.decision,
                                              comment=body.comment))


@router.get("/{ledger_id}", response=CaseOut)
@requires(cases.CASE_VIEW)
def get_case(request, ledger_id: str):
    return cases.case(user=request.user, ledger_id=ledger_id)

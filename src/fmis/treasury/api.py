"""Treasury API under /api/v1/treasury/: applications, vouchers, the bank message endpoints,
refunds, corrections, clearing, plans and settings.

Banks post their messages (docs/bank-interface.md) to ``bank/receipts`` (one receipt),
``bank/receipts/batch`` (many receipts, all-or-nothing), ``bank/refunds`` and ``bank/statements`` with their operator's API token (``Authorization: Bearer …``). The body is
checked against the published JSON Schema; a malformed message is answered 422 naming the field
and changes nothing. A repeated message (same bank serial number) answers the first result.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from ninja import Query, Router, Schema

from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.errors import ValidationFailed
from fmis.platform.listing import api_page
from fmis.treasury import functions as F
from fmis.treasury import selectors, services
from fmis.treasury.models import ClearingStatement, Correction, PaymentApplication, PaymentVoucher, Refund

router = Router(tags=["treasury"])


class Paging(Schema):
    q: str = ""
    status: str = ""
    limit: int = 50
    offset: int = 0



def _message(request) -> dict:
    try:
        value = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("treasury.bank_message_invalid", "银行报文不是有效的 JSON", field="(message)") from None
    if not isinstance(value, dict):
        raise ValidationFailed("treasury.bank_message_invalid", "银行报文必须是 JSON 对象", field="(message)")
    return value


# --- schemas ------------------------------------------------------------------------------------

class ApplicationOut(Schema):
    id: int
    number: str
    fiscal_year: int
    status: str
    agency_code: str
    indicator_id: int
    indicator_code: str
    payee_name: str
    payee_account: str
    payee_bank: str
    amount: Decimal
    pay_mode: str
    settle_mode: str
    purpose: str
    func_code: str
    gov_eco_code: str
    dept_eco_code: str
    fund_type: str
    plan_month: int
    return_reason: str
    control_warnings: list
    voucher_no: str | None

    @staticmethod
    def resolve_agency_code(obj: PaymentApplication) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_indicator_code(obj: PaymentApplication) -> str:
        return obj.indicator.code

    @staticmethod
    def resolve_voucher_no(obj: PaymentApplication) -> str | None:
        try:
            return obj.voucher.number
        except PaymentVoucher.DoesNotExist:
            return None


ApplicationPage = page_schema(ApplicationOut, "ApplicationPage")


class ApplicationUpdate(Schema):
    payee_name: str
    payee_account: str
    payee_bank: str
    amount: Decimal
    settle_mode: str
    purpose: str
    pay_mode: str | None = None
    func_code: str | None = None
    gov_eco_code: str | None = None
    dept_eco_code: str | None = None
    fund_type: str | None = None
    plan_month: int | None = None
    procurement_plan_id: int | None = None


class ApplicationIn(ApplicationUpdate):
    indicator_id: int


class CommentIn(Schema):
    comment: str = ""
    step: int | None = None


class ReasonIn(Schema):
    reason: str
    step: int | None = None


class VoucherOut(Schema):
    id: int
    number: str
    status: str
    application_no: str
    agency_code: str
    bank_code: str
    indicator_code: str
    amount: Decimal
    paid: Decimal
    released: Decimal
    refunded: Decimal
    corrected: Decimal
    payer_account: str
    message: dict

    @staticmethod
    def resolve_application_no(obj: PaymentVoucher) -> str:
        return obj.application.number

    @staticmethod
    def resolve_agency_code(obj: PaymentVoucher) -> str:
        return obj.agency.code

    @staticmethod
    def resolve_bank_code(obj: PaymentVoucher) -> str:
        return obj.bank.code

    @staticmethod
    def resolve_indicator_code(obj: PaymentVoucher) -> str:
        return obj.indicator.code


VoucherPage = page_schema(VoucherOut, "VoucherPage")


class RefundIn(Schema):
    voucher_id: int
    amount: Decimal
    serial_no: str
    reason: str
    value_date: dt.date | None = None


class RefundOut(Schema):
    id: int
    number: str
    voucher_no: str
    serial_no: str
    amount: Decimal
    value_date: dt.date
    reason: str

    @staticmethod
    def resolve_voucher_no(obj: Refund) -> str:
        return obj.voucher.number


RefundPage = page_schema(RefundOut, "RefundPage")


class CorrectionIn(Schema):
    voucher_id: int
    to_indicator_id: int
    amount: Decimal
    reason: str


class CorrectionOut(Schema):
    id: int
    number: str
    status: str
    voucher_no: str
    from_indicator_id: int
    to_indicator_id: int
    amount: Decimal
    reason: str

    @staticmethod
    def resolve_voucher_no(obj: Correction) -> str:
        return obj.voucher.number


CorrectionPage = page_schema(CorrectionOut, "CorrectionPage")


class ClearingIn(Schema):
    region_id: int
    bank_id: int
    date: dt.date


class ClearingOut(Schema):
    id: int
    number: str
    date: dt.date
    bank_code: str
    paid_count: int
    paid_total: Decimal
    refund_count: int
    refund_total: Decimal
    net_total: Decimal
    bank_total: Decimal | None
    reconciled: bool
    lines: list
    differences: list

    @staticmethod
    def resolve_bank_code(obj: ClearingStatement) -> str:
        return obj.bank.code


ClearingPage = page_schema(ClearingOut, "ClearingPage")


class PlanIn(Schema):
    indicator_id: int
    month: int
    amount: Decimal


class PlanApproveIn(Schema):
    approved: Decimal


class PlanOut(Schema):
    id: int
    indicator_id: int
    month: int
    applied: Decimal
    approved: Decimal
    used: Decimal
    status: str


PlanPage = page_schema(PlanOut, "PlanPage")


class ConfigIn(Schema):
    region_id: int
    fiscal_year: int
    payment_plan_enabled: bool
    procurement_plan_enabled: bool
    signing_suite: str = "sm2"


class ConfigOut(Schema):
    id: int
    region_id: int
    fiscal_year: int
    payment_plan_enabled: bool
    procurement_plan_enabled: bool
    signing_suite: str


# --- applications -------------------------------------------------------------------------------

@router.get("/applications", response=ApplicationPage)
@requires(F.APP_VIEW)
def list_applications(request, paging: Query[Paging]):
    return api_page(selectors.applications_for(user=request.user, q=paging.q, status=paging.status), paging.limit, paging.offset)


@router.get("/applications/{pk}", response=ApplicationOut)
@requires(F.APP_VIEW)
def get_application(request, pk: int):
    return selectors.application(user=request.user, pk=pk)


@router.post("/applications", response={201: ApplicationOut})
@requires(F.APP_CREATE)
def create_application(request, body: ApplicationIn):
    return 201, services.create_application(user=request.user, **body.dict())


@router.put("/applications/{pk}", response=ApplicationOut)
@requires(F.APP_CREATE)
def update_application(request, pk: int, body: ApplicationUpdate):
    """Edit an application in draft (new, withdrawn or returned)."""
    return services.update_application(user=request.user, application_id=pk, **body.dict())


@router.post("/applications/{pk}/submit", response=ApplicationOut)
@requires(F.APP_SUBMIT)
def submit_application(request, pk: int, body: CommentIn):
    return services.submit_application(application_id=pk, user=request.user, comment=body.comment)


@router.post("/applications/{pk}/approve", response=ApplicationOut)
@requires(F.APP_REVIEW)
def approve_application(request, pk: int, body: CommentIn):
    return services.approve_application(application_id=pk, user=request.user, comment=body.comment, step=body.step)


class BatchApproveIn(Schema):
    application_ids: list[int]
    comment: str = ""


class BatchFailureOut(Schema):
    application_id: int
    code: str
    message: str


class BatchApproveOut(Schema):
    approved: list[int]
    failed: list[BatchFailureOut]
    vouchers: int
    messages: list[str]


@router.post("/application-batches/approve", response=BatchApproveOut)
@requires(F.APP_REVIEW)
def approve_applications(request, body: BatchApproveIn):
    """批量审核: approve many applications in one action; refused ones are listed with the reason."""
    return services.approve_applications(application_ids=body.application_ids, user=request.user,
                                         comment=body.comment)


@router.post("/applications/{pk}/return", response=ApplicationOut)
@requires(F.APP_REVIEW)
def return_application(request, pk: int, body: ReasonIn):
    return services.return_application(application_id=pk, user=request.user, reason=body.reason, step=body.step)


@router.post("/applications/{pk}/reject", response=ApplicationOut)
@requires(F.APP_REVIEW)
def reject_application(request, pk: int, body: ReasonIn):
    return services.reject_application(application_id=pk, user=request.user, reason=body.reason, step=body.step)


# --- vouchers and the bank's messages -----------------------------------------------------------

@router.get("/vouchers", response=VoucherPage)
@requires(F.VOUCHER_VIEW)
def list_vouchers(request, paging: Query[Paging]):
    return api_page(selectors.vouchers_for(user=request.user, q=paging.q, status=paging.status), paging.limit, paging.offset)


@router.get("/vouchers/{pk}", response=VoucherOut)
@requires(F.VOUCHER_VIEW)
def get_voucher(request, pk: int):
    return selectors.voucher(user=request.user, pk=pk)


@router.post("/bank/receipts")
@requires(F.BANK_RECEIPT)
def bank_receipt(request):
    """A receipt (回单) message; see docs/bank-interface.md."""
    return services.apply_receipt(message=_message(request), user=request.user)


@router.post("/bank/receipts/batch")
@requires(F.BANK_RECEIPT)
def bank_receipt_batch(request):
    """A receipt batch message (回单批量报文), applied all-or-nothing; see docs/bank-interface.md."""
    return services.apply_receipts(message=_message(request), user=request.user)


@router.post("/bank/refunds")
@requires(F.BANK_REFUND)
def bank_refund(request):
    """A refund (退款) message; see docs/bank-interface.md."""
    return services.apply_refund_message(message=_message(request), user=request.user)


@router.post("/bank/statements")
@requires(F.BANK_STATEMENT)
def bank_statement(request):
    """A daily statement (对账单) message; see docs/bank-interface.md."""
    return services.receive_statement(message=_message(request), user=request.user)


# --- refunds, corrections, clearing -------------------------------------------------------------

@router.get("/refunds", response=RefundPage)
@requires(F.REFUND_VIEW)
def list_refunds(request, paging: Query[Paging]):
    return api_page(selectors.refunds_for(user=request.user, q=paging.q), paging.limit, paging.offset)


@router.post("/refunds", response={201: RefundOut})
@requires(F.REFUND_CREATE)
def create_refund(request, body: RefundIn):
    return 201, services.record_refund(user=request.user, **body.dict())


@router.get("/corrections", response=CorrectionPage)
@requires(F.CORRECTION_VIEW)
def list_corrections(request, paging: Query[Paging]):
    return api_page(selectors.corrections_for(user=request.user, q=paging.q), paging.limit, paging.offset)


@router.post("/corrections", response={201: CorrectionOut})
@requires(F.CORRECTION_CREATE)
def create_correction(request, body: CorrectionIn):
    return 201, services.create_correction(user=request.user, **body.dict())


@router.post("/corrections/{pk}/submit", response=CorrectionOut)
@requires(F.CORRECTION_SUBMIT)
def submit_correction(request, pk: int, body: CommentIn):
    return services.submit_correction(correction_id=pk, user=request.user, comment=body.comment)


@router.post("/corrections/{pk}/approve", response=CorrectionOut)
@requires(F.CORRECTION_REVIEW)
def approve_correction(request, pk: int, body: CommentIn):
    return services.act_on_correction(correction_id=pk, action="approve", user=request.user, text=body.comment,
                                      step=body.step)


@router.get("/clearings", response=ClearingPage)
@requires(F.CLEARING_VIEW)
def list_clearings(request, paging: Query[Paging]):
    return api_page(selectors.clearings_for(user=request.user, q=paging.q), paging.limit, paging.offset)


@router.post("/clearings", response=ClearingOut)
@requires(F.CLEARING_RUN)
def run_clearing(request, body: ClearingIn):
    return services.run_clearing(user=request.user, region_id=body.region_id, bank_id=body.bank_id, date=body.date)


# --- plans and settings -------------------------------------------------------------------------

@router.get("/plans", response=PlanPage)
@requires(F.PLAN_VIEW)
def list_plans(request, paging: Query[Paging]):
    return api_page(selectors.plans_for(user=request.user, q=paging.q), paging.limit, paging.offset)


@router.post("/plans", response={201: PlanOut})
@requires(F.PLAN_CREATE)
def create_plan(request, body: PlanIn):
    return 201, services.create_payment_plan(user=request.user, indicator_id=body.indicator_id, month=body.month,
                                             amount=body.amount)


@router.post("/plans/{pk}/approve", response=PlanOut)
@requires(F.PLAN_REVIEW)
def approve_plan(request, pk: int, body: PlanApproveIn):
    return services.approve_payment_plan(plan_id=pk, approved=body.approved, user=request.user)


@router.put("/config", response=ConfigOut)
@requires(F.CONFIG_MANAGE)
def set_config(request, body: ConfigIn):
    return services.set_config(user=request.user, **body.dict())


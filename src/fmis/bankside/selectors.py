"""Every read users see, through the permission filter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from fmis.bankside import functions as F_
from fmis.bankside import statements
from fmis.bankside.models import (
    BusinessType,
    CoreAccount,
    CoreEntry,
    FlowRule,
    Merchant,
    Payment,
    PreApplication,
    StatementLine,
)
from fmis.platform.errors import NotFound


def merchants(*, user, q: str = "") -> QuerySet[Merchant]:
    qs = Merchant.objects.restrict(user, F_.MERCHANT_VIEW)
    if q:
        qs = qs.filter(Q(merchant_no__icontains=q) | Q(name__icontains=q) | Q(agency_code__startswith=q))
    return qs.order_by("merchant_no")


def rules(*, user, merchant_no: str = "", current_only: bool = True) -> QuerySet[FlowRule]:
    qs = FlowRule.objects.restrict(user, F_.RULE_VIEW).select_related("merchant", "business_type")
    if merchant_no:
        qs = qs.filter(merchant__merchant_no=merchant_no)
    if current_only:
        qs = qs.filter(current=True)
    return qs


def pre_applications(*, user, status: str = "") -> QuerySet[PreApplication]:
    qs = PreApplication.objects.restrict(user, F_.PRE_APPLICATION_VIEW).select_related("merchant", "business_type")
    if status:
        qs = qs.filter(status=status)
    return qs


def payments(*, user, q: str = "", status: str = "", branch: str = "", date: dt.date | None = None
             ) -> QuerySet[Payment]:
    qs = Payment.objects.restrict(user, F_.PAYMENT_VIEW).select_related("merchant", "business_type")
    if q:
        qs = qs.filter(Q(voucher_id__icontains=q) | Q(bank_serial__icontains=q) | Q(payee_name__icontains=q)
                       | Q(merchant__merchant_no=q))
    if status:
        qs = qs.filter(status=status)
    if branch:
        qs = qs.filter(branch=branch)
    if date:
        qs = qs.filter(date=date)
    return qs


def business_types(*, user, q: str = "") -> QuerySet[BusinessType]:
    qs = BusinessType.objects.restrict(user, F_.BUSINESS_TYPE_VIEW)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return qs.order_by("code")


def rule_history(*, user, merchant_no: str, business_type: str) -> QuerySet[FlowRule]:
    """Every version of one merchant's rule for one business type, newest first."""
    return (FlowRule.objects.restrict(user, F_.RULE_VIEW).select_related("merchant", "business_type")
            .filter(merchant__merchant_no=merchant_no, business_type__code=business_type).order_by("-version"))


def to_review(*, user) -> QuerySet[PreApplication]:
    """Pre-applications awaiting the review of a finance user (the rule's approver region in scope)."""
    return (PreApplication.objects.restrict(user, F_.REVIEW).select_related("merchant", "business_type")
            .filter(status=PreApplication.Status.SUBMITTED).order_by("submitted_block", "id"))


def pre_application(*, user, ledger_id: str, function: str = F_.PRE_APPLICATION_VIEW) -> PreApplication:
    pre = (PreApplication.objects.restrict(user, function).select_related("merchant", "business_type")
           .filter(ledger_id=ledger_id).first())
    if pre is None:
        raise NotFound("bankside.pre_application_not_found", "预申请不存在")
    return pre


def pre_application_status(*, user, ledger_id: str) -> dict:
    """The review result of a pre-application as synchronised back to the bank."""
    pre = pre_application(user=user, ledger_id=ledger_id)
    return {"ledger_id": pre.ledger_id, "kind": pre.kind, "merchant_no": pre.merchant.merchant_no,
            "business_type": pre.business_type.code, "amount": pre.amount, "currency": pre.currency,
            "purpose": pre.purpose, "rule_version": pre.rule_version, "approver_region": pre.approver_region,
            "status": pre.status, "comment": pre.comment, "payment": pre.payment_ledger_id,
            "submitted_block": pre.submitted_block, "reviewed_block": pre.reviewed_block}


def payment(*, user, ledger_id: str = "", voucher_id: str = "", bank_serial: str = "", bank_code: str = ""
            ) -> Payment:
    """One payment by its ledger id, its payment voucher id or its bank serial (with the bank code)."""
    qs = Payment.objects.restrict(user, F_.PAYMENT_VIEW).select_related("merchant", "business_type",
                                                                        "pre_application")
    if ledger_id:
        qs = qs.filter(ledger_id=ledger_id)
    elif voucher_id:
        qs = qs.filter(voucher_id=voucher_id)
    elif bank_serial:
        qs = qs.filter(bank_serial=bank_serial, **({"bank_code": bank_code} if bank_code else {}))
    else:
        qs = qs.none()
    found = list(qs[:2])
    if len(found) != 1:
        raise NotFound("bankside.payment_not_found", "支付不存在")
    return found[0]


def payment_lines(*, user, payment: Payment) -> QuerySet[StatementLine]:
    """The bookkeeping entries (增计/减计 and recorded core results) of a payment."""
    return StatementLine.objects.restrict(user, F_.PAYMENT_VIEW).filter(ref=payment.ledger_id).order_by(
        "block", "seq", "n")


def suspense_awaiting_refund(*, user, q: str = "") -> QuerySet[Payment]:
    """Payments booked through the bank's suspense account whose core payout is still to do."""
    qs = (Payment.objects.restrict(user, F_.REFUND).select_related("merchant", "business_type")
          .filter(status=Payment.Status.SUSPENSE_BOOKED))
    bank = getattr(user, "bank", None)
    if bank is not None:
        qs = qs.filter(merchant__bank=bank.code)
    if q:
        qs = qs.filter(Q(voucher_id__icontains=q) | Q(bank_serial__icontains=q) | Q(payee_name__icontains=q))
    return qs.order_by("date", "block", "id")


def execution_summary(*, user, date_from: dt.date | None = None, date_to: dt.date | None = None,
                      agency: str = "") -> list[dict]:
    """The finance side's execution figures: by agency, business type and budget type, the number of
    payments and the amounts paid, awaiting their suspense refund, returned and failed."""
    qs = Payment.objects.restrict(user, F_.EXECUTION_VIEW)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if agency:
        qs = qs.filter(Q(merchant__agency_code__startswith=agency) | Q(merchant__agency_name__icontains=agency))
    zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=20, decimal_places=2))

    def amount(status: str):
        return Coalesce(Sum("amount", filter=Q(status=status)), zero)

    rows = (qs.values("merchant__agency_code", "merchant__agency_name", "business_type__code",
                      "business_type__name", "budget_type")
            .annotate(count=Count("id"), paid=amount(Payment.Status.PAID),
                      awaiting_refund=amount(Payment.Status.SUSPENSE_BOOKED),
                      returned=amount(Payment.Status.RETURNED), failed=amount(Payment.Status.FAILED))
            .order_by("merchant__agency_code", "business_type__code", "budget_type"))
    return [{"agency_code": r["merchant__agency_code"], "agency_name": r["merchant__agency_name"],
             "business_type": r["business_type__code"], "business_type_name": r["business_type__name"],
             "budget_type": r["budget_type"], "count": r["count"], "paid": r["paid"],
             "awaiting_refund": r["awaiting_refund"], "returned": r["returned"], "failed": r["failed"]}
            for r in rows]


def core_accounts(*, user, q: str = "") -> QuerySet[CoreAccount]:
    qs = CoreAccount.objects.restrict(user, F_.CORE)
    if q:
        qs = qs.filter(Q(account_no__icontains=q) | Q(name__icontains=q))
    return qs.order_by("bank", "account_no")


def core_journal(*, user, q: str = "") -> QuerySet[CoreEntry]:
    qs = CoreEntry.objects.restrict(user, F_.CORE)
    if q:
        qs = qs.filter(Q(account_no__icontains=q) | Q(request_id__icontains=q) | Q(core_serial__icontains=q))
    return qs.order_by("-id")


def statement(*, user, account_no: str, day: dt.date, previous_days: int = 0) -> statements.ProjectedStatement:
    """对账单 of one account from the projected lines the user may see: figures by SQL aggregates,
    lines paged (``.page``) or streamed (``.iter_lines``); ``.lines`` reads them all."""
    visible = StatementLine.objects.restrict(user, F_.STATEMENT_VIEW).filter(account_no=account_no)
    if not visible.exists():
        raise NotFound("bankside.account_not_found", "账户不存在或无权查看")
    return statements.projected_statement(visible, account_no=account_no, day=day, previous_days=previous_days)

"""Every treasury read a user sees, through the permission filter."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from fmis.platform.errors import NotFound
from fmis.treasury import functions as F
from fmis.treasury.models import (
    BankEndpoint,
    BankReceipt,
    ClearingStatement,
    Correction,
    PayerAccount,
    PaymentApplication,
    PaymentPlan,
    PaymentVoucher,
    ProcurementPlan,
    Refund,
    TreasuryConfig,
)


def _search(qs, q: str, *fields: str):
    q = (q or "").strip()
    if not q:
        return qs
    cond = Q()
    for f in fields:
        cond |= Q(**{f"{f}__icontains": q})
    return qs.filter(cond)


def applications_for(*, user, q: str = "", status: str = "", indicator_id: int | None = None,
                     function: str = F.APP_VIEW) -> QuerySet[PaymentApplication]:
    qs = PaymentApplication.objects.restrict(user, function).select_related("agency", "indicator", "region")
    if status:
        qs = qs.filter(status=status)
    if indicator_id:
        qs = qs.filter(indicator_id=indicator_id)
    return _search(qs, q, "number", "payee_name", "purpose", "agency__name", "indicator__code").order_by("-id")


def application(*, user, pk: int, function: str = F.APP_VIEW) -> PaymentApplication:
    obj = applications_for(user=user, function=function).filter(pk=pk).first()
    if obj is None:
        raise NotFound("treasury.application_not_found", "支付申请不存在")
    return obj


def vouchers_for(*, user, q: str = "", status: str = "", function: str = F.VOUCHER_VIEW) -> QuerySet[PaymentVoucher]:
    qs = (PaymentVoucher.objects.restrict(user, function)
          .select_related("agency", "bank", "indicator", "application", "region"))
    if status:
        qs = qs.filter(status=status)
    return _search(qs, q, "number", "application__payee_name", "agency__name", "application__number").order_by("-id")


def voucher(*, user, pk: int, function: str = F.VOUCHER_VIEW) -> PaymentVoucher:
    obj = vouchers_for(user=user, function=function).filter(pk=pk).first()
    if obj is None:
        raise NotFound("treasury.voucher_not_found", "支付凭证不存在")
    return obj


def receipts_of(*, user, voucher: PaymentVoucher) -> QuerySet[BankReceipt]:
    return BankReceipt.objects.filter(voucher=voucher).order_by("id")


def refunds_for(*, user, q: str = "") -> QuerySet[Refund]:
    qs = Refund.objects.restrict(user, F.REFUND_VIEW).select_related("voucher", "bank", "voucher__agency")
    return _search(qs, q, "number", "serial_no", "voucher__number", "reason").order_by("-id")


def corrections_for(*, user, q: str = "", function: str = F.CORRECTION_VIEW) -> QuerySet[Correction]:
    qs = Correction.objects.restrict(user, function).select_related("voucher", "from_indicator", "to_indicator",
                                                                    "agency")
    return _search(qs, q, "number", "voucher__number", "reason").order_by("-id")


def correction(*, user, pk: int) -> Correction:
    obj = corrections_for(user=user).filter(pk=pk).first()
    if obj is None:
        raise NotFound("treasury.correction_not_found", "更正单不存在")
    return obj


def clearings_for(*, user, q: str = "") -> QuerySet[ClearingStatement]:
    qs = ClearingStatement.objects.restrict(user, F.CLEARING_VIEW).select_related("bank", "region")
    return _search(qs, q, "number", "bank__name", "bank__code").order_by("-date", "-id")


def clearing(*, user, pk: int) -> ClearingStatement:
    obj = clearings_for(user=user).filter(pk=pk).first()
    if obj is None:
        raise NotFound("treasury.clearing_not_found", "清算单不存在")
    return obj


def plans_for(*, user, q: str = "") -> QuerySet[PaymentPlan]:
    qs = PaymentPlan.objects.restrict(user, F.PLAN_VIEW).select_related("indicator", "agency")
    return _search(qs, q, "indicator__code", "agency__name").order_by("-fiscal_year", "indicator_id", "month")


def procurement_plans_for(*, user, q: str = "") -> QuerySet[ProcurementPlan]:
    qs = ProcurementPlan.objects.restrict(user, F.PLAN_VIEW).select_related("indicator", "agency")
    return _search(qs, q, "number", "item", "indicator__code").order_by("-id")


def configs_for(*, user) -> QuerySet[TreasuryConfig]:
    return TreasuryConfig.objects.restrict(user, F.CONFIG_MANAGE).select_related("region").order_by("-fiscal_year")


def payer_accounts_for(*, user) -> QuerySet[PayerAccount]:
    return (PayerAccount.objects.restrict(user, F.CONFIG_MANAGE).select_related("region", "agency", "bank")
            .order_by("region__code", "agency__code"))


def endpoints_for(*, user) -> QuerySet[BankEndpoint]:
    return BankEndpoint.objects.select_related("bank").order_by("bank__code")

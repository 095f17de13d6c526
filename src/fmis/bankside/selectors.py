"""Every read users see, through the permission filter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from fmis.bankside import functions as F_
from fmis.bankside import statements
from fmis.bankside.models import FlowRule, Merchant, Payment, PreApplication, StatementLine
from fmis.platform.errors import NotFound
from fmis.platform.money import to_fen


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


@dataclass(frozen=True)
class _Row:
    """A projected statement line in the shape ``statements`` reads."""

    allocation: str
    kind: str
    amount: int
    detail: dict


def statement(*, user, account_no: str, day: dt.date, previous_days: int = 0) -> statements.Statement:
    """对账单 of one account from the projected lines the user may see."""
    visible = StatementLine.objects.restrict(user, F_.STATEMENT_VIEW).filter(account_no=account_no)
    if not visible.exists():
        raise NotFound("bankside.account_not_found", "账户不存在或无权查看")
    lines = visible.filter(date__lte=day)
    rows = [_Row(ln.ref, ln.kind, to_fen(ln.amount),
                 {"account": ln.account_no, "date": ln.date.isoformat(), "serial": ln.serial,
                  "core_serial": ln.core_serial, "balance": None if ln.balance is None else to_fen(ln.balance)})
            for ln in lines.order_by("block", "tx_id", "n")]
    return statements.account_statement(rows, account_no=account_no, day=day.isoformat(),
                                        previous_days=previous_days)

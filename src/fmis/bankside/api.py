"""Agent-bank budget business API under /api/v1/bankside/ (read-only projection for now)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema

from fmis.bankside import functions as F
from fmis.bankside import selectors
from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["bankside"])


class Paging(Schema):
    q: str = ""
    limit: int = 50
    offset: int = 0


class PaymentFilter(Paging):
    status: str = ""
    branch: str = ""
    date: dt.date | None = None


class MerchantOut(Schema):
    merchant_no: str
    name: str
    agency_code: str
    agency_name: str
    bank: str
    account_no: str
    currency: str
    managed: bool
    balance: Decimal


class PaymentOut(Schema):
    ledger_id: str
    merchant_no: str
    business_type: str
    voucher_id: str
    bank_serial: str
    budget_type: str
    payee_account: str
    payee_name: str
    amount: Decimal
    currency: str
    date: dt.date
    time: dt.time
    branch: str
    status: str
    rule_version: int
    core_serial: str
    refund_core_serial: str

    @staticmethod
    def resolve_merchant_no(obj) -> str:
        return obj.merchant.merchant_no

    @staticmethod
    def resolve_business_type(obj) -> str:
        return obj.business_type.code


class StatementLineOut(Schema):
    date: str
    kind: str
    amount: int
    balance: int | None
    payment: str
    serial: str
    core_serial: str


class StatementOut(Schema):
    account_no: str
    first_day: str
    last_day: str
    opening: int
    increase: int
    decrease: int
    closing: int
    core_debit: int
    core_credit: int
    lines: list[StatementLineOut]


class StatementQuery(Schema):
    account: str
    date: dt.date
    previous_days: int = 0


MerchantPage = page_schema(MerchantOut)
PaymentPage = page_schema(PaymentOut)


@router.get("/merchants", response=MerchantPage)
@requires(F.MERCHANT_VIEW)
def list_merchants(request, f: Query[Paging]):
    return api_page(selectors.merchants(user=request.user, q=f.q), f.limit, f.offset)


@router.get("/payments", response=PaymentPage)
@requires(F.PAYMENT_VIEW)
def list_payments(request, f: Query[PaymentFilter]):
    qs = selectors.payments(user=request.user, q=f.q, status=f.status, branch=f.branch, date=f.date)
    return api_page(qs, f.limit, f.offset)


@router.get("/statements", response=StatementOut)
@requires(F.STATEMENT_VIEW)
def get_statement(request, f: Query[StatementQuery]):
    """A daily statement (amounts in fen, as on the ledger)."""
    st = selectors.statement(user=request.user, account_no=f.account, day=f.date,
                             previous_days=max(0, min(f.previous_days, 31)))
    return {"account_no": st.account_no, "first_day": st.first_day, "last_day": st.last_day,
            "opening": st.opening, "increase": st.increase, "decrease": st.decrease, "closing": st.closing,
            "core_debit": st.core_debit, "core_credit": st.core_credit,
            "lines": [{"date": ln.date, "kind": ln.kind, "amount": ln.amount, "balance": ln.balance,
                       "payment": ln.payment, "serial": ln.serial, "core_serial": ln.core_serial}
                      for ln in st.lines]}

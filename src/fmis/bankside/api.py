"""Agent-bank budget business API under /api/v1/bankside/ (schema: docs/bankside.md).

Writes are transactions on the consortium ledger; the call waits for the local node's verdict and
answers 200 with the outcome (``tx_id``, ``status``, ``block``), or a problem document whose
``code`` is the contract's refusal code (e.g. ``bank.insufficient_funds``) and whose ``field``
names the input at fault. A bank posts budget information (``POST payments``) and reads results
by voucher id or bank serial; the result of a pre-application's review is synchronised back
through ``GET pre-applications/{id}``. Money: yuan as decimal strings ("123.45"), except in
statements (fen, as on the ledger). Objects outside the caller's scope answer 404.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Field, Query, Router, Schema

from fmis.bankside import case_api, selectors, services
from fmis.bankside import functions as F
from fmis.bankside.schemas import OfMerchant, OutcomeOut, Paging, outcome
from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["bankside"])
router.add_router("/cases", case_api.router)


class PaymentFilter(Paging):
    status: str = ""
    branch: str = ""
    date: dt.date | None = None


class RuleFilter(Paging):
    merchant: str = ""
    history: bool = False


class PreApplicationFilter(Paging):
    status: str = ""


class SummaryFilter(Schema):
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    agency: str = ""


# --- schemas ------------------------------------------------------------------------------------------


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


class BusinessTypeOut(Schema):
    code: str
    name: str
    budget_types: list[str]
    version: int


class RuleOut(OfMerchant):
    version: int
    current: bool
    pre_application: str
    limit: Decimal | None
    required_fields: list[str]
    approver_region: str
    reason: str
    exceptions: dict[str, str]
    block: int


class PreApplicationOut(Schema):
    ledger_id: str
    kind: str
    merchant_no: str
    business_type: str
    amount: Decimal
    currency: str
    purpose: str
    rule_version: int
    approver_region: str
    status: str
    comment: str
    payment: str
    submitted_block: int
    reviewed_block: int | None

    @staticmethod
    def resolve_merchant_no(obj) -> str:
        return obj.merchant.merchant_no if hasattr(obj, "merchant") else obj["merchant_no"]

    @staticmethod
    def resolve_business_type(obj) -> str:
        return obj.business_type.code if hasattr(obj, "business_type") else obj["business_type"]

    @staticmethod
    def resolve_payment(obj) -> str:
        return obj.payment_ledger_id if hasattr(obj, "payment_ledger_id") else obj["payment"]


class PaymentOut(OfMerchant):
    ledger_id: str
    voucher_id: str
    voucher_type: str
    voucher_no: str
    fund_nature: str
    payment_method: str
    func_class: str
    settlement_method: str
    bank_code: str
    bank_serial: str
    budget_type: str
    purpose: str
    payee_account: str
    payee_name: str
    taxpayer_id: str
    amount: Decimal
    currency: str
    rate: str
    date: dt.date
    time: dt.time
    agency_code: str
    agency_name: str
    branch: str
    status: str
    rule_version: int
    pre_application: str | None
    core_serial: str
    refund_core_serial: str
    returned_amount: Decimal
    corrections: int
    block: int

    @staticmethod
    def resolve_pre_application(obj) -> str | None:
        return obj.pre_application.ledger_id if obj.pre_application_id else None


class BookkeepingOut(Schema):
    kind: str
    account_no: str
    party: str
    amount: Decimal
    balance: Decimal | None
    date: dt.date
    core_serial: str
    tx_id: str


class PaymentDetailOut(PaymentOut):
    bookkeeping: list[BookkeepingOut] = []


class PaymentResultOut(Schema):
    outcome: OutcomeOut
    payment: PaymentDetailOut


class SummaryRowOut(Schema):
    agency_code: str
    agency_name: str
    business_type: str
    business_type_name: str
    budget_type: str
    count: int
    paid: Decimal
    awaiting_refund: Decimal
    returned: Decimal
    failed: Decimal


class CoreAccountOut(Schema):
    bank: str
    account_no: str
    name: str
    currency: str
    balance: Decimal
    frozen: bool


class CoreEntryOut(Schema):
    bank: str
    request_id: str
    operation: str
    account_no: str
    amount: Decimal
    currency: str
    status: str
    core_serial: str
    code: str
    message: str
    created_at: dt.datetime


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
    line_count: int
    lines: list[StatementLineOut]


class StatementQuery(Schema):
    account: str
    date: dt.date
    previous_days: int = 0
    offset: int = Field(0, ge=0)
    limit: int = Field(1000, ge=1, le=5000)


class BundleQuery(Schema):
    account: str
    date: dt.date
    previous_days: int = 0


# input

class BusinessTypeIn(Schema):
    code: str
    name: str
    budget_types: list[str]


class RuleIn(Schema):
    merchant_no: str
    business_type: str
    pre_application: Literal["none", "pre_application", "application"] = "none"
    limit: Decimal | None = None
    required_fields: list[str] = []
    reason: str = ""
    exceptions: dict[str, Literal["forbidden", "direct", "approval"]] = Field(
        default_factory=dict, description="per exception flow (return, collection, correction, mistaken_refund); "
                                          "kinds left out take the defaults")


class ReviewIn(Schema):
    approve: bool
    comment: str = ""


class BankJoinIn(Schema):
    region: str | None = None


class JoinOut(Schema):
    id: int
    identity_id: str
    region: str
    status: str


class MerchantIn(Schema):
    merchant_no: str
    name: str
    agency_code: str
    agency_name: str = ""
    account_no: str
    currency: str = "CNY"
    managed: bool


class AccountIn(Schema):
    kind: Literal["customer", "suspense"]
    account_no: str
    name: str
    currency: str = "CNY"
    merchant_no: str = ""
    managed: bool = True


class FundIn(Schema):
    account_no: str
    amount: Decimal
    currency: str = "CNY"
    reference: str
    date: dt.date


class PreApplicationIn(Schema):
    merchant_no: str
    business_type: str
    amount: Decimal
    currency: str = "CNY"
    purpose: str


class BudgetInfoIn(Schema):
    """Budget information (预算信息, seed 004 §57)."""

    voucher_id: str = Field(..., description="支付凭证ID (unique)")
    voucher_type: str = ""
    voucher_no: str = ""
    fund_nature: str = ""
    payment_method: str = ""
    func_class: str = ""
    settlement_method: str = ""
    merchant_no: str
    agency_code: str = ""
    agency_name: str = ""
    business_type: str
    budget_type: str
    bank_code: str = ""
    bank_serial: str = Field(..., description="银行流水号 (unique per bank)")
    payee_account: str
    payee_name: str
    taxpayer_id: str = ""
    purpose: str = ""
    amount: Decimal = Field(..., description="yuan, at most two decimals")
    currency: str = "CNY"
    rate: str = ""
    date: dt.date
    time: dt.time
    pre_application: str = ""


class RefundIn(Schema):
    date: dt.date | None = None


class CoreAccountIn(Schema):
    account_no: str
    name: str
    currency: str = "CNY"
    opening_balance: Decimal = Decimal(0)


MerchantPage = page_schema(MerchantOut)
BusinessTypePage = page_schema(BusinessTypeOut)
RulePage = page_schema(RuleOut)
PreApplicationPage = page_schema(PreApplicationOut)
PaymentPage = page_schema(PaymentOut)
CoreAccountPage = page_schema(CoreAccountOut)
CoreEntryPage = page_schema(CoreEntryOut)


def _detail(request, p):
    """The payment with its bookkeeping entries (for ``PaymentDetailOut``)."""
    p.bookkeeping = list(selectors.payment_lines(user=request.user, payment=p))
    return p


# --- reads -----------------------------------------------------------------------------------------------


@router.get("/merchants", response=MerchantPage)
@requires(F.MERCHANT_VIEW)
def list_merchants(request, f: Query[Paging]):
    return api_page(selectors.merchants(user=request.user, q=f.q), f.limit, f.offset)


@router.get("/business-types", response=BusinessTypePage)
@requires(F.BUSINESS_TYPE_VIEW)
def list_business_types(request, f: Query[Paging]):
    return api_page(selectors.business_types(user=request.user, q=f.q), f.limit, f.offset)


@router.get("/rules", response=RulePage)
@requires(F.RULE_VIEW)
def list_rules(request, f: Query[RuleFilter]):
    qs = selectors.rules(user=request.user, merchant_no=f.merchant, current_only=not f.history)
    return api_page(qs, f.limit, f.offset)


@router.get("/pre-applications", response=PreApplicationPage)
@requires(F.PRE_APPLICATION_VIEW)
def list_pre_applications(request, f: Query[PreApplicationFilter]):
    return api_page(selectors.pre_applications(user=request.user, status=f.status), f.limit, f.offset)


@router.get("/pre-applications/{ledger_id}", response=PreApplicationOut)
@requires(F.PRE_APPLICATION_VIEW)
def get_pre_application(request, ledger_id: str):
    """The pre-application and the finance side's review result (status, comment)."""
    return selectors.pre_application(user=request.user, ledger_id=ledger_id)


@router.get("/payments", response=PaymentPage)
@requires(F.PAYMENT_VIEW)
def list_payments(request, f: Query[PaymentFilter]):
    qs = selectors.payments(user=request.user, q=f.q, status=f.status, branch=f.branch, date=f.date)
    return api_page(qs, f.limit, f.offset)


@router.get("/payments/by-voucher/{voucher_id}", response=PaymentDetailOut)
@requires(F.PAYMENT_VIEW)
def payment_by_voucher(request, voucher_id: str):
    return _detail(request, selectors.payment(user=request.user, voucher_id=voucher_id))


@router.get("/payments/by-serial/{bank_serial}", response=PaymentDetailOut)
@requires(F.PAYMENT_VIEW)
def payment_by_serial(request, bank_serial: str, bank_code: str = ""):
    bank = getattr(request.user, "bank", None)
    return _detail(request, selectors.payment(user=request.user, bank_serial=bank_serial,
                                              bank_code=bank_code or (bank.code if bank else "")))


@router.get("/payments/{ledger_id}", response=PaymentDetailOut)
@requires(F.PAYMENT_VIEW)
def get_payment(request, ledger_id: str):
    return _detail(request, selectors.payment(user=request.user, ledger_id=ledger_id))


@router.get("/suspense", response=PaymentPage)
@requires(F.REFUND)
def list_suspense(request, f: Query[Paging]):
    """Payments booked through the bank's suspense account, awaiting their refund."""
    return api_page(selectors.suspense_awaiting_refund(user=request.user, q=f.q), f.limit, f.offset)


@router.get("/execution-summary", response=list[SummaryRowOut])
@requires(F.EXECUTION_VIEW)
def execution_summary(request, f: Query[SummaryFilter]):
    return selectors.execution_summary(user=request.user, date_from=f.date_from, date_to=f.date_to, agency=f.agency)


@router.get("/core/accounts", response=CoreAccountPage)
@requires(F.CORE)
def list_core_accounts(request, f: Query[Paging]):
    return api_page(selectors.core_accounts(user=request.user, q=f.q), f.limit, f.offset)


@router.get("/core/journal", response=CoreEntryPage)
@requires(F.CORE)
def list_core_journal(request, f: Query[Paging]):
    return api_page(selectors.core_journal(user=request.user, q=f.q), f.limit, f.offset)


@router.get("/statements", response=StatementOut)
@requires(F.STATEMENT_VIEW)
def get_statement(request, f: Query[StatementQuery]):
    """A daily statement (amounts in fen, as on the ledger): figures of the whole period, lines
    from `offset` (at most `limit`, in ledger order; `line_count` says how many there are)."""
    st = selectors.statement(user=request.user, account_no=f.account, day=f.date,
                             previous_days=max(0, min(f.previous_days, 31)))
    return {"account_no": st.account_no, "first_day": st.first_day, "last_day": st.last_day,
            "opening": st.opening, "increase": st.increase, "decrease": st.decrease, "closing": st.closing,
            "core_debit": st.core_debit, "core_credit": st.core_credit, "line_count": st.line_count,
            "lines": [{"date": ln.date, "kind": ln.kind, "amount": ln.amount, "balance": ln.balance,
                       "payment": ln.payment, "serial": ln.serial, "core_serial": ln.core_serial}
                      for ln in st.page(offset=f.offset, limit=f.limit)]}


@router.get("/statements/bundle", response=dict)
@requires(F.STATEMENT_VIEW)
def get_statement_bundle(request, f: Query[BundleQuery]):
    """The signed statement (对账单) bundle: header, lines, one co-signed checkpoint, an inclusion
    proof per transaction, signed by this installation's node; verify it offline with
    ``fmis manage bankside_verify_statement`` (see docs/bankside-statements.md)."""
    from fmis.bankside import bundle

    return bundle.build_bundle(user=request.user, account_no=f.account, day=f.date,
                               previous_days=max(0, min(f.previous_days, 31)))


# --- finance side ------------------------------------------------------------------------------------------


@router.post("/business-types", response=OutcomeOut)
@requires(F.BUSINESS_TYPE_DEFINE)
def define_business_type(request, body: BusinessTypeIn):
    return outcome(services.define_business_type(user=request.user, **body.dict()))


@router.post("/rules", response=OutcomeOut)
@requires(F.RULE_SET)
def set_rule(request, body: RuleIn):
    return outcome(services.set_rule(user=request.user, **body.dict()))


@router.post("/pre-applications/{ledger_id}/review", response=OutcomeOut)
@requires(F.REVIEW)
def review_pre_application(request, ledger_id: str, body: ReviewIn):
    return outcome(services.review_pre_application(user=request.user, pre_application=ledger_id, **body.dict()))


@router.post("/banks/{bank_code}/join", response=JoinOut)
@requires(F.BANK_JOIN)
def join_as_bank(request, bank_code: str, body: BankJoinIn):
    """Ask for the bank's membership of the consortium (approved in the transfers module)."""
    return services.join_consortium_as_bank(user=request.user, bank_code=bank_code, region=body.region)


# --- bank side ------------------------------------------------------------------------------------------------


@router.post("/merchants", response=OutcomeOut)
@requires(F.MERCHANT_REGISTER)
def register_merchant(request, body: MerchantIn):
    return outcome(services.register_merchant(user=request.user, **body.dict()))


@router.post("/accounts", response=OutcomeOut)
@requires(F.ACCOUNT_OPEN)
def open_account(request, body: AccountIn):
    return outcome(services.open_account(user=request.user, **body.dict()))


@router.post("/funds", response=OutcomeOut)
@requires(F.FUND)
def fund(request, body: FundIn):
    return outcome(services.fund(user=request.user, **body.dict()))


@router.post("/pre-applications", response=OutcomeOut)
@requires(F.PRE_APPLICATION_SUBMIT)
def submit_pre_application(request, body: PreApplicationIn):
    """The ledger id (``tx_id``) is the pre-application's id: poll ``GET pre-applications/{id}``."""
    return outcome(services.submit_pre_application(user=request.user, **body.dict()))


@router.post("/payments", response=PaymentResultOut)
@requires(F.PAY)
def pay(request, body: BudgetInfoIn):
    """Post budget information; answers the ledger's outcome and the recorded payment (branch,
    status, bookkeeping entries)."""
    data = body.dict()
    if not data["pre_application"]:
        data.pop("pre_application")
    out = services.pay(user=request.user, **data)
    return {"outcome": outcome(out), "payment": _detail(request, selectors.payment(user=request.user,
                                                                                    ledger_id=out.tx_id))}


@router.post("/payments/{ledger_id}/refund", response=PaymentResultOut)
@requires(F.REFUND)
def refund_suspense(request, ledger_id: str, body: RefundIn):
    out = services.refund_suspense(user=request.user, payment=ledger_id, date=body.date)
    return {"outcome": outcome(out), "payment": _detail(request, selectors.payment(user=request.user,
                                                                                    ledger_id=ledger_id))}


@router.post("/core/accounts", response={201: CoreAccountOut})
@requires(F.CORE_OPEN)
def open_core_account(request, body: CoreAccountIn):
    return 201, services.open_core_account(user=request.user, **body.dict())

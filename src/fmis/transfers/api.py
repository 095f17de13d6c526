"""Transfer-payment API under /api/v1/transfers/.

Members and join requests, allocations and their actions, the tracing tree, statistics, blocks,
and the data-exchange endpoints: an external system submits a transaction it signed itself
(``POST exchange/transactions`` with the canonical envelope, base64) and fetches its status and
its receipt (``GET exchange/transactions/{tx_id}``, ``GET exchange/receipts/{tx_id}``). Writes
answer 202 with the transaction id: the outcome is decided by the ledger.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal

from ninja import Query, Router, Schema

from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.errors import ValidationFailed
from fmis.platform.listing import api_page
from fmis.transfers import functions as F
from fmis.transfers import selectors, services

router = Router(tags=["transfers"])


class Paging(Schema):
    q: str = ""
    limit: int = 50
    offset: int = 0


class AllocationFilter(Paging):
    year: int | None = None
    fund_code: str = ""
    direct: bool | None = None
    region: str = ""


class MemberOut(Schema):
    cert_id: str
    identity_id: str
    organisation: str
    region: str
    level: str
    role: str
    suite: str
    admitted_block: int
    revoked_block: int | None
    revoke_reason: str


class JoinRequestOut(Schema):
    id: int
    identity_id: str
    organisation: str
    region: str
    level: str
    role: str
    suite: str
    public_key: str
    status: str
    cert_id: str
    admit_tx_id: str
    comment: str


class JoinRequestIn(Schema):
    identity_id: str
    organisation: str
    region: str
    role: str
    suite: str = "ed25519"
    public_key: str
    transport_public_key: str = ""


class CommentIn(Schema):
    comment: str = ""


class RevokeIn(Schema):
    reason: str


class AllocationOut(Schema):
    id: str
    parent_id: str | None
    root_id: str
    from_region: str
    to_region: str
    fund_code: str
    direct: bool
    func_code: str
    purpose: str
    doc_no: str
    fiscal_year: int
    amount: int
    received: bool
    sub_allocated: int
    spent: int
    recovered: int
    available: int
    created_block: int


class AllocateIn(Schema):
    from_region: str
    to_region: str
    amount: Decimal
    fund_code: str
    direct: bool
    func_code: str
    purpose: str
    doc_no: str
    fiscal_year: int
    parent_id: str | None = None


class ExpendIn(Schema):
    amount: Decimal
    payee: str
    voucher_no: str


class RecoverIn(Schema):
    amount: Decimal
    reason: str


class CorrectIn(Schema):
    changes: dict[str, str]
    reason: str


class TxAccepted(Schema):
    tx_id: str


class TxStatusOut(Schema):
    tx_id: str
    status: str
    block_number: int | None = None
    log_index: int | None = None
    valid: bool | None = None
    reason: str = ""
    detail: str = ""


class EnvelopeIn(Schema):
    envelope: str  # base64 of the canonical envelope bytes


class BlockOut(Schema):
    number: int
    hash: str
    prev_hash: str
    tx_count: int
    log_size: int
    log_root: str
    state_root: str
    time_ms: int

    @staticmethod
    def resolve_hash(obj):
        return bytes(obj.hash).hex()

    @staticmethod
    def resolve_prev_hash(obj):
        return bytes(obj.prev_hash).hex()

    @staticmethod
    def resolve_log_root(obj):
        return bytes(obj.log_root).hex()

    @staticmethod
    def resolve_state_root(obj):
        return bytes(obj.state_root).hex()


class StatOut(Schema):
    key: str
    count: int
    amount: int
    sub_allocated: int
    spent: int
    recovered: int
    reached_spent: int
    execution_rate: Decimal | None
    direct_amount: int
    direct_spent: int
    direct_execution_rate: Decimal | None


MemberPage = page_schema(MemberOut)
JoinRequestPage = page_schema(JoinRequestOut)
AllocationPage = page_schema(AllocationOut)
BlockPage = page_schema(BlockOut)


# --- members ---------------------------------------------------------------------------------------


@router.get("/members", response=MemberPage)
@requires(F.MEMBER_VIEW)
def list_members(request, paging: Query[Paging]):
    return api_page(selectors.members(user=request.user, q=paging.q), paging.limit, paging.offset)


@router.get("/join-requests", response=JoinRequestPage)
@requires(F.MEMBER_VIEW)
def list_join_requests(request, paging: Query[Paging]):
    return api_page(selectors.join_requests(user=request.user), paging.limit, paging.offset)


@router.post("/join-requests", response={201: JoinRequestOut})
@requires(F.JOIN_SUBMIT)
def submit_join_request(request, body: JoinRequestIn):
    return 201, services.submit_join_request(
        user=request.user, identity_id=body.identity_id, organisation=body.organisation, region=body.region,
        role=body.role, suite=body.suite, public_key_hex=body.public_key,
        transport_public_key_hex=body.transport_public_key)


@router.post("/join-requests/{pk}/approve", response=JoinRequestOut)
@requires(F.MEMBER_APPROVE)
def approve_join_request(request, pk: int, body: CommentIn):
    return services.approve_join_request(user=request.user, request_id=pk, comment=body.comment)


@router.post("/join-requests/{pk}/reject", response=JoinRequestOut)
@requires(F.MEMBER_APPROVE)
def reject_join_request(request, pk: int, body: CommentIn):
    return services.reject_join_request(user=request.user, request_id=pk, comment=body.comment)


@router.post("/members/{cert_id}/revoke", response={202: TxAccepted})
@requires(F.MEMBER_REVOKE)
def revoke_member(request, cert_id: str, body: RevokeIn):
    return 202, {"tx_id": services.revoke_member(user=request.user, cert_id=cert_id, reason=body.reason)}


# --- allocations -----------------------------------------------------------------------------------


@router.get("/allocations", response=AllocationPage)
@requires(F.ALLOCATION_VIEW)
def list_allocations(request, f: Query[AllocationFilter]):
    qs = selectors.allocations(user=request.user, q=f.q, year=f.year, fund_code=f.fund_code, direct=f.direct,
                               region=f.region)
    return api_page(qs, f.limit, f.offset)


@router.get("/allocations/{allocation_id}", response=AllocationOut)
@requires(F.ALLOCATION_VIEW)
def get_allocation(request, allocation_id: str):
    return selectors.allocation(user=request.user, allocation_id=allocation_id)


@router.get("/allocations/{allocation_id}/trace")
@requires(F.TRACE_VIEW)
def trace_allocation(request, allocation_id: str):
    return selectors.trace(user=request.user, allocation_id=allocation_id).as_dict()


@router.post("/allocations", response={202: TxAccepted})
@requires(F.ALLOCATE)
def allocate(request, body: AllocateIn):
    return 202, {"tx_id": services.allocate(user=request.user, **body.dict())}


@router.post("/allocations/{allocation_id}/receive", response={202: TxAccepted})
@requires(F.RECEIVE)
def confirm_receipt(request, allocation_id: str):
    return 202, {"tx_id": services.confirm_receipt(user=request.user, allocation_id=allocation_id)}


@router.post("/allocations/{allocation_id}/expenditures", response={202: TxAccepted})
@requires(F.EXPEND)
def record_expenditure(request, allocation_id: str, body: ExpendIn):
    return 202, {"tx_id": services.record_expenditure(user=request.user, allocation_id=allocation_id,
                                                      **body.dict())}


@router.post("/allocations/{allocation_id}/recover", response={202: TxAccepted})
@requires(F.RECOVER)
def recover(request, allocation_id: str, body: RecoverIn):
    return 202, {"tx_id": services.recover(user=request.user, allocation_id=allocation_id, **body.dict())}


@router.post("/allocations/{allocation_id}/correct", response={202: TxAccepted})
@requires(F.CORRECT)
def correct(request, allocation_id: str, body: CorrectIn):
    return 202, {"tx_id": services.correct(user=request.user, allocation_id=allocation_id, **body.dict())}


@router.get("/statistics", response=list[StatOut])
@requires(F.STATS_VIEW)
def statistics(request, by: str = "level", year: int | None = None, direct_only: bool = False):
    if by not in ("level", "region", "fund", "year"):
        raise ValidationFailed("transfers.bad_grouping", "by 须为 level、region、fund 或 year", field="by")
    return selectors.statistics(user=request.user, by=by, year=year, direct_only=direct_only)


# --- ledger and data exchange ----------------------------------------------------------------------


@router.get("/blocks", response=BlockPage)
@requires(F.BLOCK_VIEW)
def list_blocks(request, paging: Query[Paging]):
    return api_page(selectors.blocks(user=request.user), paging.limit, paging.offset)


@router.post("/exchange/transactions", response={202: TxAccepted})
@requires(F.EXCHANGE_SUBMIT)
def exchange_submit(request, body: EnvelopeIn):
    try:
        wire = base64.b64decode(body.envelope, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("transfers.envelope_malformed", "envelope 须为 base64", field="envelope") from None
    return 202, {"tx_id": services.submit_signed(user=request.user, wire=wire)}


@router.get("/exchange/transactions/{tx_id}", response=TxStatusOut)
@requires(F.EXCHANGE_SUBMIT)
def exchange_status(request, tx_id: str):
    return selectors.tx_status(user=request.user, tx_id=tx_id)


@router.get("/exchange/receipts/{tx_id}")
@requires(F.RECEIPT_VIEW)
def exchange_receipt(request, tx_id: str):
    return selectors.receipt(user=request.user, tx_id=tx_id)

"""Every read users see, through the permission filter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet

from fmis.iam.permissions import can
from fmis.platform.errors import NotFound
from fmis.transfers import functions as F_
from fmis.transfers.ledger import regions
from fmis.transfers.models import Allocation, Block, JoinRequest, LedgerTx, Member, Movement

LEVEL_LABELS = {0: "中央", 1: "省级", 2: "市级", 3: "县级", 4: "乡级"}


def members(*, user, q: str = "", role: str = "") -> QuerySet[Member]:
    qs = Member.objects.restrict(user, F_.MEMBER_VIEW)
    if q:
        qs = qs.filter(Q(organisation__icontains=q) | Q(identity_id__icontains=q) | Q(region__startswith=q))
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("region", "identity_id")


def join_requests(*, user, status: str = "") -> QuerySet[JoinRequest]:
    qs = JoinRequest.objects.restrict(user, F_.MEMBER_VIEW)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("submitted_by", "reviewed_by").order_by("-created_at")


def allocations(*, user, q: str = "", year: int | None = None, fund_code: str = "", direct: bool | None = None,
                received: bool | None = None, region: str = "") -> QuerySet[Allocation]:
    qs = Allocation.objects.restrict(user, F_.ALLOCATION_VIEW)
    if q:
        qs = qs.filter(Q(doc_no__icontains=q) | Q(purpose__icontains=q) | Q(fund_code__icontains=q)
                       | Q(id__startswith=q))
    if year:
        qs = qs.filter(fiscal_year=year)
    if fund_code:
        qs = qs.filter(fund_code=fund_code)
    if direct is not None:
        qs = qs.filter(direct=direct)
    if received is not None:
        qs = qs.filter(received=received)
    if region:
        qs = qs.filter(Q(to_region=region) | Q(from_region=region))
    return qs.order_by("-created_block", "id")


def allocation(*, user, allocation_id: str) -> Allocation:
    obj = Allocation.objects.restrict(user, F_.ALLOCATION_VIEW).filter(pk=allocation_id).first()
    if obj is None:
        raise NotFound("transfers.allocation_not_found", "下达记录不存在")
    return obj


def movements(*, user, allocation_id: str) -> QuerySet[Movement]:
    return (Movement.objects.restrict(user, F_.ALLOCATION_VIEW).filter(allocation_id=allocation_id)
            .order_by("log_index", "n"))


@dataclass
class TraceNode:
    allocation: dict
    children: list[TraceNode] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    subtree_spent: int = 0

    @property
    def net_amount(self) -> int:
        return self.allocation["amount"] - self.allocation["recovered"]

    @property
    def execution_rate(self) -> Decimal:
        net = self.net_amount
        return (Decimal(self.subtree_spent) / net * 100).quantize(Decimal("0.01")) if net else Decimal("0.00")

    def as_dict(self) -> dict:
        a = self.allocation
        return {"id": a["id"], "from_region": a["from_region"], "to_region": a["to_region"],
                "doc_no": a["doc_no"], "fund_code": a["fund_code"], "direct": a["direct"], "amount": a["amount"],
                "received": a["received"], "sub_allocated": a["sub_allocated"], "spent": a["spent"],
                "recovered": a["recovered"], "subtree_spent": self.subtree_spent,
                "execution_rate": str(self.execution_rate), "payments": self.payments,
                "children": [c.as_dict() for c in self.children]}


def trace(*, user, allocation_id: str) -> TraceNode:
    """The tree below an allocation, down to the final payments, with amounts and execution rates."""
    require_trace = can(user, F_.TRACE_VIEW)
    if not require_trace:
        raise NotFound("transfers.allocation_not_found", "下达记录不存在")
    top = allocation(user=user, allocation_id=allocation_id)
    rows = list(Allocation.objects.restrict(user, F_.TRACE_VIEW).filter(root_id=top.root_id).values())
    by_parent: dict[str | None, list[dict]] = defaultdict(list)
    for r in rows:
        r["parent"] = r.pop("parent_id")
        by_parent[r["parent"]].append(r)
    ids = [r["id"] for r in rows]
    pays: dict[str, list[dict]] = defaultdict(list)
    for m in Movement.objects.filter(allocation_id__in=ids, kind="expend").order_by("log_index").values(
            "allocation_id", "amount", "detail", "block_number", "log_index"):
        pays[m["allocation_id"]].append({"amount": m["amount"], "payee": m["detail"].get("payee", ""),
                                         "voucher_no": m["detail"].get("voucher_no", ""),
                                         "block": m["block_number"], "log_index": m["log_index"]})
    own = next((r for r in rows if r["id"] == top.id), None)
    if own is None:
        raise NotFound("transfers.allocation_not_found", "下达记录不存在")

    def build(a: dict) -> TraceNode:
        node = TraceNode(a, payments=pays.get(a["id"], []))
        node.children = [build(c) for c in sorted(by_parent.get(a["id"], []), key=lambda x: x["to_region"])]
        node.subtree_spent = a["spent"] + sum(c.subtree_spent for c in node.children)
        return node

    return build(own)


def statistics(*, user, by: str = "level", year: int | None = None, direct_only: bool = False) -> list[dict]:
    """Allocated, passed down, spent, recovered and the execution rate, grouped by level, region,
    fund or year. The execution rate of a group is what was finally spent out of the net amount
    that reached it (spending below the group's own regions included)."""
    qs = Allocation.objects.restrict(user, F_.STATS_VIEW)
    if year:
        qs = qs.filter(fiscal_year=year)
    if direct_only:
        qs = qs.filter(direct=True)
    rows = list(qs.values("id", "parent_id", "to_region", "fund_code", "fiscal_year", "direct", "amount", "spent",
                          "sub_allocated", "recovered"))
    children: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["parent_id"]:
            children[r["parent_id"]].append(r)
    memo: dict[str, int] = {}

    def subtree(r: dict) -> int:
        if r["id"] not in memo:
            memo[r["id"]] = r["spent"] + sum(subtree(c) for c in children.get(r["id"], []))
        return memo[r["id"]]

    def key(r: dict) -> str:
        if by == "region":
            return r["to_region"]
        if by == "fund":
            return r["fund_code"]
        if by == "year":
            return str(r["fiscal_year"])
        return LEVEL_LABELS.get(regions.level_of(r["to_region"]), "")

    groups: dict[str, dict] = {}
    for r in rows:
        g = groups.setdefault(key(r), {"key": key(r), "count": 0, "amount": 0, "sub_allocated": 0, "spent": 0,
                                       "recovered": 0, "reached_spent": 0, "direct_amount": 0, "direct_spent": 0})
        g["count"] += 1
        g["amount"] += r["amount"]
        g["sub_allocated"] += r["sub_allocated"]
        g["spent"] += r["spent"]
        g["recovered"] += r["recovered"]
        g["reached_spent"] += subtree(r)
        if r["direct"]:
            g["direct_amount"] += r["amount"] - r["recovered"]
            g["direct_spent"] += subtree(r)
    out = []
    for g in sorted(groups.values(), key=lambda x: x["key"]):
        net = g["amount"] - g["recovered"]
        g["execution_rate"] = (Decimal(g["reached_spent"]) / net * 100).quantize(Decimal("0.01")) if net else None
        g["direct_execution_rate"] = ((Decimal(g["direct_spent"]) / g["direct_amount"] * 100).quantize(
            Decimal("0.01")) if g["direct_amount"] else None)
        out.append(g)
    return out


def blocks(*, user) -> QuerySet[Block]:
    if not can(user, F_.BLOCK_VIEW):
        return Block.objects.none()
    return Block.objects.order_by("-number")


def transactions(*, user, block_number: int | None = None, q: str = "") -> QuerySet[LedgerTx]:
    """Ledger transactions are shared by every member (each node keeps a full copy)."""
    if not can(user, F_.BLOCK_VIEW):
        return LedgerTx.objects.none()
    qs = LedgerTx.objects.defer("envelope")
    if block_number is not None:
        qs = qs.filter(block_number=block_number)
    if q:
        qs = qs.filter(Q(tx_id__startswith=q) | Q(reason__icontains=q))
    return qs.order_by("-log_index")


def tx_status(*, user, tx_id: str) -> dict:
    if not (can(user, F_.BLOCK_VIEW) or can(user, F_.EXCHANGE_SUBMIT)):
        raise NotFound("transfers.tx_not_found", "交易不存在")
    row = (LedgerTx.objects.filter(tx_id=tx_id).order_by("log_index")
           .values("tx_id", "block_number", "log_index", "valid", "reason", "detail", "contract", "function").first())
    if row is None:
        from fmis.platform.models import OutboxMessage

        if OutboxMessage.objects.filter(topic="transfers.ledger", key=tx_id).exists():
            return {"tx_id": tx_id, "status": "pending"}
        raise NotFound("transfers.tx_not_found", "交易不存在")
    return {**row, "status": "committed"}


def receipt(*, user, tx_id: str) -> dict:
    from fmis.transfers.ledger import proofs

    if not can(user, F_.RECEIPT_VIEW) and not can(user, F_.EXCHANGE_SUBMIT):
        raise NotFound("transfers.tx_not_found", "交易不存在")
    import psycopg

    from fmis.transfers.local import local_dsn

    with psycopg.connect(local_dsn()) as conn:
        try:
            return proofs.build_receipt(conn, tx_id)
        except proofs.ReceiptError as exc:
            raise NotFound("transfers.receipt_unavailable", f"暂无法生成回执：{exc}") from None

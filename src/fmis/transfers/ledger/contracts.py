"""The contracts: membership and transfer payments, executed identically by every node.

Contracts see only the transaction, the member who signed it and the world state; they use
integers (fen) for money and never read a clock or a random source. A contract refuses by raising
``Refused(code, message)``: the node records the transaction as invalid with that reason and
none of its writes.

World state keys:
  ``member/<cert id>``   identity, certificate, admitted/revoked block
  ``alloc/<id>``         an allocation (下达) and its running figures; id = the allocating tx's id

Available on an allocation = amount − sub_allocated − spent − recovered (never below zero).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fmis.transfers.ledger import membership, regions
from fmis.transfers.ledger.encoding import MAX_SAFE_INT


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Movement:
    allocation: str
    kind: str  # allocate / receive / expend / recover / correct
    amount: int
    region: str
    detail: dict = field(default_factory=dict)


@dataclass
class Call:
    """What a contract function gets."""

    tx_id: str
    args: dict
    creator: str
    member: dict | None  # the creator's member record (None for the CA)
    block: int
    time_ms: int
    config: dict
    get: Callable[[str], dict | None]
    put: Callable[[str, dict], None]
    movements: list[Movement]


# function code -> roles allowed ("ca" = the membership service)
ROLES: dict[str, frozenset[str]] = {
    "membership.admit": frozenset({"ca"}),
    "membership.revoke": frozenset({"ca"}),
    "transfers.allocate": frozenset({"finance"}),
    "transfers.receive": frozenset({"finance"}),
    "transfers.expend": frozenset({"finance"}),
    "transfers.recover": frozenset({"finance"}),
    "transfers.correct": frozenset({"finance"}),
}

_TEXT = re.compile(r"^[^\x00-\x1f]{0,200}$")


def _text(args: dict, name: str, *, required: bool = True, max_len: int = 200) -> str:
    v = args.get(name, "")
    if not isinstance(v, str) or len(v) > max_len or not _TEXT.match(v):
        raise Refused("args.invalid", f"{name} must be text of at most {max_len} characters")
    if required and not v.strip():
        raise Refused("args.invalid", f"{name} is required")
    return v


def _amount(args: dict, name: str = "amount") -> int:
    v = args.get(name)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= MAX_SAFE_INT:
        raise Refused("args.invalid", f"{name} must be a positive integer in fen")
    return v


def _allocation(call: Call, name: str = "allocation") -> tuple[str, dict]:
    aid = call.args.get(name)
    if not isinstance(aid, str):
        raise Refused("args.invalid", f"{name} must be an allocation id")
    alloc = call.get(f"alloc/{aid}")
    if alloc is None:
        raise Refused("allocation.not_found", f"allocation {aid[:16]} does not exist")
    return aid, alloc


def available(alloc: dict) -> int:
    return alloc["amount"] - alloc["sub_allocated"] - alloc["spent"] - alloc["recovered"]


def _region(call: Call) -> str:
    return call.member["region"]


# --- membership --------------------------------------------------------------------------------


def admit(call: Call) -> None:
    pem = call.args.get("certificate")
    if not isinstance(pem, str):
        raise Refused("args.invalid", "certificate must be PEM text")
    try:
        identity = membership.read_certificate(pem, call.config["ca_certificate"])
    except membership.MembershipError as exc:
        raise Refused("membership.bad_certificate", str(exc)) from None
    cert_id = membership.certificate_id(call.config["hash"], pem)
    if call.get(f"member/{cert_id}") is not None:
        raise Refused("membership.already_admitted", "certificate already admitted")
    call.put(f"member/{cert_id}", {**identity.as_json(), "certificate": pem, "admitted_block": call.block,
                                   "revoked_block": None, "revoke_reason": ""})


def revoke(call: Call) -> None:
    try:
        revoked = membership.check_revocation_list(call.args.get("crl") or {}, call.config["ca_certificate"])
    except membership.MembershipError as exc:
        raise Refused("membership.bad_crl", str(exc)) from None
    for entry in revoked:
        cid = entry.get("cert_id") if isinstance(entry, dict) else None
        m = call.get(f"member/{cid}") if isinstance(cid, str) else None
        if m is None or m["revoked_block"] is not None:
            continue  # unknown or already revoked: a list may repeat earlier entries
        call.put(f"member/{cid}", {**m, "revoked_block": call.block, "revoke_reason": str(entry.get("reason", ""))})


# --- transfer payments ---------------------------------------------------------------------------


def allocate(call: Call) -> None:
    """下达: an upper-level finance department allocates to a region one level below."""
    a = call.args
    from_region = _text(a, "from_region")
    to_region = _text(a, "to_region")
    if from_region != _region(call):
        raise Refused("allocation.not_own_region", f"a member of {_region(call)} cannot allocate for {from_region}")
    if not regions.valid(to_region) or regions.parent_of(to_region) != from_region:
        raise Refused("allocation.bad_region", f"{to_region} is not a region directly below {from_region}")
    amount = _amount(a)
    fund_code = _text(a, "fund_code", max_len=30)
    direct = a.get("direct")
    if not isinstance(direct, bool):
        raise Refused("args.invalid", "direct must be true or false")
    func_code = _text(a, "func_code", max_len=20)
    purpose = _text(a, "purpose")
    doc_no = _text(a, "doc_no", max_len=60)
    year = a.get("fiscal_year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise Refused("args.invalid", "fiscal_year must be a year")
    parent_id = a.get("parent")
    root = call.tx_id
    if parent_id is None:
        if regions.level_of(from_region) > 1:
            raise Refused("allocation.parent_required",
                          "below the province an allocation must draw on a received allocation")
    else:
        parent_id, parent = _allocation(call, "parent")
        if parent["to_region"] != from_region:
            raise Refused("allocation.not_own_region", "the parent allocation was not made to the allocating region")
        if not parent["received"]:
            raise Refused("allocation.not_received", "the parent allocation has not been confirmed as received")
        if parent["fund_code"] != fund_code or parent["direct"] != direct or parent["fiscal_year"] != year:
            raise Refused("allocation.fund_mismatch", "fund code, direct flag and year must follow the parent")
        if available(parent) < amount:
            raise Refused("allocation.over_allocated",
                          f"available {available(parent)} fen, asked {amount} fen")
        call.put(f"alloc/{parent_id}", {**parent, "sub_allocated": parent["sub_allocated"] + amount})
        root = parent["root"]
    call.put(f"alloc/{call.tx_id}", {
        "id": call.tx_id, "parent": parent_id, "root": root, "from_region": from_region, "to_region": to_region,
        "fund_code": fund_code, "direct": direct, "func_code": func_code, "purpose": purpose, "doc_no": doc_no,
        "fiscal_year": year, "amount": amount, "received": False, "received_block": None, "sub_allocated": 0,
        "spent": 0, "recovered": 0, "created_block": call.block, "created_time": call.time_ms,
        "creator": call.creator})
    call.movements.append(Movement(call.tx_id, "allocate", amount, from_region, {"to_region": to_region}))


def receive(call: Call) -> None:
    aid, alloc = _allocation(call)
    if alloc["to_region"] != _region(call):
        raise Refused("allocation.not_own_region", "only the receiving region confirms receipt")
    if alloc["received"]:
        raise Refused("allocation.already_received", "receipt already confirmed")
    call.put(f"alloc/{aid}", {**alloc, "received": True, "received_block": call.block})
    call.movements.append(Movement(aid, "receive", alloc["amount"], _region(call)))


def expend(call: Call) -> None:
    aid, alloc = _allocation(call)
    if alloc["to_region"] != _region(call):
        raise Refused("allocation.not_own_region", "only the receiving region records expenditure")
    if not alloc["received"]:
        raise Refused("allocation.not_received", "receipt has not been confirmed")
    amount = _amount(call.args)
    payee = _text(call.args, "payee")
    voucher_no = _text(call.args, "voucher_no", max_len=60)
    if available(alloc) < amount:
        raise Refused("allocation.over_spent", f"available {available(alloc)} fen, asked {amount} fen")
    call.put(f"alloc/{aid}", {**alloc, "spent": alloc["spent"] + amount})
    call.movements.append(Movement(aid, "expend", amount, _region(call), {"payee": payee, "voucher_no": voucher_no}))


def recover(call: Call) -> None:
    """收回: the allocating region takes back unspent, unallocated funds."""
    aid, alloc = _allocation(call)
    if alloc["from_region"] != _region(call):
        raise Refused("allocation.not_own_region", "only the allocating region recovers funds")
    amount = _amount(call.args)
    reason = _text(call.args, "reason")
    if available(alloc) < amount:
        raise Refused("allocation.over_recovered", f"available {available(alloc)} fen, asked {amount} fen")
    call.put(f"alloc/{aid}", {**alloc, "recovered": alloc["recovered"] + amount})
    if alloc["parent"] is not None:
        parent = call.get(f"alloc/{alloc['parent']}")
        call.put(f"alloc/{alloc['parent']}", {**parent, "sub_allocated": parent["sub_allocated"] - amount})
    call.movements.append(Movement(aid, "recover", amount, _region(call), {"reason": reason}))


CORRECTABLE = ("func_code", "purpose", "doc_no")


def correct(call: Call) -> None:
    """更正: the allocating region corrects descriptive fields (amounts change only by recovery)."""
    aid, alloc = _allocation(call)
    if alloc["from_region"] != _region(call):
        raise Refused("allocation.not_own_region", "only the allocating region corrects an allocation")
    changes = call.args.get("changes")
    if not isinstance(changes, dict) or not changes or set(changes) - set(CORRECTABLE):
        raise Refused("args.invalid", f"changes may name only {', '.join(CORRECTABLE)}")
    new = dict(alloc)
    for k in changes:
        new[k] = _text(changes, k, max_len=200 if k == "purpose" else 60)
    reason = _text(call.args, "reason")
    call.put(f"alloc/{aid}", new)
    call.movements.append(Movement(aid, "correct", 0, _region(call),
                                   {"reason": reason, "before": {k: alloc[k] for k in changes}, "after": changes}))


FUNCTIONS: dict[str, Callable[[Call], None]] = {
    "membership.admit": admit,
    "membership.revoke": revoke,
    "transfers.allocate": allocate,
    "transfers.receive": receive,
    "transfers.expend": expend,
    "transfers.recover": recover,
    "transfers.correct": correct,
}


def arg_keys(function: str, args: dict[str, Any]) -> list[str]:
    """State keys a transaction will read (for prefetching a block's state in one query)."""
    out = []
    for name in ("allocation", "parent"):
        v = args.get(name)
        if isinstance(v, str):
            out.append(f"alloc/{v}")
    return out

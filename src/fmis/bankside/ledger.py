"""Submitting bank-side transactions to the consortium ledger on behalf of a user.

A finance user acts as the finance member of a region in their scope; a bank user acts as the
bank member whose identity is their bank's code. The transaction is signed with that member's
key from this installation's key store and written to the outbox in the same database
transaction as its audit record (as the transfer-payment services do); the node applies it and
the projection (``fmis.bankside.projection``) picks up the result. ``outcome`` reads whether the
ledger accepted it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fmis.iam.permissions import require, restrict
from fmis.platform import audit, outbox
from fmis.platform.errors import DomainError, NotFound, PermissionDenied
from fmis.transfers import keys as keystore
from fmis.transfers.ledger import envelope as env
from fmis.transfers.local import TOPIC
from fmis.transfers.models import ConsortiumConfig, LedgerTx, Member, MemberKey


@dataclass(frozen=True)
class Acting:
    """Who signs: the member's identity (region code or bank code) and its key."""

    identity_id: str
    region: str
    role: str
    signer: env.Signer


def _config() -> ConsortiumConfig:
    cfg = ConsortiumConfig.objects.first()
    if cfg is None:
        raise DomainError("bankside.no_consortium", "本系统尚未加入联盟，无法办理代理银行预算业务")
    return cfg


def _key(**member_filter) -> MemberKey | None:
    active = Member.objects.filter(revoked_block__isnull=True, **member_filter).values("cert_id")
    return MemberKey.objects.filter(cert_id__in=active).order_by("id").first()


def acting_bank(user, function: str) -> Acting:
    """The bank member of the user's own bank (a bank user only)."""
    require(user, function)
    bank = getattr(user, "bank", None)
    if bank is None:
        raise PermissionDenied("bankside.not_bank_user", "只有代理银行用户可以办理此业务")
    key = _key(identity_id=bank.code, role="bank")
    if key is None:
        raise DomainError("bankside.bank_not_member", f"银行 {bank.code} 尚未加入联盟或本机没有其成员密钥")
    return Acting(bank.code, key.region, "bank", env.Signer(key.cert_id, key.suite, keystore.unseal(key.private_key)))


def acting_finance(user, function: str, region: str | None = None) -> Acting:
    """The finance member of `region` (default: the user's region), which must be in the user's scope."""
    require(user, function)
    region = region or getattr(getattr(user, "region", None), "code", None)
    if not region:
        raise PermissionDenied("bankside.no_region", "用户没有所属财政区划")
    if not restrict(Member.objects.all(), user, function).filter(region=region, role="finance",
                                                                  revoked_block__isnull=True).exists():
        raise PermissionDenied("bankside.region_out_of_scope", f"无权以区划 {region} 的财政部门身份办理")
    key = _key(region=region, role="finance")
    if key is None:
        raise DomainError("bankside.no_member_key", f"本机没有区划 {region} 财政部门的成员密钥")
    return Acting(region, region, "finance", env.Signer(key.cert_id, key.suite, keystore.unseal(key.private_key)))


def submit(*, user, acting: Acting, ledger_function: str, args: dict, action: str,
           object_repr: str = "") -> str:
    """Sign `ledger_function(args)` as `acting` and queue it for the ordering service; returns the
    transaction id. Audited as `action` in the same database transaction as the outbox row."""
    cfg = _config()
    tx = env.make_tx(signer=acting.signer, consortium=cfg.consortium, hash_name=cfg.hash_name,
                     function=ledger_function, args=args, timestamp=int(timezone.now().timestamp() * 1000))
    with transaction.atomic():
        outbox.enqueue(topic=TOPIC, key=tx.tx_id,
                       payload={"wire": base64.b64encode(tx.wire).decode(), "msg_id": tx.tx_id})
        audit.record(user, action, None, object_type="bankside.tx", object_id=tx.tx_id,
                     object_repr=object_repr or ledger_function,
                     after={"function": ledger_function, "args": args, "member": acting.identity_id})
    return tx.tx_id


@dataclass(frozen=True)
class Outcome:
    tx_id: str
    status: str  # pending / valid / invalid
    reason: str = ""
    detail: str = ""
    block: int | None = None


def outcome(tx_id: str) -> Outcome:
    """What the ledger made of a submitted transaction (as this installation's node applied it)."""
    row = (LedgerTx.objects.filter(tx_id=tx_id).order_by("log_index")
           .values("valid", "reason", "detail", "block_number").first())
    if row is None:
        from fmis.platform.models import OutboxMessage

        if OutboxMessage.objects.filter(topic=TOPIC, key=tx_id).exists():
            return Outcome(tx_id, "pending")
        raise NotFound("bankside.tx_not_found", "交易不存在")
    return Outcome(tx_id, "valid" if row["valid"] else "invalid", row["reason"] or "", row["detail"] or "",
                   row["block_number"])


def submit_and_apply(*, user, acting: Acting, ledger_function: str, args: dict, action: str,
                     object_repr: str = "") -> Outcome:
    """Submit, deliver and let the local node apply it now (interactive screens and the API):
    the caller gets the ledger's verdict, and a refusal comes back as its contract code."""
    from fmis.transfers import local

    tx_id = submit(user=user, acting=acting, ledger_function=ledger_function, args=args, action=action,
                   object_repr=object_repr)
    local.flush()
    return outcome(tx_id)

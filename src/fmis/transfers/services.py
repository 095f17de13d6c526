"""Every write of the transfer-payment module.

Business writes do not change ledger tables directly: a service signs a transaction with the
acting member's key (held in this installation's key store) and writes it to the outbox in the
same database transaction as its audit record; the outbox deliverer submits it to the ordering
service, and the node applies it. The service returns the transaction id; its outcome (valid,
or invalid with a reason) is read from the ledger (``selectors.tx_status``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from fmis.iam.permissions import require, restrict
from fmis.orgs.models import Region
from fmis.platform import audit, crypto, outbox
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.transfers import functions as F_
from fmis.transfers import keys as keystore
from fmis.transfers.ledger import envelope as env
from fmis.transfers.ledger import membership
from fmis.transfers.ledger.consortium import create_consortium as _create_consortium
from fmis.transfers.ledger.consortium import generate_member_keys
from fmis.transfers.ledger.encoding import EncodingError
from fmis.transfers.ledger.executor import ContractConfigError
from fmis.transfers.local import TOPIC
from fmis.transfers.models import Allocation, ConsortiumConfig, JoinRequest, Member, MemberKey

LEVEL_NAMES = {0: "national", 1: "province", 2: "city", 3: "county"}


def to_fen(amount: Decimal | str | int, *, field: str = "amount") -> int:
    try:
        d = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("transfers.amount_invalid", "金额格式不正确", field=field) from None
    if d <= 0:
        raise ValidationFailed("transfers.amount_not_positive", "金额必须大于零", field=field)
    if d != d.quantize(Decimal("0.01")):
        raise ValidationFailed("transfers.amount_precision", "金额最多两位小数", field=field)
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _config() -> ConsortiumConfig:
    cfg = ConsortiumConfig.objects.first()
    if cfg is None:
        raise DomainError("transfers.no_consortium", "尚未建立转移支付联盟")
    return cfg


def _enqueue(wire: bytes, msg_id: str) -> None:
    outbox.enqueue(topic=TOPIC, key=msg_id, payload={"wire": base64.b64encode(wire).decode(), "msg_id": msg_id})


def _ca(cfg: ConsortiumConfig) -> membership.RootCA:
    if not cfg.ca_private_key:
        raise DomainError("transfers.not_membership_service", "本机不运行联盟的成员管理服务")
    return membership.RootCA(cfg.ca_certificate, keystore.unseal(cfg.ca_private_key))


# --- consortium and membership ------------------------------------------------------------------


@dataclass(frozen=True)
class Founder:
    region_code: str
    organisation: str
    role: str = "finance"


def create_consortium(*, user, consortium: str, name: str, hash_name: str = "sha256", suite: str = "ed25519",
                      founders: list[Founder], quorum: int | None = None, block_max_txs: int = 500,
                      node_region: str | None = None, contract_modules: list[str] | None = None) -> ConsortiumConfig:
    """Create the consortium (root CA, founding members, genesis) with this installation running the
    membership service. `contract_modules` (in the genesis) are the contract modules every node
    runs; default the transfer contracts only. The founding members' keys are generated here because their nodes are
    operated by this installation; members joining later bring their own public keys."""
    require(user, F_.CONSORTIUM_MANAGE)
    if hash_name not in ("sha256", "sm3") or suite not in ("ed25519", "sm2"):
        raise ValidationFailed("transfers.bad_algorithm", "哈希算法须为 sha256 或 sm3，签名算法须为 ed25519 或 sm2")
    if not founders:
        raise ValidationFailed("transfers.no_founders", "至少需要一个创始成员", field="founders")
    from fmis.transfers.ledger.consortium import MemberSpec

    specs = []
    for f in founders:
        level = Region.objects.filter(code=f.region_code).values_list("level", flat=True).first()
        if level is None:
            raise ValidationFailed("transfers.region_unknown", f"区划 {f.region_code} 不存在", field="founders")
        specs.append(MemberSpec(f.region_code if f.role == "finance" else f"{f.role.upper()}{f.region_code}",
                                f.organisation, f.region_code, LEVEL_NAMES[level], f.role, suite))
    try:
        c = _create_consortium(consortium=consortium, name=name, hash_name=hash_name, members=specs, quorum=quorum,
                               block_max_txs=block_max_txs, contract_modules=contract_modules)
    except membership.MembershipError as exc:
        raise ValidationFailed("transfers.bad_member", str(exc), field="founders") from None
    except ContractConfigError as exc:
        raise ValidationFailed("transfers.bad_contract_modules", f"合约模块配置不正确：{exc}",
                               field="contract_modules") from None
    node = next((m for m in c.members if m.spec.region == (node_region or specs[0].region)
                 and m.spec.role == "finance"), c.members[0])
    with transaction.atomic():
        if ConsortiumConfig.objects.select_for_update().exists():
            raise Conflict("transfers.consortium_exists", "本系统已加入一个联盟")
        cfg = ConsortiumConfig.objects.create(
            consortium=consortium, name=name, hash_name=hash_name, default_suite=suite, quorum=c.config["quorum"],
            block_max_txs=block_max_txs, ca_certificate=c.ca.certificate_pem,
            ca_private_key=keystore.seal(c.ca.private_key), genesis=c.genesis, node_cert_id=node.cert_id)
        for m in c.members:
            MemberKey.objects.create(
                cert_id=m.cert_id, identity_id=m.spec.identity_id, region=m.spec.region, role=m.spec.role,
                suite=m.keys.suite, public_key=m.keys.public_key.hex(), private_key=keystore.seal(m.keys.private_key),
                transport_private_key=keystore.seal(m.keys.transport_private_key)
                if m.keys.transport_private_key else None)
        _enqueue(c.genesis, "genesis")
        audit.record(user, "transfers.consortium.create", cfg, after={"consortium": consortium, "hash": hash_name,
                                                                      "members": len(c.members),
                                                                      "contract_modules": c.config["contract_modules"]})
    return cfg


def submit_join_request(*, user, identity_id: str, organisation: str, region: str, role: str, suite: str,
                        public_key_hex: str, transport_public_key_hex: str = "") -> JoinRequest:
    """A member that generated its own keys asks to join (only public keys are sent)."""
    require(user, F_.JOIN_SUBMIT)
    level = Region.objects.filter(code=region).values_list("level", flat=True).first()
    if level is None:
        raise ValidationFailed("transfers.region_unknown", f"区划 {region} 不存在", field="region")
    try:
        pk = bytes.fromhex(public_key_hex)
        tpk = bytes.fromhex(transport_public_key_hex) if transport_public_key_hex else None
    except ValueError:
        raise ValidationFailed("transfers.bad_public_key", "公钥须为十六进制", field="public_key") from None
    identity = membership.Identity(identity_id, organisation, region, LEVEL_NAMES[level], role, suite, pk)
    try:
        membership.check_identity(identity)
        if suite == "sm2" and (tpk is None or len(tpk) != 32):
            raise membership.MembershipError("SM2 成员还须提供 Ed25519 传输公钥")
    except (membership.MembershipError, ValueError) as exc:
        raise ValidationFailed("transfers.bad_join_request", str(exc), field="public_key") from None
    with transaction.atomic():
        if JoinRequest.objects.filter(public_key=pk.hex()).exists():
            raise Conflict("transfers.join_duplicate", "该公钥已提交过入盟申请", field="public_key")
        jr = JoinRequest.objects.create(identity_id=identity_id, organisation=organisation, region=region,
                                        level=LEVEL_NAMES[level], role=role, suite=suite, public_key=pk.hex(),
                                        transport_public_key=tpk.hex() if tpk else "", submitted_by=user)
        audit.record(user, "transfers.join.submit", jr)
    return jr


def request_local_membership(*, user, region: str, organisation: str, role: str = "finance",
                             suite: str | None = None, identity_id: str | None = None) -> JoinRequest:
    """Generate a member key pair in this installation's key store and ask to join with it.
    `identity_id` defaults to the region (finance) or the role and region (e.g. ``BANK990000``)."""
    suite = suite or _config().default_suite
    keys = generate_member_keys(suite)
    identity_id = identity_id or (region if role == "finance" else f"{role.upper()}{region}")
    with transaction.atomic():
        jr = submit_join_request(user=user, identity_id=identity_id, organisation=organisation, region=region,
                                 role=role, suite=suite, public_key_hex=keys.public_key.hex(),
                                 transport_public_key_hex=keys.transport_public_key.hex()
                                 if keys.transport_public_key else "")
        MemberKey.objects.create(identity_id=identity_id, region=region, role=role, suite=suite,
                                 public_key=keys.public_key.hex(), private_key=keystore.seal(keys.private_key),
                                 transport_private_key=keystore.seal(keys.transport_private_key)
                                 if keys.transport_private_key else None)
    return jr


def approve_join_request(*, user, request_id: int, comment: str = "") -> JoinRequest:
    """The membership service issues the certificate and publishes it on the ledger."""
    require(user, F_.MEMBER_APPROVE)
    cfg = _config()
    ca = _ca(cfg)
    with transaction.atomic():
        jr = (restrict(JoinRequest.objects.select_for_update(), user, F_.MEMBER_APPROVE)
              .filter(pk=request_id).first())
        if jr is None:
            raise NotFound("transfers.join_not_found", "入盟申请不存在")
        before = {"status": jr.status}
        if jr.status != JoinRequest.Status.PENDING:
            raise Conflict("transfers.join_not_pending", "该申请已审核")
        identity = membership.Identity(jr.identity_id, jr.organisation, jr.region, jr.level, jr.role, jr.suite,
                                       bytes.fromhex(jr.public_key))
        pem = ca.issue(identity, transport_public_key=bytes.fromhex(jr.transport_public_key)
                       if jr.transport_public_key else None)
        cert_id = membership.certificate_id(cfg.hash_name, pem)
        tx = env.make_tx(signer=env.Signer(membership.CA_CREATOR, "ed25519", ca.private_key),
                         consortium=cfg.consortium, hash_name=cfg.hash_name, function="membership.admit",
                         args={"certificate": pem})
        _enqueue(tx.wire, tx.tx_id)
        JoinRequest.objects.filter(pk=jr.pk).update(
            status=JoinRequest.Status.APPROVED, certificate=pem, cert_id=cert_id, admit_tx_id=tx.tx_id,
            reviewed_by=user, reviewed_at=timezone.now(), comment=comment)
        MemberKey.objects.filter(public_key=jr.public_key).update(cert_id=cert_id)
        jr.refresh_from_db()
        audit.record(user, "transfers.join.approve", jr, before=before, after={"status": jr.status,
                                                                              "cert_id": cert_id})
    return jr


def reject_join_request(*, user, request_id: int, comment: str) -> JoinRequest:
    require(user, F_.MEMBER_APPROVE)
    if not comment.strip():
        raise ValidationFailed("transfers.comment_required", "驳回须填写审核意见", field="comment")
    with transaction.atomic():
        n = (restrict(JoinRequest.objects.all(), user, F_.MEMBER_APPROVE)
             .filter(pk=request_id, status=JoinRequest.Status.PENDING)
             .update(status=JoinRequest.Status.REJECTED, reviewed_by=user, reviewed_at=timezone.now(),
                     comment=comment))
        if n == 0:
            if restrict(JoinRequest.objects.all(), user, F_.MEMBER_APPROVE).filter(pk=request_id).exists():
                raise Conflict("transfers.join_not_pending", "该申请已审核")
            raise NotFound("transfers.join_not_found", "入盟申请不存在")
        jr = JoinRequest.objects.get(pk=request_id)
        audit.record(user, "transfers.join.reject", jr, before={"status": "pending"}, after={"status": jr.status})
    return jr


def revoke_member(*, user, cert_id: str, reason: str) -> str:
    """Publish a revocation list naming the certificate (exit or compromise)."""
    require(user, F_.MEMBER_REVOKE)
    if not reason.strip():
        raise ValidationFailed("transfers.reason_required", "须填写吊销原因", field="reason")
    cfg = _config()
    ca = _ca(cfg)
    with transaction.atomic():
        member = restrict(Member.objects.all(), user, F_.MEMBER_REVOKE).filter(cert_id=cert_id).first()
        if member is None:
            raise NotFound("transfers.member_not_found", "成员不存在")
        if member.revoked_block is not None:
            raise Conflict("transfers.member_revoked", "该成员证书已吊销")
        number = int(timezone.now().timestamp() * 1000)
        crl = membership.revocation_list(ca=ca, number=number, revoked=[{"cert_id": cert_id, "reason": reason}])
        tx = env.make_tx(signer=env.Signer(membership.CA_CREATOR, "ed25519", ca.private_key),
                         consortium=cfg.consortium, hash_name=cfg.hash_name, function="membership.revoke",
                         args={"crl": crl})
        _enqueue(tx.wire, tx.tx_id)
        audit.record(user, "transfers.member.revoke", None, object_type="transfers.member", object_id=cert_id,
                     object_repr=member.organisation, after={"reason": reason, "tx_id": tx.tx_id})
    return tx.tx_id


# --- transfer payments --------------------------------------------------------------------------


def _acting_signer(user, function: str, region: str) -> tuple[ConsortiumConfig, env.Signer]:
    """The key of the finance member for `region`, if `region` is within the user's scope."""
    require(user, function)
    cfg = _config()
    if not restrict(Member.objects.all(), user, function).filter(region=region, role="finance",
                                                                  revoked_block__isnull=True).exists():
        raise PermissionDenied("transfers.region_out_of_scope", f"无权以区划 {region} 的财政部门身份办理")
    active = Member.objects.filter(region=region, role="finance", revoked_block__isnull=True).values("cert_id")
    key = MemberKey.objects.filter(region=region, role="finance", cert_id__in=active).first()
    if key is None:
        raise DomainError("transfers.no_member_key", f"本机没有区划 {region} 财政部门的成员密钥")
    return cfg, env.Signer(key.cert_id, key.suite, keystore.unseal(key.private_key))


def _submit(user, function: str, region: str, ledger_function: str, args: dict, action: str) -> str:
    cfg, signer = _acting_signer(user, function, region)
    tx = env.make_tx(signer=signer, consortium=cfg.consortium, hash_name=cfg.hash_name, function=ledger_function,
                     args=args, timestamp=int(timezone.now().timestamp() * 1000))
    with transaction.atomic():
        _enqueue(tx.wire, tx.tx_id)
        audit.record(user, action, None, object_type="transfers.tx", object_id=tx.tx_id,
                     object_repr=ledger_function, after={"args": args, "region": region})
    return tx.tx_id


def _allocation_in_scope(user, function: str, allocation_id: str, *, by_sender: bool = False) -> Allocation:
    qs = Allocation.objects.all()
    if by_sender:  # the allocating region acts: scope on from_region
        alloc = qs.filter(pk=allocation_id).first()
        if alloc is None or not restrict(Member.objects.all(), user, function).filter(
                region=alloc.from_region).exists():
            raise NotFound("transfers.allocation_not_found", "下达记录不存在")
        return alloc
    alloc = restrict(qs, user, function).filter(pk=allocation_id).first()
    if alloc is None:
        raise NotFound("transfers.allocation_not_found", "下达记录不存在")
    return alloc


def allocate(*, user, from_region: str, to_region: str, amount: Decimal, fund_code: str, direct: bool,
             func_code: str, purpose: str, doc_no: str, fiscal_year: int, parent_id: str | None = None) -> str:
    """下达 (or sub-allocate, with `parent_id`): signed by `from_region`'s finance department."""
    args = {"from_region": from_region, "to_region": to_region, "amount": to_fen(amount), "fund_code": fund_code,
            "direct": bool(direct), "func_code": func_code, "purpose": purpose, "doc_no": doc_no,
            "fiscal_year": int(fiscal_year)}
    for k in ("fund_code", "func_code", "purpose", "doc_no"):
        if not str(args[k]).strip():
            raise ValidationFailed("transfers.field_required", f"{k} 不能为空", field=k)
    if parent_id:
        args["parent"] = parent_id
    return _submit(user, F_.ALLOCATE, from_region, "transfers.allocate", args, "transfers.allocation.create")


def confirm_receipt(*, user, allocation_id: str) -> str:
    alloc = _allocation_in_scope(user, F_.RECEIVE, allocation_id)
    return _submit(user, F_.RECEIVE, alloc.to_region, "transfers.receive", {"allocation": allocation_id},
                   "transfers.allocation.receive")


def record_expenditure(*, user, allocation_id: str, amount: Decimal, payee: str, voucher_no: str) -> str:
    alloc = _allocation_in_scope(user, F_.EXPEND, allocation_id)
    args = {"allocation": allocation_id, "amount": to_fen(amount), "payee": payee, "voucher_no": voucher_no}
    return _submit(user, F_.EXPEND, alloc.to_region, "transfers.expend", args, "transfers.allocation.expend")


def recover(*, user, allocation_id: str, amount: Decimal, reason: str) -> str:
    alloc = _allocation_in_scope(user, F_.RECOVER, allocation_id, by_sender=True)
    args = {"allocation": allocation_id, "amount": to_fen(amount), "reason": reason}
    return _submit(user, F_.RECOVER, alloc.from_region, "transfers.recover", args, "transfers.allocation.recover")


def correct(*, user, allocation_id: str, changes: dict[str, str], reason: str) -> str:
    alloc = _allocation_in_scope(user, F_.CORRECT, allocation_id, by_sender=True)
    args = {"allocation": allocation_id, "changes": {k: v for k, v in changes.items() if v}, "reason": reason}
    return _submit(user, F_.CORRECT, alloc.from_region, "transfers.correct", args, "transfers.allocation.correct")


# --- data exchange ------------------------------------------------------------------------------


def submit_signed(*, user, wire: bytes) -> str:
    """An external system submits a transaction it signed with its own member key."""
    require(user, F_.EXCHANGE_SUBMIT)
    cfg = _config()
    try:
        kind, tx = env.parse(wire, cfg.hash_name)
    except EncodingError as exc:
        raise ValidationFailed("transfers.envelope_malformed", f"交易信封格式错误：{exc}", field="envelope") from None
    if kind != "tx":
        raise ValidationFailed("transfers.envelope_not_tx", "只能提交交易", field="envelope")
    if tx.body["consortium"] != cfg.consortium:
        raise ValidationFailed("transfers.wrong_consortium", "交易不属于本联盟", field="envelope")
    member = Member.objects.filter(cert_id=tx.creator).first()
    if member is None or not crypto.verify(member.suite, bytes.fromhex(member.public_key), tx.body_bytes,
                                           tx.signature):
        # the nodes would record it invalid; refusing here saves the ledger the noise
        raise ValidationFailed("transfers.signature_invalid", "签名无法用发起者的证书验证", field="envelope")
    with transaction.atomic():
        _enqueue(tx.wire, tx.tx_id)
        audit.record(user, "transfers.exchange.submit", None, object_type="transfers.tx", object_id=tx.tx_id,
                     object_repr=tx.function, after={"creator": tx.creator})
    return tx.tx_id


"""Every write of the agent-bank budget business (seed 004).

A write is a transaction on the consortium ledger, signed by the member the user acts for
(``ledger.acting_bank`` / ``ledger.acting_finance``) and queued through the outbox in one
database transaction with its audit record (``ledger.submit``). Interactive callers (screens, the
API) wait for the local node's verdict (``apply=True``, the default): a refusal by the contract
becomes a ``DomainError`` whose code is the contract's refusal code and whose message names the
field in Chinese. Bulk callers pass ``apply=False`` and read outcomes later.

Input is validated here first, against the finance side's projection (merchants, business types,
current flow rules, pre-applications, bank serials), so bad input never reaches the ledger; the
contract checks everything again, deterministically, and has the last word under concurrency.

Amounts are entered in yuan (``Decimal``, at most two decimals) and sent to the ledger in fen.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from fmis.bankside import functions as F_
from fmis.bankside import ledger
from fmis.bankside.contracts import (
    CASE_KINDS,
    CASE_MODES,
    CORE_FIELDS,
    FIELD_LENGTHS,
    FLOW_KINDS,
    OPTIONAL_FIELDS,
)
from fmis.bankside.core_banking import CoreConflict, db_core
from fmis.bankside.models import BusinessType, CoreAccount, FlowRule, Merchant, Payment, PreApplication
from fmis.iam.permissions import require
from fmis.platform import audit
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.money import from_fen, to_fen, to_money

Outcome = ledger.Outcome

# --- refusals of the ledger, in Chinese ------------------------------------------------------------

FIELD_LABELS = {
    "voucher_id": "支付凭证ID", "voucher_type": "凭证类型", "voucher_no": "凭证号", "fund_nature": "资金性质",
    "payment_method": "支付方式", "func_class": "支出功能分类", "settlement_method": "结算方式",
    "bank_code": "银行编号", "bank_serial": "银行流水号", "payee_account": "收款账号", "payee_name": "收款户名",
    "taxpayer_id": "纳税人识别号", "budget_type": "预算类型", "business_type": "业务类型", "purpose": "用途",
    "amount": "金额", "currency": "币种", "rate": "汇率", "date": "日期", "time": "时间",
    "agency_code": "预算单位编码", "agency_name": "预算单位名称", "merchant_no": "商户号", "name": "名称",
    "account_no": "账号", "kind": "账户类别", "managed": "具备管理功能", "reference": "入账参考号",
    "code": "编码", "budget_types": "预算类型", "pre_application": "预申请", "limit": "单笔限额",
    "required_fields": "必填要素", "reason": "调整原因", "decision": "审核结论", "comment": "审核意见",
    "payment": "支付", "core": "核心结果", "opening_balance": "期初余额", "bank": "银行",
    "application": "申请", "authorisation": "委托收款授权",
}

# code -> (error class, field it concerns or None, Chinese message)
REFUSALS: dict[str, tuple[type[DomainError], str | None, str]] = {
    "args.invalid": (ValidationFailed, None, "数据格式不正确"),
    "bank.field_required": (ValidationFailed, None, "必填要素未填写"),
    "bank.amount_invalid": (ValidationFailed, "amount", "金额必须大于零且不超出范围"),
    "bank.merchant_unknown": (ValidationFailed, "merchant_no", "商户号不存在"),
    "bank.merchant_exists": (Conflict, "merchant_no", "商户号已登记"),
    "bank.business_type_unknown": (ValidationFailed, "business_type", "业务类型不存在"),
    "bank.budget_type_mismatch": (ValidationFailed, "budget_type", "预算类型不属于该业务类型"),
    "bank.not_own_merchant": (PermissionDenied, "merchant_no", "该商户不由本行代理"),
    "bank.rule_missing": (ValidationFailed, "business_type", "该商户和业务类型尚未设置流程规则"),
    "bank.account_exists": (Conflict, "account_no", "账号已开立"),
    "bank.account_unknown": (ValidationFailed, "account_no", "账号不存在"),
    "bank.not_own_account": (PermissionDenied, "account_no", "该账户不在本行开立"),
    "bank.account_not_managed": (ValidationFailed, "account_no", "该账户不是具备管理功能的商户账户"),
    "bank.currency_mismatch": (ValidationFailed, "currency", "币种与账户币种不一致"),
    "bank.duplicate_reference": (Conflict, "reference", "入账参考号已使用"),
    "bank.pre_application_not_required": (ValidationFailed, "business_type", "流程规则不要求预申请"),
    "bank.pre_application_unknown": (ValidationFailed, "pre_application", "预申请不存在"),
    "bank.not_reviewer": (PermissionDenied, "pre_application", "该预申请应由规则指定的财政区划审核"),
    "bank.pre_application_reviewed": (Conflict, "pre_application", "预申请已审核"),
    "bank.pre_application_required": (ValidationFailed, "pre_application", "流程规则要求先取得审核通过的预申请"),
    "bank.pre_application_mismatch": (ValidationFailed, "pre_application", "预申请的商户或业务类型与本笔支付不符"),
    "bank.pre_application_not_approved": (ValidationFailed, "pre_application", "预申请尚未审核通过"),
    "bank.pre_application_used": (Conflict, "pre_application", "预申请已被其他支付使用"),
    "bank.pre_application_exceeded": (ValidationFailed, "amount", "金额超过预申请审核通过的金额"),
    "bank.over_limit": (ValidationFailed, "amount", "金额超过流程规则的单笔限额"),
    "bank.duplicate_serial": (Conflict, "bank_serial", "银行流水号重复"),
    "bank.duplicate_voucher": (Conflict, "voucher_id", "支付凭证ID重复"),
    "bank.insufficient_funds": (Conflict, "amount", "商户金融账户余额不足"),
    "bank.suspense_missing": (ValidationFailed, "currency", "本行尚未开立该币种的内部过渡账户(BGL/CGL)"),
    "bank.core_result_required": (ValidationFailed, "core", "传统核心路径须附核心扣款结果"),
    "bank.core_result_mismatch": (ValidationFailed, "core", "核心结果的金额与本笔业务不符"),
    "bank.payment_unknown": (ValidationFailed, "payment", "支付不存在"),
    "bank.not_in_suspense": (Conflict, "payment", "该支付不在待退款清账状态"),
    # exception flows (seed 004 §54)
    "bank.case_forbidden": (PermissionDenied, None, "流程规则不允许办理此类业务"),
    "bank.case_application_required": (ValidationFailed, "application", "流程规则要求先取得审核通过的申请"),
    "bank.case_application_not_required": (ValidationFailed, "application", "流程规则不要求申请，可直接办理"),
    "bank.case_application_mismatch": (ValidationFailed, "application", "申请的业务类别或支付与本笔业务不符"),
    "bank.case_application_not_approved": (ValidationFailed, "application", "申请尚未审核通过"),
    "bank.case_application_reviewed": (Conflict, "application", "申请已审核"),
    "bank.case_application_used": (Conflict, "application", "申请已被使用"),
    "bank.case_application_exceeded": (ValidationFailed, "amount", "金额超过申请审核通过的金额"),
    "bank.authorisation_expired": (ValidationFailed, "authorisation", "委托收款授权不在有效期内"),
    "bank.authorisation_inactive": (ValidationFailed, "authorisation", "委托收款授权未生效或已撤销"),
    "bank.correction_no_change": (ValidationFailed, None, "更正后的内容与原内容相同"),
    "bank.over_return": (ValidationFailed, "amount", "退回金额超过支付金额减已退回金额"),
    "bank.payment_not_correctable": (Conflict, "payment", "支付失败的支付未记账，不能更正"),
    "bank.payment_not_returnable": (Conflict, "payment", "只有已支付的支付可以退回"),
    # refusals of the ledger's executor, common to every contract
    "contract.not_enabled": (DomainError, None, "联盟未启用代理银行预算业务合约"),
    "contract.unknown": (DomainError, None, "联盟不识别该合约"),
    "role.forbidden": (PermissionDenied, None, "该联盟成员的角色无权办理此业务"),
    "certificate.unknown": (PermissionDenied, None, "签名证书不是联盟成员的证书"),
    "certificate.revoked": (PermissionDenied, None, "签名证书已吊销"),
    "signature.invalid": (DomainError, None, "交易签名验证未通过"),
    "tx.wrong_consortium": (DomainError, None, "交易不属于本联盟"),
    "tx.replayed": (Conflict, None, "交易已上链，不能重复提交"),
    "nonce.reused": (Conflict, None, "交易随机数重复"),
}
_FIELD_IN_DETAIL = re.compile(r"^([a-z_]+)(?:\.[a-z_]+)? (?:must|is)\b")


def refusal(code: str, detail: str = "") -> DomainError:
    """The DomainError for a refusal of the ledger (code from ``contracts``; detail in English)."""
    cls, field, message = REFUSALS.get(code, (DomainError, None, "链上校验未通过"))
    m = _FIELD_IN_DETAIL.match(detail or "")
    if m and (field is None or code in ("args.invalid", "bank.field_required")):
        field = m.group(1)
    elif code == "bank.field_required" and "requires" in detail:
        names = [n.strip() for n in detail.rsplit("requires", 1)[1].split(",")]
        labels = "、".join(FIELD_LABELS.get(n, n) for n in names)
        return cls(code, f"流程规则要求填写：{labels}", field=names[0] if names else None, detail=detail)
    label = FIELD_LABELS.get(field or "", "")
    text = f"{label}：{message}" if label else message
    return cls(code, f"{text}（{code}）" if cls is DomainError and code not in REFUSALS else text, field=field,
               detail=detail)


def _settle(outcome: Outcome) -> Outcome:
    if outcome.status == "invalid":
        raise refusal(outcome.reason, outcome.detail)
    return outcome


def _send(*, user, acting: ledger.Acting, function: str, args: dict, action: str, repr_: str,
          apply: bool) -> Outcome:
    if apply:
        return _settle(ledger.submit_and_apply(user=user, acting=acting, ledger_function=function, args=args,
                                               action=action, object_repr=repr_))
    tx_id = ledger.submit(user=user, acting=acting, ledger_function=function, args=args, action=action,
                          object_repr=repr_)
    return Outcome(tx_id, "pending")


# --- local validation ----------------------------------------------------------------------------

_CODE = re.compile(r"^[0-9A-Za-z_.\-]{1,60}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_RATE = re.compile(r"^\d{1,6}(\.\d{1,8})?$")
_CONTROL = re.compile(r"[\x00-\x1f]")


class _Errors:
    """Collects field errors; ``raise_if_any`` raises one ValidationFailed naming all of them."""

    def __init__(self):
        self.items: list[dict] = []
        self.first_code = ""

    def add(self, code: str, field: str, message: str) -> None:
        if any(e["field"] == field for e in self.items):
            return
        self.first_code = self.first_code or code
        self.items.append({"field": field, "code": code, "message": f"{FIELD_LABELS.get(field, field)}：{message}"})

    def raise_if_any(self, cls: type[DomainError] | None = None) -> None:
        """Raise the class the first error's code has among the ledger's refusals (a conflict stays
        a conflict whether the projection or the ledger saw it), else ValidationFailed."""
        if self.items:
            first = self.items[0]
            if cls is None:
                cls = REFUSALS.get(self.first_code, (ValidationFailed,))[0]
                cls = cls if cls is not DomainError else ValidationFailed
            raise cls(self.first_code, "；".join(e["message"] for e in self.items), field=first["field"],
                      errors=self.items)

    def has(self, field: str) -> bool:
        return any(e["field"] == field for e in self.items)


def _text(errors: _Errors, value: Any, field: str, *, required: bool = True, max_len: int = 60) -> str:
    v = "" if value is None else value
    if not isinstance(v, str):
        errors.add("args.invalid", field, "须为文本")
        return ""
    v = v.strip()
    if required and not v:
        errors.add("bank.field_required", field, "必须填写")
    elif len(v) > max_len or _CONTROL.search(v):
        errors.add("args.invalid", field, f"最多 {max_len} 个字符，且不能含控制字符")
    return v


def _code(errors: _Errors, value: Any, field: str, *, required: bool = True) -> str:
    v = _text(errors, value, field, required=required)
    if v and not _CODE.match(v):
        errors.add("args.invalid", field, "只能由字母、数字、点、下划线或连字符组成")
    return v


def _currency(errors: _Errors, value: Any, field: str = "currency") -> str:
    v = _text(errors, value, field)
    if v and not _CURRENCY.match(v):
        errors.add("args.invalid", field, "须为三位大写字母的币种代码，如 CNY")
    return v


def _yuan(errors: _Errors, value: Any, field: str = "amount", *, required: bool = True) -> int | None:
    """Yuan (Decimal or text, at most two decimals, > 0) to fen; None when absent and optional."""
    if value is None or value == "":
        if required:
            errors.add("bank.field_required", field, "必须填写")
        return None
    try:
        d = to_money(value, field=field)
    except ValidationFailed as exc:
        errors.add("bank.amount_invalid", field, exc.message.split(": ", 1)[-1])
        return None
    if d <= 0:
        errors.add("bank.amount_invalid", field, "必须大于零")
        return None
    return to_fen(d)


def _day(errors: _Errors, value: Any, field: str = "date") -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value or "")).isoformat()
    except ValueError:
        if value in (None, ""):
            errors.add("bank.field_required", field, "必须填写")
        else:
            errors.add("args.invalid", field, "须为日期 YYYY-MM-DD")
        return ""


def _clock(errors: _Errors, value: Any, field: str = "time") -> str:
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    text = str(value or "")
    try:
        t = dt.time.fromisoformat(text)
    except ValueError:
        errors.add("bank.field_required" if not text else "args.invalid", field,
                   "必须填写" if not text else "须为时间 HH:MM:SS")
        return ""
    return t.replace(microsecond=0, tzinfo=None).isoformat()


def _bank_code(user) -> str:
    bank = getattr(user, "bank", None)
    if bank is None:
        raise PermissionDenied("bankside.not_bank_user", "只有代理银行用户可以办理此业务")
    return bank.code


def _own_merchant(user, function: str, merchant_no: str, errors: _Errors) -> Merchant | None:
    """The merchant, if it is registered, in the user's scope and served by the user's bank."""
    m = (Merchant.objects.restrict(user, function).filter(merchant_no=merchant_no, bank=_bank_code(user)).first()
         if merchant_no else None)
    if m is None and merchant_no and not errors.has("merchant_no"):
        errors.add("bank.merchant_unknown", "merchant_no", f"{merchant_no} 未登记或不由本行代理")
    return m


# --- consortium membership of a bank ---------------------------------------------------------------


def join_consortium_as_bank(*, user, bank_code: str, region: str | None = None, organisation: str = ""):
    """Ask for the agent bank's membership in the consortium (identity = the bank's code, role
    ``bank``), with a key pair generated in this installation's key store. Region: the given one,
    or this installation's node region (its province). Approval is the transfers module's flow
    (``fmis.transfers.services.approve_join_request``)."""
    from fmis.orgs.models import Bank
    from fmis.transfers import services as transfers
    from fmis.transfers.models import JoinRequest, Member, MemberKey

    require(user, F_.BANK_JOIN)
    bank = Bank.objects.filter(code=bank_code, is_agent=True, is_active=True).first()
    if bank is None:
        raise ValidationFailed("bankside.bank_unknown", f"银行编码：{bank_code} 不是启用的代理银行", field="bank_code")
    cfg = ledger._config()
    if not region:
        region = MemberKey.objects.filter(cert_id=cfg.node_cert_id).values_list("region", flat=True).first() or ""
        if not region:
            raise DomainError("bankside.no_node_region", "无法确定本机联盟节点的区划，请指定区划")
    if Member.objects.filter(identity_id=bank_code, revoked_block__isnull=True).exists():
        raise Conflict("bankside.bank_already_member", f"银行 {bank_code} 已是联盟成员", field="bank_code")
    if JoinRequest.objects.filter(identity_id=bank_code, status=JoinRequest.Status.PENDING).exists():
        raise Conflict("bankside.bank_join_pending", f"银行 {bank_code} 的入盟申请正在审核", field="bank_code")
    return transfers.request_local_membership(user=user, region=region, organisation=organisation or bank.name,
                                              role="bank", identity_id=bank_code)


# --- finance side ------------------------------------------------------------------------------------


def define_business_type(*, user, code: str, name: str, budget_types: list[str], region: str | None = None,
                         apply: bool = True) -> Outcome:
    """业务类型: a cluster of budget types (water and electricity → utilities); redefining a code
    makes a new version."""
    errors = _Errors()
    code = _code(errors, code, "code")
    name = _text(errors, name, "name")
    types = [str(b).strip() for b in (budget_types or []) if str(b).strip()]
    if not types:
        errors.add("bank.field_required", "budget_types", "至少填写一个预算类型")
    elif any(not _CODE.match(b) for b in types) or len(set(types)) != len(types):
        errors.add("args.invalid", "budget_types", "须为互不重复的编码")
    errors.raise_if_any()
    acting = ledger.acting_finance(user, F_.BUSINESS_TYPE_DEFINE, region)
    return _send(user=user, acting=acting, function="bankside.define_business_type",
                 args={"code": code, "name": name, "budget_types": types}, action="bankside.business_type.define",
                 repr_=f"业务类型 {code} {name}", apply=apply)


def set_rule(*, user, merchant_no: str, business_type: str, pre_application: str = "none",
             limit: Decimal | None = None, required_fields: list[str] | tuple = (), reason: str = "",
             exceptions: dict[str, str] | None = None, region: str | None = None, apply: bool = True) -> Outcome:
    """Set the flow rule (智能合约规则) of a merchant and business type: a new version supersedes the
    current one (a change needs a reason). The acting finance member's region reviews the
    pre-applications and case applications under it. `exceptions` sets, per exception flow
    (return / collection / correction / mistaken_refund), whether it is forbidden, direct or needs an
    approved case application; kinds left out take the defaults (``contracts.DEFAULT_CASE_MODES``)."""
    errors = _Errors()
    merchant_no = _code(errors, merchant_no, "merchant_no")
    business_type = _code(errors, business_type, "business_type")
    if pre_application not in FLOW_KINDS:
        errors.add("args.invalid", "pre_application", "须为 无需申请 / 预申请 / 申请")
    limit_fen = _yuan(errors, limit, "limit", required=False)
    fields = list(dict.fromkeys(required_fields or ()))
    if set(fields) - set(OPTIONAL_FIELDS):
        errors.add("args.invalid", "required_fields",
                   f"只能选择：{'、'.join(FIELD_LABELS[f] for f in OPTIONAL_FIELDS)}")
    reason = _text(errors, reason, "reason", required=False, max_len=200)
    exceptions = dict(exceptions or {})
    for kind, mode in exceptions.items():
        if kind not in CASE_KINDS:
            errors.add("args.invalid", "exceptions", f"没有这种异常业务：{kind}（可为 {'、'.join(CASE_KINDS)}）")
        elif mode not in CASE_MODES:
            errors.add("args.invalid", f"exceptions.{kind}", f"{kind} 的流程须为 forbidden / direct / approval")
    if merchant_no and not Merchant.objects.restrict(user, F_.RULE_SET).filter(merchant_no=merchant_no).exists():
        errors.add("bank.merchant_unknown", "merchant_no", f"{merchant_no} 未登记")
    if business_type and not BusinessType.objects.filter(code=business_type).exists():
        errors.add("bank.business_type_unknown", "business_type", f"{business_type} 未定义")
    current = FlowRule.objects.filter(merchant__merchant_no=merchant_no, business_type__code=business_type,
                                      current=True).first()
    if current is not None and not reason:
        errors.add("bank.field_required", "reason", f"修改现行规则（第 {current.version} 版）须填写调整原因")
    errors.raise_if_any()
    acting = ledger.acting_finance(user, F_.RULE_SET, region)
    args = {"merchant_no": merchant_no, "business_type": business_type, "pre_application": pre_application,
            "limit": limit_fen, "required_fields": sorted(fields), "reason": reason}
    if exceptions:
        args["exceptions"] = exceptions
    return _send(user=user, acting=acting, function="bankside.set_rule", args=args, action="bankside.rule.set",
                 repr_=f"流程规则 {merchant_no}/{business_type}", apply=apply)


def review_pre_application(*, user, pre_application: str, approve: bool, comment: str = "",
                           apply: bool = True) -> Outcome:
    """The finance side approves or rejects (a rejection needs a comment); the result is on the
    ledger, where the bank reads it. Only a user whose scope includes the rule's approver region
    may review."""
    pre = (PreApplication.objects.restrict(user, F_.REVIEW).filter(ledger_id=pre_application)
           .select_related("merchant").first())
    if pre is None:
        raise NotFound("bankside.pre_application_not_found", "预申请不存在")
    errors = _Errors()
    comment = _text(errors, comment, "comment", required=not approve, max_len=200)
    errors.raise_if_any()
    if pre.status != PreApplication.Status.SUBMITTED:
        raise Conflict("bank.pre_application_reviewed", f"预申请已{pre.get_status_display()}", field="pre_application")
    acting = ledger.acting_finance(user, F_.REVIEW, pre.approver_region)
    args = {"pre_application": pre.ledger_id, "decision": "approved" if approve else "rejected", "comment": comment}
    return _send(user=user, acting=acting, function="bankside.review_pre_application", args=args,
                 action="bankside.pre_application.review",
                 repr_=f"预申请 {pre.merchant.merchant_no} {pre.amount}", apply=apply)


# --- bank side: merchants, accounts, funds -----------------------------------------------------------


def register_merchant(*, user, merchant_no: str, name: str, agency_code: str, account_no: str,
                      managed: bool, currency: str = "CNY", agency_name: str = "", apply: bool = True) -> Outcome:
    """A merchant (the budget unit) served by the user's bank, with its financial account."""
    from fmis.orgs.models import Agency

    require(user, F_.MERCHANT_REGISTER)
    errors = _Errors()
    merchant_no = _code(errors, merchant_no, "merchant_no")
    name = _text(errors, name, "name", max_len=120)
    agency_code = _code(errors, agency_code, "agency_code")
    account_no = _code(errors, account_no, "account_no")
    currency = _currency(errors, currency)
    if not isinstance(managed, bool):
        errors.add("args.invalid", "managed", "须为是或否")
    agency = Agency.objects.filter(code=agency_code).first() if agency_code else None
    if agency_code and agency is None:
        errors.add("bankside.agency_unknown", "agency_code", f"{agency_code} 不是已登记的预算单位")
    agency_name = _text(errors, agency_name or (agency.name if agency else ""), "agency_name", max_len=120)
    if merchant_no and Merchant.objects.filter(merchant_no=merchant_no).exists():
        errors.add("bank.merchant_exists", "merchant_no", f"{merchant_no} 已登记")
    errors.raise_if_any()
    acting = ledger.acting_bank(user, F_.MERCHANT_REGISTER)
    args = {"merchant_no": merchant_no, "name": name, "agency_code": agency_code, "agency_name": agency_name,
            "account_no": account_no, "currency": currency, "managed": managed}
    return _send(user=user, acting=acting, function="bankside.register_merchant", args=args,
                 action="bankside.merchant.register", repr_=f"商户 {merchant_no} {name}", apply=apply)


def open_account(*, user, kind: str, account_no: str, name: str, currency: str = "CNY", merchant_no: str = "",
                 managed: bool = True, apply: bool = True) -> Outcome:
    """A customer's financial account under a merchant (``customer``; ``managed`` = the customer
    has the management function) or the bank's internal suspense account (``suspense``, BGL/CGL)."""
    require(user, F_.ACCOUNT_OPEN)
    errors = _Errors()
    if kind not in ("customer", "suspense"):
        errors.add("args.invalid", "kind", "须为 客户账户 或 内部过渡账户")
    account_no = _code(errors, account_no, "account_no")
    name = _text(errors, name, "name", max_len=120)
    currency = _currency(errors, currency)
    args: dict[str, Any] = {"account_no": account_no, "name": name, "kind": kind, "currency": currency}
    if kind == "customer":
        merchant_no = _code(errors, merchant_no, "merchant_no")
        _own_merchant(user, F_.ACCOUNT_OPEN, merchant_no, errors)
        if not isinstance(managed, bool):
            errors.add("args.invalid", "managed", "须为是或否")
        args.update(merchant_no=merchant_no, managed=managed)
    errors.raise_if_any()
    acting = ledger.acting_bank(user, F_.ACCOUNT_OPEN)
    return _send(user=user, acting=acting, function="bankside.open_account", args=args,
                 action="bankside.account.open", repr_=f"账户 {account_no} {name}", apply=apply)


def fund(*, user, account_no: str, amount: Decimal, reference: str, date: dt.date | str,
         currency: str = "CNY", apply: bool = True) -> Outcome:
    """Funds arriving on a managed merchant account (增计)."""
    require(user, F_.FUND)
    errors = _Errors()
    account_no = _code(errors, account_no, "account_no")
    fen = _yuan(errors, amount)
    currency = _currency(errors, currency)
    reference = _code(errors, reference, "reference")
    day = _day(errors, date)
    m = (Merchant.objects.restrict(user, F_.FUND).filter(account_no=account_no, bank=_bank_code(user)).first()
         if account_no else None)
    if account_no and m is None:
        errors.add("bank.account_unknown", "account_no", f"{account_no} 不是本行代理商户的金融账户")
    elif m is not None and not m.managed:
        errors.add("bank.account_not_managed", "account_no", "商户不具备管理功能，资金在传统核心记账")
    elif m is not None and currency and m.currency != currency:
        errors.add("bank.currency_mismatch", "currency", f"账户币种为 {m.currency}")
    errors.raise_if_any()
    acting = ledger.acting_bank(user, F_.FUND)
    args = {"account_no": account_no, "amount": fen, "currency": currency, "reference": reference, "date": day}
    return _send(user=user, acting=acting, function="bankside.fund", args=args, action="bankside.fund",
                 repr_=f"资金入账 {account_no} {from_fen(fen or 0)}", apply=apply)


# --- pre-applications and payments ---------------------------------------------------------------------


def submit_pre_application(*, user, merchant_no: str, business_type: str, amount: Decimal, purpose: str,
                           currency: str = "CNY", apply: bool = True) -> Outcome:
    """The merchant's pre-application (预申请) or application, when its flow rule requires one."""
    require(user, F_.PRE_APPLICATION_SUBMIT)
    errors = _Errors()
    merchant_no = _code(errors, merchant_no, "merchant_no")
    business_type = _code(errors, business_type, "business_type")
    fen = _yuan(errors, amount)
    currency = _currency(errors, currency)
    purpose = _text(errors, purpose, "purpose", max_len=200)
    m = _own_merchant(user, F_.PRE_APPLICATION_SUBMIT, merchant_no, errors)
    if business_type and not BusinessType.objects.filter(code=business_type).exists():
        errors.add("bank.business_type_unknown", "business_type", f"{business_type} 未定义")
    elif m is not None and business_type:
        rule = FlowRule.objects.filter(merchant=m, business_type__code=business_type, current=True).first()
        if rule is None:
            errors.add("bank.rule_missing", "business_type", "该商户和业务类型尚未设置流程规则")
        elif rule.pre_application == FlowRule.Flow.NONE:
            errors.add("bank.pre_application_not_required", "business_type",
                       f"流程规则（第 {rule.version} 版）不要求预申请")
    if m is not None and currency and m.currency != currency:
        errors.add("bank.currency_mismatch", "currency", f"商户币种为 {m.currency}")
    errors.raise_if_any()
    acting = ledger.acting_bank(user, F_.PRE_APPLICATION_SUBMIT)
    args = {"merchant_no": merchant_no, "business_type": business_type, "amount": fen, "currency": currency,
            "purpose": purpose}
    return _send(user=user, acting=acting, function="bankside.submit_pre_application", args=args,
                 action="bankside.pre_application.submit", repr_=f"预申请 {merchant_no} {from_fen(fen or 0)}",
                 apply=apply)


BUDGET_INFO_FIELDS = (*CORE_FIELDS, *OPTIONAL_FIELDS, "amount", "pre_application")


def validate_budget_info(*, user, info: dict[str, Any]) -> tuple[dict[str, Any], Merchant]:
    """Check budget information (seed 004 §57) against the projection and give the contract's
    arguments (amount in fen). Raises one ValidationFailed / Conflict naming every bad field."""
    require(user, F_.PAY)
    bank_code = _bank_code(user)
    errors = _Errors()
    unknown = set(info) - set(BUDGET_INFO_FIELDS)
    if unknown:
        errors.add("args.invalid", min(unknown), "不是预算信息的要素")
    args: dict[str, Any] = {}
    for name in ("voucher_id", "merchant_no", "business_type", "budget_type", "bank_serial", "payee_account"):
        args[name] = _code(errors, info.get(name), name)
    given_bank = str(info.get("bank_code") or "").strip()
    if given_bank and given_bank != bank_code:
        errors.add("bank.not_own_merchant", "bank_code", f"{given_bank} 不是本行编号 {bank_code}")
    args["bank_code"] = bank_code
    args["payee_name"] = _text(errors, info.get("payee_name"), "payee_name", max_len=FIELD_LENGTHS["payee_name"])
    args["currency"] = _currency(errors, info.get("currency"))
    args["date"] = _day(errors, info.get("date"))
    args["time"] = _clock(errors, info.get("time"))
    fen = _yuan(errors, info.get("amount"))
    args["amount"] = fen
    for name in OPTIONAL_FIELDS:
        args[name] = _text(errors, info.get(name), name, required=False, max_len=FIELD_LENGTHS.get(name, 60))
    if args["rate"] and not _RATE.match(args["rate"]):
        errors.add("args.invalid", "rate", "须为数字，如 1 或 7.1234")
    pre_id = str(info.get("pre_application") or "").strip()

    merchant = _own_merchant(user, F_.PAY, args["merchant_no"], errors)
    bt = BusinessType.objects.filter(code=args["business_type"]).first() if args["business_type"] else None
    if args["business_type"] and bt is None:
        errors.add("bank.business_type_unknown", "business_type", f"{args['business_type']} 未定义")
    elif bt is not None and args["budget_type"] and args["budget_type"] not in bt.budget_types:
        errors.add("bank.budget_type_mismatch", "budget_type",
                   f"{args['budget_type']} 不属于业务类型 {bt.name}（{'、'.join(bt.budget_types)}）")
    if merchant is not None and args["currency"] and merchant.currency != args["currency"]:
        errors.add("bank.currency_mismatch", "currency", f"商户币种为 {merchant.currency}，不是 {args['currency']}")
    if merchant is not None and args["payee_account"] == merchant.account_no:
        errors.add("args.invalid", "payee_account", "不能是商户自己的金融账户")
    rule = None
    if merchant is not None and bt is not None:
        rule = FlowRule.objects.filter(merchant=merchant, business_type=bt, current=True).first()
        if rule is None:
            errors.add("bank.rule_missing", "business_type", "该商户和业务类型尚未设置流程规则")
    if rule is not None:
        for f in rule.required_fields:
            if not args.get(f):
                errors.add("bank.field_required", f, f"流程规则（第 {rule.version} 版）要求填写")
        if fen and rule.limit is not None and fen > to_fen(rule.limit):
            errors.add("bank.over_limit", "amount", f"超过流程规则的单笔限额 {rule.limit}")
        if rule.pre_application != FlowRule.Flow.NONE and not errors.items:
            pre = (PreApplication.objects.filter(ledger_id=pre_id, merchant=merchant).first() if pre_id else None)
            kind = rule.get_pre_application_display()
            if not pre_id:
                errors.add("bank.pre_application_required", "pre_application",
                           f"流程规则（第 {rule.version} 版）要求先取得审核通过的{kind}")
            elif pre is None:
                errors.add("bank.pre_application_unknown", "pre_application", f"{pre_id[:16]} 不存在")
            elif pre.business_type_id != bt.pk:
                errors.add("bank.pre_application_mismatch", "pre_application", "业务类型与本笔支付不符")
            elif pre.status != PreApplication.Status.APPROVED:
                errors.add("bank.pre_application_not_approved", "pre_application",
                           f"{kind}{pre.get_status_display()}，不能支付")
            elif pre.payment_ledger_id:
                errors.add("bank.pre_application_used", "pre_application", "已被其他支付使用")
            elif fen and fen > to_fen(pre.amount):
                errors.add("bank.pre_application_exceeded", "amount", f"超过审核通过的金额 {pre.amount}")
        if pre_id:
            args["pre_application"] = pre_id
    if errors.items:
        errors.raise_if_any()
    dup = _Errors()
    if Payment.objects.filter(bank_code=bank_code, bank_serial=args["bank_serial"]).exists():
        dup.add("bank.duplicate_serial", "bank_serial", f"{args['bank_serial']} 已记录")
    if Payment.objects.filter(voucher_id=args["voucher_id"]).exists():
        dup.add("bank.duplicate_voucher", "voucher_id", f"{args['voucher_id']} 已记录")
    dup.raise_if_any(Conflict)
    if merchant.managed and to_fen(merchant.balance) < fen:
        raise Conflict("bank.insufficient_funds", f"金额：商户金融账户余额 {merchant.balance} 不足", field="amount")
    return args, merchant


def pay(*, user, apply: bool = True, **info: Any) -> Outcome:
    """Budget information (预算信息, seed 004 §57) from a merchant through the bank: the fields of
    ``contracts.CORE_FIELDS`` and ``OPTIONAL_FIELDS``, ``amount`` in yuan and, when the flow rule
    requires one, ``pre_application`` (its ledger id). ``bank_code`` defaults to the user's bank.

    When the merchant lacks the management function, the traditional path is taken: the
    merchant's core account is debited first (request id ``pay-<bank serial>``, so a retry never
    debits twice) and the payment carries the core's result onto the ledger."""
    args, merchant = validate_budget_info(user=user, info=info)
    acting = ledger.acting_bank(user, F_.PAY)
    if not merchant.managed:
        try:
            result = db_core(args["bank_code"]).debit(request_id=f"pay-{args['bank_serial']}",
                                                      account_no=merchant.account_no, amount=args["amount"],
                                                      currency=args["currency"])
        except CoreConflict:
            raise Conflict("bank.duplicate_serial", "银行流水号：已用于另一笔核心扣款", field="bank_serial") from None
        args["core"] = result.as_args()
    return _send(user=user, acting=acting, function="bankside.pay", args=args, action="bankside.pay",
                 repr_=f"预算支付 {args['voucher_id']} {from_fen(args['amount'])}", apply=apply)


def refund_suspense(*, user, payment: str, date: dt.date | str | None = None, apply: bool = True) -> Outcome:
    """退款 of a payment booked through the bank's suspense account: the traditional core pays the
    customer (request id ``refund-<payment id>``) and the ledger clears the suspense account; if the
    core refuses, the funds go back to the merchant (status ``returned``)."""
    require(user, F_.REFUND)
    p = (Payment.objects.restrict(user, F_.REFUND).filter(ledger_id=payment, merchant__bank=_bank_code(user))
         .select_related("merchant").first())
    if p is None:
        raise NotFound("bankside.payment_not_found", "支付不存在")
    if p.status != Payment.Status.SUSPENSE_BOOKED:
        raise Conflict("bank.not_in_suspense", f"支付：状态为{p.get_status_display()}，不在待退款清账状态",
                       field="payment")
    errors = _Errors()
    day = _day(errors, date or timezone.localdate())
    errors.raise_if_any()
    acting = ledger.acting_bank(user, F_.REFUND)
    result = db_core(p.merchant.bank).credit(request_id=f"refund-{p.ledger_id}", account_no=p.payee_account,
                                             amount=to_fen(p.amount), currency=p.currency)
    args = {"payment": p.ledger_id, "date": day, "core": result.as_args()}
    return _send(user=user, acting=acting, function="bankside.refund_suspense", args=args,
                 action="bankside.refund_suspense", repr_=f"内部账户退款 {p.voucher_id} {p.amount}", apply=apply)


# --- the simulated core banking ------------------------------------------------------------------------


def open_core_account(*, user, account_no: str, name: str, currency: str = "CNY",
                      opening_balance: Decimal = Decimal(0)) -> CoreAccount:
    """An account in the bank's traditional core with an opening balance (audited)."""
    require(user, F_.CORE_OPEN)
    bank_code = _bank_code(user)
    errors = _Errors()
    account_no = _code(errors, account_no, "account_no")
    name = _text(errors, name, "name", max_len=120)
    currency = _currency(errors, currency)
    try:
        balance = to_money(opening_balance if opening_balance not in (None, "") else Decimal(0),
                           field="opening_balance")
    except ValidationFailed as exc:
        errors.add("bank.amount_invalid", "opening_balance", exc.message.split(": ", 1)[-1])
        balance = Decimal(0)
    if balance < 0:
        errors.add("bank.amount_invalid", "opening_balance", "期初余额不能为负数")
    errors.raise_if_any()
    try:
        with transaction.atomic():
            acct = CoreAccount.objects.create(bank=bank_code, account_no=account_no, name=name, currency=currency,
                                              balance=balance)
            audit.record(user, "bankside.core_account.open", acct)
    except IntegrityError:
        raise Conflict("bankside.core_account_exists", f"账号：核心账户 {account_no} 已存在",
                       field="account_no") from None
    return acct

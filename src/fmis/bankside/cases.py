"""Exception flows of the agent-bank budget business (seed 004 §54): services and scoped reads.

Bank operators register collection authorisations and submit fund returns (资金退回), entrusted
collections (委托收款), payment corrections (支付更正) and mistaken-payment refunds (错缴资金退回);
the finance side reviews the case applications its flow rules require. Every write goes to the
consortium ledger (``fmis.bankside.contracts``) through ``fmis.bankside.ledger``: signed as the
user's bank or finance member, queued in the outbox with its audit record, applied by the local
node and projected into the finance side's tables.

Before anything is written, a case is run through its contract against this node's world state
(``preflight``): bad input is refused with the contract's code and nothing is recorded, and the
traditional core banking is only asked to move money for a case the ledger would accept. The
core-banking request id is derived from the case's bank serial, so a retried case never moves
money twice. The ledger stays the judge: a case it refuses after all comes back as its code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from fmis.bankside import contracts
from fmis.bankside import ledger as bank_ledger
from fmis.bankside.models import (
    CaseApplication,
    CaseKind,
    CollectionAuthorisation,
    ExceptionCase,
    Merchant,
    Payment,
)
from fmis.iam.functions import Fn
from fmis.iam.permissions import require
from fmis.platform.errors import Conflict, DomainError, NotFound, ServiceUnavailable, ValidationFailed
from fmis.platform.money import to_fen, to_money
from fmis.transfers.ledger.contracts import Call, Refused

# --- function codes (menus and actions) --------------------------------------------------------------

CASE_VIEW = "bankside.case.view"
AUTHORISATION_VIEW = "bankside.authorisation.view"
CASE_APPLICATION_VIEW = "bankside.case_application.view"
RETURN = "bankside.bank.case.return"
COLLECT = "bankside.bank.case.collect"
CORRECT = "bankside.bank.case.correct"
REFUND_MISTAKEN = "bankside.bank.case.refund_mistaken"
AUTHORISATION_MANAGE = "bankside.bank.authorisation.manage"
CASE_APPLICATION_SUBMIT = "bankside.bank.case_application.submit"
CASE_APPLICATION_REVIEW = "bankside.finance.case_application.approve"

CASE_FUNCTIONS = [
    Fn(CASE_VIEW, "异常业务", "Exception cases", "menu", "bankside", "bankside:cases", 466),
    Fn(AUTHORISATION_VIEW, "委托收款授权", "Entrusted-collection authorisations", "menu", "bankside",
       "bankside:authorisations", 467),
    Fn(CASE_APPLICATION_VIEW, "异常业务申请", "Exception case applications", "menu", "bankside",
       "bankside:applications", 468),
    Fn(RETURN, "资金退回", "Fund returns", "action", CASE_VIEW),
    Fn(COLLECT, "委托收款", "Entrusted collections", "action", CASE_VIEW),
    Fn(CORRECT, "支付更正", "Payment corrections", "action", CASE_VIEW),
    Fn(REFUND_MISTAKEN, "错缴资金退回", "Mistaken-payment refunds", "action", CASE_VIEW),
    Fn(AUTHORISATION_MANAGE, "登记与撤销委托收款授权", "Register and revoke authorisations", "action",
       AUTHORISATION_VIEW),
    Fn(CASE_APPLICATION_SUBMIT, "提交异常业务申请", "Submit case applications", "action", CASE_APPLICATION_VIEW),
    Fn(CASE_APPLICATION_REVIEW, "审核异常业务申请", "Review case applications", "action", CASE_APPLICATION_VIEW),
]

KIND_FUNCTIONS = {CaseKind.RETURN: RETURN, CaseKind.COLLECTION: COLLECT, CaseKind.CORRECTION: CORRECT,
                  CaseKind.MISTAKEN_REFUND: REFUND_MISTAKEN}

# Chinese messages for the contracts' refusal codes (the contract's own text follows in brackets)
MESSAGES = {
    "args.invalid": "输入不符合要求",
    "bank.field_required": "缺少必填要素",
    "bank.amount_invalid": "金额必须为正数",
    "bank.payment_unknown": "原支付不存在",
    "bank.authorisation_unknown": "委托收款授权不存在",
    "bank.merchant_unknown": "商户未登记",
    "bank.business_type_unknown": "业务类型未定义",
    "bank.budget_type_mismatch": "预算类型不属于该业务类型",
    "bank.rule_missing": "该商户和业务类型没有流程规则",
    "bank.not_own_merchant": "该商户不由本银行代理",
    "bank.case_forbidden": "流程规则不允许办理此类异常业务",
    "bank.case_application_required": "流程规则要求先取得审核通过的异常业务申请",
    "bank.case_application_not_required": "流程规则规定此类业务直接办理，无需申请",
    "bank.case_application_unknown": "异常业务申请不存在",
    "bank.case_application_mismatch": "异常业务申请与本次业务不符",
    "bank.case_application_not_approved": "异常业务申请尚未审核通过",
    "bank.case_application_used": "异常业务申请已被使用",
    "bank.case_application_exceeded": "金额超过申请审核通过的金额",
    "bank.case_application_reviewed": "异常业务申请已审核",
    "bank.not_reviewer": "该申请应由流程规则指定的财政区划审核",
    "bank.payment_not_returnable": "原支付当前状态不能退回",
    "bank.payment_not_correctable": "原支付未成功记账，不能更正",
    "bank.over_return": "退回金额超过原支付尚未退回的金额",
    "bank.correction_no_change": "更正后的值与原值相同",
    "bank.insufficient_funds": "账户余额不足",
    "bank.duplicate_serial": "银行流水号重复",
    "bank.duplicate_reference": "授权编号重复",
    "bank.currency_mismatch": "币种不一致",
    "bank.over_limit": "金额超过限额",
    "bank.authorisation_inactive": "委托收款授权已撤销",
    "bank.authorisation_expired": "不在委托收款授权的有效期内",
    "bank.suspense_missing": "银行没有该币种的内部过渡账户",
    "bank.core_result_required": "此路径需要银行传统核心的处理结果",
    "bank.core_result_mismatch": "核心处理结果与本次业务不符",
    "role.forbidden": "该联盟成员不能办理此业务",
}
_VALIDATION = {"args.invalid", "bank.field_required", "bank.amount_invalid", "bank.budget_type_mismatch",
               "bank.correction_no_change", "bank.currency_mismatch"}
_CONFLICT = {"bank.duplicate_serial", "bank.duplicate_reference", "bank.case_application_reviewed",
             "bank.case_application_used"}


def refusal(code: str, detail: str = "") -> DomainError:
    """The domain error for a contract's refusal: stable code, Chinese message, the contract's text."""
    message = MESSAGES.get(code, _("账本拒绝了该业务"))
    if detail:
        message = f"{message}（{detail}）"
    cls = ValidationFailed if code in _VALIDATION else Conflict if code in _CONFLICT else DomainError
    return cls(code, message)


# --- core banking ------------------------------------------------------------------------------------


class CoreAdapter(Protocol):
    """The traditional core banking of one bank (``core_banking.CoreBanking`` or its persisted form)."""

    def debit(self, *, request_id: str, account_no: str, amount: int, currency: str) -> Any: ...

    def credit(self, *, request_id: str, account_no: str, amount: int, currency: str) -> Any: ...


def _core_for(bank_code: str, core: CoreAdapter | None) -> CoreAdapter:
    if core is not None:
        return core
    from fmis.bankside import core_banking

    factory = getattr(core_banking, "db_core", None)
    if factory is None:
        raise ServiceUnavailable("bankside.core_unavailable", f"银行 {bank_code} 的传统核心接口不可用")
    return factory(bank_code)


# --- the ledger: world state, preflight, submission --------------------------------------------------


def _state(key: str) -> dict | None:
    from fmis.transfers.models import StateEntry

    return StateEntry.objects.filter(key=key).values_list("value", flat=True).first()


def preflight(acting: bank_ledger.Acting, function: str, args: dict) -> None:
    """Run `function(args)` against this node's current world state without keeping anything; a
    refusal becomes the domain error the ledger would give."""
    if acting.role not in contracts.ROLES[function]:
        raise refusal("role.forbidden", function)
    overlay: dict[str, dict] = {}

    def get(key: str) -> dict | None:
        return overlay[key] if key in overlay else _state(key)

    member = {"identity_id": acting.identity_id, "region": acting.region, "role": acting.role}
    call = Call("0" * 64, args, acting.identity_id, member, 0, 0, {}, get, overlay.__setitem__, [])
    try:
        contracts.FUNCTIONS[function](call)
    except Refused as exc:
        raise refusal(exc.code, exc.message) from None


def _submit(*, user, acting: bank_ledger.Acting, function: str, args: dict, action: str,
            object_repr: str) -> bank_ledger.Outcome:
    out = bank_ledger.submit_and_apply(user=user, acting=acting, ledger_function=function, args=args,
                                       action=action, object_repr=object_repr)
    if out.status == "invalid":
        raise refusal(out.reason, out.detail)
    return out


# --- input checks -------------------------------------------------------------------------------------


def _fen(value, field: str) -> int:
    amount = to_money(value, field=field)
    if amount <= 0:
        raise ValidationFailed("bankside.amount_not_positive", f"{field}: 金额必须大于零", field=field)
    return to_fen(amount, field=field)


def _required(value: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed("bankside.field_required", f"请填写{label}", field=field)
    return value


def _payment(user, function: str, payment: str) -> Payment:
    p = (Payment.objects.restrict(user, function).select_related("merchant")
         .filter(ledger_id=(payment or "").strip()).first())
    if p is None:
        raise NotFound("bankside.payment_not_found", "原支付不存在或无权办理")
    return p


def _authorisation(user, function: str, authorisation: str) -> CollectionAuthorisation:
    a = (CollectionAuthorisation.objects.restrict(user, function).select_related("merchant")
         .filter(ledger_id=(authorisation or "").strip()).first())
    if a is None:
        raise NotFound("bankside.authorisation_not_found", "委托收款授权不存在或无权办理")
    return a


# --- services -------------------------------------------------------------------------------------


def _give_back(*, user, kind: str, payment: str, amount, date: dt.date, bank_serial: str, reason: str,
               application: str, core: CoreAdapter | None) -> bank_ledger.Outcome:
    function = KIND_FUNCTIONS[kind]
    ledger_fn = "bankside.return_payment" if kind == CaseKind.RETURN else "bankside.refund_mistaken"
    acting = bank_ledger.acting_bank(user, function)
    p = _payment(user, function, payment)
    args: dict[str, Any] = {"payment": p.ledger_id, "amount": _fen(amount, "amount"), "date": date.isoformat(),
                            "bank_serial": _required(bank_serial, "bank_serial", _("银行流水号")),
                            "reason": _required(reason, "reason", _("退回原因"))}
    if application:
        args["application"] = application.strip()
    if p.branch != Payment.Branch.LEDGER:
        # check everything with a provisional core result first: the core moves money only for a
        # case the ledger accepts
        preflight(acting, ledger_fn, {**args, "core": {"request_id": "preflight", "status": "ok",
                                                      "core_serial": "preflight", "amount": args["amount"]}})
        adapter = _core_for(acting.identity_id, core)
        request_id = f"{kind}-{args['bank_serial']}"
        if p.branch == Payment.Branch.CORE:  # the merchant's core account gets the funds back
            result = adapter.credit(request_id=request_id, account_no=p.merchant.account_no, amount=args["amount"],
                                    currency=p.currency)
        else:  # suspense: the core takes the funds back from the payee
            result = adapter.debit(request_id=request_id, account_no=p.payee_account, amount=args["amount"],
                                   currency=p.currency)
        args["core"] = result.as_args()
    preflight(acting, ledger_fn, args)
    label = _audit_label(kind)
    return _submit(user=user, acting=acting, function=ledger_fn, args=args, action=f"bankside.case.{kind}",
                   object_repr=f"{label} {p.voucher_id} {args['bank_serial']}")


def return_payment(*, user, payment: str, amount: Decimal | str, date: dt.date, bank_serial: str, reason: str,
                   application: str = "", core: CoreAdapter | None = None) -> bank_ledger.Outcome:
    """资金退回: the payee's bank sends (part of) a paid payment back to the merchant."""
    return _give_back(user=user, kind=CaseKind.RETURN, payment=payment, amount=amount, date=date,
                      bank_serial=bank_serial, reason=reason, application=application, core=core)


def refund_mistaken(*, user, payment: str, amount: Decimal | str, date: dt.date, bank_serial: str, reason: str,
                    application: str = "", core: CoreAdapter | None = None) -> bank_ledger.Outcome:
    """错缴资金退回: money paid to the wrong payee comes back to the merchant."""
    return _give_back(user=user, kind=CaseKind.MISTAKEN_REFUND, payment=payment, amount=amount, date=date,
                      bank_serial=bank_serial, reason=reason, application=application, core=core)


def _clean_changes(changes: dict[str, str] | None) -> dict[str, str]:
    changes = {k: (v or "").strip() for k, v in (changes or {}).items()}
    unknown = set(changes) - set(contracts.CORRECTABLE_FIELDS)
    if unknown:
        raise ValidationFailed("bankside.correction_field", f"不能更正的字段：{'、'.join(sorted(unknown))}",
                               field="changes")
    if not changes:
        raise ValidationFailed("bankside.correction_empty", "请至少填写一项更正内容", field="changes")
    return changes


def correct_payment(*, user, payment: str, changes: dict[str, str], date: dt.date, reason: str,
                    application: str = "") -> bank_ledger.Outcome:
    """支付更正: change classification fields (function class, budget type, fund nature, purpose)."""
    acting = bank_ledger.acting_bank(user, CORRECT)
    p = _payment(user, CORRECT, payment)
    args: dict[str, Any] = {"payment": p.ledger_id, "changes": _clean_changes(changes), "date": date.isoformat(),
                            "reason": _required(reason, "reason", _("更正原因"))}
    if application:
        args["application"] = application.strip()
    preflight(acting, "bankside.correct_payment", args)
    return _submit(user=user, acting=acting, function="bankside.correct_payment", args=args,
                   action="bankside.case.correction", object_repr=f"支付更正 {p.voucher_id}")


def register_authorisation(*, user, merchant_no: str, business_type: str, budget_type: str, customer_account: str,
                           customer_name: str, limit: Decimal | str, total_limit: Decimal | str | None = None,
                           valid_from: dt.date, valid_to: dt.date | None = None,
                           reference: str) -> bank_ledger.Outcome:
    """委托收款授权: a customer's standing authorisation to collect from a merchant, with limits."""
    acting = bank_ledger.acting_bank(user, AUTHORISATION_MANAGE)
    m = Merchant.objects.restrict(user, AUTHORISATION_MANAGE).filter(merchant_no=(merchant_no or "").strip()).first()
    if m is None:
        raise NotFound("bankside.merchant_not_found", "商户不存在或无权办理")
    args = {"merchant_no": m.merchant_no, "business_type": _required(business_type, "business_type", _("业务类型")),
            "budget_type": _required(budget_type, "budget_type", _("预算类型")),
            "customer_account": _required(customer_account, "customer_account", _("收款账号")),
            "customer_name": _required(customer_name, "customer_name", _("收款户名")),
            "limit": _fen(limit, "limit"),
            "total_limit": None if total_limit in (None, "") else _fen(total_limit, "total_limit"),
            "valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat() if valid_to else None,
            "reference": _required(reference, "reference", _("授权编号"))}
    preflight(acting, "bankside.register_authorisation", args)
    return _submit(user=user, acting=acting, function="bankside.register_authorisation", args=args,
                   action="bankside.authorisation.register", object_repr=f"委托收款授权 {args['reference']}")


def revoke_authorisation(*, user, authorisation: str, reason: str) -> bank_ledger.Outcome:
    acting = bank_ledger.acting_bank(user, AUTHORISATION_MANAGE)
    a = _authorisation(user, AUTHORISATION_MANAGE, authorisation)
    args = {"authorisation": a.ledger_id, "reason": _required(reason, "reason", _("撤销原因"))}
    preflight(acting, "bankside.revoke_authorisation", args)
    return _submit(user=user, acting=acting, function="bankside.revoke_authorisation", args=args,
                   action="bankside.authorisation.revoke", object_repr=f"委托收款授权 {a.reference}")


def collect(*, user, authorisation: str, amount: Decimal | str, date: dt.date, bank_serial: str, purpose: str,
            application: str = "", core: CoreAdapter | None = None) -> bank_ledger.Outcome:
    """委托收款: the customer collects from the merchant under its authorisation."""
    acting = bank_ledger.acting_bank(user, COLLECT)
    a = _authorisation(user, COLLECT, authorisation)
    args: dict[str, Any] = {"authorisation": a.ledger_id, "amount": _fen(amount, "amount"), "currency": a.currency,
                            "date": date.isoformat(),
                            "bank_serial": _required(bank_serial, "bank_serial", _("银行流水号")),
                            "purpose": _required(purpose, "purpose", _("用途"))}
    if application:
        args["application"] = application.strip()
    customer = _state(f"bank/account/{a.customer_account}")
    through_core = not a.merchant.managed or not (customer and customer["managed"])
    if through_core:
        preflight(acting, "bankside.collect", {**args, "core": {"request_id": "preflight", "status": "ok",
                                                                "core_serial": "preflight",
                                                                "amount": args["amount"]}})
        adapter = _core_for(acting.identity_id, core)
        request_id = f"collection-{args['bank_serial']}"
        if not a.merchant.managed:  # the traditional debit of the merchant
            result = adapter.debit(request_id=request_id, account_no=a.merchant.account_no, amount=args["amount"],
                                   currency=a.currency)
        else:  # the core pays the customer out of the suspense account
            result = adapter.credit(request_id=request_id, account_no=a.customer_account, amount=args["amount"],
                                    currency=a.currency)
        args["core"] = result.as_args()
    preflight(acting, "bankside.collect", args)
    return _submit(user=user, acting=acting, function="bankside.collect", args=args,
                   action="bankside.case.collection", object_repr=f"委托收款 {a.reference} {args['bank_serial']}")


def submit_case_application(*, user, kind: str, reason: str, payment: str = "", authorisation: str = "",
                            amount: Decimal | str | None = None,
                            changes: dict[str, str] | None = None) -> bank_ledger.Outcome:
    """异常业务申请: ask the rule's approver region to approve a case its rule puts under approval."""
    acting = bank_ledger.acting_bank(user, CASE_APPLICATION_SUBMIT)
    if kind not in CaseKind.values:
        raise ValidationFailed("bankside.case_kind", "异常业务类别不正确", field="kind")
    args: dict[str, Any] = {"kind": kind, "reason": _required(reason, "reason", _("申请原因"))}
    if kind == CaseKind.COLLECTION:
        a = _authorisation(user, CASE_APPLICATION_SUBMIT, authorisation)
        args["authorisation"] = a.ledger_id
        target = a.reference
    else:
        p = _payment(user, CASE_APPLICATION_SUBMIT, payment)
        args["payment"] = p.ledger_id
        target = p.voucher_id
    if kind == CaseKind.CORRECTION:
        args["changes"] = _clean_changes(changes)
    else:
        args["amount"] = _fen(amount, "amount")
    preflight(acting, "bankside.submit_case_application", args)
    return _submit(user=user, acting=acting, function="bankside.submit_case_application", args=args,
                   action="bankside.case_application.submit", object_repr=f"{_audit_label(kind)}申请 {target}")


def _audit_label(kind: str) -> str:
    """The case kind's name as the audit log keeps it (Chinese, whatever the user's language)."""
    from django.utils import translation

    with translation.override("zh-hans"):
        return str(CaseKind(kind).label)


def review_case_application(*, user, application: str, decision: str, comment: str = "") -> bank_ledger.Outcome:
    """The finance member of the rule's approver region approves or rejects a case application."""
    require(user, CASE_APPLICATION_REVIEW)
    if decision not in ("approved", "rejected"):
        raise ValidationFailed("bankside.decision_invalid", "审核结果须为通过或退回", field="decision")
    app = (CaseApplication.objects.restrict(user, CASE_APPLICATION_REVIEW)
           .filter(ledger_id=(application or "").strip()).first())
    if app is None:
        raise NotFound("bankside.case_application_not_found", "异常业务申请不存在或无权审核")
    if decision == "rejected" and not (comment or "").strip():
        raise ValidationFailed("bankside.comment_required", "退回申请须填写审核意见", field="comment")
    acting = bank_ledger.acting_finance(user, CASE_APPLICATION_REVIEW, region=app.approver_region)
    args = {"application": app.ledger_id, "decision": decision, "comment": (comment or "").strip()}
    preflight(acting, "bankside.review_case_application", args)
    return _submit(user=user, acting=acting, function="bankside.review_case_application", args=args,
                   action="bankside.case_application.review",
                   object_repr=f"{app.get_kind_display()}申请 {app.ledger_id[:12]}")


# --- reads (every one through the permission filter) ------------------------------------------------


def cases(*, user, q: str = "", kind: str = "", status: str = "", date: dt.date | None = None
          ) -> QuerySet[ExceptionCase]:
    qs = ExceptionCase.objects.restrict(user, CASE_VIEW).select_related("merchant", "business_type", "payment",
                                                                        "authorisation")
    if q:
        qs = qs.filter(Q(bank_serial__icontains=q) | Q(merchant__merchant_no=q) | Q(payment__voucher_id__icontains=q)
                       | Q(reason__icontains=q) | Q(ledger_id__startswith=q))
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if date:
        qs = qs.filter(date=date)
    return qs.order_by("-date", "-block", "ledger_id")


def case(*, user, ledger_id: str) -> ExceptionCase:
    obj = cases(user=user).filter(ledger_id=ledger_id).first()
    if obj is None:
        raise NotFound("bankside.case_not_found", "异常业务不存在或无权查看")
    return obj


def authorisations(*, user, q: str = "", status: str = "") -> QuerySet[CollectionAuthorisation]:
    qs = CollectionAuthorisation.objects.restrict(user, AUTHORISATION_VIEW).select_related("merchant",
                                                                                          "business_type")
    if q:
        qs = qs.filter(Q(reference__icontains=q) | Q(customer_name__icontains=q) | Q(customer_account=q)
                       | Q(merchant__merchant_no=q))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-block", "ledger_id")


def applications(*, user, q: str = "", kind: str = "", status: str = "") -> QuerySet[CaseApplication]:
    qs = CaseApplication.objects.restrict(user, CASE_APPLICATION_VIEW).select_related(
        "merchant", "business_type", "payment", "authorisation")
    if q:
        qs = qs.filter(Q(merchant__merchant_no=q) | Q(payment__voucher_id__icontains=q) | Q(reason__icontains=q)
                       | Q(ledger_id__startswith=q))
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-submitted_block", "ledger_id")

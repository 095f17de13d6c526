"""Screens of the agent-bank budget business: the finance side's projection (merchants, business
types, flow rules, pre-applications, payments, execution summary, statements), the finance side's
actions (business types, rules, reviews) and the bank's (merchants and accounts, funds,
pre-applications, payments, suspense refunds, the simulated core banking).

Thin: a form parses, a service writes (and waits for the ledger's verdict), a selector reads; a
DomainError is shown on the form, next to the field it names.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.bankside import forms, selectors, services
from fmis.bankside import functions as F
from fmis.bankside.models import FlowRule, StatementLine
from fmis.bankside.web import form_page, parse_date, report_outcome
from fmis.iam.permissions import can
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.money import from_fen
from fmis.platform.web import needs
from fmis.platform.xlsx import XLSX_MIME, xlsx_response


def _yes(value: bool) -> str:
    return _("是") if value else _("否")


# --- merchants and accounts --------------------------------------------------------------------------


@needs(F.MERCHANT_VIEW)
def merchants(request):
    q = request.GET.get("q", "")
    qs = selectors.merchants(user=request.user, q=q)
    if wants_export(request):
        return xlsx_response("商户.xlsx", [_("商户号"), _("商户名称"), _("预算单位编码"), _("预算单位名称"), _("代理银行"),
                                         _("金融账户"), _("币种"), _("具备管理功能"), _("账户余额")],
                             ([m.merchant_no, m.name, m.agency_code, m.agency_name, m.bank, m.account_no, m.currency,
                               _yes(m.managed), m.balance] for m in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"q": q, "can_register": can(request.user, F.MERCHANT_REGISTER),
                "can_open": can(request.user, F.ACCOUNT_OPEN)})
    return render(request, "bankside/merchants.html", ctx)


@needs(F.MERCHANT_REGISTER)
def merchant_create(request):
    form = forms.MerchantForm(request.POST or None)

    def action(d):
        out = services.register_merchant(user=request.user, **d)
        report_outcome(request, out, _("商户已登记"))

    return form_page(request, form, title=_("登记商户"), cancel="bankside:merchants", action=action,
                      success=lambda _r: reverse("bankside:merchants"))


@needs(F.ACCOUNT_OPEN)
def account_create(request):
    form = forms.AccountForm(request.POST or None, initial={"merchant_no": request.GET.get("merchant", "")})

    def action(d):
        out = services.open_account(user=request.user, **d)
        report_outcome(request, out, _("账户已开立"))

    return form_page(request, form, title=_("开立客户账户或内部过渡账户"), cancel="bankside:merchants",
                      action=action, success=lambda _r: reverse("bankside:merchants"))


@needs(F.FUND)
def fund(request):
    form = forms.FundForm(request.POST or None, initial={"date": dt.date.today()})

    def action(d):
        out = services.fund(user=request.user, **d)
        report_outcome(request, out, _("资金已入账"))

    return form_page(request, form, title=_("商户金融账户资金入账"), cancel="bankside:merchants", action=action,
                      success=lambda _r: reverse("bankside:merchants"))


# --- business types and flow rules ------------------------------------------------------------------------


@needs(F.BUSINESS_TYPE_VIEW)
def business_types(request):
    q = request.GET.get("q", "")
    qs = selectors.business_types(user=request.user, q=q)
    if wants_export(request):
        return xlsx_response("业务类型.xlsx", [_("业务类型编码"), _("业务类型名称"), _("预算类型"), _("版本")],
                             ([b.code, b.name, ", ".join(b.budget_types), b.version] for b in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"q": q, "can_define": can(request.user, F.BUSINESS_TYPE_DEFINE)})
    return render(request, "bankside/business_types.html", ctx)


@needs(F.BUSINESS_TYPE_DEFINE)
def business_type_create(request):
    form = forms.BusinessTypeForm(request.POST or None)

    def action(d):
        out = services.define_business_type(user=request.user, **d)
        report_outcome(request, out, _("业务类型已保存"))

    return form_page(request, form, title=_("定义业务类型"), cancel="bankside:business_types", action=action,
                      success=lambda _r: reverse("bankside:business_types"))


@needs(F.RULE_VIEW)
def rules(request):
    merchant_no = request.GET.get("merchant", "")
    history = request.GET.get("history") == "1"
    qs = selectors.rules(user=request.user, merchant_no=merchant_no, current_only=not history)
    if wants_export(request):
        return xlsx_response("流程规则.xlsx", [_("商户号"), _("业务类型"), _("版本"), _("现行版本"), _("申请要求"),
                                           _("单笔限额"), _("必填要素"), _("审核财政区划"), _("调整原因"), _("区块号")],
                             ([r.merchant.merchant_no, r.business_type.code, r.version, _yes(r.current),
                               r.get_pre_application_display(), r.limit, ", ".join(r.required_fields),
                               r.approver_region, r.reason, r.block] for r in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"merchant": merchant_no, "history": history, "can_set": can(request.user, F.RULE_SET)})
    return render(request, "bankside/rules.html", ctx)


@needs(F.RULE_SET)
def rule_set(request):
    """Set a rule; for an existing one the form starts from its current version (a new version)."""
    m, b = request.GET.get("merchant", ""), request.GET.get("business_type", "")
    current = (selectors.rules(user=request.user, merchant_no=m).filter(business_type__code=b).first()
               if m and b else None)
    initial = {"merchant_no": m, "business_type": b}
    if current is not None:
        initial.update(pre_application=current.pre_application, limit=current.limit,
                       required_fields=current.required_fields,
                       **{f"exc_{k}": v for k, v in (current.exceptions or {}).items()})
    form = forms.RuleForm(request.POST or None, initial=initial)

    def action(d):
        exceptions = form.exceptions()  # taken out of `d`
        out = services.set_rule(user=request.user, exceptions=exceptions, **d)
        report_outcome(request, out, _("流程规则已生效"))
        return d

    title = (_("修改流程规则（生成第 %(v)s 版）") % {"v": current.version + 1}) if current else _("设置流程规则")
    return form_page(request, form, title=title, cancel="bankside:rules", action=action,
                      success=lambda d: f"{reverse('bankside:rules')}?merchant={d['merchant_no']}&history=1")


# --- pre-applications ----------------------------------------------------------------------------------------


def _pre_headers() -> list[str]:
    return [_("链上编号"), _("类别"), _("商户号"), _("业务类型"), _("申请金额"), _("币种"), _("用途"), _("规则版本"),
               _("审核财政区划"), _("状态"), _("审核意见")]


def _pre_row(p) -> list:
    return [p.ledger_id, p.get_kind_display(), p.merchant.merchant_no, p.business_type.code, p.amount, p.currency,
            p.purpose, p.rule_version, p.approver_region, p.get_status_display(), p.comment]


@needs(F.PRE_APPLICATION_VIEW)
def pre_applications(request):
    status = request.GET.get("status", "")
    q = request.GET.get("q", "")
    qs = selectors.pre_applications(user=request.user, status=status)
    if q:
        qs = qs.filter(merchant__merchant_no__icontains=q) | qs.filter(purpose__icontains=q)
    if wants_export(request):
        return xlsx_response("预申请.xlsx", _pre_headers(), (_pre_row(p) for p in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"status": status, "q": q, "can_submit": can(request.user, F.PRE_APPLICATION_SUBMIT),
                "can_review": can(request.user, F.REVIEW)})
    return render(request, "bankside/pre_applications.html", ctx)


@needs(F.PRE_APPLICATION_SUBMIT)
def pre_application_create(request):
    form = forms.PreApplicationForm(request.POST or None, initial={
        "merchant_no": request.GET.get("merchant", ""), "business_type": request.GET.get("business_type", "")})

    def action(d):
        out = services.submit_pre_application(user=request.user, **d)
        report_outcome(request, out, _("预申请已提交，等待财政审核（编号 %(id)s）") % {"id": out.tx_id})
        return out

    return form_page(request, form, title=_("提交预申请"), cancel="bankside:pre_applications", action=action,
                      success=lambda out: reverse("bankside:pre_application", args=[out.tx_id]))


@needs(F.PRE_APPLICATION_VIEW)
def pre_application(request, ledger_id: str):
    pre = selectors.pre_application(user=request.user, ledger_id=ledger_id)
    reviewable = (pre.status == pre.Status.SUBMITTED and can(request.user, F.REVIEW)
                  and selectors.to_review(user=request.user).filter(pk=pre.pk).exists())
    return render(request, "bankside/pre_application.html", {"p": pre, "review_form": forms.ReviewForm(),
                                                             "reviewable": reviewable})


@needs(F.REVIEW)
def review(request):
    """The finance side's to-do list: pre-applications awaiting its review."""
    qs = selectors.to_review(user=request.user)
    if wants_export(request):
        return xlsx_response("待审核预申请.xlsx", _pre_headers(), (_pre_row(p) for p in qs.iterator()))
    ctx = page(request, qs)
    ctx["review_form"] = forms.ReviewForm()
    return render(request, "bankside/review.html", ctx)


@require_POST
@needs(F.REVIEW)
def review_decide(request, ledger_id: str):
    form = forms.ReviewForm(request.POST)
    back = redirect(request.POST.get("next") or reverse("bankside:review"))
    if not form.is_valid():
        messages.error(request, _("请选择审核结论"))
        return back
    approve = form.cleaned_data["decision"] == "approve"
    try:
        out = services.review_pre_application(user=request.user, pre_application=ledger_id, approve=approve,
                                              comment=form.cleaned_data["comment"])
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return back
    report_outcome(request, out, _("预申请已审核通过") if approve else _("预申请已退回"))
    return back


# --- payments --------------------------------------------------------------------------------------------


@needs(F.PAY)
def pay(request):
    form = forms.PaymentForm(request.POST or None, initial={
        "date": dt.date.today(), "time": dt.datetime.now().time().replace(microsecond=0),
        "merchant_no": request.GET.get("merchant", ""), "pre_application": request.GET.get("pre_application", "")})

    def action(d):
        data = {k: v for k, v in d.items() if v not in ("", None) or k == "pre_application"}
        if not data.get("pre_application"):
            data.pop("pre_application", None)
        out = services.pay(user=request.user, **data)
        report_outcome(request, out, _("预算支付已记录"))
        return out

    return form_page(request, form, title=_("预算支付录入"), cancel="bankside:payments", action=action,
                      success=lambda out: reverse("bankside:payment", args=[out.tx_id]))


def _payment_headers() -> list[str]:
    return [_("日期"), _("时间"), _("商户号"), _("预算单位"), _("支付凭证ID"), _("银行流水号"), _("业务类型"),
                   _("预算类型"), _("收款户名"), _("收款账号"), _("金额"), _("币种"), _("记账路径"), _("状态"), _("规则版本")]


def _payment_row(p) -> list:
    return [p.date, p.time, p.merchant.merchant_no, p.agency_code or p.merchant.agency_code, p.voucher_id,
            p.bank_serial, p.business_type.code, p.budget_type, p.payee_name, p.payee_account, p.amount, p.currency,
            p.get_branch_display(), p.get_status_display(), p.rule_version]


@needs(F.PAYMENT_VIEW)
def payments(request):
    q, status, branch = request.GET.get("q", ""), request.GET.get("status", ""), request.GET.get("branch", "")
    day = parse_date(request.GET.get("date", ""))
    qs = selectors.payments(user=request.user, q=q, status=status, branch=branch, date=day)
    if wants_export(request):
        return xlsx_response("预算支付.xlsx", _payment_headers(), (_payment_row(p) for p in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"q": q, "status": status, "branch": branch, "date": request.GET.get("date", ""),
                "can_pay": can(request.user, F.PAY)})
    return render(request, "bankside/payments.html", ctx)


@needs(F.PAYMENT_VIEW)
def payment(request, ledger_id: str):
    p = selectors.payment(user=request.user, ledger_id=ledger_id)
    rule = FlowRule.objects.filter(merchant=p.merchant, business_type=p.business_type,
                                   version=p.rule_version).first()
    labels = dict(StatementLine.Kind.choices)
    lines = [(ln, labels.get(ln.kind, ln.kind)) for ln in selectors.payment_lines(user=request.user, payment=p)]
    return render(request, "bankside/payment.html", {
        "p": p, "rule": rule, "lines": lines, "refund_form": forms.RefundForm(initial={"date": dt.date.today()}),
        "can_refund": p.status == p.Status.SUSPENSE_BOOKED and can(request.user, F.REFUND)})


@needs(F.REFUND)
def suspense(request):
    q = request.GET.get("q", "")
    qs = selectors.suspense_awaiting_refund(user=request.user, q=q)
    if wants_export(request):
        return xlsx_response("内部账户待退款.xlsx", _payment_headers(), (_payment_row(p) for p in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"q": q, "today": dt.date.today().isoformat()})
    return render(request, "bankside/suspense.html", ctx)


@require_POST
@needs(F.REFUND)
def refund(request, ledger_id: str):
    form = forms.RefundForm(request.POST)
    back = redirect(request.POST.get("next") or reverse("bankside:suspense"))
    if not form.is_valid():
        messages.error(request, _("请填写退款日期"))
        return back
    try:
        out = services.refund_suspense(user=request.user, payment=ledger_id, date=form.cleaned_data["date"])
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return back
    p = selectors.payment(user=request.user, ledger_id=ledger_id)
    report_outcome(request, out, _("内部账户退款：%(s)s") % {"s": p.get_status_display()})
    return back


@needs(F.EXECUTION_VIEW)
def execution(request):
    g = request.GET
    date_from, date_to, agency = parse_date(g.get("date_from", "")), parse_date(g.get("date_to", "")), g.get("agency", "")
    rows = selectors.execution_summary(user=request.user, date_from=date_from, date_to=date_to, agency=agency)
    headers = [_("预算单位编码"), _("预算单位名称"), _("业务类型"), _("预算类型"), _("笔数"), _("已支付"),
               _("待退款清账"), _("已退回商户"), _("支付失败")]
    keys = ("agency_code", "agency_name", "business_type_name", "budget_type", "count", "paid", "awaiting_refund",
            "returned", "failed")
    if wants_export(request):
        return xlsx_response("执行情况汇总.xlsx", headers, ([r[k] for k in keys] for r in rows))
    totals = {k: sum((r[k] for r in rows), start=0) for k in keys[4:]}
    ctx = page(request, rows)
    ctx.update({"g": g, "headers": headers, "totals": totals, "keys": keys})
    return render(request, "bankside/execution.html", ctx)


# --- the simulated core banking -------------------------------------------------------------------------------


@needs(F.CORE)
def core(request):
    q = request.GET.get("q", "")
    accounts = selectors.core_accounts(user=request.user, q=q)
    journal = selectors.core_journal(user=request.user, q=q)
    if wants_export(request):
        return xlsx_response("核心流水.xlsx", [_("请求编号"), _("操作"), _("账号"), _("金额"), _("币种"), _("结果"),
                                           _("核心流水号"), _("错误码"), _("说明"), _("时间")],
                             ([e.request_id, e.get_operation_display(), e.account_no, e.amount, e.currency,
                               e.get_status_display(), e.core_serial, e.code, e.message,
                               e.created_at.replace(tzinfo=None)] for e in journal.iterator()))
    ctx = page(request, journal)
    ctx.update({"q": q, "accounts": accounts[:200], "can_open": can(request.user, F.CORE_OPEN)})
    return render(request, "bankside/core.html", ctx)


@needs(F.CORE_OPEN)
def core_open(request):
    form = forms.CoreAccountForm(request.POST or None)

    def action(d):
        acct = services.open_core_account(user=request.user, **d)
        messages.success(request, _("核心账户 %(a)s 已开立") % {"a": acct.account_no})

    return form_page(request, form, title=_("开立核心账户"), cancel="bankside:core", action=action,
                      success=lambda _r: reverse("bankside:core"), submit=_("开立"))


STATEMENT_PAGE_SIZE = 100


@needs(F.STATEMENT_VIEW)
def statement(request):
    """对账单 of one account for a day (and the days before it): figures, lines paged, the xlsx
    (``export=xlsx``) and the signed bundle with the xlsx (``export=bundle``, a zip)."""
    from django.core.paginator import Paginator

    from fmis.bankside import bundle, statements

    account_no = request.GET.get("account", "").strip()
    day = parse_date(request.GET.get("date", ""))
    try:
        previous = max(0, min(31, int(request.GET.get("previous", "0") or 0)))
    except ValueError:
        previous = 0
    ctx = {"account": account_no, "date": request.GET.get("date", ""), "previous": previous, "st": None,
           "error": ""}
    if account_no and day:
        try:
            st = selectors.statement(user=request.user, account_no=account_no, day=day, previous_days=previous)
            if request.GET.get("export") == "bundle":
                name, data = bundle.build_bundle_zip(user=request.user, account_no=account_no, day=day,
                                                     previous_days=previous)
                return _download(data, name, "application/zip")
        except DomainError as exc:
            ctx["error"] = exc.message
        else:
            if wants_export(request):
                return _download(statements.xlsx_bytes(st), statements.xlsx_filename(st), XLSX_MIME)
            ctx["st"] = st
            ctx["money"] = {k: from_fen(getattr(st, k)) for k in ("opening", "increase", "decrease", "closing",
                                                                  "core_debit", "core_credit")}
            labels = dict(StatementLine.Kind.choices)
            page_obj = Paginator(_StatementLines(st), STATEMENT_PAGE_SIZE).get_page(request.GET.get("page"))
            params = request.GET.copy()
            params.pop("page", None)
            ctx.update({"page_obj": page_obj, "querystring_without_page": params.urlencode()})
            ctx["lines"] = [(ln, labels.get(ln.kind, ln.kind), from_fen(ln.amount),
                             None if ln.balance is None else from_fen(ln.balance)) for ln in page_obj.object_list]
    elif request.GET:
        ctx["error"] = _("请输入账号和日期")
    return render(request, "bankside/statement.html", ctx)


class _StatementLines:
    """A statement's lines as a sequence for the paginator: counted and sliced in the database."""

    def __init__(self, st):
        self.st = st

    def count(self) -> int:
        return self.st.line_count

    def __len__(self) -> int:
        return self.st.line_count

    def __getitem__(self, k: slice):
        start = k.start or 0
        return self.st.page(offset=start, limit=max(0, (k.stop or self.st.line_count) - start))


def _download(data: bytes, filename: str, content_type: str) -> HttpResponse:
    from urllib.parse import quote

    resp = HttpResponse(data, content_type=content_type)
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return resp

"""Screens of the exception flows (seed 004 §54): cases, collection authorisations, case
applications; forms for bank operators and the finance side's review. Thin: parse, call
``fmis.bankside.cases``, render; a refusal is shown on the page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fmis.bankside import cases
from fmis.bankside.models import CaseApplication, CaseKind, CollectionAuthorisation, ExceptionCase
from fmis.bankside.web import form_page, parse_date, report_outcome
from fmis.iam.permissions import can
from fmis.platform.errors import DomainError
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response

DATE = forms.DateInput(attrs={"type": "date"})


def _money(label, required=True):
    return forms.DecimalField(label=label, max_digits=20, decimal_places=2, required=required)


class GiveBackForm(forms.Form):
    payment = forms.CharField(label=gettext_lazy("原支付链上编号"), max_length=64)
    amount = _money(gettext_lazy("金额（元）"))
    date = forms.DateField(label=gettext_lazy("日期"), widget=DATE)
    bank_serial = forms.CharField(label=gettext_lazy("银行流水号"), max_length=60)
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200)
    application = forms.CharField(label=gettext_lazy("审批申请编号（规则要求审批时填写）"), max_length=64, required=False)


class CorrectionForm(forms.Form):
    payment = forms.CharField(label=gettext_lazy("原支付链上编号"), max_length=64)
    func_class = forms.CharField(label=gettext_lazy("支出功能分类（更正为）"), max_length=20, required=False)
    budget_type = forms.CharField(label=gettext_lazy("预算类型（更正为）"), max_length=60, required=False)
    fund_nature = forms.CharField(label=gettext_lazy("资金性质（更正为）"), max_length=60, required=False)
    purpose = forms.CharField(label=gettext_lazy("用途（更正为）"), max_length=200, required=False)
    date = forms.DateField(label=gettext_lazy("日期"), widget=DATE)
    reason = forms.CharField(label=gettext_lazy("更正原因"), max_length=200)
    application = forms.CharField(label=gettext_lazy("审批申请编号（规则要求审批时填写）"), max_length=64, required=False)


class CollectionForm(forms.Form):
    authorisation = forms.CharField(label=gettext_lazy("委托收款授权链上编号"), max_length=64)
    amount = _money(gettext_lazy("金额（元）"))
    date = forms.DateField(label=gettext_lazy("日期"), widget=DATE)
    bank_serial = forms.CharField(label=gettext_lazy("银行流水号"), max_length=60)
    purpose = forms.CharField(label=gettext_lazy("用途"), max_length=200)
    application = forms.CharField(label=gettext_lazy("审批申请编号（规则要求审批时填写）"), max_length=64, required=False)


class AuthorisationForm(forms.Form):
    merchant_no = forms.CharField(label=gettext_lazy("商户号"), max_length=60)
    business_type = forms.CharField(label=gettext_lazy("业务类型编码"), max_length=60)
    budget_type = forms.CharField(label=gettext_lazy("预算类型"), max_length=60)
    customer_account = forms.CharField(label=gettext_lazy("收款账号"), max_length=60)
    customer_name = forms.CharField(label=gettext_lazy("收款户名"), max_length=120)
    limit = _money(gettext_lazy("单笔限额（元）"))
    total_limit = _money(gettext_lazy("累计限额（元）"), required=False)
    valid_from = forms.DateField(label=gettext_lazy("生效日期"), widget=DATE)
    valid_to = forms.DateField(label=gettext_lazy("失效日期"), widget=DATE, required=False)
    reference = forms.CharField(label=gettext_lazy("授权编号"), max_length=60)


class ApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("业务类别"), choices=CaseKind.choices)
    payment = forms.CharField(label=gettext_lazy("原支付链上编号（委托收款以外）"), max_length=64, required=False)
    authorisation = forms.CharField(label=gettext_lazy("委托收款授权链上编号（委托收款）"), max_length=64, required=False)
    amount = _money(gettext_lazy("金额（元，支付更正不填）"), required=False)
    func_class = forms.CharField(label=gettext_lazy("支出功能分类（更正为）"), max_length=20, required=False)
    budget_type = forms.CharField(label=gettext_lazy("预算类型（更正为）"), max_length=60, required=False)
    fund_nature = forms.CharField(label=gettext_lazy("资金性质（更正为）"), max_length=60, required=False)
    purpose = forms.CharField(label=gettext_lazy("用途（更正为）"), max_length=200, required=False)
    reason = forms.CharField(label=gettext_lazy("申请原因"), max_length=200)


CORRECTABLE = ("func_class", "budget_type", "fund_nature", "purpose")


def _changes(data: dict) -> dict[str, str]:
    return {k: data[k] for k in CORRECTABLE if data.get(k)}


# --- cases --------------------------------------------------------------------------------------------


@needs(cases.CASE_VIEW)
def case_list(request):
    q, kind, status = (request.GET.get(k, "").strip() for k in ("q", "kind", "status"))
    day = parse_date(request.GET.get("date", ""))
    qs = cases.cases(user=request.user, q=q, kind=kind, status=status, date=day)
    if wants_export(request):
        return xlsx_response("异常业务.xlsx", [_("日期"), _("业务类别"), _("商户号"), _("原支付凭证"), _("银行流水号"), _("金额"), _("币种"),
                                          _("记账路径"), _("办理方式"), _("状态"), _("原因/用途"), _("规则版本"), _("链上编号")],
                             ([c.date, c.get_kind_display(), c.merchant.merchant_no,
                               c.payment.voucher_id if c.payment_id else "", c.bank_serial, c.amount, c.currency,
                               c.get_branch_display(), c.get_mode_display(), c.get_status_display(), c.reason,
                               c.rule_version, c.ledger_id] for c in qs.iterator()))
    ctx = page(request, qs)
    u = request.user
    ctx.update({"q": q, "kind": kind, "status": status, "date": request.GET.get("date", ""),
                "kinds": CaseKind.choices, "statuses": ExceptionCase.Status.choices,
                "actions": [(k, label) for k, label in CaseKind.choices if can(u, cases.KIND_FUNCTIONS[k])]})
    return render(request, "bankside/cases/list.html", ctx)


@needs(cases.CASE_VIEW)
def case_detail(request, ledger_id: str):
    c = cases.case(user=request.user, ledger_id=ledger_id)
    rows = []
    if c.before or c.after:
        keys = list(dict.fromkeys([*(c.before or {}), *(c.after or {})]))
        rows = [(k, (c.before or {}).get(k, ""), (c.after or {}).get(k, "")) for k in keys]
    return render(request, "bankside/cases/detail.html", {"c": c, "changes": rows})


FORMS = {CaseKind.RETURN: GiveBackForm, CaseKind.MISTAKEN_REFUND: GiveBackForm, CaseKind.CORRECTION: CorrectionForm,
         CaseKind.COLLECTION: CollectionForm}


@needs(cases.CASE_VIEW)
def case_new(request, kind: str):
    if kind not in CaseKind.values:
        raise Http404(kind)
    function = cases.KIND_FUNCTIONS[kind]
    if not can(request.user, function):
        raise HttpForbidden(function)
    label = CaseKind(kind).label
    form = FORMS[kind](request.POST or None, initial={k: request.GET.get(k, "") for k in ("payment", "authorisation")})

    def action(d):
        if kind == CaseKind.CORRECTION:
            out = cases.correct_payment(user=request.user, payment=d["payment"], changes=_changes(d),
                                        date=d["date"], reason=d["reason"], application=d["application"])
        elif kind == CaseKind.COLLECTION:
            out = cases.collect(user=request.user, **d)
        elif kind == CaseKind.RETURN:
            out = cases.return_payment(user=request.user, **d)
        else:
            out = cases.refund_mistaken(user=request.user, **d)
        report_outcome(request, out, label)
        return out

    def success(out):
        if out.status == "valid" and ExceptionCase.objects.filter(ledger_id=out.tx_id).exists():
            return reverse("bankside:case", kwargs={"ledger_id": out.tx_id})
        return reverse("bankside:cases")

    return form_page(request, form, title=label, cancel="bankside:cases", action=action, success=success)


# --- authorisations ---------------------------------------------------------------------------------


@needs(cases.AUTHORISATION_VIEW)
def authorisation_list(request):
    q, status = request.GET.get("q", "").strip(), request.GET.get("status", "")
    qs = cases.authorisations(user=request.user, q=q, status=status)
    if wants_export(request):
        return xlsx_response("委托收款授权.xlsx", [_("授权编号"), _("商户号"), _("业务类型"), _("预算类型"), _("收款账号"), _("收款户名"),
                                             _("单笔限额"), _("累计限额"), _("已收款金额"), _("收款笔数"), _("生效日期"), _("失效日期"),
                                             _("状态"), _("链上编号")],
                             ([a.reference, a.merchant.merchant_no, a.business_type.code, a.budget_type,
                               a.customer_account, a.customer_name, a.limit, a.total_limit, a.collected,
                               a.collections, a.valid_from, a.valid_to, a.get_status_display(), a.ledger_id]
                              for a in qs.iterator()))
    ctx = page(request, qs)
    u = request.user
    ctx.update({"q": q, "status": status, "statuses": CollectionAuthorisation.Status.choices,
                "can_manage": can(u, cases.AUTHORISATION_MANAGE), "can_collect": can(u, cases.COLLECT)})
    return render(request, "bankside/cases/authorisations.html", ctx)


@needs(cases.AUTHORISATION_MANAGE)
def authorisation_new(request):
    form = AuthorisationForm(request.POST or None)

    def action(d):
        report_outcome(request, cases.register_authorisation(user=request.user, **d), _("委托收款授权"))

    return form_page(request, form, title=_("登记委托收款授权"), cancel="bankside:authorisations", action=action,
                     success=lambda _r: reverse("bankside:authorisations"))


@require_POST
@needs(cases.AUTHORISATION_MANAGE)
def authorisation_revoke(request, ledger_id: str):
    try:
        out = cases.revoke_authorisation(user=request.user, authorisation=ledger_id,
                                         reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        report_outcome(request, out, _("撤销授权"))
    return redirect("bankside:authorisations")


# --- case applications --------------------------------------------------------------------------------


@needs(cases.CASE_APPLICATION_VIEW)
def application_list(request):
    q, kind, status = (request.GET.get(k, "").strip() for k in ("q", "kind", "status"))
    qs = cases.applications(user=request.user, q=q, kind=kind, status=status)
    if wants_export(request):
        return xlsx_response("异常业务申请.xlsx", [_("业务类别"), _("商户号"), _("原支付凭证"), _("授权编号"), _("金额"), _("更正内容"),
                                             _("申请原因"), _("审核区划"), _("状态"), _("审核意见"), _("链上编号")],
                             ([a.get_kind_display(), a.merchant.merchant_no, a.payment.voucher_id if a.payment_id else "",
                               a.authorisation.reference if a.authorisation_id else "", a.amount,
                               "；".join(f"{k}={v}" for k, v in a.changes.items()), a.reason, a.approver_region,
                               a.get_status_display(), a.comment, a.ledger_id] for a in qs.iterator()))
    ctx = page(request, qs)
    u = request.user
    ctx.update({"q": q, "kind": kind, "status": status, "kinds": CaseKind.choices,
                "statuses": CaseApplication.Status.choices, "can_submit": can(u, cases.CASE_APPLICATION_SUBMIT),
                "can_review": can(u, cases.CASE_APPLICATION_REVIEW)})
    return render(request, "bankside/cases/applications.html", ctx)


@needs(cases.CASE_APPLICATION_SUBMIT)
def application_new(request):
    form = ApplicationForm(request.POST or None,
                           initial={k: request.GET.get(k, "") for k in ("kind", "payment", "authorisation")})

    def action(d):
        out = cases.submit_case_application(
            user=request.user, kind=d["kind"], reason=d["reason"], payment=d["payment"],
            authorisation=d["authorisation"], amount=d["amount"],
            changes=_changes(d) if d["kind"] == CaseKind.CORRECTION else None)
        report_outcome(request, out, _("异常业务申请"))

    return form_page(request, form, title=_("提交异常业务申请"), cancel="bankside:applications", action=action,
                     success=lambda _r: reverse("bankside:applications"))


@require_POST
@needs(cases.CASE_APPLICATION_REVIEW)
def application_review(request, ledger_id: str):
    try:
        out = cases.review_case_application(user=request.user, application=ledger_id,
                                            decision=request.POST.get("decision", ""),
                                            comment=request.POST.get("comment", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        report_outcome(request, out, _("审核结果"))
    return redirect("bankside:applications")

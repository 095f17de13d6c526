"""Treasury screens: lists (search, paging, xlsx export), detail pages with review and attachments,
and the forms for applying, refunds, corrections, clearing, plans and settings.

Reads go through ``fmis.treasury.selectors``, writes through ``fmis.treasury.services``; a domain
error is shown on the page, and objects out of scope answer 404 like missing ones.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.iam.permissions import can, restrict
from fmis.indicators.models import Indicator
from fmis.orgs.models import Agency, Bank, Region
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response
from fmis.treasury import forms, selectors, services
from fmis.treasury import functions as F
from fmis.treasury.models import PaymentApplication, PaymentVoucher


def _listing(request, qs, *, title: str, headers: list[str], row, filename: str, actions=(), statuses=()):
    if wants_export(request):
        if not can(request.user, F.EXPORT):
            raise HttpForbidden(F.EXPORT)
        return xlsx_response(filename, headers, ([c for c, _u in row(o)] for o in qs.iterator()))
    ctx = page(request, qs)
    ctx.update({"title": title, "headers": headers, "rows": [row(o) for o in ctx["object_list"]],
                "q": request.GET.get("q", ""), "status": request.GET.get("status", ""), "statuses": statuses,
                "actions": actions, "can_export": can(request.user, F.EXPORT)})
    return render(request, "treasury/list.html", ctx)


def _form_page(request, form, *, title: str, cancel_url: str, intro: str = ""):
    return render(request, "treasury/form.html", {"form": form, "title": title, "cancel_url": cancel_url,
                                                   "intro": intro})


def _error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _indicators(user, function: str):
    return (Indicator.objects.restrict(user, function).filter(status=Indicator.Status.EXECUTABLE)
            .order_by("code"))


# --- applications -------------------------------------------------------------------------------

@needs(F.APP_VIEW)
def applications(request):
    qs = selectors.applications_for(user=request.user, q=request.GET.get("q", ""),
                                    status=request.GET.get("status", ""))

    def row(a):
        return [(a.number, reverse("treasury:application", args=[a.pk])), (a.agency.name, None),
                (a.indicator.code, None), (a.payee_name, None), (a.amount, None), (a.get_pay_mode_display(), None),
                (a.get_status_display(), None), (a.created_at.strftime("%Y-%m-%d %H:%M"), None)]

    actions = [(_("录入支付申请"), reverse("treasury:application_create"))] if can(request.user, F.APP_CREATE) else []
    return _listing(request, qs, title=_("支付申请"), filename="payment-applications.xlsx",
                    headers=[_("申请编号"), _("预算单位"), _("指标"), _("收款人"), _("金额"), _("支付方式"), _("状态"),
                             _("录入时间")], row=row, actions=actions, statuses=PaymentApplication.Status.choices)


@needs(F.APP_VIEW)
def application(request, pk: int):
    app = selectors.application(user=request.user, pk=pk)
    voucher = PaymentVoucher.objects.filter(application=app).select_related("bank").first()
    return render(request, "treasury/application_detail.html", {
        "app": app, "voucher": voucher, "receipts": voucher.receipts.order_by("id") if voucher else [],
        "can_submit": app.status == PaymentApplication.Status.DRAFT and can(request.user, F.APP_SUBMIT),
        "can_edit": app.status == PaymentApplication.Status.DRAFT and can(request.user, F.APP_CREATE),
        "can_view_voucher": voucher is not None and can(request.user, F.VOUCHER_VIEW)})


APPLICATION_FIELDS = ("payee_name", "payee_account", "payee_bank", "amount", "settle_mode", "purpose", "plan_month",
                      "gov_eco_code", "dept_eco_code")


def _application_fields(d: dict) -> dict:
    """The application form's fields as the services take them (blank classifications: the indicator's)."""
    out = {f: d[f] for f in APPLICATION_FIELDS}
    out["gov_eco_code"] = d["gov_eco_code"] or None
    out["dept_eco_code"] = d["dept_eco_code"] or None
    return out


@needs(F.APP_CREATE)
def application_create(request):
    indicators = _indicators(request.user, F.APP_CREATE)
    initial = {"plan_month": timezone.localdate().month, "settle_mode": "1"}
    if request.GET.get("indicator"):
        initial["indicator"] = request.GET["indicator"]
    form = forms.ApplicationForm(request.POST or None, indicators=indicators, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            app = services.create_application(user=request.user, indicator_id=d["indicator"].pk,
                                              **_application_fields(d))
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("支付申请 %(no)s 已保存，请提交审核") % {"no": app.number})
            return redirect("treasury:application", app.pk)
    return _form_page(request, form, title=_("录入支付申请"), cancel_url=reverse("treasury:applications"))


@needs(F.APP_CREATE)
def application_edit(request, pk: int):
    app = selectors.application(user=request.user, pk=pk)
    initial = {f: getattr(app, f) for f in APPLICATION_FIELDS}
    form = forms.ApplicationEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_application(user=request.user, application_id=app.pk, **_application_fields(d))
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("支付申请 %(no)s 已修改，请提交审核") % {"no": app.number})
            return redirect("treasury:application", app.pk)
    intro = _("退回原因：%(r)s") % {"r": app.return_reason} if app.return_reason else ""
    return _form_page(request, form, title=_("修改支付申请 %(no)s") % {"no": app.number},
                      cancel_url=reverse("treasury:application", args=[app.pk]), intro=intro)


@require_POST
@needs(F.APP_SUBMIT)
def application_submit(request, pk: int):
    try:
        app = services.submit_application(application_id=pk, user=request.user,
                                          comment=request.POST.get("comment", ""))
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已提交，金额已在指标上占用：%(no)s") % {"no": app.number})
    return redirect("treasury:application", pk)


# --- vouchers -----------------------------------------------------------------------------------

@needs(F.VOUCHER_VIEW)
def vouchers(request):
    qs = selectors.vouchers_for(user=request.user, q=request.GET.get("q", ""), status=request.GET.get("status", ""))

    def row(v):
        return [(v.number, reverse("treasury:voucher", args=[v.pk])), (v.application.number, None),
                (v.agency.name, None), (v.bank.name, None), (v.amount, None), (v.paid, None), (v.refunded, None),
                (v.get_status_display(), None)]

    return _listing(request, qs, title=_("支付凭证"), filename="payment-vouchers.xlsx",
                    headers=[_("凭证编号"), _("申请编号"), _("预算单位"), _("代理银行"), _("凭证金额"), _("已支付"),
                             _("已退款"), _("状态")], row=row, statuses=PaymentVoucher.Status.choices)


@needs(F.VOUCHER_VIEW)
def voucher(request, pk: int):
    v = selectors.voucher(user=request.user, pk=pk)
    return render(request, "treasury/voucher_detail.html", {
        "v": v, "app": v.application, "receipts": v.receipts.order_by("id"), "refunds": v.refunds.order_by("id"),
        "corrections": v.corrections.order_by("id"), "signature_ok": services.verify_voucher_message(v.message),
        "can_refund": can(request.user, F.REFUND_CREATE) and v.refundable > 0,
        "can_correct": can(request.user, F.CORRECTION_CREATE) and v.refundable > 0})


# --- refunds ------------------------------------------------------------------------------------

@needs(F.REFUND_VIEW)
def refunds(request):
    qs = selectors.refunds_for(user=request.user, q=request.GET.get("q", ""))

    def row(r):
        return [(r.number, reverse("treasury:voucher", args=[r.voucher_id])), (r.voucher.number, None),
                (r.serial_no, None), (r.amount, None), (r.value_date, None), (r.reason, None)]

    return _listing(request, qs, title=_("退款"), filename="refunds.xlsx",
                    headers=[_("退款编号"), _("凭证编号"), _("银行流水号"), _("金额"), _("日期"), _("原因")], row=row)


@needs(F.REFUND_CREATE)
def refund_create(request, pk: int):
    v = selectors.voucher(user=request.user, pk=pk, function=F.REFUND_CREATE)
    form = forms.RefundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.record_refund(voucher_id=v.pk, amount=d["amount"], serial_no=d["serial_no"], reason=d["reason"],
                                   value_date=d["value_date"], user=request.user)
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("退款已登记，金额已退回指标"))
            return redirect("treasury:voucher", v.pk)
    return _form_page(request, form, title=_("登记退款：%(no)s") % {"no": v.number},
                      cancel_url=reverse("treasury:voucher", args=[v.pk]),
                      intro=_("可退金额 %(amt)s") % {"amt": v.refundable})


# --- corrections --------------------------------------------------------------------------------

@needs(F.CORRECTION_VIEW)
def corrections(request):
    qs = selectors.corrections_for(user=request.user, q=request.GET.get("q", ""))

    def row(c):
        return [(c.number, reverse("treasury:correction", args=[c.pk])), (c.voucher.number, None),
                (c.from_indicator.code, None), (c.to_indicator.code, None), (c.amount, None),
                (c.get_status_display(), None)]

    return _listing(request, qs, title=_("支付更正"), filename="corrections.xlsx",
                    headers=[_("更正编号"), _("凭证编号"), _("原指标"), _("更正后指标"), _("金额"), _("状态")], row=row)


@needs(F.CORRECTION_VIEW)
def correction(request, pk: int):
    c = selectors.correction(user=request.user, pk=pk)
    return render(request, "treasury/correction_detail.html", {"c": c})


@needs(F.CORRECTION_CREATE)
def correction_create(request, pk: int):
    v = selectors.voucher(user=request.user, pk=pk, function=F.CORRECTION_CREATE)
    indicators = _indicators(request.user, F.CORRECTION_CREATE).filter(agency=v.agency).exclude(pk=v.indicator_id)
    form = forms.CorrectionForm(request.POST or None, indicators=indicators)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = services.create_correction(voucher_id=v.pk, to_indicator_id=d["to_indicator"].pk, amount=d["amount"],
                                           reason=d["reason"], user=request.user)
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("更正单已保存，请提交审核"))
            return redirect("treasury:correction", c.pk)
    return _form_page(request, form, title=_("支付更正：%(no)s") % {"no": v.number},
                      cancel_url=reverse("treasury:voucher", args=[v.pk]),
                      intro=_("可更正金额 %(amt)s") % {"amt": v.refundable})


# --- clearing -----------------------------------------------------------------------------------

@needs(F.CLEARING_VIEW)
def clearings(request):
    qs = selectors.clearings_for(user=request.user, q=request.GET.get("q", ""))

    def row(s):
        return [(s.number, reverse("treasury:clearing", args=[s.pk])), (s.date, None), (s.bank.name, None),
                (s.paid_count, None), (s.paid_total, None), (s.refund_total, None), (s.net_total, None),
                (_("已对平") if s.reconciled else _("未对平"), None)]

    actions = [(_("生成清算单"), reverse("treasury:clearing_run"))] if can(request.user, F.CLEARING_RUN) else []
    return _listing(request, qs, title=_("清算"), filename="clearing.xlsx", actions=actions,
                    headers=[_("清算单号"), _("日期"), _("代理银行"), _("支付笔数"), _("支付金额"), _("退款金额"),
                             _("清算净额"), _("对账")], row=row)


@needs(F.CLEARING_VIEW)
def clearing(request, pk: int):
    return render(request, "treasury/clearing_detail.html", {"s": selectors.clearing(user=request.user, pk=pk)})


@needs(F.CLEARING_RUN)
def clearing_run(request):
    regions = Region.objects.restrict(request.user, F.CLEARING_RUN).order_by("code")
    form = forms.ClearingForm(request.POST or None, regions=regions, banks=Bank.objects.filter(is_agent=True))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            s = services.run_clearing(region_id=d["region"].pk, bank_id=d["bank"].pk, date=d["date"],
                                      user=request.user)
        except DomainError as exc:
            _error(form, exc)
        else:
            return redirect("treasury:clearing", s.pk)
    return _form_page(request, form, title=_("生成清算单"), cancel_url=reverse("treasury:clearings"))


# --- plans --------------------------------------------------------------------------------------

@needs(F.PLAN_VIEW)
def plans(request):
    qs = selectors.plans_for(user=request.user, q=request.GET.get("q", ""))
    can_review = can(request.user, F.PLAN_REVIEW)

    def row(p):
        return [(p.indicator.code, None), (p.agency.name, None), (p.month, None), (p.applied, None),
                (p.approved, None), (p.used, None), (p.get_status_display(), None),
                (_("批复") if can_review else "", reverse("treasury:plan_approve", args=[p.pk]) if can_review else None)]

    actions = []
    if can(request.user, F.PLAN_CREATE):
        actions = [(_("申报用款计划"), reverse("treasury:plan_create")),
                   (_("录入政府采购计划"), reverse("treasury:procurement_create"))]
    resp = _listing(request, qs, title=_("用款计划"), filename="payment-plans.xlsx", actions=actions,
                    headers=[_("指标"), _("预算单位"), _("月份"), _("申报金额"), _("批复金额"), _("已用金额"),
                             _("状态"), ""], row=row)
    return resp


@needs(F.PLAN_CREATE)
def plan_create(request):
    form = forms.PlanForm(request.POST or None, indicators=_indicators(request.user, F.PLAN_CREATE))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.create_payment_plan(indicator_id=d["indicator"].pk, month=d["month"], amount=d["amount"],
                                         user=request.user)
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("用款计划已申报"))
            return redirect("treasury:plans")
    return _form_page(request, form, title=_("申报用款计划"), cancel_url=reverse("treasury:plans"))


@needs(F.PLAN_CREATE)
def procurement_create(request):
    form = forms.ProcurementForm(request.POST or None, indicators=_indicators(request.user, F.PLAN_CREATE))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.create_procurement_plan(indicator_id=d["indicator"].pk, number=d["number"], item=d["item"],
                                             amount=d["amount"], user=request.user)
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("政府采购计划已保存"))
            return redirect("treasury:plans")
    return _form_page(request, form, title=_("录入政府采购计划"), cancel_url=reverse("treasury:plans"))


@needs(F.PLAN_REVIEW)
def plan_approve(request, pk: int):
    plan = selectors.plans_for(user=request.user).filter(pk=pk).first()
    if plan is None:
        raise Http404
    form = forms.PlanApproveForm(request.POST or None, initial={"approved": plan.applied})
    if request.method == "POST" and form.is_valid():
        try:
            services.approve_payment_plan(plan_id=plan.pk, approved=form.cleaned_data["approved"], user=request.user)
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("用款计划已批复"))
            return redirect("treasury:plans")
    return _form_page(request, form, title=_("批复用款计划：%(code)s %(m)s 月") % {"code": plan.indicator.code,
                                                                           "m": plan.month},
                      cancel_url=reverse("treasury:plans"))


# --- settings -----------------------------------------------------------------------------------

@needs(F.CONFIG_MANAGE)
def config(request):
    user = request.user
    regions = Region.objects.restrict(user, F.CONFIG_MANAGE).order_by("code")
    banks = Bank.objects.filter(is_agent=True, is_active=True).order_by("code")
    agencies = restrict(Agency.objects.all(), user, F.CONFIG_MANAGE).order_by("code")
    which = request.POST.get("form") if request.method == "POST" else None
    cfg_form = forms.ConfigForm(request.POST if which == "config" else None, regions=regions, prefix="cfg",
                                initial={"signing_suite": "sm2"})
    acc_form = forms.PayerAccountForm(request.POST if which == "account" else None, regions=regions,
                                      agencies=agencies, banks=banks, prefix="acc")
    ep_form = forms.EndpointForm(request.POST if which == "endpoint" else None, banks=banks, prefix="ep")
    try:
        if which == "config" and cfg_form.is_valid():
            d = cfg_form.cleaned_data
            services.set_config(region_id=d["region"].pk, fiscal_year=d["fiscal_year"],
                                payment_plan_enabled=d["payment_plan_enabled"],
                                procurement_plan_enabled=d["procurement_plan_enabled"],
                                signing_suite=d["signing_suite"], user=user)
            messages.success(request, _("支付参数已保存"))
            return redirect("treasury:config")
        if which == "account" and acc_form.is_valid():
            d = acc_form.cleaned_data
            services.set_payer_account(region_id=d["region"].pk, agency_id=d["agency"].pk if d["agency"] else None,
                                       pay_mode=d["pay_mode"], bank_id=d["bank"].pk, account_no=d["account_no"],
                                       account_name=d["account_name"], user=user)
            messages.success(request, _("零余额账户已保存"))
            return redirect("treasury:config")
        if which == "endpoint" and ep_form.is_valid():
            d = ep_form.cleaned_data
            services.set_bank_endpoint(bank_id=d["bank"].pk, url=d["url"], user=user)
            messages.success(request, _("银行报文接口已保存"))
            return redirect("treasury:config")
    except DomainError as exc:
        target = {"config": cfg_form, "account": acc_form, "endpoint": ep_form}[which]
        target.add_error(exc.field if exc.field in target.fields else None, exc.message)
    return render(request, "treasury/config.html", {
        "cfg_form": cfg_form, "acc_form": acc_form, "ep_form": ep_form,
        "configs": selectors.configs_for(user=user), "accounts": selectors.payer_accounts_for(user=user),
        "endpoints": selectors.endpoints_for(user=user)})

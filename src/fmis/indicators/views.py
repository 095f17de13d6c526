"""Indicator screens: list (search, paging, xlsx export), the indicator page (figures, lineage,
movements with their source documents, review and attachments), entry, import, distribution,
confirmation, adjustment documents, the budget-execution summary and control rules.

Reads go through ``fmis.indicators.selectors``, writes through ``fmis.indicators.services``;
missing and out-of-scope objects are 404 alike; a refused write shows its message on the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.iam.permissions import can
from fmis.indicators import forms, selectors, services
from fmis.indicators.functions import (
    ADJUST,
    CONFIRM,
    CONTROL_MANAGE,
    DISTRIBUTE,
    EXECUTION_VIEW,
    IMPORT,
    MANAGE,
    VIEW,
)
from fmis.indicators.models import Adjustment, ControlRule, Indicator
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.workflow import registry
from fmis.platform.xlsx import xlsx_response


def _errors(exc: DomainError) -> list[str]:
    return [e["message"] for e in exc.errors] if exc.errors else [exc.message]


def _apply_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    for e in exc.errors[1:]:
        form.add_error(None, e["message"])


def _year(request) -> int | None:
    y = request.GET.get("year", "").strip()
    return int(y) if y.isdigit() else None


# --- indicators --------------------------------------------------------------------------------

@needs(VIEW)
def indicator_list(request):
    g = request.GET
    filters = {"q": g.get("q", "").strip(), "status": g.get("status", ""), "agency": g.get("agency", "").strip(),
               "func_code": g.get("func_code", "").strip(), "fund_type": g.get("fund_type", "").strip()}
    qs = selectors.indicators_for(user=request.user, fiscal_year=_year(request), **filters)
    if wants_export(request):
        return xlsx_response(_("预算指标.xlsx"), selectors.EXPORT_HEADERS, selectors.export_rows(qs))
    ctx = page(request, qs)
    ctx.update(filters, year=g.get("year", ""), statuses=Indicator.Status.choices,
               can_manage=can(request.user, MANAGE), can_import=can(request.user, IMPORT),
               can_export=True)
    return render(request, "indicators/indicator_list.html", ctx)


def _source_link(m) -> str:
    if not m.source_id or not m.source_type:
        return ""
    if m.source_type == services.DOC_INDICATOR:
        return reverse("indicators:detail", args=[m.source_id])
    if m.source_type == services.DOC_ADJUSTMENT:
        return reverse("indicators:adjustment", args=[m.source_id])
    if registry.find(m.source_type) is not None:
        try:
            return reverse("workflow:document", args=[m.source_type, m.source_id])
        except NoReverseMatch:
            return ""
    return ""


@needs(VIEW)
def indicator_detail(request, pk: int):
    ind = selectors.indicator_detail(user=request.user, indicator_id=pk)
    moves = selectors.movements_of(indicator=ind)
    if wants_export(request):
        return xlsx_response(_("指标变动-%(code)s.xlsx") % {"code": ind.code}, selectors.MOVEMENT_HEADERS, selectors.movement_rows(moves))
    ctx = page(request, moves, size=100)
    ctx["rows"] = [(m, _source_link(m)) for m in ctx["page_obj"].object_list]
    S = Indicator.Status
    ctx.update(
        ind=ind, lineage=selectors.lineage(user=request.user, indicator=ind),
        class_names=selectors.class_names(ind),
        can_edit=ind.status == S.DRAFT and can(request.user, MANAGE),
        can_distribute=ind.status == S.UNDISTRIBUTED and can(request.user, DISTRIBUTE),
        can_confirm=ind.status == S.DISTRIBUTED and can(request.user, CONFIRM),
        can_adjust=ind.status in services.ADJUSTABLE and can(request.user, ADJUST),
    )
    return render(request, "indicators/indicator_detail.html", ctx)


@needs(MANAGE)
def indicator_create(request):
    form = forms.IndicatorForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            ind = services.create_indicator(user=request.user, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("指标已录入，请送审"))
            return redirect("indicators:detail", ind.pk)
    return render(request, "indicators/form.html", {"form": form, "title": _("录入指标"),
                                                    "cancel_url": reverse("indicators:list")})


@needs(MANAGE)
def indicator_edit(request, pk: int):
    ind = selectors.indicator_detail(user=request.user, indicator_id=pk, function=MANAGE)
    form = forms.IndicatorForm(request.POST or None, user=request.user, instance=ind)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_indicator(user=request.user, indicator_id=ind.pk, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("indicators:detail", ind.pk)
    return render(request, "indicators/form.html", {"form": form, "title": _("修改指标"),
                                                    "cancel_url": reverse("indicators:detail", args=[ind.pk])})


@require_POST
@needs(MANAGE)
def indicator_submit(request, pk: int):
    try:
        services.submit_indicator(user=request.user, indicator_id=pk, comment=request.POST.get("comment", ""))
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已送审"))
    return redirect("indicators:detail", pk)


@require_POST
@needs(MANAGE)
def indicator_delete(request, pk: int):
    try:
        services.delete_indicator(user=request.user, indicator_id=pk)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("indicators:detail", pk)
    messages.success(request, _("已删除"))
    return redirect("indicators:list")


@require_POST
@needs(CONFIRM)
def indicator_confirm(request, pk: int):
    try:
        services.confirm(user=request.user, indicator_id=pk)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("指标已确认，可以执行"))
    return redirect("indicators:detail", pk)


@needs(IMPORT)
def indicator_import(request):
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = [_("请选择 xlsx 文件")]
        else:
            try:
                result = services.import_indicators(user=request.user, file=upload)
            except DomainError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, _("导入完成：新增 %(c)s 条，已存在未变 %(u)s 条") % {
                    "c": result.created, "u": result.unchanged})
                return redirect("indicators:list")
    return render(request, "indicators/import.html", {"errors": errors, "columns": list(services.IMPORT_COLUMNS),
                                                      "required": [services._TITLES[k] for k in services.IMPORT_REQUIRED]})


@needs(DISTRIBUTE)
def indicator_distribute(request, pk: int):
    ind = selectors.indicator_detail(user=request.user, indicator_id=pk, function=DISTRIBUTE)
    agencies = forms.agencies_in(ind.region)
    errors: list[str] = []
    rows = [{"agency": "", "amount": "", "title": ""} for _i in range(5)]
    total = str(ind.available)
    if request.method == "POST":
        total = request.POST.get("total", "").strip()
        rows = [{"agency": a, "amount": m.strip(), "title": t.strip()} for a, m, t in zip(
            request.POST.getlist("agency"), request.POST.getlist("amount"), request.POST.getlist("title"),
            strict=False)]
        filled = [r for r in rows if r["agency"] or r["amount"]]
        splits = [services.Split(int(r["agency"]) if r["agency"].isdigit() else 0, r["amount"] or "0", r["title"])
                  for r in filled]
        try:
            services.distribute(user=request.user, indicator_id=ind.pk, splits=splits, total=total or None)
        except NotFound:
            raise
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("已分配 %(n)s 个单位") % {"n": len(splits)})
            return redirect("indicators:detail", ind.pk)
    return render(request, "indicators/distribute.html", {"ind": ind, "agencies": agencies, "rows": rows,
                                                          "total": total, "errors": errors})


# --- adjustments -------------------------------------------------------------------------------

@needs(ADJUST)
def adjustment_list(request):
    g = request.GET
    qs = selectors.adjustments_for(user=request.user, q=g.get("q", ""), status=g.get("status", ""),
                                   kind=g.get("kind", ""))
    if wants_export(request):
        rows = ([a.number, a.fiscal_year, a.region.code, a.get_kind_display(), a.reason, a.doc_no,
                 a.get_status_display(), a.total, a.created_by.name, a.created_at] for a in qs)
        headers = [_("调整单号"), _("预算年度"), _("财政区划"), _("调整类型"), _("调整原因"), _("调整文号"), _("状态"),
                   _("金额"), _("经办人"), _("创建时间")]
        return xlsx_response(_("指标调整单.xlsx"), headers, rows)
    ctx = page(request, qs)
    ctx.update(q=g.get("q", ""), status=g.get("status", ""), kind=g.get("kind", ""),
               statuses=Adjustment.Status.choices, kinds=Adjustment.Kind.choices)
    return render(request, "indicators/adjustment_list.html", ctx)


@needs(ADJUST)
def adjustment_create(request):
    kinds = [(k, label) for k, label in Adjustment.Kind.choices
             if can(request.user, services.kind_function(k))]
    kind = request.POST.get("kind") or request.GET.get("kind") or Adjustment.Kind.ADJUST_UP
    reason = request.POST.get("reason", "")
    doc_no = request.POST.get("doc_no", "")
    first = request.GET.get("indicator", "")
    rows = [{"indicator": first if i == 0 else "", "target": "", "amount": "", "note": ""} for i in range(5)]
    errors: list[str] = []
    if request.method == "POST":
        rows = [{"indicator": i.strip(), "target": t.strip(), "amount": a.strip(), "note": n.strip()}
                for i, t, a, n in zip(request.POST.getlist("indicator"), request.POST.getlist("target"),
                                      request.POST.getlist("amount"), request.POST.getlist("note"), strict=False)]
        filled = [r for r in rows if r["indicator"] or r["amount"]]
        codes = {r["indicator"] for r in filled} | {r["target"] for r in filled if r["target"]}
        ids = forms.indicator_ids_by_code(request.user, codes)
        lines = [services.LineInput(ids.get(r["indicator"], 0), r["amount"],
                                    ids.get(r["target"], 0) if r["target"] else None, r["note"]) for r in filled]
        try:
            adj = services.create_adjustment(user=request.user, kind=kind, reason=reason, doc_no=doc_no, lines=lines)
        except NotFound:
            raise
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("调整单已保存，请送审"))
            return redirect("indicators:adjustment", adj.pk)
    return render(request, "indicators/adjustment_form.html", {"kinds": kinds, "kind": kind, "reason": reason,
                                                               "doc_no": doc_no, "rows": rows, "errors": errors})


@needs(ADJUST)
def adjustment_detail(request, pk: int):
    adj = selectors.adjustment_detail(user=request.user, adjustment_id=pk)
    return render(request, "indicators/adjustment_detail.html", {
        "adj": adj, "lines": selectors.adjustment_lines(adjustment=adj),
        "can_submit": adj.status == Adjustment.Status.DRAFT and can(request.user, services.kind_function(adj.kind)),
    })


@require_POST
@needs(ADJUST)
def adjustment_submit(request, pk: int):
    action = request.POST.get("action", "submit")
    try:
        if action == "delete":
            services.delete_adjustment(user=request.user, adjustment_id=pk)
            messages.success(request, _("已删除"))
            return redirect("indicators:adjustments")
        services.submit_adjustment(user=request.user, adjustment_id=pk, comment=request.POST.get("comment", ""))
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已送审"))
    return redirect("indicators:adjustment", pk)


# --- execution summary -------------------------------------------------------------------------

@needs(EXECUTION_VIEW)
def execution(request):
    group = request.GET.get("group", "agency")
    if group not in selectors.EXECUTION_GROUPS:
        group = "agency"
    rows = selectors.execution_summary(user=request.user, fiscal_year=_year(request), group=group)
    if wants_export(request):
        return xlsx_response(_("预算执行情况.xlsx"), selectors.EXECUTION_HEADERS, selectors.execution_rows(rows))
    totals = {k: sum((r[k] for r in rows), start=services.ZERO) for k in ("budget", "frozen", "reserved", "paid",
                                                                         "available")}
    totals["rate"] = (totals["paid"] * 100 / totals["budget"]).quantize(services.Decimal("0.01")) \
        if totals["budget"] else services.ZERO
    groups = [("agency", _("按预算单位")), ("func", _("按功能分类")), ("fund_type", _("按资金性质"))]
    return render(request, "indicators/execution.html", {"rows": rows, "totals": totals, "group": group,
                                                         "groups": groups, "year": request.GET.get("year", "")})


# --- control rules -----------------------------------------------------------------------------

@needs(CONTROL_MANAGE)
def control_list(request):
    qs = selectors.control_rules_for(user=request.user, fiscal_year=_year(request))
    ctx = page(request, qs)
    ctx["year"] = request.GET.get("year", "")
    return render(request, "indicators/control_list.html", ctx)


@needs(CONTROL_MANAGE)
def control_edit(request, pk: int | None = None):
    rule = None
    if pk is not None:
        rule = selectors.control_rules_for(user=request.user).filter(pk=pk).first()
        if rule is None:
            raise Http404
    form = forms.ControlRuleForm(request.POST or None, user=request.user, instance=rule)
    if request.method == "POST":
        if request.POST.get("action") == "delete" and rule is not None:
            try:
                services.delete_control_rule(user=request.user, rule_id=rule.pk)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("已删除"))
            return redirect("indicators:controls")
        if form.is_valid():
            try:
                services.save_control_rule(user=request.user, data=form.to_input(),
                                           rule_id=rule.pk if rule else None)
            except DomainError as exc:
                _apply_error(form, exc)
            else:
                messages.success(request, _("已保存"))
                return redirect("indicators:controls")
    return render(request, "indicators/form.html", {
        "form": form, "title": _("修改控制规则") if rule else _("新增控制规则"),
        "cancel_url": reverse("indicators:controls"), "can_delete": rule is not None,
        "levels_help": ControlRule.Level.choices})


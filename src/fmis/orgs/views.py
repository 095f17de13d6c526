"""Organisation screens: lists (search, paging, xlsx export), details and maintenance forms.

Every read goes through ``fmis.orgs.selectors`` (the user's data scope); every write through
``fmis.orgs.services``. Objects that do not exist or lie outside the scope answer 404 alike.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.iam.permissions import can
from fmis.orgs import forms, selectors, services
from fmis.orgs.functions import (
    AGENCY_MANAGE,
    AGENCY_VIEW,
    BANK_MANAGE,
    BANK_VIEW,
    EXPORT,
    REGION_MANAGE,
    REGION_VIEW,
)
from fmis.orgs.models import Agency, Region
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response


def _export(request, filename: str, headers, rows):
    if not can(request.user, EXPORT):
        raise HttpForbidden(EXPORT)
    return xlsx_response(filename, headers, rows)


def _apply_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _render_form(request, form, *, title: str, cancel_url: str):
    return render(request, "orgs/form.html", {"form": form, "title": title, "cancel_url": cancel_url})


def _status_change(request, *, disable, enable, ids: dict[str, int], success_url: str):
    """POST action=disable|enable on one object, then back to its page with the outcome."""
    action = request.POST.get("action")
    fn = {"disable": disable, "enable": enable}.get(action)
    if fn is None:
        messages.error(request, _("未知的操作"))
        return redirect(success_url)
    try:
        fn(user=request.user, **ids)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已停用") if action == "disable" else _("已启用"))
    return redirect(success_url)


# --- regions -----------------------------------------------------------------------------------

@needs(REGION_VIEW)
def regions(request):
    q = request.GET.get("q", "").strip()
    level = request.GET.get("level", "")
    qs = selectors.regions_for(user=request.user, q=q, level=int(level) if level.isdigit() else None)
    if wants_export(request):
        return _export(request, _("财政区划.xlsx"), selectors.REGION_EXPORT_HEADERS, selectors.region_export_rows(qs))
    ctx = page(request, qs)
    ctx.update(q=q, level=level, levels=Region.Level.choices, can_manage=can(request.user, REGION_MANAGE),
               can_export=can(request.user, EXPORT))
    return render(request, "orgs/region_list.html", ctx)


@needs(REGION_VIEW)
def region_detail(request, pk: int):
    region = selectors.region_detail(user=request.user, region_id=pk)
    return render(request, "orgs/region_detail.html", {
        "region": region,
        "children": selectors.region_children(user=request.user, region=region),
        "agency_count": (selectors.agencies_for(user=request.user, region_code=region.code).count()
                         if can(request.user, AGENCY_VIEW) else None),
        "can_manage": selectors.in_scope(user=request.user, function=REGION_MANAGE, obj=region),
    })


@needs(REGION_MANAGE)
def region_create(request):
    parents = selectors.regions_for(user=request.user, active=True, function=REGION_MANAGE).filter(level__lte=2)
    form = forms.RegionForm(request.POST or None, parents=parents,
                            initial={"parent": request.GET.get("parent", "")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            region = services.create_region(user=request.user, code=d["code"], name=d["name"], level=d["level"],
                                            parent_code=d["parent"] or None,
                                            finance_department_name=d["finance_department"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("财政区划已新增"))
            return redirect("orgs:region_detail", pk=region.pk)
    return _render_form(request, form, title=_("新增财政区划"), cancel_url="orgs:regions")


@needs(REGION_MANAGE)
def region_edit(request, pk: int):
    region = selectors.region_detail(user=request.user, region_id=pk, function=REGION_MANAGE)
    dept = getattr(region, "finance_department", None)
    form = forms.RegionEditForm(request.POST or None,
                                initial={"name": region.name, "finance_department": dept.name if dept else ""})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_region(user=request.user, region_id=region.pk, name=form.cleaned_data["name"],
                                   finance_department_name=form.cleaned_data["finance_department"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("财政区划已保存"))
            return redirect("orgs:region_detail", pk=region.pk)
    return _render_form(request, form, title=_("修改财政区划") + f" {region.code}", cancel_url="orgs:regions")


@require_POST
@needs(REGION_MANAGE)
def region_status(request, pk: int):
    return _status_change(request, disable=services.disable_region, enable=services.enable_region,
                          ids={"region_id": pk},
                          success_url=reverse("orgs:region_detail", args=[pk]))


# --- agencies ----------------------------------------------------------------------------------

@needs(AGENCY_VIEW)
def agencies(request):
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    region_code = request.GET.get("region", "").strip()
    qs = selectors.agencies_for(user=request.user, q=q, region_code=region_code,
                                status=status if status in Agency.Status.values else "",
                                kind=kind if kind in Agency.Kind.values else "")
    if wants_export(request):
        return _export(request, _("预算单位.xlsx"), selectors.AGENCY_EXPORT_HEADERS, selectors.agency_export_rows(qs))
    ctx = page(request, qs)
    ctx.update(q=q, status=status, kind=kind, region=region_code, statuses=Agency.Status.choices,
               kinds=Agency.Kind.choices, can_manage=can(request.user, AGENCY_MANAGE),
               can_export=can(request.user, EXPORT))
    return render(request, "orgs/agency_list.html", ctx)


@needs(AGENCY_VIEW)
def agency_detail(request, pk: int):
    agency = selectors.agency_detail(user=request.user, agency_id=pk)
    subs = selectors.agency_subordinates(user=request.user, agency=agency)
    ctx = page(request, subs)
    ctx.update(agency=agency, can_manage=selectors.in_scope(user=request.user, function=AGENCY_MANAGE, obj=agency))
    return render(request, "orgs/agency_detail.html", ctx)


@needs(AGENCY_MANAGE)
def agency_create(request):
    regions_in_scope = selectors.regions_for(user=request.user, active=True, function=AGENCY_MANAGE)
    form = forms.AgencyForm(request.POST or None, regions=regions_in_scope,
                            initial={"parent": request.GET.get("parent", ""), "region": request.GET.get("region", "")})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            agency = services.create_agency(user=request.user, code=d["code"], name=d["name"],
                                            region_code=d["region"] or None, parent_code=d["parent"] or None,
                                            kind=d["kind"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("预算单位已新增"))
            return redirect("orgs:agency_detail", pk=agency.pk)
    return _render_form(request, form, title=_("新增预算单位"), cancel_url="orgs:agencies")


@needs(AGENCY_MANAGE)
def agency_edit(request, pk: int):
    agency = selectors.agency_detail(user=request.user, agency_id=pk, function=AGENCY_MANAGE)
    form = forms.AgencyEditForm(request.POST or None, initial={"name": agency.name, "kind": agency.kind})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_agency(user=request.user, agency_id=agency.pk, name=form.cleaned_data["name"],
                                   kind=form.cleaned_data["kind"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("预算单位已保存"))
            return redirect("orgs:agency_detail", pk=agency.pk)
    return _render_form(request, form, title=_("修改预算单位") + f" {agency.code}", cancel_url="orgs:agencies")


@require_POST
@needs(AGENCY_MANAGE)
def agency_status(request, pk: int):
    return _status_change(request, disable=services.disable_agency, enable=services.enable_agency,
                          ids={"agency_id": pk},
                          success_url=reverse("orgs:agency_detail", args=[pk]))


# --- banks and branches ------------------------------------------------------------------------

@needs(BANK_VIEW)
def banks(request):
    q = request.GET.get("q", "").strip()
    qs = selectors.banks_for(user=request.user, q=q)
    if wants_export(request):
        return _export(request, _("代理银行.xlsx"), selectors.BANK_EXPORT_HEADERS, selectors.bank_export_rows(qs))
    ctx = page(request, qs)
    ctx.update(q=q, can_manage=can(request.user, BANK_MANAGE), can_export=can(request.user, EXPORT))
    return render(request, "orgs/bank_list.html", ctx)


@needs(BANK_VIEW)
def bank_detail(request, pk: int):
    bank = selectors.bank_detail(user=request.user, bank_id=pk)
    q = request.GET.get("q", "").strip()
    ctx = page(request, selectors.branches_for(user=request.user, bank_id=bank.pk, q=q))
    ctx.update(bank=bank, q=q, can_manage=selectors.in_scope(user=request.user, function=BANK_MANAGE, obj=bank),
               can_export=can(request.user, EXPORT))
    return render(request, "orgs/bank_detail.html", ctx)


@needs(BANK_MANAGE)
def bank_create(request):
    form = forms.BankForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            bank = services.create_bank(user=request.user, code=d["code"], name=d["name"], is_agent=d["is_agent"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("银行已新增"))
            return redirect("orgs:bank_detail", pk=bank.pk)
    return _render_form(request, form, title=_("新增银行"), cancel_url="orgs:banks")


@needs(BANK_MANAGE)
def bank_edit(request, pk: int):
    bank = selectors.bank_detail(user=request.user, bank_id=pk, function=BANK_MANAGE)
    form = forms.BankEditForm(request.POST or None, initial={"name": bank.name, "is_agent": bank.is_agent})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_bank(user=request.user, bank_id=bank.pk, name=form.cleaned_data["name"],
                                 is_agent=form.cleaned_data["is_agent"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("银行已保存"))
            return redirect("orgs:bank_detail", pk=bank.pk)
    return _render_form(request, form, title=_("修改银行") + f" {bank.code}", cancel_url="orgs:banks")


@require_POST
@needs(BANK_MANAGE)
def bank_status(request, pk: int):
    return _status_change(request, disable=services.disable_bank, enable=services.enable_bank,
                          ids={"bank_id": pk},
                          success_url=reverse("orgs:bank_detail", args=[pk]))


@needs(BANK_VIEW)
def branches(request):
    q = request.GET.get("q", "").strip()
    region_code = request.GET.get("region", "").strip()
    bank = request.GET.get("bank", "")
    qs = selectors.branches_for(user=request.user, q=q, region_code=region_code,
                                bank_id=int(bank) if bank.isdigit() else None)
    if wants_export(request):
        return _export(request, _("银行网点.xlsx"), selectors.BRANCH_EXPORT_HEADERS, selectors.branch_export_rows(qs))
    ctx = page(request, qs)
    ctx.update(q=q, region=region_code, bank=bank, banks=selectors.banks_for(user=request.user),
               can_manage=can(request.user, BANK_MANAGE), can_export=can(request.user, EXPORT))
    return render(request, "orgs/branch_list.html", ctx)


@needs(BANK_VIEW)
def branch_detail(request, pk: int):
    branch = selectors.branch_detail(user=request.user, branch_id=pk)
    return render(request, "orgs/branch_detail.html",
                  {"branch": branch,
                   "can_manage": selectors.in_scope(user=request.user, function=BANK_MANAGE, obj=branch)})


@needs(BANK_MANAGE)
def branch_create(request, bank_pk: int):
    bank = selectors.bank_detail(user=request.user, bank_id=bank_pk, function=BANK_MANAGE)
    regions_in_scope = selectors.regions_for(user=request.user, active=True, function=BANK_MANAGE)
    form = forms.BranchForm(request.POST or None, regions=regions_in_scope)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            branch = services.create_branch(user=request.user, bank_code=bank.code, code=d["code"], name=d["name"],
                                            region_code=d["region"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("网点已新增"))
            return redirect("orgs:branch_detail", pk=branch.pk)
    return _render_form(request, form, title=_("新增网点") + f" · {bank.name}", cancel_url="orgs:banks")


@needs(BANK_MANAGE)
def branch_edit(request, pk: int):
    branch = selectors.branch_detail(user=request.user, branch_id=pk, function=BANK_MANAGE)
    regions_in_scope = selectors.regions_for(user=request.user, active=True, function=BANK_MANAGE)
    form = forms.BranchEditForm(request.POST or None, regions=regions_in_scope,
                                initial={"name": branch.name, "region": branch.region.code})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_branch(user=request.user, branch_id=branch.pk, name=form.cleaned_data["name"],
                                   region_code=form.cleaned_data["region"])
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("网点已保存"))
            return redirect("orgs:branch_detail", pk=branch.pk)
    return _render_form(request, form, title=_("修改网点") + f" {branch.code}", cancel_url="orgs:branches")


@require_POST
@needs(BANK_MANAGE)
def branch_status(request, pk: int):
    return _status_change(request, disable=services.disable_branch, enable=services.enable_branch,
                          ids={"branch_id": pk},
                          success_url=reverse("orgs:branch_detail", args=[pk]))

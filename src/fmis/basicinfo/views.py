"""Basic information screens: personnel, vehicles, assets and expenditure standards (lists with
search, paging and xlsx export; forms; imports), the agency-year submission with its review
panel, and the change history.

Reads go through ``fmis.basicinfo.selectors``, writes through ``fmis.basicinfo.services``; missing
and out-of-scope rows are 404 alike; a refused write shows its message on the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from fmis.basicinfo import forms, selectors, services
from fmis.basicinfo.functions import (
    ASSET_VIEW,
    HISTORY_VIEW,
    IMPORT,
    MANAGE,
    STANDARD_MANAGE,
    STANDARD_VIEW,
    SUBMISSION_VIEW,
    SUBMIT,
    VEHICLE_VIEW,
    VIEW,
)
from fmis.basicinfo.models import (
    Asset,
    ExpenditureStandard,
    InfoSubmission,
    PersonCategory,
    Personnel,
    Vehicle,
)
from fmis.iam.permissions import can
from fmis.platform.audit import diff
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.money import fmt
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _default_year() -> int:
    return timezone.localdate().year


def _apply_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    for e in exc.errors:
        form.add_error(None, e["message"])


def _list_page(request, qs, *, title: str, columns: list[str], row, export_name: str, buttons=(), filters=None,
               link_col: int = 4):
    """Render (or export) a restricted queryset with the shared list template."""
    columns = [_(c) for c in columns]
    if wants_export(request):
        return xlsx_response(f"{export_name}.xlsx", columns, (row(o)[1] for o in qs.iterator(chunk_size=2000)))
    ctx = page(request, qs)
    ctx.update(title=title, columns=columns, rows=[row(o) for o in ctx["page_obj"].object_list],
               q=request.GET.get("q", ""), year=request.GET.get("year", ""), buttons=buttons,
               filters=filters or [], link_col=link_col)
    return render(request, "basicinfo/list.html", ctx)


# --- personnel ----------------------------------------------------------------------------------

PERSON_COLUMNS = [gettext_noop("预算年度"), gettext_noop("单位编码"), gettext_noop("单位名称"), gettext_noop("姓名"), gettext_noop("身份证号"), gettext_noop("人员类别"), gettext_noop("职务"), gettext_noop("级别"), gettext_noop("状态"), gettext_noop("月工资合计")]


def _person_row(p: Personnel):
    monthly = sum((s.monthly_amount for s in p.salary_items.all()), start=0)
    return (reverse("basicinfo:person_edit", args=[p.pk]),
            [p.fiscal_year, p.agency.code, p.agency.name, p.name, p.id_number_masked, str(p.get_category_display()),
             p.post, p.grade, str(p.get_status_display()), fmt(monthly) if monthly else ""])


@needs(VIEW)
def personnel_list(request):
    g = request.GET
    category = g.get("category", "")
    qs = selectors.personnel(user=request.user, fiscal_year=_int(g.get("year")), q=g.get("q", "").strip(),
                             category=category)
    buttons = []
    if can(request.user, MANAGE):
        buttons.append((reverse("basicinfo:person_create"), _("新增人员")))
    if can(request.user, IMPORT):
        buttons.append((reverse("basicinfo:import", args=["personnel"]), _("导入")))
    filters = [("category", _("人员类别"), PersonCategory.choices, category)]
    return _list_page(request, qs, title=_("人员信息"), columns=PERSON_COLUMNS, row=_person_row,
                      export_name=_("人员信息"), buttons=buttons, filters=filters)


def _form_page(request, form, *, title: str, cancel: str, delete_url: str = ""):
    return render(request, "basicinfo/form.html", {"form": form, "title": title, "cancel_url": cancel,
                                                   "delete_url": delete_url})


@needs(MANAGE)
def person_create(request):
    initial = {"agency": getattr(request.user, "agency_id", None), "fiscal_year": _default_year()}
    form = forms.PersonForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_person(user=request.user, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("人员信息已保存"))
            return redirect("basicinfo:personnel")
    return _form_page(request, form, title=_("新增人员"), cancel=reverse("basicinfo:personnel"))


@needs(VIEW)
def person_edit(request, pk: int):
    person = selectors.person(user=request.user, person_id=pk)
    form = forms.PersonForm(request.POST or None, user=request.user, initial=forms.PersonForm.initial_for(person),
                            fixed=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_person(user=request.user, person_id=pk, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("人员信息已修改"))
            return redirect("basicinfo:personnel")
    title = _("人员 %(name)s（%(id)s）") % {"name": person.name, "id": person.id_number_masked}
    delete_url = reverse("basicinfo:person_delete", args=[pk]) if can(request.user, MANAGE) else ""
    return _form_page(request, form, title=title, cancel=reverse("basicinfo:personnel"), delete_url=delete_url)


def _delete(request, fn, ok: str, back: str, **kw):
    try:
        fn(user=request.user, **kw)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ok)
    return redirect(back)


@require_POST
@needs(MANAGE)
def person_delete(request, pk: int):
    return _delete(request, services.delete_person, _("人员信息已删除"), "basicinfo:personnel", person_id=pk)


# --- vehicles and assets ------------------------------------------------------------------------

VEHICLE_COLUMNS = [gettext_noop("预算年度"), gettext_noop("单位编码"), gettext_noop("单位名称"), gettext_noop("车牌号"), gettext_noop("车辆类型"), gettext_noop("品牌型号"), gettext_noop("购置日期"), gettext_noop("原值"), gettext_noop("状态")]


def _vehicle_row(v: Vehicle):
    return (reverse("basicinfo:vehicle_edit", args=[v.pk]),
            [v.fiscal_year, v.agency.code, v.agency.name, v.plate_no, str(v.get_vehicle_type_display()), v.brand,
             v.purchase_date.isoformat() if v.purchase_date else "", fmt(v.original_value),
             str(v.get_status_display())])


@needs(VEHICLE_VIEW)
def vehicle_list(request):
    g = request.GET
    qs = selectors.vehicles(user=request.user, fiscal_year=_int(g.get("year")), q=g.get("q", "").strip())
    buttons = []
    if can(request.user, MANAGE):
        buttons.append((reverse("basicinfo:vehicle_create"), _("新增车辆")))
    if can(request.user, IMPORT):
        buttons.append((reverse("basicinfo:import", args=["vehicles"]), _("导入")))
    return _list_page(request, qs, title=_("车辆信息"), columns=VEHICLE_COLUMNS, row=_vehicle_row,
                      export_name=_("车辆信息"), buttons=buttons)


@needs(MANAGE)
def vehicle_create(request):
    initial = {"agency": getattr(request.user, "agency_id", None), "fiscal_year": _default_year()}
    form = forms.VehicleForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_vehicle(user=request.user, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("车辆信息已保存"))
            return redirect("basicinfo:vehicles")
    return _form_page(request, form, title=_("新增车辆"), cancel=reverse("basicinfo:vehicles"))


@needs(VEHICLE_VIEW)
def vehicle_edit(request, pk: int):
    vehicle = selectors.vehicles(user=request.user).filter(pk=pk).first()
    if vehicle is None:
        raise NotFound("basicinfo.not_found", "车辆不存在")
    form = forms.VehicleForm(request.POST or None, user=request.user, initial=forms.VehicleForm.initial_for(vehicle),
                             fixed=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_vehicle(user=request.user, vehicle_id=pk, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("车辆信息已修改"))
            return redirect("basicinfo:vehicles")
    delete_url = reverse("basicinfo:vehicle_delete", args=[pk]) if can(request.user, MANAGE) else ""
    return _form_page(request, form, title=_("车辆 %(plate)s") % {"plate": vehicle.plate_no},
                      cancel=reverse("basicinfo:vehicles"), delete_url=delete_url)


@require_POST
@needs(MANAGE)
def vehicle_delete(request, pk: int):
    return _delete(request, services.delete_vehicle, _("车辆信息已删除"), "basicinfo:vehicles", vehicle_id=pk)


ASSET_COLUMNS = [gettext_noop("预算年度"), gettext_noop("单位编码"), gettext_noop("单位名称"), gettext_noop("资产编号"), gettext_noop("资产名称"), gettext_noop("资产分类"), gettext_noop("数量"), gettext_noop("原值"), gettext_noop("净值"), gettext_noop("状态")]


def _asset_row(a: Asset):
    return (reverse("basicinfo:asset_edit", args=[a.pk]),
            [a.fiscal_year, a.agency.code, a.agency.name, a.code, a.name, str(a.get_category_display()),
             f"{a.quantity.normalize()} {a.unit}".strip(), fmt(a.original_value), fmt(a.net_value),
             str(a.get_status_display())])


@needs(ASSET_VIEW)
def asset_list(request):
    g = request.GET
    qs = selectors.assets(user=request.user, fiscal_year=_int(g.get("year")), q=g.get("q", "").strip())
    buttons = []
    if can(request.user, MANAGE):
        buttons.append((reverse("basicinfo:asset_create"), _("新增资产")))
    if can(request.user, IMPORT):
        buttons.append((reverse("basicinfo:import", args=["assets"]), _("导入")))
    return _list_page(request, qs, title=_("资产信息"), columns=ASSET_COLUMNS, row=_asset_row,
                      export_name=_("资产信息"), buttons=buttons)


@needs(MANAGE)
def asset_create(request):
    initial = {"agency": getattr(request.user, "agency_id", None), "fiscal_year": _default_year(), "quantity": "1"}
    form = forms.AssetForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_asset(user=request.user, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("资产信息已保存"))
            return redirect("basicinfo:assets")
    return _form_page(request, form, title=_("新增资产"), cancel=reverse("basicinfo:assets"))


@needs(ASSET_VIEW)
def asset_edit(request, pk: int):
    asset = selectors.assets(user=request.user).filter(pk=pk).first()
    if asset is None:
        raise NotFound("basicinfo.not_found", "资产不存在")
    form = forms.AssetForm(request.POST or None, user=request.user, initial=forms.AssetForm.initial_for(asset),
                           fixed=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_asset(user=request.user, asset_id=pk, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("资产信息已修改"))
            return redirect("basicinfo:assets")
    delete_url = reverse("basicinfo:asset_delete", args=[pk]) if can(request.user, MANAGE) else ""
    return _form_page(request, form, title=_("资产 %(code)s %(name)s") % {"code": asset.code, "name": asset.name},
                      cancel=reverse("basicinfo:assets"), delete_url=delete_url)


@require_POST
@needs(MANAGE)
def asset_delete(request, pk: int):
    return _delete(request, services.delete_asset, _("资产信息已删除"), "basicinfo:assets", asset_id=pk)


# --- standards ----------------------------------------------------------------------------------

STANDARD_COLUMNS = [gettext_noop("区划"), gettext_noop("预算年度"), gettext_noop("标准名称"), gettext_noop("标准类别"), gettext_noop("计算依据"), gettext_noop("人员类别"), gettext_noop("单位类型"), gettext_noop("车辆类型"), gettext_noop("经济分类"),
                    gettext_noop("功能分类"), gettext_noop("定额"), gettext_noop("启用")]


def _standard_row(s: ExpenditureStandard):
    from fmis.orgs.models import Agency

    return (reverse("basicinfo:standard_edit", args=[s.pk]),
            [s.region.code, s.fiscal_year, s.name, str(s.get_kind_display()), str(s.get_basis_display()),
             str(s.get_person_category_display() or ""), str(Agency.Kind(s.agency_type).label) if s.agency_type else "",
             str(s.get_vehicle_type_display() or ""), s.eco_code, s.func_code or "", fmt(s.amount),
             _("是") if s.is_active else _("否")])


@needs(STANDARD_VIEW)
def standard_list(request):
    g = request.GET
    kind = g.get("kind", "")
    qs = selectors.standards(user=request.user, fiscal_year=_int(g.get("year")), q=g.get("q", "").strip(), kind=kind)
    buttons = []
    if can(request.user, STANDARD_MANAGE):
        buttons += [(reverse("basicinfo:standard_create"), _("新增标准")),
                    (reverse("basicinfo:import", args=["standards"]), _("导入"))]
    filters = [("kind", _("标准类别"), ExpenditureStandard.Kind.choices, kind)]
    return _list_page(request, qs, title=_("支出标准"), columns=STANDARD_COLUMNS, row=_standard_row,
                      export_name=_("支出标准"), buttons=buttons, filters=filters, link_col=3)


@needs(STANDARD_MANAGE)
def standard_create(request):
    initial = {"region": getattr(request.user, "region_id", None), "fiscal_year": _default_year()}
    form = forms.StandardForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_standard(user=request.user, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("支出标准已保存"))
            return redirect("basicinfo:standards")
    return _form_page(request, form, title=_("新增支出标准"), cancel=reverse("basicinfo:standards"))


@needs(STANDARD_VIEW)
def standard_edit(request, pk: int):
    std = selectors.standards(user=request.user).filter(pk=pk).first()
    if std is None:
        raise NotFound("basicinfo.not_found", "支出标准不存在")
    form = forms.StandardForm(request.POST or None, user=request.user, initial=forms.StandardForm.initial_for(std))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_standard(user=request.user, standard_id=pk, data=form.to_input())
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("支出标准已修改"))
            return redirect("basicinfo:standards")
    delete_url = reverse("basicinfo:standard_delete", args=[pk]) if can(request.user, STANDARD_MANAGE) else ""
    return _form_page(request, form, title=std.name, cancel=reverse("basicinfo:standards"), delete_url=delete_url)


@require_POST
@needs(STANDARD_MANAGE)
def standard_delete(request, pk: int):
    return _delete(request, services.delete_standard, _("支出标准已删除"), "basicinfo:standards", standard_id=pk)


# --- imports ------------------------------------------------------------------------------------

IMPORTS = {
    "personnel": (gettext_noop("导入人员信息"), services.PERSONNEL_COLUMNS, ["单位编码", "姓名", "身份证号"], "basicinfo:personnel", IMPORT),
    "vehicles": (gettext_noop("导入车辆信息"), services.VEHICLE_COLUMNS, ["单位编码", "车牌号"], "basicinfo:vehicles", IMPORT),
    "assets": (gettext_noop("导入资产信息"), services.ASSET_COLUMNS, ["单位编码", "资产编号", "资产名称", "资产分类"],
               "basicinfo:assets", IMPORT),
    "standards": (gettext_noop("导入支出标准"), services.STANDARD_COLUMNS, ["标准名称", "标准类别", "经济分类", "定额"],
                  "basicinfo:standards", STANDARD_MANAGE),
}


@needs(VIEW)
def import_view(request, kind: str):
    if kind not in IMPORTS:
        raise NotFound("basicinfo.not_found", "导入类型不存在")
    title, columns, required, back, function = IMPORTS[kind]
    if not can(request.user, function):
        raise NotFound("basicinfo.not_found", "导入类型不存在")
    errors: list[str] = []
    year = request.POST.get("fiscal_year") or str(_default_year())
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                errors = [_("请选择要导入的 xlsx 文件")]
                result = None
            elif kind == "personnel":
                result = services.import_personnel(user=request.user, file=upload, fiscal_year=year)
            elif kind == "vehicles":
                result = services.import_vehicles(user=request.user, file=upload, fiscal_year=year)
            elif kind == "assets":
                result = services.import_assets(user=request.user, file=upload, fiscal_year=year)
            else:
                result = services.import_standards(user=request.user, file=upload, fiscal_year=year,
                                                   region_id=getattr(request.user, "region_id", None))
        except DomainError as exc:
            errors = [e["message"] for e in exc.errors] if exc.errors else [exc.message]
            result = None
        if result is not None:
            messages.success(request, _("导入完成：新增 %(c)d 条，修改 %(u)d 条，未变 %(n)d 条") %
                             {"c": result.created, "u": result.updated, "n": result.unchanged})
            return redirect(back)
    return render(request, "basicinfo/import.html", {"title": _(title), "columns": list(columns), "required": required,
                                                     "errors": errors, "year": year, "cancel_url": reverse(back)})


# --- submissions and history --------------------------------------------------------------------

@needs(SUBMISSION_VIEW)
def submission_list(request):
    g = request.GET
    status = g.get("status", "")
    qs = selectors.submissions(user=request.user, fiscal_year=_int(g.get("year")), status=status,
                               q=g.get("q", "").strip())
    buttons = []
    if can(request.user, SUBMIT):
        buttons.append((reverse("basicinfo:submit"), _("送审本单位基础信息")))
    return _list_page(request, qs, title=_("基础信息报送"), columns=[gettext_noop("预算年度"), gettext_noop("单位编码"), gettext_noop("单位名称"), gettext_noop("状态"), gettext_noop("退回原因")],
                      export_name=_("基础信息报送"), buttons=buttons, link_col=3,
                      filters=[("status", _("状态"), InfoSubmission.Status.choices, status)],
                      row=lambda s: (reverse("basicinfo:submission", args=[s.pk]),
                                     [s.fiscal_year, s.agency.code, s.agency.name, str(s.get_status_display()),
                                      s.return_reason]))


@needs(SUBMISSION_VIEW)
def submission_detail(request, pk: int):
    sub = selectors.submission(user=request.user, submission_id=pk)
    ctx = {"sub": sub, "counts": selectors.year_counts(agency_id=sub.agency_id, fiscal_year=sub.fiscal_year),
           "categories": dict(PersonCategory.choices),
           "can_history": can(request.user, HISTORY_VIEW)}
    return render(request, "basicinfo/submission_detail.html", ctx)


@needs(SUBMIT)
def submit_view(request):
    agencies = forms.agency_choices(request.user, SUBMIT)
    if request.method == "POST":
        try:
            sub = services.submit_year(user=request.user, agency_id=_int(request.POST.get("agency")),
                                       fiscal_year=_int(request.POST.get("fiscal_year")),
                                       comment=request.POST.get("comment", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("基础信息已送审"))
            return redirect("basicinfo:submission", sub.pk)
    return render(request, "basicinfo/submit.html", {"agencies": agencies, "year": _default_year()})


@needs(HISTORY_VIEW)
def history(request):
    g = request.GET
    agencies = forms.agency_choices(request.user, HISTORY_VIEW)
    agency_id = _int(g.get("agency")) or (agencies[0][0] if agencies else None)
    year = _int(g.get("year")) or _default_year()
    ctx = {"agencies": agencies, "agency_id": agency_id, "year": year, "rows": []}
    if agency_id:
        ctx.update(page(request, selectors.history(user=request.user, agency_id=agency_id, fiscal_year=year), size=50))
        ctx["rows"] = [(r, [d for d in diff(r) if d["changed"]]) for r in ctx["page_obj"].object_list]
    return render(request, "basicinfo/history.html", ctx)

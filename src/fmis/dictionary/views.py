"""Data dictionary screens: parse the request, call a selector or service, render."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fmis.dictionary import filters, selectors, services
from fmis.dictionary.functions import (
    ELEMENT_MANAGE,
    ELEMENT_VIEW,
    PRELOAD,
    VALUE_EXPORT,
    VALUE_IMPORT,
    VALUE_MANAGE,
    VALUE_RESTRUCTURE,
    VERSION_MANAGE,
    VIEW_MANAGE,
    VIEW_VIEW,
)
from fmis.dictionary.models import DataElement, Status
from fmis.iam.permissions import can
from fmis.platform.errors import DomainError, NotFound
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response

FILTER_ROWS = 6


def _perms(user) -> dict[str, bool]:
    return {"element_manage": can(user, ELEMENT_MANAGE), "value_manage": can(user, VALUE_MANAGE),
            "value_import": can(user, VALUE_IMPORT), "value_export": can(user, VALUE_EXPORT),
            "restructure": can(user, VALUE_RESTRUCTURE), "version_manage": can(user, VERSION_MANAGE),
            "view_manage": can(user, VIEW_MANAGE), "preload": can(user, PRELOAD), "view_view": can(user, VIEW_VIEW)}


def _error(request, exc: DomainError) -> None:
    messages.error(request, exc.message)


def _post_bool(request, name: str) -> bool:
    return request.POST.get(name) in ("1", "on", "true", "yes")


# --------------------------------------------------------------------------- elements

ELEMENT_HEADERS = [gettext_lazy("编码"), gettext_lazy("名称"), gettext_lazy("数据项分类"), gettext_lazy("数据类型"),
                   gettext_lazy("数据长度"), gettext_lazy("小数位数"), gettext_lazy("编码格式类型"), gettext_lazy("编码格式"),
                   gettext_lazy("要素"), gettext_lazy("状态"), gettext_lazy("启用日期"), gettext_lazy("停用日期"),
                   gettext_lazy("值集由数据字典维护"), gettext_lazy("值集为系统预设"), gettext_lazy("系统预设"),
                   gettext_lazy("说明")]


def _yes(v: bool) -> str:
    return _("是") if v else _("否")


@needs(ELEMENT_VIEW)
def elements(request):
    qs = selectors.elements_for(user=request.user, q=request.GET.get("q", ""), status=request.GET.get("status", ""))
    if wants_export(request):
        rows = ([e.code, e.name, e.category.name if e.category_id else "", e.get_data_type_display(), e.length,
                 e.decimals, e.get_code_format_type_display(), e.code_format, _yes(e.is_element),
                 e.get_status_display(), e.valid_from, e.valid_to, _yes(e.maintained_in_dictionary),
                 _yes(e.values_preset), _yes(e.is_preset), e.description] for e in qs)
        return xlsx_response(_("数据项.xlsx"), ELEMENT_HEADERS, rows, sheet=_("数据项"))
    return render(request, "dictionary/elements.html", {
        **page(request, qs), "q": request.GET.get("q", ""), "status": request.GET.get("status", ""),
        "perms": _perms(request.user), "statuses": Status.choices})


def _element_form_data(request) -> dict:
    p = request.POST
    return {
        "code": p.get("code", ""), "name": p.get("name", ""), "category_code": p.get("category_code", ""),
        "data_type": p.get("data_type", "V"), "length": p.get("length", ""), "decimals": p.get("decimals", ""),
        "code_format_type": p.get("code_format_type", "0"), "code_format": p.get("code_format", ""),
        "is_element": _post_bool(request, "is_element"), "status": p.get("status", "0"),
        "valid_from": p.get("valid_from", ""), "valid_to": p.get("valid_to", ""),
        "description": p.get("description", ""),
        "maintained_in_dictionary": _post_bool(request, "maintained_in_dictionary"),
        "values_preset": _post_bool(request, "values_preset"),
    }


def _element_form_context(request, *, element=None, form=None, error=None) -> dict:
    return {"element": element, "form": form or {}, "error": error,
            "data_types": DataElement.DataType.choices, "format_types": DataElement.CodeFormatType.choices,
            "statuses": Status.choices,
            "categories": selectors.values(services.CATEGORY_ELEMENT)}


@needs(ELEMENT_MANAGE)
def element_create(request):
    if request.method == "POST":
        data = _element_form_data(request)
        try:
            element = services.create_element(user=request.user, **data)
        except DomainError as exc:
            return render(request, "dictionary/element_form.html",
                          _element_form_context(request, form=data, error=exc), status=400)
        messages.success(request, _("数据项已保存"))
        return redirect("dictionary:element", code=element.code)
    return render(request, "dictionary/element_form.html",
                  _element_form_context(request, form={"data_type": "V", "code_format_type": "0", "status": "0",
                                                       "maintained_in_dictionary": True}))


@needs(ELEMENT_MANAGE)
def element_edit(request, code):
    element = selectors.element_for(user=request.user, code=code)
    if request.method == "POST":
        data = _element_form_data(request)
        try:
            element = services.update_element(user=request.user, code=code, **data)
        except DomainError as exc:
            return render(request, "dictionary/element_form.html",
                          _element_form_context(request, element=element, form=data, error=exc), status=400)
        messages.success(request, _("数据项已保存"))
        return redirect("dictionary:element", code=element.code)
    form = {f: getattr(element, f) for f in ("code", "name", "data_type", "length", "decimals", "code_format_type",
                                             "code_format", "is_element", "status", "valid_from", "valid_to",
                                             "description", "maintained_in_dictionary", "values_preset")}
    form["category_code"] = element.category.code if element.category_id else ""
    return render(request, "dictionary/element_form.html", _element_form_context(request, element=element, form=form))


@require_POST
@needs(ELEMENT_MANAGE)
def element_delete(request, code):
    selectors.element_for(user=request.user, code=code)
    try:
        services.delete_element(user=request.user, code=code)
    except DomainError as exc:
        _error(request, exc)
        return redirect("dictionary:element", code=code)
    messages.success(request, _("数据项已删除"))
    return redirect("dictionary:elements")


@needs(ELEMENT_VIEW)
def element_detail(request, code):
    element = selectors.element_for(user=request.user, code=code)
    qs = selectors.values_for(user=request.user, element=element, q=request.GET.get("q", ""),
                              status=request.GET.get("status", ""))
    return render(request, "dictionary/element_detail.html", {
        "element": element, **page(request, qs, size=100), "q": request.GET.get("q", ""),
        "status": request.GET.get("status", ""), "statuses": Status.choices, "perms": _perms(request.user),
        "version_field_choices": list(services.VERSION_FIELDS.items()),
        "views": selectors.views_for(user=request.user, source=element) if can(request.user, VIEW_VIEW) else [],
    })


@require_POST
@needs(VERSION_MANAGE)
def element_version_fields(request, code):
    selectors.element_for(user=request.user, code=code)
    try:
        services.set_version_fields(user=request.user, element_code=code, fields=request.POST.getlist("fields"))
        messages.success(request, _("版本变更字段已保存"))
    except DomainError as exc:
        _error(request, exc)
    return redirect("dictionary:element", code=code)


@require_POST
@needs(PRELOAD)
def preload(request):
    try:
        counts = services.preload_standard(user=request.user)
        messages.success(request, _("标准值集已装载：新增数据项 %(e)s 个，新增值 %(v)s 个，已存在值 %(k)s 个")
                         % {"e": counts["elements_created"], "v": counts["values_created"],
                            "k": counts["values_existing"]})
    except DomainError as exc:
        _error(request, exc)
    return redirect("dictionary:elements")


# --------------------------------------------------------------------------- values

def _value_form_data(request) -> dict:
    p = request.POST
    return {"code": p.get("code", ""), "name": p.get("name", ""), "parent_code": p.get("parent_code", ""),
            "status": p.get("status", "0"), "valid_from": p.get("valid_from", ""), "valid_to": p.get("valid_to", ""),
            "note": p.get("note", ""), "sort_order": p.get("sort_order", "0") or "0"}


@needs(VALUE_MANAGE)
def value_create(request, code):
    element = selectors.element_for(user=request.user, code=code)
    form = {"status": "0", "parent_code": request.GET.get("parent", ""), "sort_order": 0}
    if request.method == "POST":
        form = _value_form_data(request)
        try:
            services.add_value(user=request.user, element_code=code, **form)
        except DomainError as exc:
            return render(request, "dictionary/value_form.html",
                          {"element": element, "form": form, "error": exc, "statuses": Status.choices}, status=400)
        messages.success(request, _("已增加值 %(code)s") % {"code": form["code"]})
        if request.POST.get("again"):
            return redirect(reverse("dictionary:value_create", args=[code]) + f"?parent={form['parent_code']}")
        return redirect("dictionary:element", code=code)
    return render(request, "dictionary/value_form.html", {"element": element, "form": form, "statuses": Status.choices})


@needs(VALUE_MANAGE)
def value_edit(request, code, pk):
    element = selectors.element_for(user=request.user, code=code)
    value = selectors.value_for(user=request.user, value_id=pk)
    if value.element_id != element.pk:
        raise NotFound("dictionary.value.not_found", "数据项值不存在")
    if request.method == "POST":
        form = _value_form_data(request)
        form.pop("parent_code")
        try:
            services.update_value(user=request.user, value_id=pk, **form)
        except DomainError as exc:
            return render(request, "dictionary/value_form.html",
                          {"element": element, "value": value, "form": form, "error": exc,
                           "statuses": Status.choices}, status=400)
        messages.success(request, _("值已保存"))
        return redirect("dictionary:element", code=code)
    form = {"code": value.code, "name": value.name, "status": value.status, "valid_from": value.valid_from,
            "valid_to": value.valid_to, "note": value.note, "sort_order": value.sort_order,
            "parent_code": value.parent.code if value.parent_id else ""}
    return render(request, "dictionary/value_form.html", {
        "element": element, "value": value, "form": form, "statuses": Status.choices,
        "versions": selectors.versions_for(user=request.user, element=element, value_id=value.pk),
        "links": selectors.links_of(user=request.user, value=value)})


@require_POST
@needs(VALUE_MANAGE)
def value_status(request, code, pk):
    selectors.value_for(user=request.user, value_id=pk)
    try:
        services.set_value_status(user=request.user, value_id=pk, status=request.POST.get("status", ""))
        messages.success(request, _("状态已修改"))
    except DomainError as exc:
        _error(request, exc)
    return redirect(request.POST.get("next") or reverse("dictionary:element", args=[code]))


@require_POST
@needs(VALUE_MANAGE)
def value_delete(request, code, pk):
    selectors.value_for(user=request.user, value_id=pk)
    try:
        services.delete_value(user=request.user, value_id=pk)
        messages.success(request, _("值已删除"))
    except DomainError as exc:
        _error(request, exc)
    return redirect(request.POST.get("next") or reverse("dictionary:element", args=[code]))


# The import layout's columns keep their Chinese titles (the import matches on them); the rest follow the language.
EXPORT_HEADERS = services.IMPORT_HEADERS + [gettext_lazy("级次"), gettext_lazy("是否末级"), gettext_lazy("系统预设")]


def export_response(user, element: DataElement, ids: str | list[str]):
    """The xlsx of a value set (all values, or the selected ids), in the import layout."""
    if isinstance(ids, str):
        ids = [i for i in ids.split(",") if i.strip()]
    id_list = [int(i) for i in ids if str(i).strip().isdigit()] if ids else None
    qs = selectors.values_for(user=user, element=element, ids=id_list)
    rows = ([v.code, v.name, v.parent.code if v.parent_id else "", f"{v.status}-{v.get_status_display()}",
             v.valid_from, v.valid_to, v.note, v.level, _yes(v.is_leaf), _yes(v.is_preset)] for v in qs)
    return xlsx_response(f"{element.code}_{element.name}.xlsx", EXPORT_HEADERS, rows, sheet=element.code)


@needs(VALUE_EXPORT)
def value_export(request, code):
    element = selectors.element_for(user=request.user, code=code)
    return export_response(request.user, element, request.GET.getlist("ids") or request.GET.get("id_list", ""))


@needs(VALUE_IMPORT)
def value_template(request, code):
    element = selectors.element_for(user=request.user, code=code)
    return xlsx_response(f"{element.code}_{_('导入模板')}.xlsx", services.IMPORT_HEADERS, [], sheet=element.code)


@needs(VALUE_IMPORT)
def value_import(request, code):
    element = selectors.element_for(user=request.user, code=code)
    ctx = {"element": element, "headers": services.IMPORT_HEADERS}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            ctx["error"] = _("请选择要导入的 xlsx 文件")
            return render(request, "dictionary/import.html", ctx, status=400)
        try:
            result = services.import_values(user=request.user, element_code=code, file=upload)
        except DomainError as exc:
            ctx.update(error=exc.message, line_errors=exc.errors)
            return render(request, "dictionary/import.html", ctx, status=400)
        messages.success(request, _("导入完成：新增 %(c)s 条，修改 %(u)s 条，未变化 %(n)s 条")
                         % {"c": result["created"], "u": result["updated"], "n": result["unchanged"]})
        return redirect("dictionary:element", code=code)
    return render(request, "dictionary/import.html", ctx)


# --------------------------------------------------------------------------- versions, merge, split

@needs(ELEMENT_VIEW)
def versions(request, code):
    element = selectors.element_for(user=request.user, code=code)
    qs = selectors.versions_for(user=request.user, element=element)
    return render(request, "dictionary/versions.html", {
        "element": element, **page(request, qs), "perms": _perms(request.user),
        "labels": services.VERSION_FIELDS,
        "restructures": selectors.restructures_for(user=request.user, element=element)[:50]})


@require_POST
@needs(VERSION_MANAGE)
def version_delete(request, code, pk):
    selectors.element_for(user=request.user, code=code)
    try:
        services.delete_version(user=request.user, version_id=pk)
        messages.success(request, _("历史版本已删除"))
    except DomainError as exc:
        _error(request, exc)
    return redirect("dictionary:versions", code=code)


def _codes(text: str) -> list[str]:
    return [c for c in text.replace("，", ",").replace("\n", ",").replace(" ", ",").split(",") if c.strip()]


@needs(VALUE_RESTRUCTURE)
def merge(request, code):
    element = selectors.element_for(user=request.user, code=code)
    form = {"sources": request.GET.get("sources", "")}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in ("sources", "target_code", "target_name", "note")}
        try:
            services.merge_values(user=request.user, element_code=code, source_codes=_codes(form["sources"]),
                                  target_code=form["target_code"], target_name=form["target_name"], note=form["note"])
        except DomainError as exc:
            return render(request, "dictionary/restructure.html",
                          {"element": element, "kind": "merge", "form": form, "error": exc}, status=400)
        messages.success(request, _("合并完成"))
        return redirect("dictionary:versions", code=code)
    return render(request, "dictionary/restructure.html", {"element": element, "kind": "merge", "form": form})


@needs(VALUE_RESTRUCTURE)
def split(request, code):
    element = selectors.element_for(user=request.user, code=code)
    form = {"source": request.GET.get("source", "")}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in ("source", "targets", "note")}
        targets = []
        for line in form["targets"].splitlines():
            line = line.strip()
            if line:
                c, _sep, n = line.replace("\t", " ").partition(" ")
                targets.append((c.strip(), n.strip()))
        try:
            services.split_value(user=request.user, element_code=code, source_code=form["source"], targets=targets,
                                 note=form["note"])
        except DomainError as exc:
            return render(request, "dictionary/restructure.html",
                          {"element": element, "kind": "split", "form": form, "error": exc}, status=400)
        messages.success(request, _("拆分完成"))
        return redirect("dictionary:versions", code=code)
    return render(request, "dictionary/restructure.html", {"element": element, "kind": "split", "form": form})


# --------------------------------------------------------------------------- views (数据项视图)

@needs(VIEW_VIEW)
def views_list(request):
    qs = selectors.views_for(user=request.user, q=request.GET.get("q", ""))
    if wants_export(request):
        rows = ([v.code, v.name, v.source.code, _yes(v.is_element), v.get_status_display(), v.valid_from, v.valid_to,
                 filters.describe(v.filter), v.description] for v in qs)
        headers = [_("编码"), _("名称"), _("来源数据项"), _("要素"), _("状态"), _("启用日期"), _("停用日期"),
                   _("筛选条件"), _("说明")]
        return xlsx_response(_("数据项视图.xlsx"), headers, rows, sheet=_("数据项视图"))
    return render(request, "dictionary/views.html", {**page(request, qs), "q": request.GET.get("q", ""),
                                                     "perms": _perms(request.user)})


def _filter_rows(expr: dict | None) -> tuple[str, list[dict], str]:
    """(logic, rows, json) for the editor: simple one-level filters become rows, others stay JSON."""
    empty = [{} for _ in range(FILTER_ROWS)]
    if not expr:
        return "and", empty, ""
    nodes, logic = [expr], "and"
    if expr.get("logic") in ("and", "or"):
        nodes, logic = expr["items"], expr["logic"]
    rows = []
    for n in nodes:
        negate = n.get("logic") == "not"
        cond = n["item"] if negate else n
        if "field" not in cond or len(rows) >= FILTER_ROWS:
            return "and", empty, json.dumps(expr, ensure_ascii=False, indent=1)
        value = ",".join(cond["value"]) if isinstance(cond["value"], list) else cond["value"]
        rows.append({"field": cond["field"], "op": cond["op"], "value": value, "value2": cond.get("value2", ""),
                     "not": negate})
    rows += [{} for _ in range(FILTER_ROWS - len(rows))]
    return logic, rows, ""


def _filter_from_post(request) -> dict | None:
    text = request.POST.get("filter_json", "").strip()
    if text:
        try:
            return json.loads(text)
        except ValueError as exc:
            from fmis.platform.errors import ValidationFailed

            raise ValidationFailed("dictionary.view.bad_json", f"筛选条件（JSON）格式不正确：{exc}",
                                   field="filter") from None
    items = []
    for i in range(FILTER_ROWS):
        field = request.POST.get(f"field_{i}", "")
        if not field:
            continue
        cond = {"field": field, "op": request.POST.get(f"op_{i}", ""), "value": request.POST.get(f"value_{i}", "")}
        if request.POST.get(f"value2_{i}", ""):
            cond["value2"] = request.POST.get(f"value2_{i}", "")
        items.append({"logic": "not", "item": cond} if request.POST.get(f"not_{i}") else cond)
    if not items:
        return None
    return {"logic": request.POST.get("logic", "and"), "items": items}


def _view_form_context(request, *, view=None, form=None, error=None, preview=None, preview_count=0) -> dict:
    form = form or {}
    logic, rows, json_text = _filter_rows(form.get("filter"))
    if form.get("filter_json"):
        json_text = form["filter_json"]
    return {"view": view, "form": form, "error": error, "statuses": Status.choices, "logic": logic,
            "rows": rows, "filter_json": json_text, "fields": filters.FIELDS.values(),
            "operators": [(k, v[0]) for k, v in filters.OPERATORS.items()],
            "sources": selectors.elements_for(user=request.user).filter(data_type="V", status=Status.NORMAL),
            "preview": preview, "preview_count": preview_count}


def _view_form(request, view=None):
    if request.method != "POST":
        form = {"status": "0"}
        if view is not None:
            form = {"code": view.code, "name": view.name, "source_code": view.source.code,
                    "is_element": view.is_element, "status": view.status, "valid_from": view.valid_from,
                    "valid_to": view.valid_to, "description": view.description, "filter": view.filter}
        return render(request, "dictionary/view_form.html", _view_form_context(request, view=view, form=form))
    p = request.POST
    form = {"code": p.get("code", ""), "name": p.get("name", ""), "source_code": p.get("source_code", ""),
            "is_element": _post_bool(request, "is_element"), "status": p.get("status", "0"),
            "valid_from": p.get("valid_from", ""), "valid_to": p.get("valid_to", ""),
            "description": p.get("description", "")}
    try:
        form["filter"] = filters.normalize(_filter_from_post(request))
        if p.get("action") == "preview":
            qs = selectors.preview_view_values(user=request.user, source_code=form["source_code"], expr=form["filter"])
            return render(request, "dictionary/view_form.html",
                          _view_form_context(request, view=view, form=form, preview=list(qs[:200]),
                                             preview_count=qs.count()))
        if view is None:
            saved = services.create_view(user=request.user, **form)
        else:
            saved = services.update_view(user=request.user, code=view.code, **form)
    except DomainError as exc:
        form.setdefault("filter", None)
        form["filter_json"] = p.get("filter_json", "")
        return render(request, "dictionary/view_form.html",
                      _view_form_context(request, view=view, form=form, error=exc), status=400)
    messages.success(request, _("数据项视图已保存"))
    return redirect("dictionary:view", code=saved.code)


@needs(VIEW_MANAGE)
def view_create(request):
    return _view_form(request)


@needs(VIEW_VIEW)
def view_detail(request, code):
    view = selectors.view_for(user=request.user, code=code)
    if request.method == "POST" or request.GET.get("edit"):
        if not can(request.user, VIEW_MANAGE):
            raise HttpForbidden(VIEW_MANAGE)
        return _view_form(request, view)
    qs = selectors.view_values_for(user=request.user, view=view, q=request.GET.get("q", ""))
    return render(request, "dictionary/view_detail.html", {
        "view": view, "filter_text": filters.describe(view.filter), **page(request, qs, size=100),
        "q": request.GET.get("q", ""), "perms": _perms(request.user)})


@require_POST
@needs(VIEW_MANAGE)
def view_delete(request, code):
    selectors.view_for(user=request.user, code=code)
    try:
        services.delete_view(user=request.user, code=code)
    except DomainError as exc:
        _error(request, exc)
        return redirect("dictionary:view", code=code)
    messages.success(request, _("数据项视图已删除"))
    return redirect("dictionary:views")


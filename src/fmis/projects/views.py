"""Project library screens: the project list (search, paging, xlsx export), declaration and edit,
the project page (plans, performance targets, library years, review panel, attachments, history),
import, transfer-payment projects and the yearly reserve with roll-over.

Reads go through ``fmis.projects.selectors``, writes through ``fmis.projects.services``; missing
and out-of-scope objects are 404 alike; a refused write shows its message on the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from fmis.iam.permissions import can
from fmis.platform.audit import diff
from fmis.platform.errors import DomainError
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response
from fmis.projects import forms, selectors, services
from fmis.projects.functions import (
    IMPORT,
    LIBRARY_MANAGE,
    LIBRARY_VIEW,
    MANAGE,
    SUBMIT,
    TERMINATE,
    TRANSFER_VIEW,
    VIEW,
)
from fmis.projects.models import LibraryEntry, Project

EXPORT_HEADERS = [gettext_noop("项目代码"), gettext_noop("项目名称"), gettext_noop("项目单位"), gettext_noop("项目类别"), gettext_noop("支出功能分类"), gettext_noop("起始年度"), gettext_noop("结束年度"), gettext_noop("项目总额"), gettext_noop("状态"),
                  gettext_noop("转移支付"), gettext_noop("下级区划"), gettext_noop("项目标签")]
LIBRARY_HEADERS = [gettext_noop("项目库年度"), gettext_noop("项目代码"), gettext_noop("项目名称"), gettext_noop("项目单位"), gettext_noop("项目类别"), gettext_noop("本年计划数"), gettext_noop("剩余计划数"), gettext_noop("状态"),
                   gettext_noop("纳入预算金额")]


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _export_rows(qs):
    for p in qs.iterator(chunk_size=2000):
        yield [p.code, p.name, f"{p.agency.code} {p.agency.name}", f"{p.category_id} {p.category.name}", p.func_code,
               p.start_year, p.end_year, p.total_amount, str(p.get_status_display()), _("是") if p.is_transfer else "",
               p.target_region.code if p.target_region_id else "", ",".join(p.tags)]


def _list(request, *, transfer: bool | None, template: str, title: str, received=None):
    g = request.GET
    filters = {"q": g.get("q", "").strip(), "status": g.get("status", ""), "category": g.get("category", "").strip(),
               "tag": g.get("tag", "").strip()}
    qs = selectors.projects_for(user=request.user, year=_int(g.get("year")), transfer=transfer, **filters)
    if wants_export(request):
        return xlsx_response(f"{title}.xlsx", [_(h) for h in EXPORT_HEADERS], _export_rows(qs))
    ctx = page(request, qs)
    ctx.update(filters, year=g.get("year", ""), statuses=Project.Status.choices, title=title,
               categories=selectors.categories(), can_manage=can(request.user, MANAGE),
               can_import=can(request.user, IMPORT), received=received)
    return render(request, template, ctx)


@needs(VIEW)
def project_list(request):
    return _list(request, transfer=None, template="projects/project_list.html", title=_("项目申报"))


@needs(TRANSFER_VIEW)
def transfer_list(request):
    received = selectors.transfers_received(user=request.user)[:200]
    return _list(request, transfer=True, template="projects/project_list.html", title=_("转移支付项目"),
                 received=received)


def _save(request, form, *, project=None):
    try:
        data = form.to_input()
        if project is None:
            return services.create_project(user=request.user, data=data)
        return services.update_project(user=request.user, project_id=project.pk, data=data)
    except DomainError as exc:
        if not form.errors:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        for e in exc.errors:
            form.add_error(None, e["message"])
        return None


@needs(MANAGE)
def project_create(request):
    initial = {"agency": getattr(request.user, "agency_id", None)}
    form = forms.ProjectForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        project = _save(request, form)
        if project is not None:
            messages.success(request, _("项目已保存（项目代码 %(code)s），请送审") % {"code": project.code})
            return redirect("projects:detail", project.pk)
    return render(request, "projects/form.html", {"form": form, "title": _("项目申报"),
                                                  "cancel_url": reverse("projects:list")})


@needs(MANAGE)
def project_edit(request, pk: int):
    project = selectors.project_detail(user=request.user, project_id=pk, function=MANAGE)
    if not project.editable:
        messages.error(request, _("项目 %(code)s 当前状态为“%(status)s”，不能修改") %
                       {"code": project.code, "status": project.get_status_display()})
        return redirect("projects:detail", pk)
    initial = forms.ProjectForm.initial_for(project)
    form = forms.ProjectForm(request.POST or None, user=request.user, initial=initial, fixed_agency=True)
    if request.method == "POST" and form.is_valid() and _save(request, form, project=project) is not None:
        messages.success(request, _("项目已修改"))
        return redirect("projects:detail", pk)
    return render(request, "projects/form.html", {"form": form, "title": _("修改项目 %(code)s") % {"code": project.code},
                                                  "cancel_url": reverse("projects:detail", args=[pk])})


@needs(VIEW)
def project_detail(request, pk: int):
    project = selectors.project_detail(user=request.user, project_id=pk)
    ctx = {
        "p": project, "plans": project.plans.order_by("year"), "targets": project.performance_targets.order_by("pk"),
        "entries": project.library_entries.order_by("library_year"),
        "can_edit": project.editable and can(request.user, MANAGE),
        "can_submit": project.editable and can(request.user, SUBMIT),
        "can_delete": project.status == Project.Status.DRAFT and project.submitted_at is None
        and can(request.user, MANAGE),
        "can_terminate": project.status in (Project.Status.RESERVED, Project.Status.SCHEDULED)
        and can(request.user, TERMINATE),
        "terminate_form": forms.ReasonForm(),
    }
    return render(request, "projects/project_detail.html", ctx)


def _act(request, pk: int, fn, ok: str, **kw):
    try:
        fn(user=request.user, project_id=pk, **kw)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ok)


@require_POST
@needs(SUBMIT)
def project_submit(request, pk: int):
    _act(request, pk, services.submit_project, _("项目已送审"), comment=request.POST.get("comment", ""))
    return redirect("projects:detail", pk)


@require_POST
@needs(TERMINATE)
def project_terminate(request, pk: int):
    _act(request, pk, services.terminate_project, _("项目已终止"), reason=request.POST.get("reason", ""))
    return redirect("projects:detail", pk)


@require_POST
@needs(MANAGE)
def project_delete(request, pk: int):
    try:
        services.delete_project(user=request.user, project_id=pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("projects:detail", pk)
    messages.success(request, _("项目已删除"))
    return redirect("projects:list")


@needs(VIEW)
def project_history(request, pk: int):
    project = selectors.project_detail(user=request.user, project_id=pk)
    ctx = page(request, selectors.history(user=request.user, project_id=pk), size=50)
    ctx["rows"] = [(r, [d for d in diff(r) if d["changed"]]) for r in ctx["page_obj"].object_list]
    ctx["p"] = project
    return render(request, "projects/history.html", ctx)


@needs(IMPORT)
def project_import(request):
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = [_("请选择要导入的 xlsx 文件")]
        else:
            try:
                result = services.import_projects(user=request.user, file=upload)
            except DomainError as exc:
                errors = [e["message"] for e in exc.errors] if exc.errors else [exc.message]
            else:
                messages.success(request, _("导入完成：新增 %(c)d 个，修改 %(u)d 个，未变 %(n)d 个") %
                                 {"c": result.created, "u": result.updated, "n": result.unchanged})
                return redirect("projects:list")
    return render(request, "projects/import.html", {
        "errors": errors, "columns": list(services.IMPORT_COLUMNS),
        "required": ["项目名称", "单位编码", "项目类别", "功能分类", "起始年度", "结束年度", "项目总额", "分年计划"]})


@needs(LIBRARY_VIEW)
def library(request):
    g = request.GET
    year = _int(g.get("year"))
    q, status = g.get("q", "").strip(), g.get("status", "")
    qs = selectors.library_entries(user=request.user, fiscal_year=year, q=q, status=status)
    if wants_export(request):
        rows = ([e.library_year, e.project.code, e.project.name, e.project.agency.name, e.project.category_id,
                 e.plan_amount, e.remaining_amount, str(e.get_status_display()), e.scheduled_amount or ""]
                for e in qs.iterator(chunk_size=2000))
        return xlsx_response(_("项目储备情况.xlsx"), [_(h) for h in LIBRARY_HEADERS], rows)
    can_roll = can(request.user, LIBRARY_MANAGE)
    roll_form = forms.RollForm(request.POST or None, user=request.user) if can_roll else None
    if request.method == "POST" and roll_form is not None and roll_form.is_valid():
        try:
            n = services.roll_over(region_id=roll_form.cleaned_data["region"],
                                   from_year=roll_form.cleaned_data["from_year"], user=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("滚动完成：%(n)d 个跨年项目进入下一年度项目库") % {"n": n})
            return redirect(f"{reverse('projects:library')}?year={roll_form.cleaned_data['from_year'] + 1}")
    ctx = page(request, qs)
    ctx.update(year=g.get("year", ""), q=q, status=status, statuses=LibraryEntry.Status.choices,
               roll_form=roll_form)
    return render(request, "projects/library.html", ctx)

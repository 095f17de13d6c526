"""Budget preparation screens: rounds, the round page (stage, per-department progress, control
numbers, submissions, approval), lines, a unit's declaration and compilation page, submission
review pages, summaries and the disclosure workbook.

Reads go through ``fmis.budgeting.selectors``, writes through ``fmis.budgeting.services``; missing
and out-of-scope objects are 404 alike; a refused write shows its message on the page.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.budgeting import disclosure, selectors, services
from fmis.budgeting.functions import APPROVE, CONTROL, EXPORT, MANAGE, REVIEW, UNIT_DECLARE, UNIT_VIEW
from fmis.budgeting.models import STAGE_ORDER, BudgetLine, Stage, Submission
from fmis.iam.permissions import can
from fmis.platform.errors import DomainError
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response

LINE_HEADERS = ["预算单位编码", "预算单位", "一级预算单位", "支出类型", "来源", "项目代码", "名称", "支出功能分类",
                "政府经济分类", "部门经济分类", "资金性质", "申报数", "财政审核数", "编报数", "批复数", "指标编号"]


def _fail(request, exc: DomainError) -> None:
    for msg in ([e["message"] for e in exc.errors] if exc.errors else [exc.message]):
        messages.error(request, msg)


def _line_rows(qs):
    for ln in qs.iterator(chunk_size=2000):
        yield [ln.agency.code, ln.agency.name, ln.department.name, ln.get_kind_display(), ln.get_source_display(),
               ln.project_code, ln.title, ln.func_code, ln.gov_eco_code, ln.dept_eco_code, ln.fund_type,
               ln.amount_applied, ln.amount_reviewed, ln.amount_compiled, ln.amount_approved,
               ln.indicator.code if ln.indicator_id else ""]


# --- rounds ---------------------------------------------------------------------------------------

@needs(UNIT_VIEW)
def round_list(request):
    q = request.GET.get("q", "").strip()
    qs = selectors.rounds_for(user=request.user, q=q)
    if wants_export(request):
        return xlsx_response(_("预算编制批次.xlsx"), ["预算年度", "财政区划", "名称", "阶段", "状态"],
                             ([r.fiscal_year, r.region.name, r.name, r.get_stage_display(), r.get_status_display()]
                              for r in qs))
    if request.method == "POST" and can(request.user, MANAGE):
        try:
            year = int(request.POST.get("fiscal_year", "0") or 0)
            rnd = services.open_round(user=request.user, region_id=request.user.region_id or 0, fiscal_year=year,
                                      name=request.POST.get("name", ""))
            messages.success(request, _("已创建预算编制批次"))
            return redirect("budgeting:round", rnd.pk)
        except (DomainError, ValueError) as exc:
            if isinstance(exc, DomainError):
                _fail(request, exc)
            else:
                messages.error(request, _("预算年度不正确"))
    ctx = page(request, qs)
    ctx.update(q=q, can_manage=can(request.user, MANAGE))
    return render(request, "budgeting/round_list.html", ctx)


@needs(UNIT_VIEW)
def round_detail(request, pk: int):
    rnd = selectors.round_detail(user=request.user, round_id=pk)
    user = request.user
    progress = selectors.department_progress(user=user, rnd=rnd)
    ctx = {
        "rnd": rnd, "progress": progress, "stages": STAGE_ORDER,
        "stage_index": STAGE_ORDER.index(Stage(rnd.stage)),
        "next_stage": (STAGE_ORDER[STAGE_ORDER.index(Stage(rnd.stage)) + 1]
                       if rnd.stage != Stage.DOWN2 and rnd.status == "open" else None),
        "controls": selectors.control_numbers_for(user=user, rnd=rnd),
        "submissions": selectors.submissions_for(user=user, rnd=rnd),
        "approvals": selectors.approvals_for(user=user, rnd=rnd),
        "totals": selectors.totals(progress),
        "can_manage": can(user, MANAGE), "can_control": can(user, CONTROL), "can_approve": can(user, APPROVE),
        "can_declare": can(user, UNIT_DECLARE), "can_export": can(user, EXPORT),
        "my_agencies": _declarable_agencies(user, rnd),
    }
    return render(request, "budgeting/round_detail.html", ctx)


def _declarable_agencies(user, rnd):
    from fmis.orgs.models import Agency

    if not can(user, UNIT_DECLARE) or getattr(user, "agency_id", None) is None:
        return []
    return list(Agency.objects.restrict(user, UNIT_DECLARE).filter(region_id=rnd.region_id).order_by("code")[:50])


@needs(MANAGE)
@require_POST
def round_stage(request, pk: int):
    try:
        services.advance_stage(user=request.user, round_id=pk, to=request.POST.get("to", ""))
        messages.success(request, _("已进入下一阶段"))
    except DomainError as exc:
        _fail(request, exc)
    return redirect("budgeting:round", pk)


@needs(MANAGE)
@require_POST
def round_compute(request, pk: int):
    """The budget division computes the basic expenditure of every agency not yet submitted."""
    try:
        res = services.compute_basic_round(user=request.user, round_id=pk,
                                           default_func_code=request.POST.get("func_code", ""))
        messages.success(request, _("已测算 %(a)s 个单位，基本支出 %(n)s 行") % {"a": res.agencies, "n": res.lines})
    except DomainError as exc:
        _fail(request, exc)
    return redirect("budgeting:round", pk)


@needs(CONTROL)
@require_POST
def control_set(request, pk: int):
    try:
        services.set_control_number(user=request.user, round_id=pk, department_id=request.POST.get("department", ""),
                                    amount=request.POST.get("amount", ""), fund_type=request.POST.get("fund_type", ""),
                                    note=request.POST.get("note", ""))
        messages.success(request, _("控制数已保存"))
    except DomainError as exc:
        _fail(request, exc)
    return redirect("budgeting:round", pk)


@needs(APPROVE)
@require_POST
def round_approve(request, pk: int):
    dept = request.POST.get("department", "").strip()
    try:
        result = services.approve(user=request.user, round_id=pk, department_id=int(dept) if dept.isdigit() else None,
                                  doc_no=request.POST.get("doc_no", ""))
        messages.success(request, _("批复完成：生成可执行指标 %(n)s 条") % {"n": result.indicators})
    except DomainError as exc:
        _fail(request, exc)
    return redirect("budgeting:round", pk)


# --- lines ----------------------------------------------------------------------------------------

@needs(UNIT_VIEW)
def line_list(request, pk: int):
    rnd = selectors.round_detail(user=request.user, round_id=pk)
    g = request.GET
    filters = {"q": g.get("q", "").strip(), "agency": g.get("agency", "").strip(), "kind": g.get("kind", "")}
    qs = selectors.lines_for(user=request.user, rnd=rnd, **filters)
    if wants_export(request):
        return xlsx_response(_("预算明细.xlsx"), LINE_HEADERS, _line_rows(qs))
    ctx = page(request, qs)
    ctx.update(filters, rnd=rnd, kinds=BudgetLine.Kind.choices, can_review=can(request.user, REVIEW)
               and rnd.stage in (Stage.UP1, Stage.DOWN1) and rnd.status == "open")
    return render(request, "budgeting/line_list.html", ctx)


@needs(UNIT_VIEW)
def line_detail(request, line_id: int):
    """One budget line with its amounts through the stages and its lineage (project, indicator)."""
    line = selectors.line_detail(user=request.user, line_id=line_id)
    return render(request, "budgeting/line_detail.html", {"ln": line, "rnd": line.round})


@needs(REVIEW)
@require_POST
def line_review_amount(request, pk: int, line_id: int):
    try:
        services.set_reviewed_amount(user=request.user, line_id=line_id, amount=request.POST.get("amount", ""))
        messages.success(request, _("财政审核数已保存"))
    except DomainError as exc:
        _fail(request, exc)
    return redirect(request.POST.get("next") or f"/budgeting/rounds/{pk}/lines/")


@needs(UNIT_VIEW)
def agency_page(request, pk: int, agency_id: int):
    """A unit's declaration (一上) or compilation (二上) for the round."""
    from fmis.orgs.models import Agency

    rnd = selectors.round_detail(user=request.user, round_id=pk)
    agency = Agency.objects.restrict(request.user, UNIT_VIEW).filter(pk=agency_id).first()
    if agency is None:
        from fmis.platform.errors import NotFound

        raise NotFound("budgeting.agency.not_found", "预算单位不存在")
    lines = list(selectors.lines_for(user=request.user, rnd=rnd).filter(agency=agency))
    subs = {s.stage: s for s in Submission.objects.filter(round=rnd, agency=agency)}
    library = []
    if rnd.stage == Stage.UP1 and can(request.user, UNIT_DECLARE) and can(request.user, "projects.library.view"):
        from fmis.projects import selectors as project_selectors

        chosen = {ln.project_id for ln in lines if ln.project_id}
        library = [e for e in project_selectors.library(user=request.user, fiscal_year=rnd.fiscal_year,
                                                        agency_id=agency.pk) if e.project_id not in chosen]
    ctx = {"rnd": rnd, "agency": agency, "lines": lines, "subs": subs, "library": library,
           "current_sub": subs.get(rnd.stage), "can_declare": can(request.user, UNIT_DECLARE),
           "totals": {a: sum((getattr(ln, a) or Decimal(0) for ln in lines), start=Decimal(0))
                      for a in selectors.AMOUNTS}}
    return render(request, "budgeting/agency.html", ctx)


def _agency_action(request, pk: int, agency_id: int, action):
    try:
        action()
        messages.success(request, _("已保存"))
    except DomainError as exc:
        _fail(request, exc)
    return redirect("budgeting:agency", pk, agency_id)


@needs(UNIT_DECLARE)
@require_POST
def agency_compute(request, pk: int, agency_id: int):
    return _agency_action(request, pk, agency_id, lambda: services.compute_basic(
        user=request.user, round_id=pk, agency_id=agency_id, func_code=request.POST.get("func_code", "")))


@needs(UNIT_DECLARE)
@require_POST
def agency_projects(request, pk: int, agency_id: int):
    ids = [int(i) for i in request.POST.getlist("project") if i.isdigit()]
    return _agency_action(request, pk, agency_id, lambda: services.add_project_lines(
        user=request.user, round_id=pk, agency_id=agency_id, choices=[services.ProjectChoice(project_id=i) for i in ids]))


@needs(UNIT_DECLARE)
@require_POST
def agency_add_line(request, pk: int, agency_id: int):
    p = request.POST
    data = services.LineInput(kind=BudgetLine.Kind.BASIC, title=p.get("title", ""), func_code=p.get("func_code", ""),
                              dept_eco_code=p.get("dept_eco_code", ""), amount=p.get("amount", ""),
                              fund_type=p.get("fund_type", "") or services.DEFAULT_FUND_TYPE)
    return _agency_action(request, pk, agency_id, lambda: services.add_line(
        user=request.user, round_id=pk, agency_id=agency_id, data=data))


@needs(UNIT_DECLARE)
@require_POST
def agency_amounts(request, pk: int, agency_id: int):
    """Save the amounts of the page: declared (一上) or compiled (二上)."""
    rnd = selectors.round_detail(user=request.user, round_id=pk)
    amounts = {int(k.split("_", 1)[1]): v.strip() for k, v in request.POST.items()
               if k.startswith("amount_") and k.split("_", 1)[1].isdigit() and v.strip() != ""}

    def save():
        if rnd.stage == Stage.UP2:
            services.compile_lines(user=request.user, round_id=pk, agency_id=agency_id,
                                   amounts=amounts if amounts else None)
        else:
            for line_id, value in amounts.items():
                services.update_line_amount(user=request.user, line_id=line_id, amount=value)

    return _agency_action(request, pk, agency_id, save)


@needs(UNIT_DECLARE)
@require_POST
def agency_line_delete(request, pk: int, agency_id: int, line_id: int):
    return _agency_action(request, pk, agency_id, lambda: services.delete_line(user=request.user, line_id=line_id))


@needs(UNIT_DECLARE)
@require_POST
def agency_submit(request, pk: int, agency_id: int):
    return _agency_action(request, pk, agency_id, lambda: services.submit(
        user=request.user, round_id=pk, agency_id=agency_id, comment=request.POST.get("comment", "")))


@needs(UNIT_VIEW)
def submission_detail(request, pk: int):
    sub = selectors.submission_detail(user=request.user, submission_id=pk)
    lines = list(selectors.lines_for(user=request.user, rnd=sub.round).filter(agency=sub.agency))
    return render(request, "budgeting/submission.html", {"sub": sub, "lines": lines, "rnd": sub.round})


# --- summaries and exports ----------------------------------------------------------------------

SUMMARIES = {
    "department": ("按部门", lambda u, r, lv: selectors.summary_by_department(user=u, rnd=r)),
    "function": ("按功能分类", lambda u, r, lv: selectors.summary_by_function(user=u, rnd=r, level=lv or 3)),
    "economic": ("按部门经济分类", lambda u, r, lv: selectors.summary_by_economic(user=u, rnd=r, level=lv or 2)),
    "gov_economic": ("按政府经济分类",
                     lambda u, r, lv: selectors.summary_by_economic(user=u, rnd=r, level=lv or 2, gov=True)),
}


@needs(UNIT_VIEW)
def summary(request, pk: int):
    rnd = selectors.round_detail(user=request.user, round_id=pk)
    by = request.GET.get("by", "department")
    if by not in SUMMARIES:
        by = "department"
    level = int(request.GET.get("level", "0") or 0) if request.GET.get("level", "0").isdigit() else 0
    title, fn = SUMMARIES[by]
    rows = fn(request.user, rnd, level)
    if wants_export(request) and can(request.user, EXPORT):
        return xlsx_response(_("预算汇总.xlsx"), ["编码", "名称", "明细数", "申报数", "财政审核数", "编报数", "批复数"],
                             ([r["key"], r["name"], r["lines"], r["amount_applied"], r["amount_reviewed"],
                               r["amount_compiled"], r["amount_approved"]] for r in rows))
    return render(request, "budgeting/summary.html", {
        "rnd": rnd, "rows": rows, "by": by, "title": title, "summaries": [(k, v[0]) for k, v in SUMMARIES.items()],
        "level": level, "totals": selectors.totals(rows), "can_export": can(request.user, EXPORT)})


@needs(EXPORT)
def disclosure_tables(request, pk: int):
    rnd = selectors.round_detail(user=request.user, round_id=pk)
    data = disclosure.workbook(user=request.user, rnd=rnd)
    resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    from urllib.parse import quote

    name = quote(f"{rnd.fiscal_year}年部门预算公开表.xlsx")
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return resp

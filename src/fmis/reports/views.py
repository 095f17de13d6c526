"""Report screens: the standard statements (period selector, drill-down, xlsx export, A4 print
layout), the unit expenditure detail, and user-defined reports (list, designer, viewer).

The account set is the accounting module's current one (kept in the session, so a drill-down into
the ledgers stays on the same books); ``?set=<id>`` switches it. Reads go through
``fmis.reports.selectors``, writes through ``fmis.reports.services``; a missing or out-of-scope
account set or report is a 404; a refused save shows its messages next to the cells.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fmis.accounting import selectors as acc_selectors
from fmis.iam.permissions import can
from fmis.platform.errors import DomainError
from fmis.platform.listing import page, wants_export
from fmis.platform.web import needs
from fmis.platform.xlsx import xlsx_response
from fmis.reports import selectors, services
from fmis.reports.functions import CUSTOM_MANAGE, CUSTOM_VIEW, EXPORT, STATEMENT_VIEW
from fmis.reports.selectors import col_name

WIDE = 6  # statements with more columns than this print on landscape A4


def _errors(exc: DomainError) -> list[str]:
    return [e["message"] for e in exc.errors] if exc.errors else [exc.message]


def _int(text, default=None):
    text = str(text or "").strip()
    return int(text) if text.isdigit() else default


def _context(request, function: str) -> dict:
    """The account set (switched by ?set=), year and period of the request, and the choices."""
    set_id = request.GET.get("set")
    if set_id:
        aset = acc_selectors.account_set(user=request.user, pk=set_id, function=function)
        request.session[acc_selectors.SESSION_KEY] = aset.pk
    else:
        aset = acc_selectors.current_account_set(request, function=function)
    today = timezone.localdate()
    years = sorted(set(aset.periods.values_list("year", flat=True))) if aset else []
    year = _int(request.GET.get("year"), today.year)
    if years and year not in years:
        year = years[-1] if today.year > years[-1] else years[0]
    period = min(max(_int(request.GET.get("period"), today.month), 1), 13)
    return {"aset": aset, "year": year, "period": period, "years": years, "periods": range(1, 14),
            "sets": selectors.account_sets(user=request.user, function=function)[:200]}


def _want_export(request) -> bool:
    if not wants_export(request):
        return False
    if not can(request.user, EXPORT):
        raise HttpForbidden(EXPORT)
    return True


def _indent(name: str, indent: int) -> str:
    return "\u3000" * indent + name


# --- statements -----------------------------------------------------------------------------------

@needs(STATEMENT_VIEW)
def statements(request):
    ctx = _context(request, STATEMENT_VIEW)
    return render(request, "reports/statements.html", {**ctx, "defs": selectors.statement_defs()})


@needs(STATEMENT_VIEW)
def statement(request, code: str):
    ctx = _context(request, STATEMENT_VIEW)
    d = selectors.statement_def(code)
    st, errors = None, []
    if ctx["aset"] is not None:
        try:
            st = selectors.statement(user=request.user, account_set_id=ctx["aset"].pk, code=code, year=ctx["year"],
                                     period=ctx["period"])
        except DomainError as exc:
            errors = _errors(exc)
    if st is not None and _want_export(request):
        rows = [(r.code, _indent(r.name, r.indent), *r.values) for r in st.rows]
        rows += [("", f"勾稽：{c.name}（{c.column}）", "相符" if c.ok else f"不符：{c.left} ≠ {c.right}")
                 for c in st.checks]
        return xlsx_response(f"{d.name}-{st.year}-{st.period:02d}.xlsx", ["行次", "项目", *[c.title for c in st.columns]],
                             rows, sheet=d.name)
    template = "reports/statement_print.html" if request.GET.get("print") and st is not None \
        else "reports/statement.html"
    return render(request, template, {**ctx, "d": d, "st": st, "errors": errors, "can_export": can(request.user, EXPORT),
                                      "landscape": len(d.columns) > WIDE, "query": _query(ctx)})


def _query(ctx) -> str:
    return f"year={ctx['year']}&period={ctx['period']}"


@needs(STATEMENT_VIEW)
def statement_definition(request, code: str):
    d = selectors.statement_def(code)
    columns = d.columns
    lines = [{"code": ln.code, "name": ln.name, "indent": ln.indent, "is_heading": ln.is_heading,
              "formulas": [ln.formulas.get(c["key"], "") for c in columns]} for ln in d.lines.order_by("order")]
    return render(request, "reports/definition.html", {"d": d, "columns": columns, "lines": lines})


@needs(STATEMENT_VIEW)
def statement_line(request, code: str, line: str):
    ctx = _context(request, STATEMENT_VIEW)
    if ctx["aset"] is None:
        return redirect("reports:statements")
    st, row, parts, refs = selectors.line_detail(user=request.user, account_set_id=ctx["aset"].pk, code=code,
                                                 line=line, year=ctx["year"], period=ctx["period"])
    for p in parts:
        cumulative = p.func in ("LJ", "NC", "QM")
        p.ledger_from = 1 if cumulative else ctx["period"]
        p.ledger_to = ctx["period"] if p.func != "NC" else 1
    ref_rows = [r for r in st.rows if r.code in refs]
    return render(request, "reports/line.html", {**ctx, "st": st, "row": row, "parts": parts, "ref_rows": ref_rows,
                                                 "query": _query(ctx), "code": code})


@needs(STATEMENT_VIEW)
def unit_expenditure(request):
    ctx = _context(request, STATEMENT_VIEW)
    cumulative = request.GET.get("scope", "ytd") != "month"
    eco = request.GET.get("eco", "dept_eco")
    detail, errors = None, []
    if ctx["aset"] is not None:
        try:
            detail = selectors.unit_expenditure(user=request.user, account_set_id=ctx["aset"].pk, year=ctx["year"],
                                                period=ctx["period"], cumulative=cumulative, eco=eco)
        except DomainError as exc:
            errors = _errors(exc)
    if detail is not None and _want_export(request):
        headers = ["功能分类编码", "功能分类名称", *[f"{c} {n}" for c, n in detail.classes], "合计"]
        rows = [(r["code"], _indent(r["name"], r["level"] - 1), *[r["values"][c] for c, _n in detail.classes],
                 r["total"]) for r in detail.rows]
        rows.append(("", "合计", *[detail.totals[c] for c, _n in detail.classes], detail.total))
        return xlsx_response(f"单位支出明细-{ctx['year']}-{ctx['period']:02d}.xlsx", headers, rows, sheet="单位支出明细")
    if detail is not None:
        for r in detail.rows:
            r["cells"] = [r["values"][c] for c, _n in detail.classes]
        detail.total_cells = [detail.totals[c] for c, _n in detail.classes]
    template = "reports/unit_expenditure_print.html" if request.GET.get("print") and detail is not None \
        else "reports/unit_expenditure.html"
    return render(request, template, {
        **ctx, "detail": detail, "errors": errors, "cumulative": cumulative, "eco": eco,
        "can_export": can(request.user, EXPORT), "query": _query(ctx) + f"&scope={'ytd' if cumulative else 'month'}"
        + f"&eco={eco}", "landscape": detail is not None and len(detail.classes) > 5})


# --- user-defined reports ---------------------------------------------------------------------------

@needs(CUSTOM_VIEW)
def custom_list(request):
    q = request.GET.get("q", "").strip()
    qs = selectors.custom_reports(user=request.user, q=q)
    if _want_export(request):
        return xlsx_response("自定义报表.xlsx", ["报表编码", "报表名称", "账套", "行数", "列数", "说明"],
                             [(r.code, r.name, str(r.account_set) if r.account_set else "共享", r.n_rows, r.n_cols,
                               r.note) for r in qs])
    return render(request, "reports/custom_list.html", {**page(request, qs), "q": q,
                                                        "can_manage": can(request.user, CUSTOM_MANAGE)})


def _grid(n_rows: int, n_cols: int, cells: dict, bad: set[str]) -> list[list[dict]]:
    return [[{"key": f"{col_name(c)}{r + 1}", "text": cells.get(f"{col_name(c)}{r + 1}", ""),
              "bad": f"{col_name(c)}{r + 1}" in bad} for c in range(n_cols)] for r in range(n_rows)]


@needs(CUSTOM_MANAGE)
def custom_edit(request, pk: int | None = None):
    report = selectors.custom_report(user=request.user, pk=pk, function=CUSTOM_MANAGE) if pk else None
    sets = selectors.account_sets(user=request.user, function=CUSTOM_MANAGE)
    errors: list[str] = []
    bad: set[str] = set()
    if request.method == "POST":
        post = request.POST
        n_rows = _int(post.get("n_rows"), 0)
        n_cols = _int(post.get("n_cols"), 0)
        cells = {k[5:]: v for k, v in post.items() if k.startswith("cell_") and v.strip()}
        set_id = _int(post.get("account_set"))
        data = {"code": post.get("code", ""), "name": post.get("name", ""), "note": post.get("note", "")}
        if post.get("resize"):
            errors = []
        else:
            try:
                saved = services.save_custom_report(user=request.user, report_id=report.pk if report else None,
                                                    n_rows=n_rows, n_cols=n_cols, cells=cells, account_set_id=set_id,
                                                    **data)
                messages.success(request, _("已保存"))
                return redirect("reports:custom_view", saved.pk)
            except DomainError as exc:
                errors = _errors(exc)
                bad = {e.get("field", "") for e in exc.errors}
    else:
        n_rows = report.n_rows if report else 10
        n_cols = report.n_cols if report else 4
        cells = dict(report.cells) if report else {}
        set_id = report.account_set_id if report else (getattr(acc_selectors.current_account_set(
            request, function=CUSTOM_MANAGE), "pk", None))
        data = {"code": report.code if report else "", "name": report.name if report else "",
                "note": report.note if report else ""}
    n_rows = min(max(n_rows or 1, 1), 200)
    n_cols = min(max(n_cols or 1, 1), 26)
    return render(request, "reports/custom_form.html", {
        "report": report, "errors": errors, "grid": _grid(n_rows, n_cols, cells, bad), "n_rows": n_rows,
        "n_cols": n_cols, "cols": [col_name(c) for c in range(n_cols)], "sets": sets, "set_id": set_id, **data})


@needs(CUSTOM_VIEW)
def custom_view(request, pk: int):
    report = selectors.custom_report(user=request.user, pk=pk)
    ctx = _context(request, CUSTOM_VIEW)
    if report.account_set_id is not None and (ctx["aset"] is None or ctx["aset"].pk != report.account_set_id):
        aset = acc_selectors.account_set(user=request.user, pk=report.account_set_id, function=CUSTOM_VIEW)
        ctx["aset"] = aset
        ctx["years"] = sorted(set(aset.periods.values_list("year", flat=True)))
        if ctx["years"] and ctx["year"] not in ctx["years"]:
            ctx["year"] = ctx["years"][-1]
    res, errors = None, []
    if ctx["aset"] is not None:
        try:
            res = selectors.compute_custom(user=request.user, report_id=report.pk, account_set_id=ctx["aset"].pk,
                                           year=ctx["year"], period=ctx["period"])
        except DomainError as exc:
            errors = _errors(exc)
    if res is not None and _want_export(request):
        headers = [col_name(c) for c in range(report.n_cols)]
        rows = [[c["value"] if c["kind"] in ("formula", "number") else c["text"] if c["kind"] == "text" else ""
                 for c in row] for row in res.grid]
        return xlsx_response(f"{report.name}-{ctx['year']}-{ctx['period']:02d}.xlsx", headers, rows, sheet=report.name)
    template = "reports/custom_print.html" if request.GET.get("print") and res is not None \
        else "reports/custom_view.html"
    return render(request, template, {
        **ctx, "report": report, "res": res, "errors": errors, "query": _query(ctx),
        "cols": [col_name(c) for c in range(report.n_cols)], "can_export": can(request.user, EXPORT),
        "can_manage": can(request.user, CUSTOM_MANAGE), "landscape": report.n_cols > WIDE})


@require_POST
@needs(CUSTOM_MANAGE)
def custom_delete(request, pk: int):
    try:
        services.delete_custom_report(user=request.user, report_id=pk)
    except DomainError as exc:
        if exc.status == 404:
            raise
        for m in _errors(exc):
            messages.error(request, m)
        return redirect("reports:custom_view", pk)
    messages.success(request, _("已删除"))
    return redirect("reports:custom_list")

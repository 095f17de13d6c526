"""Every write of the reports module: the standard statement definitions (preloaded from
``fmis.reports.standard``) and user-defined reports (saved per account set or shared)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from fmis.iam import permissions
from fmis.platform import audit
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.reports import formula as fm
from fmis.reports.models import CustomReport, StatementDef, StatementLine
from fmis.reports.selectors import FN_CUSTOM_MANAGE, _parse_cells, account_set_for
from fmis.reports.standard import STATEMENTS

_DEF_FIELDS = ("name", "form_no", "basis", "columns", "order", "note", "checks")


def _line_tuples(lines) -> list[tuple]:
    return [(ln.code, ln.name, ln.indent, ln.is_heading, ln.is_total, ln.formulas) for ln in lines]


def validate_statement(spec: dict, lines) -> None:
    """Every formula parses, every column and line reference exists, and lines do not refer to
    each other in a cycle; raises ValidationFailed naming the line."""
    keys = {c["key"] for c in spec["columns"]}
    codes = {ln.code for ln in lines}
    deps: dict[str, set[str]] = {}
    for ln in lines:
        for col, text in ln.formulas.items():
            where = f"{spec['name']} 第 {ln.code} 行“{ln.name}”{col} 栏"
            if col not in keys:
                raise ValidationFailed("reports.column_unknown", f"{where}：没有这一栏", field="formulas")
            tree = fm.check(text, where=where)
            refs = set()
            for node in fm.walk(tree):
                if isinstance(node, fm.LineRef):
                    line, _sep, ref_col = node.code.partition(".")
                    ref_col = ref_col or col
                    if line not in codes or ref_col not in keys:
                        raise ValidationFailed("reports.line_ref_unknown", f"{where}：引用的 [{node.code}] 不存在",
                                               field="formulas")
                    refs.add(f"{line}.{ref_col}")
                if isinstance(node, fm.CellRef):
                    raise ValidationFailed("reports.cell_ref_in_statement",
                                           f"{where}：报表行请用 [行次] 引用，不能用单元格 {node.key}", field="formulas")
            deps[f"{ln.code}.{col}"] = refs
    try:
        fm.order_of(deps)
    except fm.FormulaError as exc:
        raise ValidationFailed("reports.formula_cycle", f"{spec['name']}：{exc.message}", field="formulas") from None


def ensure_standard_statements(*, user=None) -> int:
    """Write the standard statements of ``fmis.reports.standard`` (idempotent). Returns how many
    statements were created or changed."""
    changed = 0
    with transaction.atomic():
        for spec in STATEMENTS:
            lines = spec["lines"]()
            validate_statement(spec, lines)
            values = {f: spec.get(f, "") if f != "checks" else spec.get(f, []) for f in _DEF_FIELDS}
            d = StatementDef.objects.select_for_update().filter(code=spec["code"]).first()
            before = audit.snapshot(d) if d else None
            same_def = d is not None and all(getattr(d, f) == v for f, v in values.items())
            same_lines = d is not None and _line_tuples(d.lines.order_by("order")) == [
                (ln.code, ln.name, ln.indent, ln.heading, ln.total, ln.formulas) for ln in lines]
            if same_def and same_lines:
                continue
            if d is None:
                d = StatementDef.objects.create(code=spec["code"], is_standard=True, **values)
            else:
                for f, v in values.items():
                    setattr(d, f, v)
                d.save()
            d.lines.all().delete()
            StatementLine.objects.bulk_create([
                StatementLine(statement=d, code=ln.code, name=ln.name, order=i, indent=ln.indent,
                              is_heading=ln.heading, is_total=ln.total, formulas=ln.formulas)
                for i, ln in enumerate(lines, start=1)])
            audit.record(user, "reports.statement.preload", d, before=before)
            changed += 1
    return changed


def _check_grid(n_rows, n_cols) -> tuple[int, int]:
    try:
        n_rows, n_cols = int(n_rows), int(n_cols)
    except (TypeError, ValueError):
        raise ValidationFailed("reports.grid_invalid", "行数和列数应为整数", field="n_rows") from None
    if not 1 <= n_rows <= CustomReport.MAX_ROWS:
        raise ValidationFailed("reports.rows_invalid", f"行数应为 1–{CustomReport.MAX_ROWS}", field="n_rows")
    if not 1 <= n_cols <= CustomReport.MAX_COLS:
        raise ValidationFailed("reports.cols_invalid", f"列数应为 1–{CustomReport.MAX_COLS}（A–Z）", field="n_cols")
    return n_rows, n_cols


def _check_header(code: str, name: str) -> tuple[str, str]:
    import re

    code, name = (code or "").strip(), (name or "").strip()
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,40}", code):
        raise ValidationFailed("reports.code_invalid", "报表编码应为 1–40 位字母、数字、下划线或连字符", field="code")
    if not name or len(name) > 100:
        raise ValidationFailed("reports.name_invalid", "报表名称不能为空，且不超过 100 字", field="name")
    return code, name


def save_custom_report(*, user, code: str, name: str, n_rows: int, n_cols: int, cells: dict,
                       account_set_id: int | None = None, note: str = "", report_id: int | None = None
                       ) -> CustomReport:
    """Create (no `report_id`) or replace a user-defined report. Every cell is validated first;
    nothing is written when one is wrong (the error names the cell)."""
    permissions.require(user, FN_CUSTOM_MANAGE)
    code, name = _check_header(code, name)
    n_rows, n_cols = _check_grid(n_rows, n_cols)
    if not isinstance(cells, dict):
        raise ValidationFailed("reports.cells_invalid", "单元格应为 {\"A1\": 内容} 的形式", field="cells")
    cells = {str(k).strip().upper(): str(v).strip() for k, v in cells.items() if str(v or "").strip()}
    if any(len(v) > 2000 for v in cells.values()):
        raise ValidationFailed("reports.cell_too_long", "单元格内容不能超过 2000 字", field="cells")
    _parse_cells(cells, n_rows, n_cols)
    with transaction.atomic():
        aset = None
        if account_set_id is not None:
            aset = account_set_for(user=user, account_set_id=account_set_id, function=FN_CUSTOM_MANAGE)
        if report_id is None:
            obj = CustomReport(created_by=user)
            before = None
        else:
            obj = _own_report(user, report_id)
            before = audit.snapshot(obj)
        obj.account_set = aset
        obj.agency = aset.agency if aset else None
        obj.region = aset.region if aset else user.region
        obj.code, obj.name, obj.note = code, name, (note or "").strip()[:500]
        obj.n_rows, obj.n_cols, obj.cells = n_rows, n_cols, cells
        try:
            with transaction.atomic():
                obj.save()
        except IntegrityError:
            raise Conflict("reports.custom_code_taken", f"报表编码 {code} 已被使用", field="code") from None
        audit.record(user, "reports.custom.save", obj, before=before)
    return obj


def _own_report(user, report_id) -> CustomReport:
    """The report, locked, if `user` may change it: per-set reports by whoever manages reports of
    that set; shared ones by their creator (or a superuser)."""
    from fmis.reports.selectors import custom_reports

    obj = (custom_reports(user=user, function=FN_CUSTOM_MANAGE).select_for_update(of=("self",))
           .filter(pk=report_id).first() if str(report_id).isdigit() else None)
    if obj is None:
        raise NotFound("reports.custom_not_found", "自定义报表不存在", field="report")
    if obj.account_set_id is None and obj.created_by_id != user.pk and not user.is_superuser:
        raise PermissionDenied("reports.custom_not_owner", f"共享报表“{obj.name}”只能由创建人修改")
    return obj


def delete_custom_report(*, user, report_id: int) -> None:
    permissions.require(user, FN_CUSTOM_MANAGE)
    with transaction.atomic():
        obj = _own_report(user, report_id)
        before = audit.snapshot(obj)
        pk = obj.pk
        obj.delete()
        audit.record(user, "reports.custom.delete", None, before=before, object_type="reports.customreport",
                     object_id=pk, object_repr=f"{before.get('code', '')} {before.get('name', '')}" if before else "")

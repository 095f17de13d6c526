"""Every read of the reports module: statements, their drill-down, the unit expenditure detail and
user-defined reports, computed from the accounting balance table through the permission filter.

A statement costs one aggregate over the balance rows of one period (plus one for formulas that
filter on auxiliary values, and the same again for a previous-year column): O(accounts), never
O(voucher lines). An account set outside the caller's scope is NotFound, like a missing one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet

from fmis.accounting import selectors as acc_selectors
from fmis.accounting.models import Account, AccountSet, Period
from fmis.iam import permissions
from fmis.platform.errors import NotFound, ValidationFailed
from fmis.platform.money import ZERO
from fmis.reports import formula as fm
from fmis.reports.engine import BalanceData
from fmis.reports.models import CustomReport, StatementDef, StatementLine

FN_STATEMENT = "reports.statement.view"
FN_EXPORT = "reports.export"
FN_CUSTOM_VIEW = "reports.custom.view"
FN_CUSTOM_MANAGE = "reports.custom.manage"
UNIT_EXPENDITURE = "unit_expenditure"


@functools.lru_cache(maxsize=8192)
def _parsed(text: str):
    return fm.parse(text)


@functools.lru_cache(maxsize=8192)
def _terms_of(text: str) -> frozenset[fm.Term]:
    return frozenset(fm.terms(_parsed(text)))


def account_set_for(*, user, account_set_id, function: str = FN_STATEMENT) -> AccountSet:
    permissions.require(user, function)
    return acc_selectors.account_set(user=user, pk=account_set_id, function=function)


def account_sets(*, user, function: str = FN_STATEMENT) -> QuerySet[AccountSet]:
    return acc_selectors.account_sets(user=user, function=function)


def period_of(aset: AccountSet, year: int, number: int) -> Period:
    p = Period.objects.filter(account_set=aset, year=year, number=number).first()
    if p is None:
        raise NotFound("reports.period_not_found", f"会计期间 {year}-{number:02d} 不存在", field="period")
    return p


def statement_defs() -> QuerySet[StatementDef]:
    return StatementDef.objects.order_by("order", "code")


def statement_def(code: str) -> StatementDef:
    d = StatementDef.objects.filter(code=code).first()
    if d is None:
        raise NotFound("reports.statement_not_found", "报表不存在", field="code")
    return d


# --- statements -----------------------------------------------------------------------------------

@dataclass
class Column:
    key: str
    title: str
    year_offset: int = 0
    available: bool = True


@dataclass
class Row:
    code: str
    name: str
    indent: int
    is_heading: bool
    is_total: bool
    values: list[Decimal | None]
    accounts: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    name: str
    column: str
    left: Decimal | None
    right: Decimal | None

    @property
    def ok(self) -> bool:
        return self.left is not None and self.left == self.right


@dataclass
class Statement:
    code: str
    name: str
    form_no: str
    basis: str
    note: str
    account_set: AccountSet
    year: int
    period: int
    columns: list[Column]
    rows: list[Row]
    checks: list[CheckResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def value(self, line: str, column: str) -> Decimal | None:
        idx = [c.key for c in self.columns].index(column)
        for r in self.rows:
            if r.code == line:
                return r.values[idx]
        raise KeyError(line)

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "form_no": self.form_no, "account_set_id": self.account_set.pk,
                "account_set": str(self.account_set), "year": self.year, "period": self.period,
                "columns": [{"key": c.key, "title": c.title, "available": c.available} for c in self.columns],
                "rows": [{"code": r.code, "name": r.name, "indent": r.indent, "is_total": r.is_total,
                          "is_heading": r.is_heading, "accounts": r.accounts,
                          "values": dict(zip([c.key for c in self.columns], r.values, strict=True))}
                         for r in self.rows],
                "checks": [{"name": c.name, "column": c.column, "ok": c.ok, "left": c.left, "right": c.right}
                           for c in self.checks],
                "errors": self.errors}


def _ref_key(node: fm.LineRef, column: str) -> tuple[str, str]:
    line, _sep, col = node.code.partition(".")
    return line.strip(), (col.strip() or column)


def _period_id(aset: AccountSet, year: int, number: int) -> int | None:
    return Period.objects.filter(account_set=aset, year=year, number=number).values_list("pk", flat=True).first()


def compute_lines(aset: AccountSet, year: int, number: int, columns: list[Column],
                  lines: list[StatementLine]) -> tuple[dict[tuple[str, str], Decimal | None], list[str]]:
    """Values of every (line, column) of a statement definition, and the errors met."""
    trees: dict[tuple[str, str], object] = {}
    errors: list[str] = []
    keys = {c.key for c in columns}
    line_codes = {ln.code for ln in lines}
    for ln in lines:
        for col, text in (ln.formulas or {}).items():
            if col not in keys or not str(text).strip():
                continue
            try:
                trees[(ln.code, col)] = _parsed(str(text))
            except fm.FormulaError as exc:
                errors.append(f"第 {ln.code} 行“{ln.name}”{col} 栏：{exc.message}")
    by_offset: dict[int, set[fm.Term]] = {}
    col_offset = {c.key: c.year_offset for c in columns}
    for ln in lines:
        for col, text in (ln.formulas or {}).items():
            if (ln.code, col) in trees:
                by_offset.setdefault(col_offset[col], set()).update(_terms_of(str(text)))
    data: dict[int, BalanceData] = {}
    for off, ts in by_offset.items():
        data[off] = BalanceData.load(account_set_id=aset.pk, period_id=_period_id(aset, year + off, number), terms=ts)
    for c in columns:
        c.available = c.year_offset == 0 or (c.year_offset in data and data[c.year_offset].period_id is not None)
    deps = {k: {_ref_key(n, k[1]) for n in fm.walk(t) if isinstance(n, fm.LineRef)} for k, t in trees.items()}
    values: dict[tuple[str, str], Decimal | None] = {}
    try:
        order = fm.order_of(deps, label=lambda k: f"[{k[0]}.{k[1]}]")
    except fm.FormulaError as exc:
        return values, [*errors, exc.message]
    for key in order:
        line, col = key
        if not next(c for c in columns if c.key == col).available:
            values[key] = None
            continue
        src = data.get(col_offset[col])

        def ref(node, col=col):
            k = _ref_key(node, col)
            if k[0] not in line_codes or k[1] not in keys:
                raise fm.FormulaError(f"引用的第 {k[0]} 行 {k[1]} 栏不存在")
            if k not in trees:
                return ZERO
            v = values.get(k)
            if v is None:
                raise fm.FormulaError(f"引用的第 {k[0]} 行 {k[1]} 栏没有数值")
            return v

        try:
            values[key] = fm.evaluate(trees[key], term=src.value if src else (lambda _t: ZERO), ref=ref)
        except fm.FormulaError as exc:
            values[key] = None
            errors.append(f"第 {line} 行 {col} 栏：{exc.message}")
    return values, errors


def statement(*, user, account_set_id, code: str, year: int, period: int) -> Statement:
    """The statement `code` (see ``fmis.reports.standard``) of an account set for a year and period
    (1–12 monthly, 12 or 13 for the annual statement), with its cross-checks."""
    aset = account_set_for(user=user, account_set_id=account_set_id)
    d = statement_def(code)
    period_of(aset, year, period)
    columns = [Column(c["key"], c["title"], int(c.get("year_offset", 0))) for c in d.columns]
    lines = list(d.lines.order_by("order"))
    values, errors = compute_lines(aset, year, period, columns, lines)
    rows = []
    for ln in lines:
        accounts = sorted({t.code for text in (ln.formulas or {}).values() if str(text).strip()
                           for t in _safe_terms(str(text))})
        rows.append(Row(ln.code, ln.name, ln.indent, ln.is_heading, ln.is_total,
                        [values.get((ln.code, c.key)) for c in columns], accounts))
    st = Statement(d.code, d.name, d.form_no, d.basis, d.note, aset, year, period, columns, rows, errors=errors)
    st.checks = _checks(d, columns, values)
    return st


def _safe_terms(text: str) -> frozenset[fm.Term]:
    try:
        return _terms_of(text)
    except fm.FormulaError:
        return frozenset()


def _checks(d: StatementDef, columns: list[Column], values) -> list[CheckResult]:
    out = []
    for chk in d.checks or []:
        cols = [chk["column"]] if chk.get("column") else [c.key for c in columns if c.available]
        for col in cols:
            def ref(node, col=col):
                v = values.get(_ref_key(node, col))
                if v is None:
                    raise fm.FormulaError("无数值")
                return v

            try:
                left = fm.evaluate(_parsed(chk["left"]), term=lambda _t: ZERO, ref=ref)
                right = fm.evaluate(_parsed(chk["right"]), term=lambda _t: ZERO, ref=ref)
            except fm.FormulaError:
                left = right = None
            title = next((c.title for c in columns if c.key == col), col)
            out.append(CheckResult(chk["name"], title, left, right))
    return out


# --- drill-down -----------------------------------------------------------------------------------

@dataclass
class LinePart:
    """One account figure that a statement line is made of."""

    column: str
    func: str
    func_name: str
    code: str
    name: str
    side: str
    aux: str
    value: Decimal | None


def line_detail(*, user, account_set_id, code: str, line: str, year: int, period: int
                ) -> tuple[Statement, Row, list[LinePart], list[str]]:
    """The account figures behind one statement line (per column), and the lines it sums."""
    st = statement(user=user, account_set_id=account_set_id, code=code, year=year, period=period)
    row = next((r for r in st.rows if r.code == line), None)
    if row is None:
        raise NotFound("reports.line_not_found", f"第 {line} 行不存在", field="line")
    ln = StatementLine.objects.get(statement__code=code, code=line)
    aset = st.account_set
    names = dict(Account.objects.filter(account_set=aset, code__in=row.accounts).values_list("code", "full_name"))
    texts = {c.key: str((ln.formulas or {}).get(c.key, "")).strip() for c in st.columns}
    data: dict[int, BalanceData] = {}
    for off in sorted({c.year_offset for c in st.columns}):
        terms = [t for c in st.columns if c.year_offset == off and texts[c.key] for t in _safe_terms(texts[c.key])]
        data[off] = BalanceData.load(account_set_id=aset.pk, period_id=_period_id(aset, year + off, period),
                                     terms=terms)
    func_names = {**fm.BALANCE_FUNCS, **fm.FLOW_FUNCS}
    sides = {"debit": "借", "credit": "贷", "net": "净"}
    parts: list[LinePart] = []
    refs: set[str] = set()
    for c in st.columns:
        if not texts[c.key]:
            continue
        try:
            tree = _parsed(texts[c.key])
        except fm.FormulaError:
            continue
        refs |= {_ref_key(n, c.key)[0] for n in fm.walk(tree) if isinstance(n, fm.LineRef)}
        src = data[c.year_offset]
        for t in sorted(fm.terms(tree), key=lambda t: (t.code, t.func, t.side, t.aux)):
            parts.append(LinePart(c.title, t.func, func_names[t.func], t.code, names.get(t.code, ""),
                                  sides.get(t.side, ""), "; ".join(f"{e}:{v}" for e, v in t.aux),
                                  src.value(t) if src.period_id is not None else None))
    return st, row, parts, sorted(refs)


# --- unit expenditure detail ------------------------------------------------------------------------

@dataclass
class ExpenditureDetail:
    account_set: AccountSet
    year: int
    period: int
    cumulative: bool
    eco_element: str
    classes: list[tuple[str, str]]  # economic classes (3 digits) in the columns
    rows: list[dict]  # {"code", "name", "level", "values": {class: amount}, "total"}
    totals: dict[str, Decimal]
    total: Decimal
    by_account: dict[str, Decimal]  # budget expenditure accounts (level 1) and their amount

    def as_dict(self) -> dict:
        return {"account_set_id": self.account_set.pk, "year": self.year, "period": self.period,
                "cumulative": self.cumulative, "eco_element": self.eco_element,
                "classes": [{"code": c, "name": n} for c, n in self.classes], "rows": self.rows,
                "totals": self.totals, "total": self.total, "by_account": self.by_account}


ECO_ELEMENTS = {"dept_eco": "DEPT_ECO", "gov_eco": "GOV_ECO"}


def unit_expenditure(*, user, account_set_id, year: int, period: int, cumulative: bool = True,
                     eco: str = "dept_eco") -> ExpenditureDetail:
    """单位支出明细: budgetary expenditure (class 7 accounts, debit side; the period's or the year's)
    by functional class (支出功能分类, with 类 and 款 subtotals) and economic class (经济分类 类)."""
    from django.db import connection

    from fmis.dictionary.selectors import values as dict_values

    if eco not in ECO_ELEMENTS:
        raise ValidationFailed("reports.eco_invalid", "经济分类应为 dept_eco（部门）或 gov_eco（政府）", field="eco")
    aset = account_set_for(user=user, account_set_id=account_set_id)
    p = period_of(aset, year, period)
    amount = "b.cum_debit" if cumulative else "b.debit"
    with connection.cursor() as cur:
        cur.execute(f"""
            SELECT left(a.code, 4), coalesce(b.aux ->> 'func', ''), left(coalesce(b.aux ->> %s, ''), 3),
                   coalesce(sum({amount}), 0)
            FROM accounting_balance b JOIN accounting_account a ON a.id = b.account_id
            WHERE b.account_set_id = %s AND b.period_id = %s AND a.code LIKE '7%%'
            GROUP BY 1, 2, 3
        """, [eco, aset.pk, p.pk])
        raw = cur.fetchall()
    func_names = dict(dict_values("EXP_FUNC", active_only=False).values_list("code", "name"))
    eco_names = dict(dict_values(ECO_ELEMENTS[eco], active_only=False).values_list("code", "name"))
    cells: dict[str, dict[str, Decimal]] = {}
    by_account: dict[str, Decimal] = {}
    classes: set[str] = set()
    for acc, func, cls, amt in raw:
        if not amt:
            continue
        by_account[acc] = by_account.get(acc, ZERO) + amt
        classes.add(cls)
        # the functional code and its 类 (3) and 款 (5) parents
        for key in {func[:3], func[:5], func} if func else {""}:
            row = cells.setdefault(key, {})
            row[cls] = row.get(cls, ZERO) + amt
    class_list = sorted(classes, key=lambda c: (c == "", c))
    rows = []
    for key in sorted(cells, key=lambda k: (k == "", k)):
        vals = cells[key]
        level = 1 if len(key) <= 3 else 2 if len(key) <= 5 else 3
        rows.append({"code": key, "name": func_names.get(key, "") if key else "未指定功能分类", "level": level,
                     "values": {c: vals.get(c, ZERO) for c in class_list}, "total": sum(vals.values(), ZERO)})
    top = [r for r in rows if r["level"] == 1 or r["code"] == ""]
    totals = {c: sum((r["values"][c] for r in top), ZERO) for c in class_list}
    return ExpenditureDetail(aset, year, period, cumulative, eco,
                             [(c, eco_names.get(c, "") if c else "未指定经济分类") for c in class_list], rows, totals,
                             sum(totals.values(), ZERO), dict(sorted(by_account.items())))


# --- user-defined reports ---------------------------------------------------------------------------

def custom_reports(*, user, account_set: AccountSet | None = None, q: str = "",
                   function: str = FN_CUSTOM_VIEW) -> QuerySet[CustomReport]:
    """Reports saved for the account sets in the user's scope, and the shared ones."""
    permissions.require(user, function)
    sets = account_sets(user=user, function=function)
    qs = CustomReport.objects.filter(Q(account_set__in=sets) | Q(account_set__isnull=True))
    if account_set is not None:
        qs = qs.filter(Q(account_set=account_set) | Q(account_set__isnull=True))
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    return qs.select_related("account_set", "created_by").order_by("account_set_id", "code")


def custom_report(*, user, pk, function: str = FN_CUSTOM_VIEW) -> CustomReport:
    obj = custom_reports(user=user, function=function).filter(pk=pk).first() if str(pk).isdigit() else None
    if obj is None:
        raise NotFound("reports.custom_not_found", "自定义报表不存在", field="report")
    return obj


def col_name(i: int) -> str:
    return chr(ord("A") + i)


@dataclass
class CustomResult:
    report: CustomReport
    account_set: AccountSet
    year: int
    period: int
    grid: list[list[dict]]  # rows of {"key", "kind": text|number|formula, "text", "value", "error"}
    errors: list[str]


def parse_cells(report: CustomReport) -> tuple[dict[str, object], dict[str, Decimal], dict[str, str]]:
    """(formula trees, number cells, text cells) of a report; raises ValidationFailed naming every
    bad cell (syntax, unknown function, reference outside the grid or to a text cell, cycle)."""
    return _parse_cells(report.cells or {}, report.n_rows, report.n_cols)


def _parse_cells(cells: dict, n_rows: int, n_cols: int):
    trees: dict[str, object] = {}
    numbers: dict[str, Decimal] = {}
    texts: dict[str, str] = {}
    errors: list[dict] = []
    valid = {f"{col_name(c)}{r + 1}" for r in range(n_rows) for c in range(n_cols)}
    for key, content in sorted(cells.items()):
        content = str(content or "").strip()
        if not content:
            continue
        if key not in valid:
            errors.append({"field": key, "message": f"单元格 {key} 超出报表范围（{n_rows} 行 × {n_cols} 列）"})
            continue
        if content.startswith("="):
            try:
                trees[key] = fm.parse(content[1:])
            except fm.FormulaError as exc:
                errors.append({"field": key, "message": f"单元格 {key}：{exc.message}"})
            continue
        try:
            numbers[key] = Decimal(content.replace(",", ""))
            if not numbers[key].is_finite():
                raise ArithmeticError
        except (ArithmeticError, ValueError):
            numbers.pop(key, None)
            texts[key] = content
    for key, tree in trees.items():
        if any(isinstance(n, fm.LineRef) for n in fm.walk(tree)):
            errors.append({"field": key, "message": f"单元格 {key}：自定义报表中请用单元格（如 B3）引用，不能用 [行号]"})
        for ref in sorted(fm.cell_refs(tree)):
            if ref not in valid:
                errors.append({"field": key, "message": f"单元格 {key}：引用的单元格 {ref} 超出报表范围"})
            elif ref in texts:
                errors.append({"field": key, "message": f"单元格 {key}：引用的单元格 {ref} 是文字，不是数值"})
    if not errors:
        try:
            fm.order_of({k: fm.cell_refs(t) for k, t in trees.items()})
        except fm.FormulaError as exc:
            cycle = exc.message.split("：", 1)[-1].split(" → ")[0]
            errors.append({"field": cycle, "message": f"单元格 {cycle}：{exc.message}"})
    if errors:
        raise ValidationFailed("reports.custom_invalid", "；".join(e["message"] for e in errors), errors=errors)
    return trees, numbers, texts


def compute_custom(*, user, report_id, account_set_id, year: int, period: int) -> CustomResult:
    """The cells of a user-defined report computed on an account set for a year and period."""
    report = custom_report(user=user, pk=report_id)
    aset = account_set_for(user=user, account_set_id=account_set_id, function=FN_CUSTOM_VIEW)
    if report.account_set_id is not None and report.account_set_id != aset.pk:
        raise ValidationFailed("reports.custom_other_set", f"报表“{report.name}”属于另一个账套", field="account_set")
    p = period_of(aset, year, period)
    trees, numbers, texts = parse_cells(report)
    terms = set().union(*(fm.terms(t) for t in trees.values())) if trees else set()
    data = BalanceData.load(account_set_id=aset.pk, period_id=p.pk, terms=terms)
    values: dict[str, Decimal | None] = dict(numbers)
    cell_errors: dict[str, str] = {}
    for key in fm.order_of({k: fm.cell_refs(t) for k, t in trees.items()}):
        def ref(node):
            v = values.get(node.key, ZERO) if node.key not in cell_errors else None
            if v is None:
                raise fm.FormulaError(f"引用的单元格 {node.key} 有错误")
            return v

        try:
            values[key] = fm.evaluate(trees[key], term=data.value, ref=ref)
        except fm.FormulaError as exc:
            values[key] = None
            cell_errors[key] = exc.message
    grid = []
    for r in range(report.n_rows):
        row = []
        for c in range(report.n_cols):
            key = f"{col_name(c)}{r + 1}"
            kind = "formula" if key in trees else "number" if key in numbers else "text" if key in texts else "empty"
            row.append({"key": key, "kind": kind, "text": texts.get(key, str((report.cells or {}).get(key, ""))),
                        "value": values.get(key), "error": cell_errors.get(key, "")})
        grid.append(row)
    return CustomResult(report, aset, year, period, grid,
                        [f"单元格 {k}：{m}" for k, m in sorted(cell_errors.items())])

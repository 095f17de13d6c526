"""User-defined reports: the formula parser (no eval), validation naming the cell, cycles, saving
per account set or shared, and computing on a period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fmis.accounting.tests.conftest import YEAR, cr, dr
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.reports import formula as fm
from fmis.reports import selectors, services
from fmis.reports.models import CustomReport

D = Decimal


def value(text, terms=None, refs=None):
    return fm.evaluate(fm.parse(text), term=lambda t: (terms or {})[(t.func, t.code, t.side)],
                       ref=lambda n: (refs or {})[n.key if isinstance(n, fm.CellRef) else n.code])


def test_arithmetic_and_precedence():
    assert value("1+2*3") == 7
    assert value("(1+2)*3") == 9
    assert value("-2*-3") == 6
    assert value("10/4") == D("2.5")
    assert value("ROUND(10/3, 2)") == D("3.33")
    assert value("ABS(1-5) + MAX(1, 7, 3) - MIN(2, 4)") == 9
    assert value("A1+B2*2", refs={"A1": D(1), "B2": D("2.5")}) == 6
    assert value("[05]-[07]", refs={"05": D(9), "07": D(4)}) == 5


def test_balance_functions_parse_into_terms():
    tree = fm.parse("QM(1001)+QM('1002','贷')-FS(4001,'贷','fund_type:12')+LJ(7201，‘借’)+NC(3001)+QC(8001)")
    ts = fm.terms(tree)
    assert fm.Term("QM", "1001", "") in ts and fm.Term("QM", "1002", "credit") in ts
    assert fm.Term("FS", "4001", "credit", (("fund_type", "12"),)) in ts
    assert fm.Term("LJ", "7201", "debit") in ts and {t.func for t in ts} == {"QM", "FS", "LJ", "NC", "QC"}
    assert value("QM(1001)*2-FS(4001,'贷')", terms={("QM", "1001", ""): D(3), ("FS", "4001", "credit"): D(1)}) == 5


@pytest.mark.parametrize(("text", "message"), [
    ("", "公式为空"),
    ("1+", "应为数字、函数或单元格"),
    ("(1+2", "应为“)”"),
    ("1 2", "多余的“2”"),
    ("QM()", "参数个数不对"),
    ("FS(1001)", "参数个数不对"),
    ("FS(1001,'左')", "第 2 个参数应为"),
    ("QM(abc)", "不是函数也不是单元格"),
    ("QM('1x')", "科目编码"),
    ("QM(1001,'借','bogus:1')", "辅助核算条件“bogus:1”不正确"),
    ("SUM(1)", "未知函数 SUM"),
    ("__import__('os')", "未知函数 __IMPORT__"),
    ("1; 2", "无法识别"),
    ("'text'", "只能作为函数参数"),
    ("FOO", "既不是函数也不是单元格"),
])
def test_errors_are_clear(text, message):
    with pytest.raises(fm.FormulaError) as exc:
        fm.parse(text)
    assert message in exc.value.message


def test_division_by_zero_and_cycles():
    with pytest.raises(fm.FormulaError, match="除数为零"):
        value("1/(2-2)")
    assert fm.order_of({"A1": {"B1"}, "B1": {"C1"}, "C1": set()}) == ["C1", "B1", "A1"]
    with pytest.raises(fm.FormulaError, match="循环引用：A1 → B1 → A1"):
        fm.order_of({"A1": {"B1"}, "B1": {"A1"}})
    with pytest.raises(fm.FormulaError, match="循环引用：C3 → C3"):
        fm.order_of({"C3": {"C3"}})




def _save(books, cells, *, shared=False, user=None, **kw):
    return services.save_custom_report(
        user=user or books.entrant, code=kw.pop("code", "R1"), name=kw.pop("name", "货币资金与收支"),
        n_rows=kw.pop("n_rows", 4), n_cols=kw.pop("n_cols", 3), cells=cells,
        account_set_id=None if shared else books.aset.pk, **kw)


@pytest.mark.django_db
def test_custom_report_computed_on_a_period(books):
    books.post([dr("1011", 100), cr("4001", 100), dr("800101", 100), cr("600101", 100)], on=dt.date(YEAR, 2, 3))
    books.post([dr("5001", 30), cr("1011", 30), dr("720101", 30), cr("800101", 30)], on=dt.date(YEAR, 3, 5))
    report = _save(books, {
        "A1": "项目", "B1": "期初", "C1": "期末",
        "A2": "零余额账户用款额度", "B2": "=QC(1011)", "C2": "=QM(1011)",
        "A3": "本期支出", "B3": "=FS(7201,'借')", "C3": "=LJ(6001,'贷')-LJ(7201,'借')",
        "A4": "比率", "B4": "=ROUND(C2/C3*100, 2)", "C4": "=B2-B3+C2*0+1.5"})
    res = selectors.compute_custom(user=books.entrant, report_id=report.pk, account_set_id=books.aset.pk,
                                   year=YEAR, period=3)
    cells = {c["key"]: c for row in res.grid for c in row}
    assert cells["B2"]["value"] == D("100.00") and cells["C2"]["value"] == D("70.00")
    assert cells["B3"]["value"] == D("30.00") and cells["C3"]["value"] == D("70.00")
    assert cells["B4"]["value"] == D("100.00") and cells["C4"]["value"] == D("71.50")
    assert cells["A1"]["kind"] == "text" and not res.errors
    feb = selectors.compute_custom(user=books.entrant, report_id=report.pk, account_set_id=books.aset.pk,
                                   year=YEAR, period=2)
    cells = {c["key"]: c for row in feb.grid for c in row}
    assert cells["B2"]["value"] == 0 and cells["C2"]["value"] == D("100.00")
    # a division by zero is an error of that cell, and of the cells that use it; not of the report
    jan = selectors.compute_custom(user=books.entrant, report_id=report.pk, account_set_id=books.aset.pk,
                                   year=YEAR, period=1)
    cells = {c["key"]: c for row in jan.grid for c in row}
    assert "除数为零" in cells["B4"]["error"] and cells["B4"]["value"] is None and jan.errors


@pytest.mark.django_db
def test_validation_names_the_cell_and_writes_nothing(books):
    with pytest.raises(ValidationFailed) as exc:
        _save(books, {"A1": "=QM(1001)+", "B2": "=A1+C9", "C1": "=FOO(1)", "A2": "标题", "A3": "=A2*2"})
    fields = {e["field"] for e in exc.value.errors}
    assert fields == {"A1", "B2", "C1", "A3"}
    text = exc.value.message
    assert "单元格 B2：引用的单元格 C9 超出报表范围" in text and "单元格 A3：引用的单元格 A2 是文字" in text
    assert "单元格 C1：第 1 个字符处未知函数 FOO" in text
    with pytest.raises(ValidationFailed, match="循环引用：A1 → B1 → C1 → A1"):
        _save(books, {"A1": "=B1+1", "B1": "=C1", "C1": "=A1*2"})
    with pytest.raises(ValidationFailed, match="超出报表范围"):
        _save(books, {"Z9": "1"}, n_rows=2, n_cols=2)
    with pytest.raises(ValidationFailed, match="列数应为 1–26"):
        _save(books, {}, n_cols=27)
    with pytest.raises(ValidationFailed, match="报表编码"):
        _save(books, {}, code="坏 编码")
    assert CustomReport.objects.count() == 0


@pytest.mark.django_db
def test_save_update_shared_and_scope(books):
    r = _save(books, {"A1": "=QM(1002)"})
    with pytest.raises(Conflict):
        _save(books, {"A1": "1"})
    r2 = services.save_custom_report(user=books.auditor, report_id=r.pk, code="R1", name="银行存款", n_rows=2, n_cols=2,
                                     cells={"A1": "=QM(1002)", "B1": "=A1*2"}, account_set_id=books.aset.pk)
    assert r2.pk == r.pk and r2.cells["B1"] == "=A1*2" and r2.agency_id == books.agency.pk
    shared = _save(books, {"A1": "=QM(1001)"}, shared=True, code="S1")
    assert shared.is_shared
    # the shared layout is listed for every holder of the function; only its creator changes it
    assert shared in selectors.custom_reports(user=books.outsider)
    with pytest.raises(PermissionDenied):
        services.delete_custom_report(user=books.auditor, report_id=shared.pk)
    # a report of an account set out of scope: not listed, not found, not computed
    assert r not in selectors.custom_reports(user=books.outsider)
    with pytest.raises(NotFound):
        selectors.custom_report(user=books.outsider, pk=r.pk)
    with pytest.raises(NotFound):
        selectors.compute_custom(user=books.outsider, report_id=shared.pk, account_set_id=books.aset.pk,
                                 year=YEAR, period=3)
    with pytest.raises(NotFound):
        services.save_custom_report(user=books.outsider, code="X", name="x", n_rows=1, n_cols=1, cells={},
                                    account_set_id=books.aset.pk)
    services.delete_custom_report(user=books.entrant, report_id=shared.pk)
    services.delete_custom_report(user=books.entrant, report_id=r.pk)
    assert CustomReport.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_parallel_saves_of_one_code_keep_one_report(books):
    """Eight users save a report with the same code on the same account set at once: one is saved,
    the others are told the code is taken (the database's unique constraint decides)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def attempt(i):
        try:
            services.save_custom_report(user=books.entrant if i % 2 else books.auditor, code="SAME", name=f"报表{i}",
                                        n_rows=1, n_cols=1, cells={"A1": f"={i}"}, account_set_id=books.aset.pk)
            return "ok"
        except Conflict:
            return "taken"
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count("ok") == 1 and results.count("taken") == 7
    assert CustomReport.objects.filter(code="SAME").count() == 1


def test_statement_definitions_are_validated():
    from fmis.reports.standard import STATEMENTS, L

    for spec in STATEMENTS:  # every preloaded statement parses, refers to existing lines, has no cycle
        services.validate_statement(spec, spec["lines"]())
    spec = {"name": "测试表", "columns": [{"key": "end", "title": "期末余额"}]}
    with pytest.raises(ValidationFailed, match=r"测试表：循环引用：01\.end → 02\.end → 01\.end"):
        services.validate_statement(spec, [L("01", "甲", {"end": "[02]"}), L("02", "乙", {"end": "[01]+QM(1001)"})])
    with pytest.raises(ValidationFailed, match=r"第 01 行“甲”end 栏：引用的 \[09\] 不存在"):
        services.validate_statement(spec, [L("01", "甲", {"end": "[09]"})])
    with pytest.raises(ValidationFailed, match=r"第 01 行“甲”end 栏：第 1 个字符处未知函数 QX"):
        services.validate_statement(spec, [L("01", "甲", {"end": "QX(1001)"})])
    with pytest.raises(ValidationFailed, match="没有这一栏"):
        services.validate_statement(spec, [L("01", "甲", {"start": "QM(1001)"})])

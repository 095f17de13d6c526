"""The standard department budget disclosure tables (部门预算公开表) as one xlsx workbook.

Built from one SQL aggregate of the budget lines the user may see (by agency, basic/project,
fund type, functional and economic class), at each line's current amount: approved, else
compiled, else finance-reviewed, else declared. Tables: 部门收支总表, 部门收入总表, 部门支出总表,
财政拨款收支总表, 一般公共预算财政拨款支出表, 一般公共预算财政拨款基本支出表, 三公经费表.
Income is the funding of the budgeted expenditure by fund type (资金性质): the lines carry no
other income (e.g. carry-overs from the previous year), so those rows are not shown.
"""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Coalesce

from fmis.budgeting.functions import UNIT_VIEW
from fmis.budgeting.models import BudgetLine, BudgetRound
from fmis.platform.money import ZERO

# fund type → income item (收入项目) of the disclosure tables
INCOME_ITEMS: tuple[tuple[str, str], ...] = (
    ("11", "一般公共预算拨款收入"),
    ("12", "政府性基金预算拨款收入"),
    ("13", "国有资本经营预算拨款收入"),
    ("2", "财政专户管理资金收入"),
    ("31", "事业收入"),
    ("32", "事业单位经营收入"),
    ("33", "上级补助收入"),
    ("34", "附属单位上缴收入"),
    ("39", "其他收入"),
)
FISCAL_FUNDS = ("11", "12", "13")
# 三公经费: (name, department economic classes)
THREE_PUBLIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("因公出国（境）费", ("30212",)),
    ("公务接待费", ("30217",)),
    ("公务用车购置费", ("30913", "31013")),
    ("公务用车运行维护费", ("30231",)),
)
PERSONNEL_ECO = ("301", "303")  # 人员经费; the rest of basic expenditure is 公用经费


def _income_item(fund_type: str) -> str:
    if fund_type[:2] in {"11", "12", "13", "31", "32", "33", "34", "39"}:
        return fund_type[:2]
    if fund_type.startswith("2"):
        return "2"
    return "11" if fund_type.startswith("1") else "39"


def aggregate(*, user, rnd: BudgetRound, function: str = UNIT_VIEW) -> list[dict]:
    """One row per (agency, kind, fund type, func code, dept eco code) with the current amount."""
    current = Coalesce("amount_approved", "amount_compiled", "amount_reviewed", "amount_applied")
    return list(BudgetLine.objects.restrict(user, function).filter(round=rnd)
                .values("agency__code", "agency__name", "kind", "fund_type", "func_code", "dept_eco_code")
                .annotate(amount=Sum(current)).order_by("agency__code"))


def _names(element: str) -> dict[str, str]:
    from fmis.dictionary.models import Value

    return dict(Value.objects.filter(element__code=element).values_list("code", "name"))


def tables(rows: list[dict]) -> dict[str, tuple[list[str], list[list]]]:
    """The seven tables as {sheet name: (headers, rows)}."""
    func_names = _names("EXP_FUNC")
    eco_names = _names("DEPT_ECO")
    income = defaultdict(lambda: ZERO)
    by_agency: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    by_func = defaultdict(lambda: [ZERO, ZERO])  # func code → [basic, project]
    fiscal_by_fund = defaultdict(lambda: ZERO)
    fiscal_by_class = defaultdict(lambda: ZERO)
    gpb_by_func = defaultdict(lambda: [ZERO, ZERO])
    gpb_basic_eco = defaultdict(lambda: ZERO)
    three = defaultdict(lambda: ZERO)
    for r in rows:
        amount = r["amount"] or ZERO
        fund, func, eco = r["fund_type"], r["func_code"], r["dept_eco_code"]
        basic = r["kind"] == BudgetLine.Kind.BASIC
        item = _income_item(fund)
        income[item] += amount
        by_agency[(r["agency__code"], r["agency__name"])][item] += amount
        by_func[func][0 if basic else 1] += amount
        if fund[:2] in FISCAL_FUNDS:
            fiscal_by_fund[fund[:2]] += amount
            fiscal_by_class[func[:3]] += amount
        if fund[:2] == "11":
            gpb_by_func[func][0 if basic else 1] += amount
            if basic:
                gpb_basic_eco[eco[:5]] += amount
            for name, ecos in THREE_PUBLIC:
                if eco[:5] in ecos:
                    three[name] += amount
    total = sum(income.values(), start=ZERO)
    out: dict[str, tuple[list[str], list[list]]] = {}

    # 部门收支总表
    exp_by_class = defaultdict(lambda: ZERO)
    for func, (b, p) in by_func.items():
        exp_by_class[func[:3]] += b + p
    left = [(name, income[code]) for code, name in INCOME_ITEMS]
    right = [(f"{c} {func_names.get(c, '')}", a) for c, a in sorted(exp_by_class.items())]
    n = max(len(left), len(right))
    body = [[*(left[i] if i < len(left) else ("", "")), *(right[i] if i < len(right) else ("", ""))] for i in range(n)]
    body.append(["本年收入合计", total, "本年支出合计", sum(exp_by_class.values(), start=ZERO)])
    out["部门收支总表"] = (["收入项目", "预算数", "支出功能分类（类）", "预算数"], body)

    # 部门收入总表
    heads = ["单位编码", "单位名称", "合计", *[name for _c, name in INCOME_ITEMS]]
    body = [[code, name, sum(items.values(), start=ZERO), *[items[c] for c, _n in INCOME_ITEMS]]
            for (code, name), items in sorted(by_agency.items())]
    body.append(["", "合计", total, *[income[c] for c, _n in INCOME_ITEMS]])
    out["部门收入总表"] = (heads, body)

    # 部门支出总表
    body = [[f, func_names.get(f, ""), b + p, b, p] for f, (b, p) in sorted(by_func.items())]
    body.append(["", "合计", *[sum((r[i] for r in body), start=ZERO) for i in (2, 3, 4)]])
    out["部门支出总表"] = (["功能分类科目编码", "科目名称", "合计", "基本支出", "项目支出"], body)

    # 财政拨款收支总表
    names = dict(INCOME_ITEMS)
    left = [(names[c], fiscal_by_fund[c]) for c in FISCAL_FUNDS]
    right = [(f"{c} {func_names.get(c, '')}", a) for c, a in sorted(fiscal_by_class.items())]
    n = max(len(left), len(right))
    body = [[*(left[i] if i < len(left) else ("", "")), *(right[i] if i < len(right) else ("", ""))] for i in range(n)]
    body.append(["本年收入合计", sum(fiscal_by_fund.values(), start=ZERO), "本年支出合计",
                 sum(fiscal_by_class.values(), start=ZERO)])
    out["财政拨款收支总表"] = (["收入项目", "预算数", "支出功能分类（类）", "预算数"], body)

    # 一般公共预算财政拨款支出表 (类, 款 and 项 subtotals)
    levels = defaultdict(lambda: [ZERO, ZERO])
    for f, (b, p) in gpb_by_func.items():
        for n_ in (3, 5, 7):
            levels[f[:n_]][0] += b
            levels[f[:n_]][1] += p
    body = [[f, func_names.get(f, ""), b + p, b, p] for f, (b, p) in sorted(levels.items())]
    top_b = sum((v[0] for k, v in levels.items() if len(k) == 3), start=ZERO)
    top_p = sum((v[1] for k, v in levels.items() if len(k) == 3), start=ZERO)
    body.append(["", "合计", top_b + top_p, top_b, top_p])
    out["一般公共预算财政拨款支出表"] = (["功能分类科目编码", "科目名称", "合计", "基本支出", "项目支出"], body)

    # 一般公共预算财政拨款基本支出表 (人员经费 / 公用经费 by economic 类 and 款)
    eco_levels = defaultdict(lambda: ZERO)
    for e, a in gpb_basic_eco.items():
        eco_levels[e[:3]] += a
        eco_levels[e] += a
    body = []
    for e, a in sorted(eco_levels.items()):
        personnel = e[:3] in PERSONNEL_ECO
        body.append([e, eco_names.get(e, ""), a if personnel else ZERO, ZERO if personnel else a])
    body.append(["", "合计", sum((a for e, a in eco_levels.items() if len(e) == 3 and e in PERSONNEL_ECO), start=ZERO),
                 sum((a for e, a in eco_levels.items() if len(e) == 3 and e not in PERSONNEL_ECO), start=ZERO)])
    out["一般公共预算财政拨款基本支出表"] = (["经济分类科目编码", "科目名称", "人员经费", "公用经费"], body)

    # 三公经费表
    body = [[name, three[name]] for name, _e in THREE_PUBLIC]
    body.insert(0, ["合计", sum(three.values(), start=ZERO)])
    out["一般公共预算“三公”经费支出表"] = (["项目", "预算数"], body)
    return out


def workbook(*, user, rnd: BudgetRound, function: str = UNIT_VIEW) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for sheet, (headers, body) in tables(aggregate(user=user, rnd=rnd, function=function)).items():
        ws = wb.create_sheet(sheet[:31])
        ws.append([f"{rnd.fiscal_year}年{sheet}"])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append(["单位：元"])
        ws.append(headers)
        for cell in ws[3]:
            cell.font = Font(bold=True)
        for row in body:
            ws.append(list(row))
        for col, width in zip("ABCDEFGHIJKL", (18, 30, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16), strict=False):
            ws.column_dimensions[col].width = width
        for row in ws.iter_rows(min_row=4):
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

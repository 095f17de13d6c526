"""The standard statements of the government accounting system (政府会计制度, fiscal-standard
notes §3), as data: lines with their formulas per column. ``preload()`` writes them into the
statement tables (idempotent: a standard statement is rewritten from this file, a user-edited copy
under another code is left alone).

Conventions of the formulas:
- balances on the account's own side (QM/NC without direction): assets and expenses debit,
  liabilities, net assets and revenues credit; contra accounts (1602, 1702, 1802, 1832, 1219) are
  subtracted by the line formula;
- revenues are read on the credit side and expenses on the debit side (FS/LJ ..., '贷' / '借'), so
  a year-end carry-forward voucher (which debits revenues and credits expenses) does not cancel
  the year's figures; corrections of revenue and expense are red (negative) entries on the same side;
- before the year-end carry-forward, the balance sheet shows revenues less expenses not yet
  carried forward under 本期盈余, so 资产总计 = 负债和净资产总计 in every month.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BALANCE_SHEET = "balance_sheet"
INCOME_STATEMENT = "income_statement"
NET_ASSETS = "net_assets_changes"
BUDGET_INCOME = "budget_income"
BUDGET_CARRYOVER = "budget_carryover"
APPROPRIATION = "appropriation"


@dataclass
class L:
    code: str
    name: str
    formulas: dict[str, str] = field(default_factory=dict)
    indent: int = 0
    heading: bool = False
    total: bool = False


def _terms(fn: str, items: tuple[str, ...], extra: str = "") -> str:
    """'1001', '-1602' → "QM(1001)-QM(1602)" (fn 'QM'); `extra` is appended inside each call."""
    parts = []
    for i, item in enumerate(items):
        sign = "-" if item.startswith("-") else "+"
        code = item.lstrip("+-")
        parts.append(("" if i == 0 and sign == "+" else sign) + f"{fn}({code}{extra})")
    return "".join(parts) or "0"


def bal(*codes: str) -> dict[str, str]:
    """Balance-sheet line: closing (期末余额) and year opening (年初余额) of the accounts."""
    return {"end": _terms("QM", codes), "start": _terms("NC", codes)}


def sum_lines(cols: tuple[str, ...], *lines: str) -> dict[str, str]:
    expr = "".join(("" if i == 0 and not ln.startswith("-") else ("-" if ln.startswith("-") else "+"))
                   + f"[{ln.lstrip('+-')}]" for i, ln in enumerate(lines))
    return {c: expr for c in cols}


def zero(cols: tuple[str, ...]) -> dict[str, str]:
    return {c: "0" for c in cols}


BS = ("end", "start")


def _balance_sheet() -> list[L]:
    # 本期盈余 before the year-end carry-forward: the net-asset accounts that are carried forward
    # and revenues less expenses not yet carried
    surplus = ("QM(3301)+QM(3302)+QM(3501)+QM(4,'贷')-QM(5,'借')", "NC(3301)+NC(3302)+NC(3501)+NC(4,'贷')-NC(5,'借')")
    return [
        L("00", "资产", heading=True),
        L("01", "货币资金", bal("1001", "1002", "1011", "1021"), 1),
        L("02", "短期投资", bal("1101"), 1),
        L("03", "财政应返还额度", bal("1201"), 1),
        L("04", "应收票据", bal("1211"), 1),
        L("05", "应收账款净额", bal("1212", "-1219", "+121902"), 1),
        L("06", "预付账款", bal("1214"), 1),
        L("07", "应收股利", bal("1215"), 1),
        L("08", "应收利息", bal("1216"), 1),
        L("09", "其他应收款净额", bal("1218", "-121902"), 1),
        L("10", "存货", bal("1301", "1302", "1303"), 1),
        L("11", "待摊费用", bal("1401"), 1),
        L("12", "一年内到期的非流动资产", zero(BS), 1),
        L("13", "其他流动资产", zero(BS), 1),
        L("14", "流动资产合计", sum_lines(BS, *[f"{i:02d}" for i in range(1, 14)]), total=True),
        L("15", "长期股权投资", bal("1501"), 1),
        L("16", "长期债券投资", bal("1502"), 1),
        L("17", "固定资产原值", bal("1601"), 1),
        L("18", "减：固定资产累计折旧", bal("1602"), 2),
        L("19", "固定资产净值", sum_lines(BS, "17", "-18"), 1),
        L("20", "工程物资", bal("1611"), 1),
        L("21", "在建工程", bal("1613"), 1),
        L("22", "无形资产原值", bal("1701"), 1),
        L("23", "减：无形资产累计摊销", bal("1702"), 2),
        L("24", "无形资产净值", sum_lines(BS, "22", "-23"), 1),
        L("25", "研发支出", bal("1703"), 1),
        L("26", "公共基础设施原值", bal("1801"), 1),
        L("27", "减：公共基础设施累计折旧（摊销）", bal("1802"), 2),
        L("28", "公共基础设施净值", sum_lines(BS, "26", "-27"), 1),
        L("29", "政府储备物资", bal("1811"), 1),
        L("30", "文物文化资产", bal("1821"), 1),
        L("31", "保障性住房原值", bal("1831"), 1),
        L("32", "减：保障性住房累计折旧", bal("1832"), 2),
        L("33", "保障性住房净值", sum_lines(BS, "31", "-32"), 1),
        L("34", "长期待摊费用", bal("1901"), 1),
        L("35", "待处理财产损溢", bal("1902"), 1),
        L("36", "其他非流动资产", zero(BS), 1),
        L("37", "非流动资产合计",
          sum_lines(BS, "15", "16", "19", "20", "21", "24", "25", "28", "29", "30", "33", "34", "35", "36"),
          total=True),
        L("38", "受托代理资产", bal("1891"), 1),
        L("39", "资产总计", sum_lines(BS, "14", "37", "38"), total=True),
        L("40", "负债", heading=True),
        L("41", "短期借款", bal("2001"), 1),
        L("42", "应交增值税", bal("2101"), 1),
        L("43", "其他应交税费", bal("2102"), 1),
        L("44", "应缴财政款", bal("2103"), 1),
        L("45", "应付职工薪酬", bal("2201"), 1),
        L("46", "应付票据", bal("2301"), 1),
        L("47", "应付账款", bal("2302"), 1),
        L("48", "应付政府补贴款", bal("2303"), 1),
        L("49", "应付利息", bal("2304"), 1),
        L("50", "预收账款", bal("2305"), 1),
        L("51", "其他应付款", bal("2307"), 1),
        L("52", "预提费用", bal("2401"), 1),
        L("53", "一年内到期的非流动负债", zero(BS), 1),
        L("54", "其他流动负债", zero(BS), 1),
        L("55", "流动负债合计", sum_lines(BS, *[f"{i:02d}" for i in range(41, 55)]), total=True),
        L("56", "长期借款", bal("2501"), 1),
        L("57", "长期应付款", bal("2502"), 1),
        L("58", "预计负债", bal("2601"), 1),
        L("59", "其他非流动负债", zero(BS), 1),
        L("60", "非流动负债合计", sum_lines(BS, "56", "57", "58", "59"), total=True),
        L("61", "受托代理负债", bal("2901"), 1),
        L("62", "负债合计", sum_lines(BS, "55", "60", "61"), total=True),
        L("63", "净资产", heading=True),
        L("64", "累计盈余", bal("3001"), 1),
        L("65", "专用基金", bal("3101"), 1),
        L("66", "权益法调整", bal("3201"), 1),
        L("67", "无偿调拨净资产", bal("3401"), 1),
        L("68", "本期盈余", {"end": surplus[0], "start": surplus[1]}, 1),
        L("69", "净资产合计", sum_lines(BS, "64", "65", "66", "67", "68"), total=True),
        L("70", "负债和净资产总计", sum_lines(BS, "62", "69"), total=True),
    ]


IS = ("month", "ytd")


def flow(side: str, *codes: str, aux: str = "") -> dict[str, str]:
    """Income-statement line: the period's (本月数) and the year's (本年累计数) amount on `side`."""
    extra = f",'{side}'" + (f",'{aux}'" if aux else "")
    return {"month": _terms("FS", codes, extra), "ytd": _terms("LJ", codes, extra)}


def _income_statement() -> list[L]:
    revenue = [("01", "（一）财政拨款收入", "4001"), ("03", "（二）事业收入", "4101"), ("04", "（三）上级补助收入", "4201"),
               ("05", "（四）附属单位上缴收入", "4301"), ("06", "（五）经营收入", "4401"),
               ("07", "（六）非同级财政拨款收入", "4601"), ("08", "（七）投资收益", "4602"), ("09", "（八）捐赠收入", "4603"),
               ("10", "（九）利息收入", "4604"), ("11", "（十）租金收入", "4605"), ("12", "（十一）其他收入", "4609")]
    expense = [("21", "（一）业务活动费用", "5001"), ("22", "（二）单位管理费用", "5101"), ("23", "（三）经营费用", "5201"),
               ("24", "（四）资产处置费用", "5301"), ("25", "（五）上缴上级费用", "5401"),
               ("26", "（六）对附属单位补助费用", "5501"), ("27", "（七）所得税费用", "5801"), ("28", "（八）其他费用", "5901")]
    lines = [L("00", "一、本期收入", sum_lines(IS, *[c for c, _n, _a in revenue]), total=True)]
    for code, name, acc in revenue:
        lines.append(L(code, name, flow("贷", acc), 1))
        if code == "01":
            lines.append(L("02", "其中：政府性基金收入", flow("贷", "4001", aux="fund_type:12"), 2))
    lines.append(L("20", "二、本期费用", sum_lines(IS, *[c for c, _n, _a in expense]), total=True))
    lines += [L(code, name, flow("借", acc), 1) for code, name, acc in expense]
    lines.append(L("30", "三、本期盈余", sum_lines(IS, "00", "-20"), total=True))
    return lines


YR = ("cur", "prev")


def ytd(side: str, *codes: str, aux: str = "") -> dict[str, str]:
    """本年数 / 上年数 of a budgetary line: the year's cumulative amount on `side`."""
    extra = f",'{side}'" + (f",'{aux}'" if aux else "")
    f = _terms("LJ", codes, extra)
    return {"cur": f, "prev": f}


def _budget_income() -> list[L]:
    income = [("02", "（一）财政拨款预算收入", "6001"), ("04", "（二）事业预算收入", "6101"),
              ("05", "（三）上级补助预算收入", "6201"), ("06", "（四）附属单位上缴预算收入", "6301"),
              ("07", "（五）经营预算收入", "6401"), ("08", "（六）债务预算收入", "6501"),
              ("09", "（七）非同级财政拨款预算收入", "6601"), ("10", "（八）投资预算收益", "6602"),
              ("11", "（九）其他预算收入", "6609")]
    spend = [("21", "（一）行政支出", "7101"), ("22", "（二）事业支出", "7201"), ("23", "（三）经营支出", "7301"),
             ("24", "（四）上缴上级支出", "7401"), ("25", "（五）对附属单位补助支出", "7501"),
             ("26", "（六）投资支出", "7601"), ("27", "（七）债务还本支出", "7701"), ("28", "（八）其他支出", "7901")]
    lines = [L("01", "一、本年预算收入", sum_lines(YR, *[c for c, _n, _a in income]), total=True)]
    for code, name, acc in income:
        lines.append(L(code, name, ytd("贷", acc), 1))
        if code == "02":
            lines.append(L("03", "其中：政府性基金收入", ytd("贷", "6001", aux="fund_type:12"), 2))
        if code == "11":
            lines += [L("12", "其中：利息预算收入", ytd("贷", "660901"), 2),
                      L("13", "捐赠预算收入", ytd("贷", "660902"), 3),
                      L("14", "租金预算收入", ytd("贷", "660903"), 3)]
    lines.append(L("20", "二、本年预算支出", sum_lines(YR, *[c for c, _n, _a in spend]), total=True))
    for code, name, acc in spend:
        lines.append(L(code, name, ytd("借", acc), 1))
        if code == "28":
            lines += [L("29", "其中：利息支出", ytd("借", "790101"), 2), L("30", "捐赠支出", ytd("借", "790102"), 3)]
    lines.append(L("40", "三、本年预算收支差额", sum_lines(YR, "01", "-20"), total=True))
    return lines


def same(expr: str) -> dict[str, str]:
    return {"cur": expr, "prev": expr}


FISCAL_INCOME = "LJ(6001,'贷')"
FISCAL_SPEND = "LJ(710101,'借')+LJ(720101,'借')"
# revenues and expenditures of non-fiscal funds (经营 ones close into 8401 经营结余)
OTHER_INCOME = "+".join(f"LJ({c},'贷')" for c in ("6101", "6201", "6301", "6501", "6601", "6602", "6609"))
OTHER_SPEND = "+".join(f"LJ({c},'借')" for c in ("710102", "710103", "720102", "720103", "7401", "7501", "7601",
                                                 "7701", "7901"))
# figures not yet carried forward at the period (zero once the year-end carry-forward is posted)
FISCAL_PENDING = "QM(6001)-QM(710101)-QM(720101)"
OTHER_PENDING = "+".join(f"QM({c})" for c in ("6101", "6201", "6301", "6501", "6601", "6602", "6609")) + "-" + \
    "-".join(f"QM({c})" for c in ("710102", "710103", "720102", "720103", "7401", "7501", "7601", "7701", "7901"))
BUSINESS_PENDING = "QM(6401)-QM(7301)"


def _net(*codes: str) -> str:
    return "+".join(f"LJ({c},'净')" for c in codes)


def _budget_carryover() -> list[L]:
    return [
        L("01", "一、年初预算结转结余", same("[02]+[03]"), total=True),
        L("02", "（一）财政拨款结转结余", same("NC(8101)+NC(8102)"), 1),
        L("03", "（二）其他资金结转结余", same("NC(8201)+NC(8202)+NC(8301)+NC(8401)+NC(8501)+NC(8701)"), 1),
        L("04", "二、年初余额调整（减少以“-”号填列）", same("[05]+[06]"), total=True),
        L("05", "（一）财政拨款结转结余", same(_net("810101", "810201")), 1),
        L("06", "（二）其他资金结转结余", same(_net("820101", "820201")), 1),
        L("07", "三、本年变动金额（减少以“-”号填列）", same("[08]+[12]"), total=True),
        L("08", "（一）财政拨款结转结余", same("[09]+[10]+[11]"), 1),
        L("09", "1.本年收支差额", same(f"{FISCAL_INCOME}-({FISCAL_SPEND})"), 2),
        L("10", "2.归集调入", same(_net("810102")), 2),
        L("11", "3.归集上缴或调出", same(_net("810103", "810104", "810202")), 2),
        L("12", "（二）其他资金结转结余", same("[13]+[14]+[15]+[16]"), 1),
        L("13", "1.本年收支差额", same(f"{OTHER_INCOME}+LJ(6401,'贷')-({OTHER_SPEND}+LJ(7301,'借'))"), 2),
        L("14", "2.缴回资金", same(_net("820102")), 2),
        L("15", "3.使用专用结余", same("-LJ(8301,'借')"), 2),
        L("16", "4.支付所得税", same("-LJ(820204,'借')"), 2),
        L("17", "四、年末预算结转结余", same("[18]+[21]"), total=True),
        L("18", "（一）财政拨款结转结余", same("[19]+[20]"), 1),
        L("19", "1.财政拨款结转", same(f"QM(8101)+{FISCAL_PENDING}"), 2),
        L("20", "2.财政拨款结余", same("QM(8102)"), 2),
        L("21", "（二）其他资金结转结余", same("[22]+[23]+[24]+[25]"), 1),
        L("22", "1.非财政拨款结转", same("QM(8201)"), 2),
        L("23", "2.非财政拨款结余", same(f"QM(8202)+QM(8501)+QM(8701)+{OTHER_PENDING}"), 2),
        L("24", "3.专用结余", same("QM(8301)"), 2),
        L("25", "4.经营结余（如有余额，以“-”号填列）", same(f"QM(8401)+{BUSINESS_PENDING}"), 2),
    ]


NA_GROUPS = {"3001": ("3001", "3301", "3302", "3401", "3501"), "3101": ("3101",), "3201": ("3201",)}
NA_COLS = tuple(f"{p}_{g}" for p in ("cur", "prev") for g in ("3001", "3101", "3201", "total"))


def _net_assets() -> list[L]:
    def row(code: str, per_group: dict[str, str]) -> dict[str, str]:
        out = {}
        for p in ("cur", "prev"):
            for g in ("3001", "3101", "3201"):
                out[f"{p}_{g}"] = per_group.get(g, "0")
            out[f"{p}_total"] = "+".join(f"[{code}.{p}_{g}]" for g in ("3001", "3101", "3201"))
        return out

    def bal_row(code: str, fn: str) -> dict[str, str]:
        per = {g: "+".join(f"{fn}({c})" for c in codes) for g, codes in NA_GROUPS.items()}
        per["3001"] += f"+{fn}(4,'贷')-{fn}(5,'借')"
        return row(code, per)

    def lines_sum(expr: str) -> dict[str, str]:
        return dict.fromkeys(NA_COLS, expr)

    return [
        L("01", "一、上年年末余额", bal_row("01", "NC"), total=True),
        L("02", "二、以前年度盈余调整（减少以“-”号填列）", row("02", {"3001": "LJ(3501,'净')"})),
        L("03", "三、本年年初余额", lines_sum("[01]+[02]"), total=True),
        L("04", "四、本年变动金额（减少以“-”号填列）", lines_sum("[05]+[06]+[07]+[08]+[09]+[10]"), total=True),
        L("05", "（一）本年盈余", row("05", {"3001": "LJ(4,'贷')-LJ(5,'借')"}), 1),
        L("06", "（二）无偿调拨净资产", row("06", {"3001": "LJ(3401,'净')"}), 1),
        L("07", "（三）归集调整预算结转结余", row("07", {"3001": "LJ(300101,'净')"}), 1),
        L("08", "（四）提取或设置专用基金", row("08", {"3001": "-LJ(3101,'贷')", "3101": "LJ(3101,'贷')"}), 1),
        L("09", "（五）使用专用基金", row("09", {"3001": "0", "3101": "-LJ(3101,'借')"}), 1),
        L("10", "（六）权益法调整", row("10", {"3201": "LJ(3201,'净')"}), 1),
        L("11", "五、本年年末余额", bal_row("11", "QM"), total=True),
    ]


APPROPRIATION_COLS = ("start_carry", "start_surplus", "adjust", "pooled_in", "pooled_out", "internal_carry",
                      "internal_surplus", "income", "spend", "end_carry", "end_surplus")


def _spend(aux: str) -> str:
    return f"LJ(710101,'借','{aux}')+LJ(720101,'借','{aux}')"


def _appropriation() -> list[L]:
    lines: list[L] = []
    for base, (fund, title) in enumerate((("11", "一、一般公共预算财政拨款"), ("12", "二、政府性基金预算财政拨款"))):
        n, f = base * 10, f"fund_type:{fund}"
        lines += [
            L(f"{n + 1:02d}", title, {"income": f"LJ(6001,'贷','{f}')", "spend": _spend(f)}, total=True),
            L(f"{n + 2:02d}", "（一）基本支出",
              {"income": f"LJ(600101,'贷','{f}')", "spend": _spend(f"{f};project:-")}, 1),
            L(f"{n + 3:02d}", "1.人员经费",
              {"spend": f"{_spend(f'{f};project:-;dept_eco:301')}+{_spend(f'{f};project:-;dept_eco:303')}"}, 2),
            L(f"{n + 4:02d}", "2.日常公用经费", {"spend": _spend(f"{f};project:-;dept_eco:302")}, 2),
            L(f"{n + 5:02d}", "（二）项目支出",
              {"income": f"LJ(600102,'贷','{f}')", "spend": _spend(f"{f};project:*")}, 1),
        ]
    lines.append(L("30", "总计", {
        "start_carry": "NC(8101)", "start_surplus": "NC(8102)", "adjust": _net("810101", "810201"),
        "pooled_in": _net("810102"), "pooled_out": _net("810103", "810104", "810202"),
        "internal_carry": _net("810105"), "internal_surplus": _net("810203"),
        "income": FISCAL_INCOME, "spend": FISCAL_SPEND,
        "end_carry": f"QM(8101)+{FISCAL_PENDING}", "end_surplus": "QM(8102)"}, total=True))
    return lines


STATEMENTS: list[dict] = [
    {"code": BALANCE_SHEET, "name": "资产负债表", "form_no": "会政财01表", "basis": "financial", "order": 10,
     "columns": [{"key": "end", "title": "期末余额"}, {"key": "start", "title": "年初余额"}],
     "checks": [{"name": "资产总计 = 负债和净资产总计", "left": "[39]", "right": "[70]"}],
     "note": "月报在净资产中列示无偿调拨净资产和本期盈余（含尚未结转的收入、费用）；年末结转后两项为零。",
     "lines": _balance_sheet},
    {"code": INCOME_STATEMENT, "name": "收入费用表", "form_no": "会政财02表", "basis": "financial", "order": 20,
     "columns": [{"key": "month", "title": "本月数"}, {"key": "ytd", "title": "本年累计数"}],
     "checks": [], "note": "收入取贷方发生额、费用取借方发生额，不受年末结转凭证影响。", "lines": _income_statement},
    {"code": NET_ASSETS, "name": "净资产变动表", "form_no": "会政财03表", "basis": "financial", "order": 30,
     "columns": [{"key": f"{p}_{g}", "title": f"{pt}·{gt}", "year_offset": off}
                 for p, pt, off in (("cur", "本年数", 0), ("prev", "上年数", -1))
                 for g, gt in (("3001", "累计盈余"), ("3101", "专用基金"), ("3201", "权益法调整"),
                               ("total", "净资产合计"))],
     "checks": [{"name": "本年年末余额 = 本年年初余额 + 本年变动金额", "left": "[11]", "right": "[03]+[04]"}],
     "note": "累计盈余栏含本期盈余、本年盈余分配、无偿调拨净资产、以前年度盈余调整及尚未结转的收入费用。",
     "lines": _net_assets},
    {"code": BUDGET_INCOME, "name": "预算收入支出表", "form_no": "会政预01表", "basis": "budgetary", "order": 40,
     "columns": [{"key": "cur", "title": "本年数"}, {"key": "prev", "title": "上年数", "year_offset": -1}],
     "checks": [], "note": "预算收入取贷方累计发生额，预算支出取借方累计发生额。", "lines": _budget_income},
    {"code": BUDGET_CARRYOVER, "name": "预算结转结余变动表", "form_no": "会政预02表", "basis": "budgetary", "order": 50,
     "columns": [{"key": "cur", "title": "本年数"}, {"key": "prev", "title": "上年数", "year_offset": -1}],
     "checks": [{"name": "年末 = 年初 + 年初余额调整 + 本年变动金额", "left": "[17]", "right": "[01]+[04]+[07]"}],
     "note": "年末预算结转结余含尚未结转的本年预算收支差额。", "lines": _budget_carryover},
    {"code": APPROPRIATION, "name": "财政拨款预算收入支出表", "form_no": "会政预03表", "basis": "budgetary", "order": 60,
     "columns": [{"key": "start_carry", "title": "年初财政拨款结转"}, {"key": "start_surplus", "title": "年初财政拨款结余"},
                 {"key": "adjust", "title": "调整年初财政拨款结转结余"}, {"key": "pooled_in", "title": "本年归集调入"},
                 {"key": "pooled_out", "title": "本年归集上缴或调出"}, {"key": "internal_carry", "title": "单位内部调剂·结转"},
                 {"key": "internal_surplus", "title": "单位内部调剂·结余"}, {"key": "income", "title": "本年财政拨款收入"},
                 {"key": "spend", "title": "本年财政拨款支出"}, {"key": "end_carry", "title": "年末财政拨款结转"},
                 {"key": "end_surplus", "title": "年末财政拨款结余"}],
     "checks": [{"name": "年末结转结余 = 年初 + 调整 + 归集 + 调剂 + 收入 − 支出", "column": "end_carry",
                 "left": "[30.end_carry]+[30.end_surplus]",
                 "right": "[30.start_carry]+[30.start_surplus]+[30.adjust]+[30.pooled_in]+[30.pooled_out]"
                          "+[30.internal_carry]+[30.internal_surplus]+[30.income]-[30.spend]"}],
     "note": "按资金性质（辅助核算 fund_type）与基本支出/项目支出（有无项目辅助核算）分列；人员经费为经济分类 301、303，"
             "日常公用经费为 302。", "lines": _appropriation},
]

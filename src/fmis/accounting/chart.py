"""The government chart of accounts (政府会计制度, 财会〔2017〕25号, effective 2019-01-01).

Financial accounting: classes 1 资产, 2 负债, 3 净资产, 4 收入, 5 费用 (77 accounts); budgetary
accounting: 6 预算收入, 7 预算支出, 8 预算结余 (26 accounts); with the standard sub-accounts named in
the fiscal-standard notes §2.1. Balance sides: assets debit except the contra accounts 1219, 1602,
1702, 1802, 1832; expenses and 预算支出 debit; 8001 资金结存 debit; everything else credit.
"""

from __future__ import annotations

from dataclasses import dataclass

from fmis.accounting.models import Account, AuxElement

A = AuxElement

FINANCIAL = """
1001 库存现金
1002 银行存款
1011 零余额账户用款额度
1021 其他货币资金
1101 短期投资
1201 财政应返还额度
1211 应收票据
1212 应收账款
1214 预付账款
1215 应收股利
1216 应收利息
1218 其他应收款
1219 坏账准备
1301 在途物品
1302 库存物品
1303 加工物品
1401 待摊费用
1501 长期股权投资
1502 长期债券投资
1601 固定资产
1602 固定资产累计折旧
1611 工程物资
1613 在建工程
1701 无形资产
1702 无形资产累计摊销
1703 研发支出
1801 公共基础设施
1802 公共基础设施累计折旧(摊销)
1811 政府储备物资
1821 文物文化资产
1831 保障性住房
1832 保障性住房累计折旧
1891 受托代理资产
1901 长期待摊费用
1902 待处理财产损溢
2001 短期借款
2101 应交增值税
2102 其他应交税费
2103 应缴财政款
2201 应付职工薪酬
2301 应付票据
2302 应付账款
2303 应付政府补贴款
2304 应付利息
2305 预收账款
2307 其他应付款
2401 预提费用
2501 长期借款
2502 长期应付款
2601 预计负债
2901 受托代理负债
3001 累计盈余
3101 专用基金
3201 权益法调整
3301 本期盈余
3302 本年盈余分配
3401 无偿调拨净资产
3501 以前年度盈余调整
4001 财政拨款收入
4101 事业收入
4201 上级补助收入
4301 附属单位上缴收入
4401 经营收入
4601 非同级财政拨款收入
4602 投资收益
4603 捐赠收入
4604 利息收入
4605 租金收入
4609 其他收入
5001 业务活动费用
5101 单位管理费用
5201 经营费用
5301 资产处置费用
5401 上缴上级费用
5501 对附属单位补助费用
5801 所得税费用
5901 其他费用
"""

BUDGETARY = """
6001 财政拨款预算收入
6101 事业预算收入
6201 上级补助预算收入
6301 附属单位上缴预算收入
6401 经营预算收入
6501 债务预算收入
6601 非同级财政拨款预算收入
6602 投资预算收益
6609 其他预算收入
7101 行政支出
7201 事业支出
7301 经营支出
7401 上缴上级支出
7501 对附属单位补助支出
7601 投资支出
7701 债务还本支出
7901 其他支出
8001 资金结存
8101 财政拨款结转
8102 财政拨款结余
8201 非财政拨款结转
8202 非财政拨款结余
8301 专用结余
8401 经营结余
8501 其他结余
8701 非财政拨款结余分配
"""

# Sub-accounts (second level, two digits) named in the notes.
SUB_ACCOUNTS: dict[str, list[str]] = {
    "1201": ["财政直接支付", "财政授权支付"],
    "6001": ["基本支出", "项目支出"],
    "6101": ["专项资金收入", "非专项资金收入"],
    "6201": ["专项资金收入", "非专项资金收入"],
    "6301": ["专项资金收入", "非专项资金收入"],
    "6401": ["专项资金收入", "非专项资金收入"],
    "6501": ["专项资金收入", "非专项资金收入"],
    "6601": ["专项资金收入", "非专项资金收入"],
    "7101": ["财政拨款支出", "非财政专项资金支出", "其他资金支出"],
    "7201": ["财政拨款支出", "非财政专项资金支出", "其他资金支出"],
    "8001": ["零余额账户用款额度", "货币资金", "财政应返还额度"],
    "8101": ["年初余额调整", "归集调入", "归集调出", "归集上缴", "单位内部调剂", "本年收支结转", "累计结转"],
    "8102": ["年初余额调整", "归集上缴", "单位内部调剂", "结转转入", "累计结余"],
    "8201": ["年初余额调整", "缴回资金", "项目间接费用或管理费", "本年收支结转", "累计结转"],
    "8202": ["年初余额调整", "项目间接费用或管理费", "结转转入", "累计结余"],
}

CREDIT_CONTRA_ASSETS = {"1219", "1602", "1702", "1802", "1832"}
PROPERTIES = {
    "1001": Account.Property.CASH,
    "1002": Account.Property.BANK,
    "1021": Account.Property.BANK,
    **{c: Account.Property.CURRENT for c in ("1211", "1212", "1214", "1218", "2301", "2302", "2305", "2307")},
}

_EXPENSE_AUX = [A.FUNC, A.GOV_ECO, A.DEPT_ECO, A.FUND_TYPE, A.PROJECT, A.DEPARTMENT]
_BUDGET_EXPENDITURE_AUX = [A.FUNC, A.GOV_ECO, A.DEPT_ECO, A.FUND_TYPE, A.PAY_MODE, A.INDICATOR, A.PROJECT]
_APPROPRIATION_AUX = [A.FUNC, A.FUND_TYPE, A.PAY_MODE, A.INDICATOR, A.PROJECT]
AUX_ELEMENTS: dict[str, list[str]] = {
    "1011": [A.FUND_TYPE, A.INDICATOR],
    "1201": [A.FUNC, A.FUND_TYPE, A.INDICATOR],
    "4001": _APPROPRIATION_AUX,
    "5001": _EXPENSE_AUX,
    "5101": _EXPENSE_AUX,
    "6001": _APPROPRIATION_AUX,
    "7101": _BUDGET_EXPENDITURE_AUX,
    "7201": _BUDGET_EXPENDITURE_AUX,
    "8001": [A.FUND_TYPE, A.INDICATOR],
    **{c: [A.COUNTERPARTY] for c in ("1211", "1212", "1214", "1218", "2301", "2302", "2305", "2307")},
}

CATEGORY_BY_CLASS = {
    "1": Account.Category.ASSET, "2": Account.Category.LIABILITY, "3": Account.Category.NET_ASSETS,
    "4": Account.Category.REVENUE, "5": Account.Category.EXPENSE, "6": Account.Category.BUDGET_REVENUE,
    "7": Account.Category.BUDGET_EXPENDITURE, "8": Account.Category.BUDGET_SURPLUS,
}
# Codes that look plausible but are not in the 2017 chart (seen in public implementations).
NOT_IN_CHART = ("5701", "4701", "6701", "6801", "7001", "4501")


@dataclass(frozen=True)
class ChartEntry:
    code: str
    name: str
    parent: str | None
    basis: str
    category: str
    direction: str
    property: str
    aux_elements: tuple[str, ...]


def _parse(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.strip().splitlines():
        code, name = line.split(None, 1)
        out.append((code, name.strip()))
    return out


def direction_of(code: str) -> str:
    cls = code[0]
    top = code[:4]
    if cls == "1":
        return "credit" if top in CREDIT_CONTRA_ASSETS else "debit"
    if cls in ("5", "7") or top == "8001":
        return "debit"
    return "credit"


def standard_chart() -> list[ChartEntry]:
    """Every account of the standard chart, parents before children."""
    out: list[ChartEntry] = []
    for code, name in _parse(FINANCIAL) + _parse(BUDGETARY):
        basis = "financial" if code[0] in "12345" else "budgetary"
        aux = tuple(str(e) for e in AUX_ELEMENTS.get(code, []))
        common = {"basis": basis, "category": str(CATEGORY_BY_CLASS[code[0]]), "direction": direction_of(code),
                  "property": str(PROPERTIES.get(code, Account.Property.NORMAL)), "aux_elements": aux}
        out.append(ChartEntry(code=code, name=name, parent=None, **common))
        for i, sub in enumerate(SUB_ACCOUNTS.get(code, []), start=1):
            out.append(ChartEntry(code=f"{code}{i:02d}", name=sub, parent=code, **common))
    return out

"""Posting rules (机制凭证规则) as data, and the small engine that applies them.

A rule names a business event, conditions on the event's payload, and lines: basis (financial or
budgetary), side, an account code of the standard chart, an amount expression (a payload path,
optionally negated: ``amount``, ``-amount``) and an auxiliary mapping (element → payload path).
The context a rule sees is the payload plus ``agency_kind`` (the account set's agency: admin,
inst, other) and ``has_project``.

Conditions: ``{"pay_mode": "authorized"}`` (equal), ``{"agency_kind": ["inst", "other"]}`` (one of),
``{"project_code__empty": true}``, ``{"dept_eco_code__startswith": "301"}``. The first active rule
of the event (by priority) whose conditions all hold is applied; a rule without lines means the
event needs no entry.

The default rules are for budget units' books (政府会计制度); events reaching a finance department's
account set (总预算会计, agency_kind "finance") find no default rule and are recorded as such.
The default rules below are the worked paired entries of fiscal-standard-notes §2.2: quota arrival
for authorized payment (row 1), authorized payment (rows 2, 4), direct payment (row 3), and the
refund and correction of a payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fmis.platform.errors import ValidationFailed
from fmis.platform.money import to_money

EVENT_QUOTA_ARRIVED = "indicators.quota_arrived"
EVENT_PAYMENT_SETTLED = "treasury.payment_settled"
EVENT_PAYMENT_REFUNDED = "treasury.payment_refunded"
EVENT_PAYMENT_CORRECTED = "treasury.payment_corrected"
EVENTS = (EVENT_QUOTA_ARRIVED, EVENT_PAYMENT_SETTLED, EVENT_PAYMENT_REFUNDED, EVENT_PAYMENT_CORRECTED)

_PAYMENT_AUX = {"func": "func_code", "gov_eco": "gov_eco_code", "dept_eco": "dept_eco_code",
                "fund_type": "fund_type", "pay_mode": "pay_mode", "indicator": "indicator_code",
                "project": "project_code"}
_QUOTA_AUX = {"func": "func_code", "fund_type": "fund_type", "pay_mode": "pay_mode",
              "indicator": "indicator_code", "project": "project_code"}


def _side(path: str) -> dict:
    return {k: f"{path}.{v}" if k not in ("pay_mode", "project") else v for k, v in _PAYMENT_AUX.items()}


ADMIN = ["admin"]
NON_ADMIN = ["inst", "other"]


def _line(basis: str, side: str, account: str, amount: str = "amount", aux: dict | None = None) -> dict:
    return {"basis": basis, "side": side, "account_code": account, "amount": amount, "aux": aux or {}}


def _dr(basis, account, aux=None, amount="amount"):
    return _line(basis, "debit", account, amount, aux)


def _cr(basis, account, aux=None, amount="amount"):
    return _line(basis, "credit", account, amount, aux)


F, B = "financial", "budgetary"


def _default_rules() -> list[dict]:
    rules: list[dict] = []
    # 1. quota arrival (授权支付额度到账): Dr 1011 / Cr 4001; Dr 8001 零余额 / Cr 6001
    for project, sub, label in ((False, "600101", "基本支出"), (True, "600102", "项目支出")):
        rules.append({
            "code": f"QUOTA-AUTH-{'P' if project else 'B'}", "name": f"授权支付额度到账（{label}）",
            "event": EVENT_QUOTA_ARRIVED, "priority": 10,
            "conditions": {"pay_mode": "authorized", "project_code__empty": not project,
                           "agency_kind": ADMIN + NON_ADMIN},
            "summary": "授权支付额度到账 {indicator_code}",
            "lines": [_dr(F, "1011", {"fund_type": "fund_type", "indicator": "indicator_code"}),
                      _cr(F, "4001", _QUOTA_AUX),
                      _dr(B, "800101", {"fund_type": "fund_type", "indicator": "indicator_code"}),
                      _cr(B, sub, _QUOTA_AUX)]})
    rules.append({"code": "QUOTA-DIRECT", "name": "直接支付指标下达（支付时记账）", "event": EVENT_QUOTA_ARRIVED,
                  "priority": 20, "conditions": {"pay_mode": "direct", "agency_kind": ADMIN + NON_ADMIN},
                  "summary": "直接支付指标下达 {indicator_code}",
                  "lines": []})
    for kinds, exp, tag in ((ADMIN, "710101", "A"), (NON_ADMIN, "720101", "I")):
        # 2/4. authorized payment: Dr 5001 / Cr 1011; Dr 7x01 财政拨款支出 / Cr 8001 零余额
        rules.append({
            "code": f"PAY-AUTH-{tag}", "name": f"授权支付（{'行政' if tag == 'A' else '事业'}单位）",
            "event": EVENT_PAYMENT_SETTLED, "priority": 10,
            "conditions": {"pay_mode": "authorized", "agency_kind": kinds},
            "summary": "授权支付 {voucher_no} {payee_name}",
            "lines": [_dr(F, "5001", _PAYMENT_AUX), _cr(F, "1011", {"fund_type": "fund_type",
                                                                    "indicator": "indicator_code"}),
                      _dr(B, exp, _PAYMENT_AUX), _cr(B, "800101", {"fund_type": "fund_type",
                                                                 "indicator": "indicator_code"})]})
        rules.append({
            "code": f"REFUND-AUTH-{tag}", "name": f"授权支付退款（{'行政' if tag == 'A' else '事业'}单位）",
            "event": EVENT_PAYMENT_REFUNDED, "priority": 10,
            "conditions": {"pay_mode": "authorized", "agency_kind": kinds},
            "summary": "授权支付退款 {voucher_no}",
            "lines": [_dr(F, "1011", {"fund_type": "fund_type", "indicator": "indicator_code"}),
                      _cr(F, "5001", _PAYMENT_AUX),
                      _dr(B, "800101", {"fund_type": "fund_type", "indicator": "indicator_code"}),
                      _cr(B, exp, _PAYMENT_AUX)]})
        for project, sub, label in ((False, "600101", "基本支出"), (True, "600102", "项目支出")):
            # 3. direct payment: Dr 5001 / Cr 4001; Dr 7x01 / Cr 6001
            suffix = f"{tag}-{'P' if project else 'B'}"
            rules.append({
                "code": f"PAY-DIRECT-{suffix}", "name": f"直接支付（{'行政' if tag == 'A' else '事业'}单位，{label}）",
                "event": EVENT_PAYMENT_SETTLED, "priority": 20,
                "conditions": {"pay_mode": "direct", "agency_kind": kinds, "project_code__empty": not project},
                "summary": "财政直接支付 {voucher_no} {payee_name}",
                "lines": [_dr(F, "5001", _PAYMENT_AUX), _cr(F, "4001", _QUOTA_AUX),
                          _dr(B, exp, _PAYMENT_AUX), _cr(B, sub, _QUOTA_AUX)]})
            rules.append({
                "code": f"REFUND-DIRECT-{suffix}",
                "name": f"直接支付退款（{'行政' if tag == 'A' else '事业'}单位，{label}）",
                "event": EVENT_PAYMENT_REFUNDED, "priority": 20,
                "conditions": {"pay_mode": "direct", "agency_kind": kinds, "project_code__empty": not project},
                "summary": "直接支付退款 {voucher_no}",
                "lines": [_dr(F, "4001", _QUOTA_AUX), _cr(F, "5001", _PAYMENT_AUX),
                          _dr(B, sub, _QUOTA_AUX), _cr(B, exp, _PAYMENT_AUX)]})
        # correction: the expense moves from the old classification to the new one, both bases
        rules.append({
            "code": f"CORRECT-{tag}", "name": f"支付更正（{'行政' if tag == 'A' else '事业'}单位）",
            "event": EVENT_PAYMENT_CORRECTED, "priority": 10, "conditions": {"agency_kind": kinds},
            "summary": "支付更正 {source_no}",
            "lines": [_dr(F, "5001", _side("to")), _cr(F, "5001", _side("from")),
                      _dr(B, exp, _side("to")), _cr(B, exp, _side("from"))]})
    return rules


DEFAULT_RULES = _default_rules()


# --- engine ---------------------------------------------------------------------------------------

_MISSING = object()


def lookup(context: dict, path: str) -> Any:
    cur: Any = context
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _text(value: Any) -> str:
    return "" if value is None or value is _MISSING else str(value)


def matches(conditions: dict, context: dict) -> bool:
    for key, expected in (conditions or {}).items():
        if key.endswith("__empty"):
            if (_text(lookup(context, key[:-7])).strip() == "") != bool(expected):
                return False
        elif key.endswith("__startswith"):
            if not _text(lookup(context, key[:-12])).startswith(str(expected)):
                return False
        elif isinstance(expected, list):
            if _text(lookup(context, key)) not in [str(e) for e in expected]:
                return False
        elif _text(lookup(context, key)) != str(expected):
            return False
    return True


def evaluate_amount(expr: str, context: dict) -> Decimal:
    expr = (expr or "amount").strip()
    negate = expr.startswith("-")
    path = expr[1:].strip() if negate else expr
    value = lookup(context, path)
    if value is _MISSING or value in (None, ""):
        raise ValidationFailed("accounting.rule_amount_missing", f"业务事件缺少金额字段 {path}", field="amount")
    amount = to_money(value if not isinstance(value, float) else str(value), field=path)
    return -amount if negate else amount


def summary_text(template: str, context: dict) -> str:
    class _Ctx(dict):
        def __missing__(self, key):
            return ""

    flat = _Ctx({k: _text(v) for k, v in context.items() if not isinstance(v, dict)})
    try:
        return template.format_map(flat)[:200].strip()
    except (ValueError, IndexError, KeyError):
        return template[:200]


@dataclass(frozen=True)
class PlannedLine:
    basis: str
    side: str
    account_code: str
    amount: Decimal
    aux: dict


def plan(rule_lines, context: dict) -> list[PlannedLine]:
    """The lines a rule produces for `context` (aux values that are empty are left out)."""
    out = []
    for rl in rule_lines:
        aux = {}
        for element, path in (rl.aux or {}).items():
            value = _text(lookup(context, path)).strip()
            if value:
                aux[element] = value
        out.append(PlannedLine(rl.basis, rl.side, rl.account_code, evaluate_amount(rl.amount, context), aux))
    return out

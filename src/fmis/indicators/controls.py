"""The control table (数据控制表): how a payment application is checked against its indicator.

Absolute, whatever any rule says (DESIGN.md invariant 3 and the standard's control rules):
- the indicator must be executable (可执行); its agency, fund type (资金性质) and payment mode
  must be the application's;
- the amount must be positive and not exceed the indicator's available amount. (The treasury's
  reservation re-checks this in its conditional UPDATE; this check only explains the refusal
  early.)

Governed by the control rule (控制规则) that applies to the indicator — the most specific rule
whose fiscal year equals the indicator's, whose region is the indicator's region or one above it,
and whose non-blank elements all match (fund type and indicator type and payment mode equal;
functional and government-economic class codes start with the rule's prefix). Specificity: more
non-blank elements first, then longer class prefixes, then the nearer region. Without any rule
the default is ``level=hard, match=exact, threshold 0, no plan``.

``level`` decides what a violation of the two checks below does: ``hard`` refuses the
application (ValidationFailed naming the classification field, or Conflict on ``amount``),
``warning`` accepts it and returns a ``ControlWarning`` to record on the application, ``none``
skips the checks.
1. Classifications: with ``match=exact`` the application's 支出功能分类, 政府经济分类 and
   部门经济分类 must equal the indicator's; with ``match=subtree`` each may be the indicator's
   code or a code below it.
2. Threshold: the application may not leave the indicator's available amount below
   ``threshold_percent`` % of its total.

``require_plan``: the application must come with a payment plan (用款计划); the caller passes the
plan's remaining amount as ``plan_available`` and the amount must fit it. A missing plan or a
plan too small is always refused (the plan is a quota of its own, like the indicator).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from fmis.indicators.models import ControlRule, Indicator
from fmis.platform import db
from fmis.platform.errors import Conflict, NotFound, ValidationFailed
from fmis.platform.money import fmt, to_money


@dataclass(frozen=True)
class ControlWarning:
    """A control-rule violation accepted under a ``warning`` rule; the caller records it."""

    code: str
    message: str
    field: str


Warning = ControlWarning  # the name the treasury uses in its signatures


@dataclass(frozen=True)
class EffectiveRule:
    level: str
    match: str
    threshold_percent: Decimal
    require_plan: bool
    rule_id: int | None

    def describe(self) -> str:
        return (f"{ControlRule.Level(self.level).label}，科目{ControlRule.Match(self.match).label}，"
                f"余额预警比例 {self.threshold_percent}%{'，须有用款计划' if self.require_plan else ''}")


DEFAULT = EffectiveRule(ControlRule.Level.HARD, ControlRule.Match.EXACT, Decimal(0), False, None)


def _region_chain(region) -> list[int]:
    ids, r, seen = [], region, set()
    while r is not None and r.pk not in seen:
        seen.add(r.pk)
        ids.append(r.pk)
        r = r.parent
    return ids


def rule_for(indicator: Indicator) -> EffectiveRule:
    """The control rule that applies to `indicator` (see the module docstring); looked up once per
    service transaction for the same indicator figures."""
    key = ("indicators.rule_for", indicator.pk, indicator.fiscal_year, indicator.region_id, indicator.fund_type,
           indicator.indicator_type, indicator.pay_mode, indicator.func_code, indicator.gov_eco_code)
    return db.cached(key, lambda: _rule_for(indicator))


def _rule_for(indicator: Indicator) -> EffectiveRule:
    chain = _region_chain(indicator.region)
    depth = {rid: -i for i, rid in enumerate(chain)}
    qs = ControlRule.objects.filter(fiscal_year=indicator.fiscal_year, region_id__in=chain).filter(
        Q(fund_type="") | Q(fund_type=indicator.fund_type),
        Q(indicator_type="") | Q(indicator_type=indicator.indicator_type),
        Q(pay_mode="") | Q(pay_mode=indicator.pay_mode))
    best, best_key = None, None
    for r in qs:
        if r.func_prefix and not indicator.func_code.startswith(r.func_prefix):
            continue
        if r.eco_prefix and not indicator.gov_eco_code.startswith(r.eco_prefix):
            continue
        n = sum(1 for v in (r.fund_type, r.func_prefix, r.eco_prefix, r.indicator_type, r.pay_mode) if v)
        key = (n, len(r.func_prefix) + len(r.eco_prefix), depth[r.region_id], r.pk)
        if best_key is None or key > best_key:
            best, best_key = r, key
    if best is None:
        return DEFAULT
    return EffectiveRule(best.level, best.match, best.threshold_percent, best.require_plan, best.pk)


_CLASSES = (("func_code", "支出功能分类"), ("gov_eco_code", "政府经济分类"), ("dept_eco_code", "部门经济分类"))


def check_application(*, indicator, amount, func_code: str, gov_eco_code: str, dept_eco_code: str,
                      fund_type: str, pay_mode: str, agency_id: int | None = None,
                      plan_available=None) -> list[ControlWarning]:
    """Check an application against `indicator` (an Indicator or its id) before reserving.

    Returns the warnings to record; raises ValidationFailed/Conflict (naming the field) when the
    application is refused. Reads only: the reservation itself guards the available amount.
    """
    if not isinstance(indicator, Indicator):
        ind = Indicator.objects.select_related("region").filter(pk=indicator).first()
        if ind is None:
            raise NotFound("indicator.not_found", "指标不存在", field="indicator")
        indicator = ind
    amount = to_money(amount)
    if amount <= 0:
        raise ValidationFailed("indicator.amount_not_positive", f"金额必须大于零：{amount}", field="amount")
    if indicator.status != Indicator.Status.EXECUTABLE:
        raise Conflict("indicator.not_executable",
                       f"指标 {indicator.code} 不是可执行状态（{indicator.get_status_display()}）", field="indicator")
    if agency_id is not None and indicator.agency_id != agency_id:
        raise ValidationFailed("indicators.control.agency_mismatch", f"指标 {indicator.code} 不属于申请单位",
                               field="agency")
    if (fund_type or "") != indicator.fund_type:
        raise ValidationFailed("indicators.control.fund_type_mismatch",
                               f"资金性质 {fund_type} 与指标的资金性质 {indicator.fund_type} 不一致", field="fund_type")
    if (pay_mode or "") != indicator.pay_mode:
        raise ValidationFailed("indicators.control.pay_mode_mismatch",
                               f"支付方式与指标的支付方式（{indicator.get_pay_mode_display()}）不一致", field="pay_mode")
    if amount > indicator.available:
        raise Conflict("indicator.insufficient",
                       f"指标 {indicator.code} 可用金额 {fmt(indicator.available)} 不足 {fmt(amount)}",
                       field="amount", available=indicator.available, requested=amount)
    rule = rule_for(indicator)
    if rule.require_plan:
        if plan_available is None:
            raise ValidationFailed("indicators.control.plan_required", "该指标须先有批复的用款计划", field="plan")
        plan_available = to_money(plan_available, field="plan")
        if amount > plan_available:
            raise Conflict("indicators.control.plan_insufficient",
                           f"用款计划余额 {fmt(plan_available)} 不足 {fmt(amount)}", field="plan")
    if rule.level == ControlRule.Level.NONE:
        return []
    hard = rule.level == ControlRule.Level.HARD
    warnings: list[ControlWarning] = []
    given = {"func_code": func_code or "", "gov_eco_code": gov_eco_code or "", "dept_eco_code": dept_eco_code or ""}
    for field, label in _CLASSES:
        mine, theirs = given[field], getattr(indicator, field)
        ok = mine == theirs if rule.match == ControlRule.Match.EXACT else (mine.startswith(theirs) and bool(mine))
        if ok:
            continue
        if rule.match == ControlRule.Match.EXACT:
            message = f"{label} {mine or '（空）'} 与指标的{label} {theirs} 不一致"
        else:
            message = f"{label} {mine or '（空）'} 不是指标的{label} {theirs} 或其下级科目"
        if hard:
            raise ValidationFailed("indicators.control.class_mismatch", message, field=field)
        warnings.append(ControlWarning("indicators.control.class_mismatch", message, field))
    if rule.threshold_percent > 0:
        floor = (indicator.total * rule.threshold_percent / 100).quantize(Decimal("0.01"))
        left = indicator.available - amount
        if left < floor:
            message = (f"申请后指标 {indicator.code} 可用余额 {fmt(left)} 将低于控制线 {fmt(floor)}"
                       f"（指标金额的 {rule.threshold_percent}%）")
            if hard:
                raise Conflict("indicators.control.below_threshold", message, field="amount")
            warnings.append(ControlWarning("indicators.control.below_threshold", message, "amount"))
    return warnings

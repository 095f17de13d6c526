"""Reads of the indicator module, every one through the user's data scope.

Units see their own agency's indicators, divisions their region's (as their roles' data rules
say); an indicator outside the scope is NotFound, exactly like a missing one.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext_lazy

from fmis.indicators.functions import ADJUST, CONTROL_MANAGE, EXECUTION_VIEW, VIEW
from fmis.indicators.models import Adjustment, ControlRule, Indicator, Movement
from fmis.platform.errors import NotFound
from fmis.platform.money import ZERO


def indicators_for(*, user, q: str = "", status: str = "", fiscal_year: int | None = None, agency: str = "",
                   func_code: str = "", fund_type: str = "", function: str = VIEW) -> QuerySet[Indicator]:
    qs = Indicator.objects.restrict(user, function).select_related("region", "agency")
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(title__icontains=q) | Q(doc_no__icontains=q)
                       | Q(agency__name__icontains=q) | Q(agency__code=q) | Q(project_code=q))
    if status:
        qs = qs.filter(status=status)
    if fiscal_year:
        qs = qs.filter(fiscal_year=fiscal_year)
    if agency:
        qs = qs.filter(Q(agency__code=agency) | Q(agency__name__icontains=agency))
    if func_code:
        qs = qs.filter(func_code__startswith=func_code.strip())
    if fund_type:
        qs = qs.filter(fund_type=fund_type.strip())
    return qs.order_by("-fiscal_year", "code")


def indicator_detail(*, user, indicator_id, function: str = VIEW) -> Indicator:
    ind = (Indicator.objects.restrict(user, function).select_related("region", "agency", "source", "created_by")
           .filter(pk=indicator_id).first()) if str(indicator_id).isdigit() else None
    if ind is None:
        raise NotFound("indicator.not_found", "指标不存在", field="indicator")
    return ind


def class_names(ind: Indicator) -> dict[str, str]:
    """Dictionary names of the indicator's classification codes (empty where a code is unknown)."""
    from fmis.dictionary.selectors import get_value

    elements = {"func_code": "EXP_FUNC", "gov_eco_code": "GOV_ECO", "dept_eco_code": "DEPT_ECO",
                "fund_type": "FUND_TYPE", "indicator_type": "BGT_TYPE"}
    out = {}
    for field, element in elements.items():
        value = get_value(element, getattr(ind, field))
        out[field] = value.name if value is not None else ""
    return out


def lineage(*, user, indicator: Indicator) -> dict:
    """The source indicator and the ones derived from it (distribution, carry-over), as far as
    the user may see them."""
    visible = Indicator.objects.restrict(user, VIEW).select_related("agency")
    source = visible.filter(pk=indicator.source_id).first() if indicator.source_id else None
    return {"source": source, "derived": list(visible.filter(source=indicator).order_by("fiscal_year", "code"))}


def movements_of(*, indicator: Indicator) -> QuerySet[Movement]:
    """The movements of an indicator the caller has already obtained through a selector."""
    return (Movement.objects.filter(indicator=indicator).select_related("counterpart", "created_by")
            .order_by("id"))


MOVEMENT_HEADERS = [gettext_lazy("时间"), gettext_lazy("类型"), gettext_lazy("指标金额变动"),
                    gettext_lazy("冻结变动"), gettext_lazy("占用变动"), gettext_lazy("支付变动"),
                    gettext_lazy("对方指标"), gettext_lazy("来源单据类型"), gettext_lazy("来源单据号"),
                    gettext_lazy("说明")]


def movement_rows(qs):
    for m in qs:
        yield [m.created_at, m.get_kind_display(), m.d_total, m.d_frozen, m.d_reserved, m.d_consumed,
               m.counterpart.code if m.counterpart_id else "", m.source_type, m.source_no, m.note]


EXPORT_HEADERS = [gettext_lazy("预算年度"), gettext_lazy("财政区划"), gettext_lazy("预算单位"),
                  gettext_lazy("指标编号"), gettext_lazy("指标文号"), gettext_lazy("指标说明"),
                  gettext_lazy("项目代码"), gettext_lazy("支出功能分类"), gettext_lazy("政府经济分类"),
                  gettext_lazy("部门经济分类"), gettext_lazy("资金性质"), gettext_lazy("指标类型"),
                  gettext_lazy("支付方式"), gettext_lazy("状态"), gettext_lazy("指标金额"),
                  gettext_lazy("冻结金额"), gettext_lazy("已申请未支付"), gettext_lazy("已支付"),
                  gettext_lazy("可用金额"), gettext_lazy("来源指标")]


def export_rows(qs):
    for i in qs.select_related("source"):
        yield [i.fiscal_year, i.region.code, i.agency.code if i.agency_id else "", i.code, i.doc_no, i.title,
               i.project_code, i.func_code, i.gov_eco_code, i.dept_eco_code, i.fund_type, i.indicator_type,
               i.get_pay_mode_display(), i.get_status_display(), i.total, i.frozen, i.reserved, i.consumed,
               i.available, i.source.code if i.source_id else ""]


EXECUTION_GROUPS = {"agency": ("agency__code", "agency__name"), "func": ("func_code",), "fund_type": ("fund_type",)}


def execution_summary(*, user, fiscal_year: int | None = None, group: str = "agency") -> list[dict]:
    """Budget execution (预算执行情况) of executable indicators: budget, paid, available and the
    execution rate (paid / budget), grouped by agency, functional class or fund type."""
    keys = EXECUTION_GROUPS.get(group, EXECUTION_GROUPS["agency"])
    qs = Indicator.objects.restrict(user, EXECUTION_VIEW).filter(status=Indicator.Status.EXECUTABLE)
    if fiscal_year:
        qs = qs.filter(fiscal_year=fiscal_year)
    rows = (qs.values(*keys).annotate(budget=Sum("total"), reserved=Sum("reserved"), paid=Sum("consumed"),
                                      frozen=Sum("frozen"), available=Sum("available")).order_by(*keys))
    out = []
    for r in rows:
        budget = r["budget"] or ZERO
        paid = r["paid"] or ZERO
        out.append({"key": r[keys[0]] or "", "name": r.get(keys[1], "") if len(keys) > 1 else "",
                    "budget": budget, "reserved": r["reserved"] or ZERO, "frozen": r["frozen"] or ZERO, "paid": paid,
                    "available": r["available"] or ZERO,
                    "rate": (paid * 100 / budget).quantize(Decimal("0.01")) if budget else ZERO})
    return out


EXECUTION_HEADERS = [gettext_lazy("编码"), gettext_lazy("名称"), gettext_lazy("预算数"),
                     gettext_lazy("冻结"), gettext_lazy("已申请未支付"), gettext_lazy("已支付"),
                     gettext_lazy("可用金额"), gettext_lazy("执行率(%)")]


def execution_rows(rows):
    for r in rows:
        yield [r["key"], r["name"], r["budget"], r["frozen"], r["reserved"], r["paid"], r["available"], r["rate"]]


def adjustments_for(*, user, q: str = "", status: str = "", kind: str = "") -> QuerySet[Adjustment]:
    qs = Adjustment.objects.restrict(user, ADJUST).select_related("region", "created_by")
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(reason__icontains=q) | Q(doc_no__icontains=q)
                       | Q(lines__indicator__code=q)).distinct()
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")


def adjustment_detail(*, user, adjustment_id) -> Adjustment:
    adj = (Adjustment.objects.restrict(user, ADJUST).select_related("region", "created_by")
           .filter(pk=adjustment_id).first()) if str(adjustment_id).isdigit() else None
    if adj is None:
        raise NotFound("indicators.adjustment.not_found", "调整单不存在", field="adjustment")
    return adj


def adjustment_lines(*, adjustment: Adjustment):
    return adjustment.lines.select_related("indicator", "target", "indicator__agency").order_by("line_no")


def control_rules_for(*, user, fiscal_year: int | None = None) -> QuerySet[ControlRule]:
    qs = ControlRule.objects.restrict(user, CONTROL_MANAGE).select_related("region")
    if fiscal_year:
        qs = qs.filter(fiscal_year=fiscal_year)
    return qs.order_by("-fiscal_year", "region__code", "fund_type", "func_prefix", "eco_prefix")

"""Budget indicators (指标) and their append-only movements (the indicator ledger, 指标账).

Invariant (DESIGN.md §4.3): ``total − frozen − reserved − consumed ≥ 0`` and each figure ≥ 0,
enforced by CHECK constraints; ``available`` is a stored generated column so services can change
figures with one conditional UPDATE (``... WHERE available >= amount``). Every change writes a
``Movement`` row carrying the deltas; an indicator's figures equal the sums of its movements.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField
from fmis.platform.money import ZERO


class Indicator(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("status", "录入")
        REVIEWING = "reviewing", _("审核中")
        UNDISTRIBUTED = "undistributed", _("待分")
        DISTRIBUTED = "distributed", _("已下达待确认")
        EXECUTABLE = "executable", _("可执行")
        CLOSED = "closed", _("已结束")
        REJECTED = "rejected", pgettext_lazy("status", "不予通过")

    class PayMode(models.TextChoices):
        DIRECT = "direct", _("直接支付")
        AUTHORIZED = "authorized", _("授权支付")

    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT,
                               related_name="indicators")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="indicators")
    code = models.CharField("指标编号", max_length=40)
    doc_no = models.CharField("指标文号", max_length=100, blank=True)
    title = models.CharField("指标说明", max_length=200)
    project_code = models.CharField("项目代码", max_length=30, blank=True)
    func_code = models.CharField("支出功能分类", max_length=13)
    gov_eco_code = models.CharField("政府支出经济分类", max_length=11)
    dept_eco_code = models.CharField("部门支出经济分类", max_length=20)
    fund_type = models.CharField("资金性质", max_length=10)
    indicator_type = models.CharField("指标类型", max_length=10)
    pay_mode = models.CharField("支付方式", max_length=12, choices=PayMode.choices)
    source = models.ForeignKey("self", verbose_name="来源指标", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="derived")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    amount = MoneyField("录入金额", default=0)
    to_distribute = models.BooleanField("待分配", default=False)
    doc_date = models.DateField("发文日期", null=True, blank=True)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)

    total = MoneyField("指标金额", default=0)
    frozen = MoneyField("冻结金额", default=0)
    reserved = MoneyField("已申请未支付", default=0)
    consumed = MoneyField("已支付", default=0)
    available = models.GeneratedField(
        expression=F("total") - F("frozen") - F("reserved") - F("consumed"),
        output_field=MoneyField(), db_persist=True, verbose_name="可用金额")

    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "agency__code", "fund_type": "fund_type",
                    "func_code": "func_code", "gov_eco_code": "gov_eco_code", "dept_eco_code": "dept_eco_code",
                    "indicator_type": "indicator_type"}

    class Meta:
        verbose_name = "预算指标"
        constraints = (
            models.UniqueConstraint(fields=("region", "fiscal_year", "code"), name="ind_code_uniq"),
            models.CheckConstraint(condition=Q(total__gte=0), name="ind_total_nonneg"),
            models.CheckConstraint(condition=Q(frozen__gte=0), name="ind_frozen_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="ind_reserved_nonneg"),
            models.CheckConstraint(condition=Q(consumed__gte=0), name="ind_consumed_nonneg"),
            models.CheckConstraint(
                condition=Q(total__gte=F("frozen") + F("reserved") + F("consumed")), name="ind_available_nonneg"),
        )
        indexes = (
            models.Index(fields=("fiscal_year", "region", "agency")),
            models.Index(fields=("fiscal_year", "status")),
        )

    def __str__(self):
        return f"{self.code} {self.title}"


class Movement(models.Model):
    """One change to an indicator's figures. Append-only (a trigger refuses UPDATE and DELETE)."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("下达")
        DISTRIBUTE_OUT = "distribute_out", _("分配调出")
        DISTRIBUTE_IN = "distribute_in", _("分配调入")
        ADJUST_UP = "adjust_up", _("调增")
        ADJUST_DOWN = "adjust_down", _("调减")
        TRANSFER_OUT = "transfer_out", _("调剂调出")
        TRANSFER_IN = "transfer_in", _("调剂调入")
        ADVANCE = "advance", _("预拨")
        FREEZE = "freeze", _("冻结")
        UNFREEZE = "unfreeze", _("解冻")
        RESERVE = "reserve", _("申请占用")
        RELEASE = "release", _("释放占用")
        CONSUME = "consume", _("支付")
        REFUND = "refund", _("退款")
        CORRECT_OUT = "correct_out", _("更正调出")
        CORRECT_IN = "correct_in", _("更正调入")
        CARRY_OVER_OUT = "carry_over_out", _("结转调出")
        CARRY_OVER_IN = "carry_over_in", _("结转调入")
        RECOVER = "recover", _("收回")

    indicator = models.ForeignKey(Indicator, verbose_name="指标", on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    d_total = MoneyField("指标金额变动", default=0)
    d_frozen = MoneyField("冻结变动", default=0)
    d_reserved = MoneyField("占用变动", default=0)
    d_consumed = MoneyField("支付变动", default=0)
    counterpart = models.ForeignKey(Indicator, verbose_name="对方指标", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    source_type = models.CharField("来源单据类型", max_length=50, blank=True)
    source_id = models.BigIntegerField("来源单据ID", null=True, blank=True)
    source_no = models.CharField("来源单据号", max_length=60, blank=True)
    note = models.CharField("说明", max_length=300, blank=True)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "indicator__region__code", "agency": "indicator__agency__code",
                    "fund_type": "indicator__fund_type", "func_code": "indicator__func_code"}

    class Meta:
        verbose_name = "指标变动"
        indexes = (models.Index(fields=("indicator", "id")), models.Index(fields=("source_type", "source_id")))


class Adjustment(models.Model):
    """An adjustment document (指标调整单): one kind, several lines, a reason and a review chain.

    Lines are applied through the ledger in the transaction that completes the review.
    """

    class Kind(models.TextChoices):
        ADJUST_UP = "adjust_up", _("调增")
        ADJUST_DOWN = "adjust_down", _("调减")
        TRANSFER = "transfer", _("调剂")
        ADVANCE = "advance", _("预拨")
        FREEZE = "freeze", _("冻结")
        UNFREEZE = "unfreeze", _("解冻")
        CARRY_OVER = "carry_over", _("结转")
        RECOVER = "recover", _("结余收回")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        REVIEWING = "reviewing", _("审核中")
        APPLIED = "applied", _("已生效")
        REJECTED = "rejected", pgettext_lazy("status", "不予通过")

    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    number = models.CharField("调整单号", max_length=40, blank=True)
    kind = models.CharField("调整类型", max_length=16, choices=Kind.choices)
    reason = models.CharField("调整原因", max_length=500)
    doc_no = models.CharField("调整文号", max_length=100, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    applied_at = models.DateTimeField("生效时间", null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code"}

    class Meta:
        verbose_name = "指标调整单"
        constraints = (
            models.UniqueConstraint(fields=("region", "fiscal_year", "number"), condition=~Q(number=""),
                                    name="ind_adj_number_uniq"),
        )
        indexes = (models.Index(fields=("fiscal_year", "region", "status")),)

    def __str__(self):
        return f"{self.number or '#' + str(self.pk)} {self.get_kind_display()}"

    @property
    def total(self):
        return sum((ln.amount for ln in self.lines.all()), start=ZERO)


class AdjustmentLine(models.Model):
    adjustment = models.ForeignKey(Adjustment, verbose_name="调整单", on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField("行号")
    indicator = models.ForeignKey(Indicator, verbose_name="指标", on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(Indicator, verbose_name="调入指标", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    amount = MoneyField("金额")
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "指标调整明细"
        ordering = ("adjustment", "line_no")
        constraints = (
            models.UniqueConstraint(fields=("adjustment", "line_no"), name="ind_adjline_no_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ind_adjline_amount_pos"),
        )


class ControlRule(models.Model):
    """A control rule (控制规则) for indicators matching an element combination.

    Blank elements match anything; codes are prefixes (a functional or economic class and its
    subtree). The most specific matching rule wins (see ``fmis.indicators.controls``).
    """

    class Level(models.TextChoices):
        HARD = "hard", _("刚性控制")
        WARNING = "warning", _("预警提示")
        NONE = "none", _("不控制")

    class Match(models.TextChoices):
        EXACT = "exact", _("完全一致")
        SUBTREE = "subtree", _("本级及下级")

    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fund_type = models.CharField("资金性质", max_length=10, blank=True)
    func_prefix = models.CharField("支出功能分类（前缀）", max_length=13, blank=True)
    eco_prefix = models.CharField("政府经济分类（前缀）", max_length=11, blank=True)
    indicator_type = models.CharField("指标类型", max_length=10, blank=True)
    pay_mode = models.CharField("支付方式", max_length=12, blank=True, choices=Indicator.PayMode.choices)
    level = models.CharField("控制方式", max_length=8, choices=Level.choices, default=Level.HARD)
    match = models.CharField("科目匹配", max_length=8, choices=Match.choices, default=Match.EXACT)
    threshold_percent = models.DecimalField("余额预警比例(%)", max_digits=5, decimal_places=2, default=0)
    require_plan = models.BooleanField("须有用款计划", default=False)
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code"}

    class Meta:
        verbose_name = "控制规则"
        constraints = (
            models.UniqueConstraint(fields=("fiscal_year", "region", "fund_type", "func_prefix", "eco_prefix",
                                            "indicator_type", "pay_mode"), name="ind_ctrl_combo_uniq"),
            models.CheckConstraint(condition=Q(threshold_percent__gte=0, threshold_percent__lte=100),
                                   name="ind_ctrl_threshold_range"),
        )

    def __str__(self):
        parts = [p for p in (self.fund_type, self.func_prefix, self.eco_prefix, self.indicator_type, self.pay_mode) if p]
        return f"{self.fiscal_year} {self.region_id} {'/'.join(parts) or '全部'} {self.get_level_display()}"

"""Budget preparation (预算编制, 二上二下): rounds, budget lines, control numbers, the units'
submissions that travel the review chains, and department approvals (批复).

A ``BudgetLine`` keeps its amounts through the stages (BGT_PM_ANNUAL: apply_up 申报数,
fin_audit_money 财政审核数, 二上编报数, reply_amt 年初批复数). Once a line is approved its amounts
can no longer change: a trigger (migration 0002) refuses UPDATE of its amounts and DELETE, so the
rule holds whatever writes the row. ``indicator`` is unique: approving issues at most one
indicator per line, which makes re-running the approval a no-op.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField


class Stage(models.TextChoices):
    UP1 = "up1", _("一上（单位申报）")
    DOWN1 = "down1", _("一下（下达控制数）")
    UP2 = "up2", _("二上（按控制数编报）")
    DOWN2 = "down2", _("二下（批复）")


STAGE_ORDER = [Stage.UP1, Stage.DOWN1, Stage.UP2, Stage.DOWN2]


class BudgetRound(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("编制中")
        APPROVED = "approved", _("已批复")

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    name = models.CharField("名称", max_length=100)
    stage = models.CharField("阶段", max_length=8, choices=Stage.choices, default=Stage.UP1)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    doc_no = models.CharField("批复文号", max_length=100, blank=True)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    stage_changed_at = models.DateTimeField("阶段变更时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code"}

    class Meta:
        verbose_name = "预算编制批次"
        constraints = (
            models.UniqueConstraint(fields=("region", "fiscal_year"), name="bgt_round_region_year_uniq"),
            models.CheckConstraint(condition=Q(stage__in=["up1", "down1", "up2", "down2"]), name="bgt_round_stage_valid"),
            models.CheckConstraint(condition=~Q(status="approved") | Q(stage="down2"), name="bgt_round_approved_down2"),
        )

    def __str__(self):
        return f"{self.fiscal_year} {self.name}"


class BudgetLine(models.Model):
    class Kind(models.TextChoices):
        BASIC = "basic", _("基本支出")
        PROJECT = "project", _("项目支出")

    class Source(models.TextChoices):
        COMPUTED = "computed", _("按人员、车辆和支出标准测算")
        PROJECT = "project", _("项目库")
        ENTERED = "entered", _("单位录入")

    round = models.ForeignKey(BudgetRound, verbose_name="编制批次", on_delete=models.PROTECT, related_name="lines")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("orgs.Agency", verbose_name="一级预算单位", on_delete=models.PROTECT,
                                   related_name="+")
    kind = models.CharField("支出类型", max_length=8, choices=Kind.choices)
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    project = models.ForeignKey("projects.Project", verbose_name="项目", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    project_code = models.CharField("项目代码", max_length=30, blank=True)
    pro_kind = models.CharField("项目类别", max_length=4, blank=True)
    title = models.CharField("名称", max_length=200)
    func_code = models.CharField("支出功能分类", max_length=13)
    gov_eco_code = models.CharField("政府支出经济分类", max_length=11)
    dept_eco_code = models.CharField("部门支出经济分类", max_length=20)
    fund_type = models.CharField("资金性质", max_length=10)
    amount_applied = MoneyField("申报数（一上）", default=0)
    amount_reviewed = MoneyField("财政审核数", null=True, blank=True)
    amount_compiled = MoneyField("编报数（二上）", null=True, blank=True)
    amount_approved = MoneyField("批复数（二下）", null=True, blank=True)
    basis = models.CharField("测算依据", max_length=300, blank=True)
    indicator = models.OneToOneField("indicators.Indicator", verbose_name="批复指标", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="budget_line")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "round__region__code", "agency": "agency__code", "fund_type": "fund_type",
                    "func_code": "func_code"}

    class Meta:
        verbose_name = "预算明细"
        constraints = (
            # one computed line per agency and classification: recomputation upserts onto it
            models.UniqueConstraint(fields=("round", "agency", "func_code", "gov_eco_code", "dept_eco_code",
                                            "fund_type"), condition=Q(source="computed"), name="bgt_line_computed_uniq"),
            models.UniqueConstraint(fields=("round", "agency", "project", "func_code", "gov_eco_code",
                                            "dept_eco_code", "fund_type"), condition=Q(project__isnull=False),
                                    name="bgt_line_project_uniq"),
            models.CheckConstraint(condition=Q(amount_applied__gte=0), name="bgt_line_applied_nonneg"),
            models.CheckConstraint(condition=Q(amount_reviewed__isnull=True) | Q(amount_reviewed__gte=0),
                                   name="bgt_line_reviewed_nonneg"),
            models.CheckConstraint(condition=Q(amount_compiled__isnull=True) | Q(amount_compiled__gte=0),
                                   name="bgt_line_compiled_nonneg"),
            models.CheckConstraint(condition=Q(amount_approved__isnull=True) | Q(amount_approved__gte=0),
                                   name="bgt_line_approved_nonneg"),
            models.CheckConstraint(condition=Q(kind="basic") | ~Q(project_code=""), name="bgt_line_project_code"),
            models.CheckConstraint(condition=Q(indicator__isnull=True) | Q(amount_approved__isnull=False),
                                   name="bgt_line_indicator_approved"),
        )
        indexes = (
            models.Index(fields=("round", "department")),
            models.Index(fields=("round", "agency")),
        )

    def __str__(self):
        return f"{self.agency_id} {self.title}"


class ControlNumber(models.Model):
    """A department's control number (控制数). ``fund_type`` blank = the department's total; a row
    with a fund type also limits that fund type."""

    round = models.ForeignKey(BudgetRound, verbose_name="编制批次", on_delete=models.PROTECT,
                              related_name="control_numbers")
    department = models.ForeignKey("orgs.Agency", verbose_name="一级预算单位", on_delete=models.PROTECT,
                                   related_name="+")
    fund_type = models.CharField("资金性质", max_length=10, blank=True)
    amount = MoneyField("控制数")
    note = models.CharField("说明", max_length=200, blank=True)
    updated_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "round__region__code", "agency": "department__code"}

    class Meta:
        verbose_name = "预算控制数"
        constraints = (
            models.UniqueConstraint(fields=("round", "department", "fund_type"), name="bgt_control_uniq"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="bgt_control_nonneg"),
        )

    def __str__(self):
        return f"{self.department_id} {self.fund_type or '合计'} {self.amount}"


class Submission(models.Model):
    """A unit's declaration (一上) or compilation (二上) for one round, sent through the review
    chain 主管部门 → 预算处. Lines of the agency are editable only while it is a draft or returned."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("未送审")
        SUBMITTED = "submitted", _("已送审")
        RETURNED = "returned", _("被退回")
        APPROVED = "approved", _("已审核")

    round = models.ForeignKey(BudgetRound, verbose_name="编制批次", on_delete=models.PROTECT,
                              related_name="submissions")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("orgs.Agency", verbose_name="一级预算单位", on_delete=models.PROTECT,
                                   related_name="+")
    stage = models.CharField("阶段", max_length=8, choices=Stage.choices)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "round__region__code", "agency": "agency__code"}

    class Meta:
        verbose_name = "预算申报"
        constraints = (
            models.UniqueConstraint(fields=("round", "agency", "stage"), name="bgt_submission_uniq"),
            models.CheckConstraint(condition=Q(stage__in=["up1", "up2"]), name="bgt_submission_stage"),
        )

    def __str__(self):
        return f"{self.round.fiscal_year} {self.get_stage_display()} {self.agency.name}"


class Approval(models.Model):
    """The approval (批复) of one department's budget in a round."""

    round = models.ForeignKey(BudgetRound, verbose_name="编制批次", on_delete=models.PROTECT, related_name="approvals")
    department = models.ForeignKey("orgs.Agency", verbose_name="一级预算单位", on_delete=models.PROTECT,
                                   related_name="+")
    doc_no = models.CharField("批复文号", max_length=100, blank=True)
    lines = models.PositiveIntegerField("批复明细数", default=0)
    indicators = models.PositiveIntegerField("生成指标数", default=0)
    amount = MoneyField("批复金额", default=0)
    approved_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField("批复时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "round__region__code", "agency": "department__code"}

    class Meta:
        verbose_name = "预算批复"
        constraints = (models.UniqueConstraint(fields=("round", "department"), name="bgt_approval_uniq"),)

    def __str__(self):
        return f"{self.round} {self.department_id}"

"""The cross-year rolling project library (项目库).

A project carries a 21-character code (see ``fmis.projects.codes``), a category from the
category tree (1 人员类 / 2 运转类 / 3 特定目标类), start and end year, a total amount and yearly
plan amounts (分年支出计划) that add up to the total: a deferred constraint trigger (migration
0002) refuses any commit where they do not. Approved projects are reserved (储备) and get one
``LibraryEntry`` per library year; rolling to the next year adds the next entry once.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField

PROJECT_CODE_RE = r"^[0-9]{6}[0-9]{2}[0-9]{3}P[0-9]{3}[0-9]{6}$"


class ProjectCategory(models.Model):
    """项目类别: the tree 1 人员类 / 2 运转类 (21, 22 → 221…224) / 3 特定目标类 (31, 32, 33)."""

    code = models.CharField("类别编码", max_length=6, primary_key=True)
    name = models.CharField("类别名称", max_length=50)
    parent = models.ForeignKey("self", verbose_name="上级类别", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    remark = models.CharField("说明", max_length=300, blank=True)
    is_leaf = models.BooleanField("末级", default=True)

    class Meta:
        verbose_name = "项目类别"
        ordering = ["code"]
        constraints = (models.CheckConstraint(condition=Q(code__regex=r"^[1-3][0-9]*$"), name="proj_category_code"),)

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def top_class(self) -> str:
        return self.code[0]


class Project(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("status", "草稿")
        SUBMITTED = "submitted", _("审核中")
        RETURNED = "returned", _("退回")
        RESERVED = "reserved", _("储备")
        SCHEDULED = "scheduled", _("已纳入预算")
        TERMINATED = "terminated", _("终止")
        COMPLETED = "completed", _("完结")

    EDITABLE = (Status.DRAFT, Status.RETURNED)

    code = models.CharField("项目代码", max_length=21, unique=True)
    name = models.CharField("项目名称", max_length=200)
    agency = models.ForeignKey("orgs.Agency", verbose_name="项目单位", on_delete=models.PROTECT,
                               related_name="projects")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT,
                               related_name="projects")
    category = models.ForeignKey(ProjectCategory, verbose_name="项目类别", on_delete=models.PROTECT,
                                 related_name="projects")
    func_code = models.CharField("支出功能分类", max_length=13)
    eco_code = models.CharField("部门支出经济分类", max_length=20, blank=True)
    fund_type = models.CharField("资金性质", max_length=10, blank=True)
    start_year = models.PositiveSmallIntegerField("起始年度")
    end_year = models.PositiveSmallIntegerField("结束年度")
    total_amount = MoneyField("项目总额")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT)
    is_transfer = models.BooleanField("转移支付项目", default=False)
    target_region = models.ForeignKey("orgs.Region", verbose_name="下级财政区划", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="transfer_projects")
    tags = ArrayField(models.CharField(max_length=30), verbose_name="项目标签", default=list, blank=True)
    basis = models.TextField("设立依据", blank=True)
    summary = models.TextField("项目概述", blank=True)
    return_reason = models.CharField("退回原因", max_length=500, blank=True)
    terminate_reason = models.CharField("终止原因", max_length=500, blank=True)
    submitted_at = models.DateTimeField("送审时间", null=True, blank=True)
    reserved_at = models.DateTimeField("入库时间", null=True, blank=True)
    terminated_at = models.DateTimeField("终止时间", null=True, blank=True)
    created_by = models.ForeignKey("iam.User", verbose_name="创建人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "agency__code", "region": "region__code",
                                              "func_code": "func_code"}

    class Meta:
        verbose_name = "项目"
        ordering = ["-start_year", "code"]
        constraints = (
            models.CheckConstraint(condition=Q(code__regex=PROJECT_CODE_RE), name="proj_code_scheme"),
            models.CheckConstraint(condition=Q(start_year__gte=2000, end_year__lte=2999), name="proj_years_valid"),
            models.CheckConstraint(condition=Q(end_year__gte=F("start_year")), name="proj_end_after_start"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="proj_total_nonneg"),
            models.CheckConstraint(condition=Q(is_transfer=False, target_region__isnull=True)
                                   | Q(is_transfer=True, target_region__isnull=False),
                                   name="proj_transfer_target"),
        )
        indexes = (
            models.Index(fields=("region", "status")),
            models.Index(fields=("agency", "status")),
        )

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def editable(self) -> bool:
        return self.status in self.EDITABLE


class ProjectPlan(models.Model):
    """分年支出计划: the amount planned for one year of the project."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE, related_name="plans")
    year = models.PositiveSmallIntegerField("年度")
    amount = MoneyField("计划金额")

    class Meta:
        verbose_name = "分年支出计划"
        ordering = ["year"]
        constraints = (
            models.UniqueConstraint(fields=("project", "year"), name="proj_plan_year_uniq"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="proj_plan_nonneg"),
        )

    def __str__(self):
        return f"{self.year}: {self.amount}"


class PerformanceTarget(models.Model):
    """绩效目标: one indicator (一级/二级/三级指标) with its target value."""

    class Level1(models.TextChoices):
        OUTPUT = "output", _("产出指标")
        BENEFIT = "benefit", _("效益指标")
        SATISFACTION = "satisfaction", _("满意度指标")
        COST = "cost", _("成本指标")

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="performance_targets")
    level1 = models.CharField("一级指标", max_length=12, choices=Level1.choices)
    level2 = models.CharField("二级指标", max_length=30)
    level3 = models.CharField("三级指标", max_length=100)
    comparator = models.CharField("比较方式", max_length=4, default="≥")
    target_value = models.CharField("指标值", max_length=60)
    unit = models.CharField("计量单位", max_length=20, blank=True)

    class Meta:
        verbose_name = "绩效目标"
        ordering = ["pk"]
        constraints = (
            models.UniqueConstraint(fields=("project", "level1", "level2", "level3"), name="proj_target_uniq"),
            models.CheckConstraint(condition=Q(comparator__in=["≥", "≤", "=", ">", "<", "定性"]),
                                   name="proj_target_comparator"),
        )

    def __str__(self):
        return f"{self.level3} {self.comparator}{self.target_value}{self.unit}"

    @property
    def name(self) -> str:
        return self.level3


class LibraryEntry(models.Model):
    """A project in one year's library: its plan amount for that year and what remains."""

    class Status(models.TextChoices):
        RESERVED = "reserved", _("储备")
        SCHEDULED = "scheduled", _("已纳入预算")
        TERMINATED = "terminated", _("终止")

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT,
                                related_name="library_entries")
    library_year = models.PositiveSmallIntegerField("项目库年度")
    plan_amount = MoneyField("本年计划数")
    remaining_amount = MoneyField("剩余计划数")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.RESERVED)
    scheduled_amount = MoneyField("纳入预算金额", null=True, blank=True)
    scheduled_at = models.DateTimeField("纳入预算时间", null=True, blank=True)
    source_type = models.CharField("来源单据类型", max_length=60, blank=True)
    source_id = models.CharField("来源单据", max_length=64, blank=True)
    rolled_from = models.ForeignKey("self", verbose_name="滚动自", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "project__agency__code",
                                              "region": "project__region__code",
                                              "func_code": "project__func_code"}

    class Meta:
        verbose_name = "项目库"
        ordering = ["library_year", "project__code"]
        constraints = (
            models.UniqueConstraint(fields=("project", "library_year"), name="proj_library_year_uniq"),
            models.CheckConstraint(condition=Q(plan_amount__gte=0, remaining_amount__gte=F("plan_amount")),
                                   name="proj_library_amounts"),
            models.CheckConstraint(condition=Q(scheduled_amount__isnull=True) | Q(scheduled_amount__gte=0),
                                   name="proj_library_scheduled_nonneg"),
        )
        indexes = (models.Index(fields=("library_year", "status")),)

    def __str__(self):
        return f"{self.library_year} {self.project_id}"


class CodeCounter(models.Model):
    """The last serial issued per code prefix; advanced with one atomic upsert (gap-free)."""

    prefix = models.CharField("编码前缀", max_length=20, unique=True)
    last_value = models.PositiveIntegerField("当前序号", default=0)

    class Meta:
        verbose_name = "项目编码计数器"

    def __str__(self):
        return f"{self.prefix}: {self.last_value}"

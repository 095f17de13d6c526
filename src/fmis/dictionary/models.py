"""Data dictionary (数据字典): data elements, value sets, value versions, merges/splits, views.

Seed 003 §4.3. A data element (数据项) is either a basic item (基础数据项) that stores values,
or a view (数据项视图) that selects part of a basic item's value set by a filter expression.
Both live in one table so that codes and names are unique across them in the database.
Values of every value-set element live in ``Value`` keyed by (element, code).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.iam.querysets import RestrictedQuerySet

ELEMENT_CODE_REGEX = r"^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$"
VALUE_CODE_REGEX = r"^[A-Za-z0-9]+$"


class Status(models.TextChoices):
    NORMAL = "0", _("正常")
    DISABLED = "9", pgettext_lazy("status", "停用")


def default_version_fields() -> list[str]:
    return ["code", "name"]


class DataElement(models.Model):
    class Kind(models.TextChoices):
        BASE = "base", _("基础数据项")
        VIEW = "view", _("数据项视图")

    class DataType(models.TextChoices):
        CODE_SET = "V", _("V-代码集")
        STRING = "S", _("S-字符型")
        NUMBER = "N", _("N-数字型")
        DATE = "D", _("D-日期型")
        TIME = "T", _("T-时间型")

    class CodeFormatType(models.TextChoices):
        NONE = "0", _("0-无编码格式")
        SEQUENTIAL = "1", _("1-顺序码")
        HIERARCHICAL = "2", _("2-层码")

    kind = models.CharField("类别", max_length=4, choices=Kind.choices, default=Kind.BASE)
    category = models.ForeignKey("dictionary.Value", verbose_name="数据项分类", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="categorized_elements")
    code = models.CharField("编码", max_length=30, unique=True)
    name = models.CharField("名称", max_length=50, unique=True)
    data_type = models.CharField("数据类型", max_length=1, choices=DataType.choices, default=DataType.CODE_SET)
    length = models.PositiveSmallIntegerField("数据长度", null=True, blank=True)
    decimals = models.PositiveSmallIntegerField("小数位数", null=True, blank=True)
    code_format_type = models.CharField("编码格式类型", max_length=1, choices=CodeFormatType.choices,
                                        default=CodeFormatType.NONE)
    code_format = models.CharField("编码格式", max_length=60, blank=True)
    is_element = models.BooleanField("要素标志", default=False)
    status = models.CharField("状态", max_length=1, choices=Status.choices, default=Status.NORMAL)
    valid_from = models.DateField("启用日期", null=True, blank=True)
    valid_to = models.DateField("停用日期", null=True, blank=True)
    description = models.CharField("说明", max_length=500, blank=True)
    maintained_in_dictionary = models.BooleanField("值集由数据字典维护", default=True)
    values_preset = models.BooleanField("值集为系统预设", default=False)
    is_preset = models.BooleanField("系统预设数据项", default=False)
    version_fields = ArrayField(models.CharField(max_length=30), verbose_name="版本变更字段",
                                default=default_version_fields, blank=True)
    source = models.ForeignKey("self", verbose_name="来源数据项", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="views")
    filter = models.JSONField("筛选条件", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = "数据项"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=ELEMENT_CODE_REGEX), name="dict_element_code_chars"),
            models.CheckConstraint(condition=Q(kind__in=["base", "view"]), name="dict_element_kind_valid"),
            models.CheckConstraint(condition=Q(data_type__in=["V", "S", "N", "D", "T"]),
                                   name="dict_element_data_type_valid"),
            models.CheckConstraint(condition=Q(status__in=["0", "9"]), name="dict_element_status_valid"),
            models.CheckConstraint(condition=Q(code_format_type__in=["0", "1", "2"]),
                                   name="dict_element_format_type_valid"),
            models.CheckConstraint(condition=Q(decimals__isnull=True) | Q(data_type="N"),
                                   name="dict_element_decimals_only_number"),
            models.CheckConstraint(condition=Q(length__isnull=True) | Q(data_type__in=["V", "S", "N"]),
                                   name="dict_element_length_only_vsn"),
            models.CheckConstraint(
                condition=Q(decimals__isnull=True) | Q(length__isnull=True) | Q(decimals__lt=F("length")),
                name="dict_element_decimals_lt_length"),
            models.CheckConstraint(condition=Q(is_element=False) | Q(data_type="V"),
                                   name="dict_element_flag_only_code_set"),
            models.CheckConstraint(condition=Q(maintained_in_dictionary=False) | Q(data_type="V"),
                                   name="dict_element_maintained_only_code_set"),
            models.CheckConstraint(condition=Q(values_preset=False) | Q(data_type="V"),
                                   name="dict_element_values_preset_only_code_set"),
            models.CheckConstraint(condition=Q(code_format_type="0") | Q(data_type="V"),
                                   name="dict_element_format_only_code_set"),
            models.CheckConstraint(
                condition=(Q(code_format_type="2") & ~Q(code_format="")) | (~Q(code_format_type="2") & Q(code_format="")),
                name="dict_element_format_iff_hierarchical"),
            models.CheckConstraint(
                condition=(Q(kind="base", source__isnull=True, filter__isnull=True)
                           | Q(kind="view", source__isnull=False, data_type="V")),
                name="dict_element_view_has_source"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="dict_element_dates_ordered"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_view(self) -> bool:
        return self.kind == self.Kind.VIEW

    @property
    def is_code_set(self) -> bool:
        return self.data_type == self.DataType.CODE_SET

    @property
    def is_hierarchical(self) -> bool:
        return self.code_format_type == self.CodeFormatType.HIERARCHICAL

    @property
    def is_active(self) -> bool:
        return self.status == Status.NORMAL

    @property
    def scheme(self):
        from fmis.platform.codes import CodeScheme

        return CodeScheme.parse(self.code_format) if self.is_hierarchical else None


class Value(models.Model):
    """One value (数据项值) of a value-set element."""

    element = models.ForeignKey(DataElement, verbose_name="数据项", on_delete=models.PROTECT, related_name="values")
    code = models.CharField("编码", max_length=30)
    name = models.CharField("名称", max_length=200)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    level = models.PositiveSmallIntegerField("级次", default=1)
    is_leaf = models.BooleanField("是否末级", default=True)
    status = models.CharField("状态", max_length=1, choices=Status.choices, default=Status.NORMAL)
    valid_from = models.DateField("启用日期", null=True, blank=True)
    valid_to = models.DateField("停用日期", null=True, blank=True)
    note = models.CharField("备注", max_length=500, blank=True)
    is_preset = models.BooleanField("系统预设", default=False)
    sort_order = models.IntegerField("排序号", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = "数据项值"
        ordering = ["element_id", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["element", "code"], name="dict_value_element_code_uniq"),
            models.CheckConstraint(condition=Q(code__regex=VALUE_CODE_REGEX), name="dict_value_code_chars"),
            models.CheckConstraint(condition=Q(status__in=["0", "9"]), name="dict_value_status_valid"),
            models.CheckConstraint(condition=Q(parent__isnull=True, level=1) | Q(parent__isnull=False, level__gt=1),
                                   name="dict_value_level_matches_parent"),
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="dict_value_not_own_parent"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="dict_value_dates_ordered"),
        ]
        indexes = [
            models.Index(fields=["element", "code"], name="dict_value_code_like",
                         opclasses=["int8_ops", "varchar_pattern_ops"]),
            models.Index(fields=["element", "status"], name="dict_value_status_idx"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.status == Status.NORMAL


class ValueVersion(models.Model):
    """An increment of a value's version-change fields: one row per value and day (the day's net change)."""

    element = models.ForeignKey(DataElement, verbose_name="数据项", on_delete=models.PROTECT,
                                related_name="value_versions")
    value = models.ForeignKey(Value, verbose_name="数据项值", on_delete=models.PROTECT, related_name="versions")
    day = models.DateField("变更日期")
    before = models.JSONField("变更前")
    after = models.JSONField("变更后")
    changed_at = models.DateTimeField("最后变更时间")
    changed_by = models.CharField("变更人", max_length=150, blank=True)

    class Meta:
        verbose_name = "数据项值历史版本"
        ordering = ["-day", "-id"]
        constraints = [models.UniqueConstraint(fields=["value", "day"], name="dict_version_value_day_uniq")]
        indexes = [models.Index(fields=["element", "day"], name="dict_version_element_day")]

    def __str__(self):
        return f"{self.value_id}@{self.day}"

    @property
    def changed_fields(self) -> list[str]:
        keys = sorted(set(self.before) | set(self.after))
        return [k for k in keys if self.before.get(k) != self.after.get(k)]


class Restructure(models.Model):
    """One merge (≥2 → 1) or split (1 → ≥2) of values; its before/after pairs are ``ValueLink`` rows."""

    class Kind(models.TextChoices):
        MERGE = "merge", _("合并")
        SPLIT = "split", _("拆分")

    element = models.ForeignKey(DataElement, verbose_name="数据项", on_delete=models.PROTECT,
                                related_name="restructures")
    kind = models.CharField("类型", max_length=5, choices=Kind.choices)
    note = models.CharField("说明", max_length=500, blank=True)
    created_at = models.DateTimeField("操作时间", auto_now_add=True)
    created_by = models.CharField("操作人", max_length=150, blank=True)

    class Meta:
        verbose_name = "数据项值合并拆分"
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=["merge", "split"]),
                                              name="dict_restructure_kind_valid")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class ValueLink(models.Model):
    """Before (source) → after (target) relation recorded by a merge or split."""

    restructure = models.ForeignKey(Restructure, verbose_name="合并拆分", on_delete=models.PROTECT,
                                    related_name="links")
    source = models.ForeignKey(Value, verbose_name="变化前", on_delete=models.PROTECT, related_name="links_out")
    target = models.ForeignKey(Value, verbose_name="变化后", on_delete=models.PROTECT, related_name="links_in")

    class Meta:
        verbose_name = "数据项值关联关系"
        constraints = [
            models.UniqueConstraint(fields=["restructure", "source", "target"], name="dict_link_uniq"),
            models.CheckConstraint(condition=~Q(source=F("target")), name="dict_link_not_self"),
        ]

    def __str__(self):
        return f"{self.source_id}→{self.target_id}"

"""Regions (财政区划), finance departments, agencies (预算单位) and agent banks."""

from typing import ClassVar

from django.db import models
from django.db.models import Case, F, Q, When
from django.db.models.functions import Left
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.iam.querysets import RestrictedQuerySet

# Besides the constraints below, triggers (migration 0003) keep every child region and subordinate
# agency inside its parent's code subtree, which the prefix-based data-scope filters rely on.
REGION_CODE_RE = r"^[0-9]{6}([0-9]{3})?$"
CODE_CHARS_RE = r"^[0-9A-Za-z]+$"


class Region(models.Model):
    class Level(models.IntegerChoices):
        CENTRAL = 0, _("中央")
        PROVINCE = 1, _("省")
        CITY = 2, _("市")
        COUNTY = 3, _("县")

    code = models.CharField("区划编码", max_length=9, unique=True)
    name = models.CharField("区划名称", max_length=100)
    level = models.PositiveSmallIntegerField("级次", choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name="上级区划", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    is_active = models.BooleanField("启用", default=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "code"}

    class Meta:
        verbose_name = "财政区划"
        ordering = ["code"]
        indexes = (models.Index(fields=["code"], name="orgs_region_code_like",
                                opclasses=["varchar_pattern_ops"]),)
        constraints = (
            models.CheckConstraint(condition=Q(code__regex=REGION_CODE_RE), name="orgs_region_code_digits"),
            models.CheckConstraint(condition=Q(level__gte=0, level__lte=3), name="orgs_region_level_valid"),
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="orgs_region_not_own_parent"),
            # "370100" and "370100000" name the same region: only one of them may exist
            models.UniqueConstraint(
                Case(When(code__regex=r"^[0-9]{6}000$", then=Left("code", 6)), default=F("code")),
                name="orgs_region_code_norm_uniq"),
        )

    def __str__(self):
        return f"{self.code} {self.name}"


class FinanceDepartment(models.Model):
    region = models.OneToOneField(Region, verbose_name="财政区划", on_delete=models.PROTECT,
                                  related_name="finance_department")
    code = models.CharField("编码", max_length=30, unique=True)
    name = models.CharField("名称", max_length=100)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "region__code"}

    class Meta:
        verbose_name = "财政部门"
        ordering = ["code"]

    def __str__(self):
        return self.name


class Agency(models.Model):
    """A budget unit. Codes are hierarchical: a subordinate's code starts with its
    supervising department's code (region code 6 + department 3 + unit 3)."""

    class Kind(models.TextChoices):
        ADMINISTRATIVE = "admin", _("行政单位")
        INSTITUTION = "inst", _("事业单位")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常")
        DISABLED = "disabled", pgettext_lazy("status", "停用")

    code = models.CharField("单位编码", max_length=30, unique=True)
    name = models.CharField("单位名称", max_length=200)
    region = models.ForeignKey(Region, verbose_name="财政区划", on_delete=models.PROTECT, related_name="agencies")
    parent = models.ForeignKey("self", verbose_name="主管部门", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    kind = models.CharField("单位类型", max_length=10, choices=Kind.choices, default=Kind.ADMINISTRATIVE)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "code", "region": "region__code"}

    class Meta:
        verbose_name = "预算单位"
        ordering = ["code"]
        indexes = (models.Index(fields=["code"], name="orgs_agency_code_like", opclasses=["varchar_pattern_ops"]),)
        constraints = (
            models.CheckConstraint(condition=Q(code__regex=CODE_CHARS_RE), name="orgs_agency_code_chars"),
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="orgs_agency_not_own_parent"),
        )

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_first_level(self) -> bool:
        return self.parent_id is None


class Bank(models.Model):
    code = models.CharField("银行编码", max_length=30, unique=True)
    name = models.CharField("银行名称", max_length=100)
    is_agent = models.BooleanField("代理银行", default=True)
    is_active = models.BooleanField("启用", default=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"bank": "code"}

    class Meta:
        verbose_name = "银行"
        ordering = ["code"]
        constraints = (models.CheckConstraint(condition=Q(code__regex=CODE_CHARS_RE), name="orgs_bank_code_chars"),)

    def __str__(self):
        return self.name


class BankBranch(models.Model):
    bank = models.ForeignKey(Bank, verbose_name="银行", on_delete=models.PROTECT, related_name="branches")
    code = models.CharField("网点编码", max_length=30, unique=True)
    name = models.CharField("网点名称", max_length=100)
    region = models.ForeignKey(Region, verbose_name="财政区划", on_delete=models.PROTECT, related_name="bank_branches")
    is_active = models.BooleanField("启用", default=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"bank": "bank__code", "region": "region__code"}

    class Meta:
        verbose_name = "银行网点"
        ordering = ["code"]
        constraints = (
            models.CheckConstraint(condition=Q(code__regex=CODE_CHARS_RE), name="orgs_branch_code_chars"),)

    def __str__(self):
        return f"{self.bank.name} {self.name}"

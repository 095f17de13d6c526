"""Basic information (基础信息库): personnel, vehicles, assets per agency and fiscal year, the
expenditure standards (支出标准) they are multiplied by, and the per agency-year submission that
sends them through review (主管部门 → 财政业务处室).

Identity numbers are never stored: only the masked form (``3701**********1234``) and a keyed
digest (HMAC-SHA256 with the installation's secret) that identifies the same person across
imports without revealing the number.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField

AGENCY_SCOPE: dict[str, str] = {"agency": "agency__code", "region": "agency__region__code"}


class PersonCategory(models.TextChoices):
    ACTIVE = "active", _("在职")
    RETIRED = "retired", _("离退休")
    CONTRACT = "contract", _("编外聘用")
    OTHER = "other", _("其他")


class VehicleType(models.TextChoices):
    GENERAL = "general", _("一般公务用车")
    LAW_ENFORCEMENT = "enforcement", _("执法执勤用车")
    SPECIAL = "special", _("特种专业技术用车")
    OTHER = "other", _("其他")


class InfoSubmission(models.Model):
    """One agency's basic information for one fiscal year, as a document under review."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("status", "草稿")
        SUBMITTED = "submitted", _("审核中")
        APPROVED = "approved", _("已审核")
        RETURNED = "returned", _("退回")

    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT,
                               related_name="info_submissions")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT)
    return_reason = models.CharField("退回原因", max_length=500, blank=True)
    submitted_at = models.DateTimeField("送审时间", null=True, blank=True)
    approved_at = models.DateTimeField("审核通过时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = AGENCY_SCOPE

    class Meta:
        verbose_name = "基础信息报送"
        ordering = ["-fiscal_year", "agency__code"]
        constraints = (
            models.UniqueConstraint(fields=("agency", "fiscal_year"), name="bi_submission_agency_year_uniq"),
            models.CheckConstraint(condition=Q(fiscal_year__gte=2000, fiscal_year__lte=2999),
                                   name="bi_submission_year_valid"),
        )

    def __str__(self):
        return f"{self.fiscal_year} {self.agency}"

    @property
    def locked(self) -> bool:
        return self.status in (self.Status.SUBMITTED, self.Status.APPROVED)


class Personnel(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("在册")
        LEFT = "left", _("减员")

    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT,
                               related_name="personnel")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    name = models.CharField("姓名", max_length=50)
    id_number_masked = models.CharField("身份证号（脱敏）", max_length=18)
    id_digest = models.CharField("身份证号摘要", max_length=64, editable=False)
    category = models.CharField("人员类别", max_length=10, choices=PersonCategory.choices,
                                default=PersonCategory.ACTIVE)
    post = models.CharField("职务", max_length=50, blank=True)
    grade = models.CharField("级别", max_length=30, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = AGENCY_SCOPE

    class Meta:
        verbose_name = "人员信息"
        ordering = ["agency__code", "name", "pk"]
        constraints = (
            models.UniqueConstraint(fields=("agency", "fiscal_year", "id_digest"),
                                    name="bi_personnel_person_uniq"),
            models.CheckConstraint(condition=Q(id_number_masked__regex=r"^[0-9]{4}\*+[0-9]{3}[0-9Xx]$"),
                                   name="bi_personnel_id_masked"),
            models.CheckConstraint(condition=Q(category__in=PersonCategory.values), name="bi_personnel_category"),
        )
        indexes = (models.Index(fields=("fiscal_year", "agency", "category")),)

    def __str__(self):
        return f"{self.name} {self.id_number_masked}"


class SalaryItem(models.Model):
    """One monthly salary item (工资项目) of a person, by department economic class (30101 基本工资...)."""

    personnel = models.ForeignKey(Personnel, verbose_name="人员", on_delete=models.CASCADE,
                                  related_name="salary_items")
    eco_code = models.CharField("部门支出经济分类", max_length=20)
    name = models.CharField("工资项目", max_length=50)
    monthly_amount = MoneyField("月标准")

    class Meta:
        verbose_name = "工资项目"
        ordering = ["eco_code"]
        constraints = (
            models.UniqueConstraint(fields=("personnel", "eco_code"), name="bi_salary_item_uniq"),
            models.CheckConstraint(condition=Q(monthly_amount__gte=0), name="bi_salary_item_nonneg"),
        )

    def __str__(self):
        return f"{self.eco_code} {self.name}"


class Vehicle(models.Model):
    class Status(models.TextChoices):
        IN_USE = "in_use", _("在用")
        IDLE = "idle", _("闲置")
        DISPOSED = "disposed", _("已处置")

    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT,
                               related_name="vehicles")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    plate_no = models.CharField("车牌号", max_length=12)
    vehicle_type = models.CharField("车辆类型", max_length=12, choices=VehicleType.choices,
                                    default=VehicleType.GENERAL)
    brand = models.CharField("品牌型号", max_length=60, blank=True)
    displacement = models.CharField("排气量", max_length=10, blank=True)
    purchase_date = models.DateField("购置日期", null=True, blank=True)
    original_value = MoneyField("原值", default=0)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.IN_USE)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = AGENCY_SCOPE

    class Meta:
        verbose_name = "车辆信息"
        ordering = ["agency__code", "plate_no"]
        constraints = (
            models.UniqueConstraint(fields=("agency", "fiscal_year", "plate_no"), name="bi_vehicle_plate_uniq"),
            models.CheckConstraint(condition=Q(original_value__gte=0), name="bi_vehicle_value_nonneg"),
        )
        indexes = (models.Index(fields=("fiscal_year", "agency", "vehicle_type")),)

    def __str__(self):
        return self.plate_no


class Asset(models.Model):
    class Category(models.TextChoices):
        LAND = "land", _("土地")
        BUILDING = "building", _("房屋")
        STRUCTURE = "structure", _("构筑物")
        GENERAL_EQUIPMENT = "general", _("通用设备")
        SPECIAL_EQUIPMENT = "special", _("专用设备")
        CULTURAL = "cultural", _("文物和陈列品")
        BOOKS = "books", _("图书档案")
        FURNITURE = "furniture", _("家具和用具")
        INTANGIBLE = "intangible", _("无形资产")

    class Status(models.TextChoices):
        IN_USE = "in_use", _("在用")
        IDLE = "idle", _("闲置")
        DISPOSED = "disposed", _("已处置")

    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT,
                               related_name="assets_basic")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    code = models.CharField("资产编号", max_length=40)
    name = models.CharField("资产名称", max_length=100)
    category = models.CharField("资产分类", max_length=12, choices=Category.choices)
    quantity = models.DecimalField("数量", max_digits=14, decimal_places=2, default=1)
    unit = models.CharField("计量单位", max_length=10, blank=True)
    original_value = MoneyField("原值", default=0)
    net_value = MoneyField("净值", default=0)
    acquired_on = models.DateField("取得日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.IN_USE)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = AGENCY_SCOPE

    class Meta:
        verbose_name = "资产信息"
        ordering = ["agency__code", "code"]
        constraints = (
            models.UniqueConstraint(fields=("agency", "fiscal_year", "code"), name="bi_asset_code_uniq"),
            models.CheckConstraint(condition=Q(original_value__gte=0, net_value__gte=0), name="bi_asset_value_nonneg"),
            models.CheckConstraint(condition=Q(net_value__lte=models.F("original_value")),
                                   name="bi_asset_net_le_original"),
        )

    def __str__(self):
        return f"{self.code} {self.name}"


class ExpenditureStandard(models.Model):
    """A quota (定额): `amount` per person or per vehicle per year, for an economic class.

    Matching: a person of `person_category` in an agency of `agency_type` (null = any), a vehicle
    of `vehicle_type` (null = any).
    """

    class Kind(models.TextChoices):
        STAFF = "staff", _("人员经费")
        PUBLIC = "public", _("公用经费")
        VEHICLE = "vehicle", _("车辆运行")

    class Basis(models.TextChoices):
        PER_PERSON = "per_person", _("按人")
        PER_VEHICLE = "per_vehicle", _("按车")

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT,
                               related_name="expenditure_standards")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    name = models.CharField("标准名称", max_length=100)
    kind = models.CharField("标准类别", max_length=10, choices=Kind.choices)
    basis = models.CharField("计算依据", max_length=12, choices=Basis.choices)
    person_category = models.CharField("人员类别", max_length=10, choices=PersonCategory.choices,
                                       null=True, blank=True)
    agency_type = models.CharField("单位类型", max_length=10, null=True, blank=True)
    vehicle_type = models.CharField("车辆类型", max_length=12, choices=VehicleType.choices, null=True, blank=True)
    eco_code = models.CharField("部门支出经济分类", max_length=20)
    func_code = models.CharField("支出功能分类", max_length=13, null=True, blank=True)
    amount = MoneyField("定额（元/年）")
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "region__code"}

    class Meta:
        verbose_name = "支出标准"
        ordering = ["kind", "eco_code", "pk"]
        constraints = (
            models.UniqueConstraint(
                fields=("region", "fiscal_year", "kind", "basis", "person_category", "agency_type",
                        "vehicle_type", "eco_code", "func_code"),
                name="bi_standard_natural_uniq", nulls_distinct=False),
            models.CheckConstraint(condition=Q(amount__gte=0), name="bi_standard_amount_nonneg"),
            models.CheckConstraint(
                condition=(Q(kind="vehicle", basis="per_vehicle", person_category__isnull=True)
                           | (~Q(kind="vehicle") & Q(basis="per_person") & Q(vehicle_type__isnull=True))),
                name="bi_standard_basis_fits_kind"),
        )

    def __str__(self):
        return f"{self.fiscal_year} {self.name}"

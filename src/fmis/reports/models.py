"""Report definitions kept as data: the standard statements (会计报表) with their lines and cell
formulas, and user-defined reports (自定义报表). Figures are never stored: they are computed from
the accounting balance table for an account set and a period (see ``fmis.reports.selectors``)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from fmis.iam.querysets import RestrictedQuerySet


class StatementDef(models.Model):
    """A statement form, e.g. 资产负债表 (会政财01表). ``columns`` is a list of
    ``{"key": ..., "title": ..., "year_offset": 0|-1}``: a column with year offset −1 is computed
    on the same period of the previous year (上年数)."""

    class Basis(models.TextChoices):
        FINANCIAL = "financial", "财务报表"
        BUDGETARY = "budgetary", "预算会计报表"

    code = models.CharField("报表编码", max_length=40, unique=True)
    name = models.CharField("报表名称", max_length=100)
    form_no = models.CharField("表号", max_length=30, blank=True)
    basis = models.CharField("类别", max_length=10, choices=Basis.choices)
    columns = models.JSONField("栏目", default=list)
    order = models.PositiveSmallIntegerField("排序", default=0)
    note = models.CharField("编制说明", max_length=500, blank=True)
    checks = models.JSONField("勾稽关系", default=list, blank=True)
    is_standard = models.BooleanField("标准报表", default=True)

    class Meta:
        verbose_name = "报表定义"
        ordering = ["order", "code"]

    def __str__(self):
        return f"{self.form_no} {self.name}".strip()


class StatementLine(models.Model):
    """A line (行次) of a statement: its formula for each column (``formulas`` maps a column key
    to a formula; a line without a formula for a column leaves that cell empty)."""

    statement = models.ForeignKey(StatementDef, verbose_name="报表", on_delete=models.CASCADE, related_name="lines")
    code = models.CharField("行次", max_length=10)
    name = models.CharField("项目", max_length=100)
    order = models.PositiveSmallIntegerField("排序")
    indent = models.PositiveSmallIntegerField("缩进", default=0)
    is_heading = models.BooleanField("标题行", default=False)
    is_total = models.BooleanField("合计行", default=False)
    formulas = models.JSONField("取数公式", default=dict, blank=True)

    class Meta:
        verbose_name = "报表行"
        ordering = ["statement", "order"]
        constraints = (
            models.UniqueConstraint(fields=("statement", "code"), name="rep_line_code_uniq"),
            models.UniqueConstraint(fields=("statement", "order"), name="rep_line_order_uniq"),
        )

    def __str__(self):
        return f"{self.code} {self.name}"


class CustomReport(models.Model):
    """自定义报表: a grid of cells; a cell holds a label, a number or a formula (starting with "=").
    Saved for one account set (``account_set``) or shared (``account_set`` empty: a layout every
    user holding the function may compute on the account sets in their scope)."""

    MAX_ROWS = 200
    MAX_COLS = 26

    account_set = models.ForeignKey("accounting.AccountSet", verbose_name="账套", null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="custom_reports")
    agency = models.ForeignKey("orgs.Agency", verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    code = models.CharField("报表编码", max_length=40)
    name = models.CharField("报表名称", max_length=100)
    note = models.CharField("说明", max_length=500, blank=True)
    n_rows = models.PositiveSmallIntegerField("行数")
    n_cols = models.PositiveSmallIntegerField("列数")
    cells = models.JSONField("单元格", default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "agency__code", "region": "region__code"}

    class Meta:
        verbose_name = "自定义报表"
        ordering = ["code"]
        constraints = (
            models.UniqueConstraint(fields=("account_set", "code"), condition=Q(account_set__isnull=False),
                                    name="rep_custom_set_code_uniq"),
            models.UniqueConstraint(fields=("code",), condition=Q(account_set__isnull=True),
                                    name="rep_custom_shared_code_uniq"),
            models.CheckConstraint(condition=Q(n_rows__gte=1, n_rows__lte=200), name="rep_custom_rows"),
            models.CheckConstraint(condition=Q(n_cols__gte=1, n_cols__lte=26), name="rep_custom_cols"),
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9A-Za-z_-]+$"), name="rep_custom_code_chars"),
        )

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_shared(self) -> bool:
        return self.account_set_id is None

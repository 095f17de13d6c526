"""Government accounting books (政府会计制度, effective 2019): account sets, periods, the chart,
vouchers with their lines, balances maintained on posting, posting rules and unposted events.

Database guarantees besides the constraints below (migration 0002):
- a deferred constraint trigger refuses, at commit, any voucher whose financial or budgetary lines
  do not balance (Σdebit = Σcredit per basis);
- triggers refuse changes to posted vouchers and their lines (only the posted → audited status
  transition of un-posting is allowed), and any posting into a closed period.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField


class Standard(models.TextChoices):
    GOV_2019 = "gov2019", "政府会计制度（2019）"


class Basis(models.TextChoices):
    FINANCIAL = "financial", "财务会计"
    BUDGETARY = "budgetary", "预算会计"


class Direction(models.TextChoices):
    DEBIT = "debit", "借"
    CREDIT = "credit", "贷"


class AuxElement(models.TextChoices):
    """Auxiliary dimensions (辅助核算要素) an account can carry."""

    FUNC = "func", "支出功能分类"
    GOV_ECO = "gov_eco", "政府支出经济分类"
    DEPT_ECO = "dept_eco", "部门支出经济分类"
    FUND_TYPE = "fund_type", "资金性质"
    PAY_MODE = "pay_mode", "支付方式"
    INDICATOR = "indicator", "指标"
    PROJECT = "project", "项目"
    DEPARTMENT = "department", "部门"
    COUNTERPARTY = "counterparty", "往来单位"


# dictionary element backing each auxiliary element (validated through the dictionary)
DICTIONARY_ELEMENTS = {
    AuxElement.FUNC: "EXP_FUNC",
    AuxElement.GOV_ECO: "GOV_ECO",
    AuxElement.DEPT_ECO: "DEPT_ECO",
    AuxElement.FUND_TYPE: "FUND_TYPE",
}
# elements whose values are kept per account set in AuxItem
CUSTOM_ELEMENTS = (AuxElement.PROJECT, AuxElement.DEPARTMENT, AuxElement.COUNTERPARTY)
PAY_MODES = {"direct": "直接支付", "authorized": "授权支付"}


class AccountSet(models.Model):
    """账套: the books of one accounting entity (an agency, or a finance department's 总预算会计)."""

    class NumberingMode(models.TextChoices):
        PER_CATEGORY = "per_category", "凭证类别+期间"
        PER_PERIOD = "per_period", "账套+期间"

    code = models.CharField("账套编码", max_length=30, unique=True)
    name = models.CharField("账套名称", max_length=200)
    agency = models.ForeignKey("orgs.Agency", verbose_name="会计主体（预算单位）", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="account_sets")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT,
                               related_name="account_sets")
    standard = models.CharField("会计制度", max_length=20, choices=Standard.choices, default=Standard.GOV_2019)
    start_year = models.PositiveSmallIntegerField("启用年度")
    code_format = models.CharField("科目编码格式", max_length=40, default="4-2-2")
    numbering_mode = models.CharField("凭证编号方式", max_length=20, choices=NumberingMode.choices,
                                      default=NumberingMode.PER_CATEGORY)
    poster_must_differ = models.BooleanField("记账人须不同于制单人", default=False)
    machine_auto_post = models.BooleanField("机制凭证自动登账", default=True)
    is_primary = models.BooleanField("单位主账套（接收业务事件）", default=True)
    is_enabled = models.BooleanField("启用", default=False)
    carry_in_adjustment = models.BooleanField("年末结转凭证记入调整期（第13期）", default=False)
    supervisor = models.CharField("会计主管", max_length=50, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "agency__code", "region": "region__code"}

    class Meta:
        verbose_name = "账套"
        ordering = ["code"]
        constraints = (
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9A-Za-z]+$"), name="acc_set_code_chars"),
            models.CheckConstraint(condition=Q(start_year__gte=2000, start_year__lte=2100), name="acc_set_year"),
            models.UniqueConstraint(fields=("agency",), condition=Q(is_primary=True, agency__isnull=False),
                                    name="acc_set_one_primary_per_agency"),
            models.UniqueConstraint(fields=("region",), condition=Q(is_primary=True, agency__isnull=True),
                                    name="acc_set_one_primary_per_region"),
        )

    def __str__(self):
        return f"{self.code} {self.name}"


class Period(models.Model):
    """会计期间: months 1–12 and the adjustment period 13 (both dates on 31 December)."""

    class Status(models.TextChoices):
        OPEN = "open", "未结账"
        CLOSED = "closed", "已结账"

    ADJUSTMENT = 13

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="periods")
    year = models.PositiveSmallIntegerField("会计年度")
    number = models.PositiveSmallIntegerField("期间")
    start_date = models.DateField("起始日期")
    end_date = models.DateField("终止日期")
    is_adjustment = models.BooleanField("调整期", default=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField("结账时间", null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="结账人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "account_set__agency__code",
                                              "region": "account_set__region__code"}

    class Meta:
        verbose_name = "会计期间"
        ordering = ["account_set", "year", "number"]
        constraints = (
            models.UniqueConstraint(fields=("account_set", "year", "number"), name="acc_period_uniq"),
            models.CheckConstraint(condition=Q(number__gte=1, number__lte=13), name="acc_period_number"),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="acc_period_dates"),
            models.CheckConstraint(condition=Q(is_adjustment=True, number=13) | Q(is_adjustment=False, number__lte=12),
                                   name="acc_period_adjustment_13"),
        )

    def __str__(self):
        return f"{self.year}-{self.number:02d}" + ("（调整期）" if self.is_adjustment else "")

    @property
    def label(self) -> str:
        return str(self)


class Account(models.Model):
    """科目 of one account set. Balance rows and voucher lines reference leaf accounts only."""

    class Category(models.TextChoices):
        ASSET = "asset", "资产类"
        LIABILITY = "liability", "负债类"
        NET_ASSETS = "net_assets", "净资产类"
        REVENUE = "revenue", "收入类"
        EXPENSE = "expense", "费用类"
        BUDGET_REVENUE = "budget_revenue", "预算收入类"
        BUDGET_EXPENDITURE = "budget_expenditure", "预算支出类"
        BUDGET_SURPLUS = "budget_surplus", "预算结余类"

    class Property(models.TextChoices):
        NORMAL = "normal", "普通科目"
        CASH = "cash", "现金科目"
        BANK = "bank", "银行科目"
        CURRENT = "current", "往来科目"

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="accounts")
    code = models.CharField("科目编码", max_length=30)
    name = models.CharField("科目名称", max_length=100)
    full_name = models.CharField("科目全称", max_length=400)
    parent = models.ForeignKey("self", verbose_name="上级科目", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    level = models.PositiveSmallIntegerField("级次")
    is_leaf = models.BooleanField("末级", default=True)
    basis = models.CharField("会计体系", max_length=10, choices=Basis.choices)
    category = models.CharField("科目类别", max_length=20, choices=Category.choices)
    direction = models.CharField("余额方向", max_length=6, choices=Direction.choices)
    property = models.CharField("科目属性", max_length=10, choices=Property.choices, default=Property.NORMAL)
    aux_elements = models.JSONField("辅助核算要素", default=list, blank=True)
    is_active = models.BooleanField("启用", default=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "account_set__agency__code",
                                              "region": "account_set__region__code"}

    class Meta:
        verbose_name = "会计科目"
        ordering = ["account_set", "code"]
        constraints = (
            models.UniqueConstraint(fields=("account_set", "code"), name="acc_account_code_uniq"),
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]+$"), name="acc_account_code_digits"),
            models.CheckConstraint(
                condition=(Q(basis="financial", category__in=["asset", "liability", "net_assets", "revenue",
                                                               "expense"])
                           | Q(basis="budgetary", category__in=["budget_revenue", "budget_expenditure",
                                                                 "budget_surplus"])),
                name="acc_account_basis_category"),
        )
        indexes = (models.Index(fields=["account_set", "code"], name="acc_account_code_like",
                                opclasses=["", "varchar_pattern_ops"]),)

    def __str__(self):
        return f"{self.code} {self.full_name or self.name}"


class AuxItem(models.Model):
    """A value of a custom auxiliary element (项目, 部门, 往来单位) kept per account set."""

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="aux_items")
    element = models.CharField("辅助核算要素", max_length=20, choices=AuxElement.choices)
    code = models.CharField("编码", max_length=60)
    name = models.CharField("名称", max_length=200)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "辅助核算项目"
        ordering = ["account_set", "element", "code"]
        constraints = (models.UniqueConstraint(fields=("account_set", "element", "code"), name="acc_aux_item_uniq"),)

    def __str__(self):
        return f"{self.code} {self.name}"


class VoucherCategory(models.Model):
    """凭证类别 with its voucher word (凭证字), e.g. 01 记账凭证 记."""

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="categories")
    code = models.CharField("类别代码", max_length=10)
    name = models.CharField("类别名称", max_length=50)
    word = models.CharField("凭证字", max_length=4)
    is_default = models.BooleanField("默认", default=False)

    class Meta:
        verbose_name = "凭证类别"
        ordering = ["account_set", "code"]
        constraints = (
            models.UniqueConstraint(fields=("account_set", "code"), name="acc_category_code_uniq"),
            models.UniqueConstraint(fields=("account_set",), condition=Q(is_default=True),
                                    name="acc_category_one_default"),
        )

    def __str__(self):
        return f"{self.word}（{self.name}）"


class VoucherCounter(models.Model):
    """The last number used in a numbering series (period + category, or period alone).

    Numbers are drawn by one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` that keeps the row
    locked until commit, so concurrent entries get consecutive numbers and a rollback gives its
    number back."""

    period = models.ForeignKey(Period, verbose_name="期间", on_delete=models.CASCADE, related_name="+")
    series = models.CharField("编号序列", max_length=10)
    last = models.PositiveIntegerField("已用最大号", default=0)

    class Meta:
        verbose_name = "凭证编号计数器"
        constraints = (models.UniqueConstraint(fields=("period", "series"), name="acc_counter_uniq"),)


class Voucher(models.Model):
    """记账凭证. States 已录入 → 已审核 → 已登账; un-post and un-audit go back one step at a time."""

    class Status(models.TextChoices):
        ENTERED = "entered", "已录入"
        AUDITED = "audited", "已审核"
        POSTED = "posted", "已登账"

    PER_PERIOD_SERIES = "*"

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.PROTECT,
                                    related_name="vouchers")
    period = models.ForeignKey(Period, verbose_name="会计期间", on_delete=models.PROTECT, related_name="vouchers")
    fiscal_year = models.PositiveSmallIntegerField("会计年度")
    date = models.DateField("凭证日期")
    category = models.ForeignKey(VoucherCategory, verbose_name="凭证类别", on_delete=models.PROTECT,
                                 related_name="vouchers")
    series = models.CharField("编号序列", max_length=10)
    number = models.PositiveIntegerField("凭证号")
    attachments = models.PositiveSmallIntegerField("附单据数", default=0)
    summary = models.CharField("摘要", max_length=200, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ENTERED)
    debit_total = MoneyField("借方合计", default=0)
    credit_total = MoneyField("贷方合计", default=0)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="制单人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField("制单时间", auto_now_add=True)
    audited_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    audited_at = models.DateTimeField("审核时间", null=True, blank=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="记账人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField("登账时间", null=True, blank=True)
    is_machine = models.BooleanField("机制凭证", default=False)
    rule_code = models.CharField("凭证规则", max_length=40, blank=True)
    event_name = models.CharField("来源事件", max_length=100, blank=True)
    source_type = models.CharField("来源单据类型", max_length=60, blank=True)
    source_id = models.CharField("来源单据ID", max_length=40, blank=True)
    source_no = models.CharField("来源单据号", max_length=60, blank=True)
    reversal_of = models.OneToOneField("self", verbose_name="冲销的凭证", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="reversed_by")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "account_set__agency__code",
                                              "region": "account_set__region__code"}

    class Meta:
        verbose_name = "记账凭证"
        ordering = ["account_set", "period", "series", "number"]
        constraints = (
            models.UniqueConstraint(fields=("period", "series", "number"), name="acc_voucher_number_uniq",
                                    deferrable=models.Deferrable.DEFERRED),
            models.CheckConstraint(condition=Q(number__gte=1), name="acc_voucher_number_positive"),
            # invariant 4: the entrant of a voucher is never its auditor
            models.CheckConstraint(condition=Q(audited_by__isnull=True) | Q(entered_by__isnull=True)
                                   | ~Q(audited_by=F("entered_by")), name="acc_voucher_auditor_not_entrant"),
            models.CheckConstraint(condition=Q(status="entered") | Q(audited_by__isnull=False) | Q(is_machine=True),
                                   name="acc_voucher_audited_has_auditor"),
            models.CheckConstraint(condition=~Q(status="posted") | Q(posted_at__isnull=False),
                                   name="acc_voucher_posted_has_time"),
            models.CheckConstraint(condition=Q(debit_total=F("credit_total")), name="acc_voucher_totals_equal"),
            # one machine voucher per source document and event
            models.UniqueConstraint(fields=("account_set", "event_name", "source_type", "source_id"),
                                    condition=Q(is_machine=True, reversal_of__isnull=True) & ~Q(source_id=""),
                                    name="acc_voucher_machine_source_uniq"),
        )
        indexes = (
            models.Index(fields=["account_set", "date"], name="acc_voucher_set_date"),
            models.Index(fields=["source_type", "source_id"], name="acc_voucher_source"),
            # the detail ledger's order of posted vouchers
            models.Index(fields=["period", "date", "series", "number"], name="acc_voucher_posted_order",
                         condition=Q(status="posted")),
        )

    def __str__(self):
        return f"{self.category.word}-{self.number:04d}"

    @property
    def display_no(self) -> str:
        return f"{self.period} {self.category.word}-{self.number:04d}"


class VoucherLine(models.Model):
    voucher = models.ForeignKey(Voucher, verbose_name="凭证", on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField("行号")
    summary = models.CharField("摘要", max_length=200)
    account = models.ForeignKey(Account, verbose_name="科目", on_delete=models.PROTECT, related_name="lines")
    basis = models.CharField("会计体系", max_length=10, choices=Basis.choices)
    debit = MoneyField("借方金额", default=0)
    credit = MoneyField("贷方金额", default=0)
    aux = models.JSONField("辅助核算", default=dict, blank=True)
    aux_hash = models.CharField("辅助核算组合", max_length=64, blank=True)

    class Meta:
        verbose_name = "凭证分录"
        ordering = ["voucher", "line_no"]
        constraints = (
            models.UniqueConstraint(fields=("voucher", "line_no"), name="acc_line_no_uniq"),
            # one side only; red (negative) amounts appear in reversals
            models.CheckConstraint(condition=(Q(credit=0) & ~Q(debit=0)) | (Q(debit=0) & ~Q(credit=0)),
                                   name="acc_line_one_side"),
        )
        indexes = (models.Index(fields=["account", "voucher"], name="acc_line_account"),)

    def __str__(self):
        return f"{self.voucher_id}/{self.line_no}"


class Balance(models.Model):
    """Per account set, period, leaf account and auxiliary combination: opening, the period's debit
    and credit, the year's cumulative debit and credit, closing (debit-positive). Maintained on
    posting and un-posting in the same transaction by upserts; a row exists for the posted period
    and every later period of the year, so a period's trial balance reads one row per key."""

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="balances")
    period = models.ForeignKey(Period, verbose_name="期间", on_delete=models.CASCADE, related_name="balances")
    account = models.ForeignKey(Account, verbose_name="科目", on_delete=models.PROTECT, related_name="balances")
    aux_hash = models.CharField("辅助核算组合", max_length=64, blank=True)
    aux = models.JSONField("辅助核算", default=dict, blank=True)
    opening = MoneyField("期初余额（借正贷负）", default=0)
    debit = MoneyField("本期借方", default=0)
    credit = MoneyField("本期贷方", default=0)
    cum_debit = MoneyField("本年累计借方", default=0)
    cum_credit = MoneyField("本年累计贷方", default=0)
    closing = MoneyField("期末余额（借正贷负）", default=0)

    class Meta:
        verbose_name = "科目余额"
        constraints = (
            models.UniqueConstraint(fields=("period", "account", "aux_hash"), name="acc_balance_key"),
            models.CheckConstraint(condition=Q(closing=F("opening") + F("debit") - F("credit")),
                                   name="acc_balance_closing"),
        )
        # covering: a statement or trial balance reads one period's rows by an index-only scan
        indexes = (models.Index(fields=["account_set", "period"], name="acc_balance_set_period",
                                include=["account", "opening", "debit", "credit", "cum_debit", "cum_credit",
                                         "closing"]),)


class PostingRule(models.Model):
    """机制凭证规则: a business event whose payload matches `conditions` becomes a voucher."""

    code = models.CharField("规则编码", max_length=40, unique=True)
    name = models.CharField("规则名称", max_length=100)
    event = models.CharField("业务事件", max_length=100, db_index=True)
    conditions = models.JSONField("条件", default=dict, blank=True)
    summary = models.CharField("摘要模板", max_length=200)
    priority = models.PositiveSmallIntegerField("优先级", default=100)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "机制凭证规则"
        ordering = ["event", "priority", "code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class PostingRuleLine(models.Model):
    class Side(models.TextChoices):
        DEBIT = "debit", "借"
        CREDIT = "credit", "贷"

    rule = models.ForeignKey(PostingRule, verbose_name="规则", on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField("行号")
    basis = models.CharField("会计体系", max_length=10, choices=Basis.choices)
    side = models.CharField("方向", max_length=6, choices=Side.choices)
    account_code = models.CharField("科目编码", max_length=30)
    amount = models.CharField("金额表达式", max_length=60, default="amount")
    aux = models.JSONField("辅助核算映射", default=dict, blank=True)

    class Meta:
        verbose_name = "机制凭证规则分录"
        ordering = ["rule", "line_no"]
        constraints = (models.UniqueConstraint(fields=("rule", "line_no"), name="acc_rule_line_uniq"),)


class EventPosting(models.Model):
    """What became of a business event in the books: a voucher, or the reason there is none."""

    class Outcome(models.TextChoices):
        POSTED = "posted", "已生成凭证"
        SKIPPED = "skipped", "规则无需记账"
        NO_ACCOUNT_SET = "no_account_set", "未找到账套"
        NO_RULE = "no_rule", "未找到规则"
        FAILED = "failed", "生成失败"

    event_name = models.CharField("业务事件", max_length=100)
    event_record_id = models.BigIntegerField("事件记录ID", null=True, blank=True)
    payload = models.JSONField("事件内容", default=dict)
    account_set = models.ForeignKey(AccountSet, verbose_name="账套", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="event_postings")
    agency_code = models.CharField("单位编码", max_length=30, blank=True)
    region_code = models.CharField("区划编码", max_length=9, blank=True)
    fiscal_year = models.PositiveSmallIntegerField("年度", null=True, blank=True)
    outcome = models.CharField("结果", max_length=20, choices=Outcome.choices)
    message = models.CharField("说明", max_length=500, blank=True)
    voucher = models.ForeignKey(Voucher, verbose_name="凭证", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    source_type = models.CharField("来源单据类型", max_length=60, blank=True)
    source_id = models.CharField("来源单据ID", max_length=40, blank=True)
    source_no = models.CharField("来源单据号", max_length=60, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    resolved_by = models.OneToOneField("self", verbose_name="重新记账结果", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="resolves")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "agency_code", "region": "region_code"}

    class Meta:
        verbose_name = "业务事件记账结果"
        ordering = ["-created_at"]
        indexes = (models.Index(fields=["outcome", "created_at"], name="acc_event_outcome"),)


class FiscalYear(models.Model):
    """会计年度 of an account set: the state of its opening balances (期初余额: draft or posted)
    and of its year-end close (年结). A row is created on first use."""

    class OpeningStatus(models.TextChoices):
        DRAFT = "draft", "未登账"
        POSTED = "posted", "已登账"

    class Status(models.TextChoices):
        OPEN = "open", "未年结"
        CLOSED = "closed", "已年结"

    class OpeningSource(models.TextChoices):
        ENTERED = "entered", "录入或导入"
        CARRIED = "carried", "取上年数"

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="fiscal_years")
    year = models.PositiveSmallIntegerField("会计年度")
    opening_status = models.CharField("期初余额状态", max_length=10, choices=OpeningStatus.choices,
                                      default=OpeningStatus.DRAFT)
    opening_source = models.CharField("期初余额来源", max_length=10, choices=OpeningSource.choices,
                                      default=OpeningSource.ENTERED)
    opening_posted_at = models.DateTimeField("期初余额登账时间", null=True, blank=True)
    opening_posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="期初余额登账人", null=True,
                                          blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField("年结状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField("年结时间", null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="年结人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    created_next_periods = models.BooleanField("年结时新建了下年度期间", default=False)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "account_set__agency__code",
                                              "region": "account_set__region__code"}

    class Meta:
        verbose_name = "会计年度"
        ordering = ["account_set", "year"]
        constraints = (
            models.UniqueConstraint(fields=("account_set", "year"), name="acc_fiscal_year_uniq"),
            models.CheckConstraint(condition=Q(opening_status="draft") | Q(opening_posted_at__isnull=False),
                                   name="acc_fiscal_year_opening_posted_time"),
        )

    def __str__(self):
        return f"{self.account_set.code} {self.year}"


class OpeningBalance(models.Model):
    """期初余额 (年初余额) of a leaf account and auxiliary combination for a year, debit-positive.
    Posting the year's openings adds them to the opening and closing of every period's balance row."""

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="opening_balances")
    year = models.PositiveSmallIntegerField("会计年度")
    account = models.ForeignKey(Account, verbose_name="科目", on_delete=models.PROTECT,
                                related_name="opening_balances")
    aux_hash = models.CharField("辅助核算组合", max_length=64, blank=True)
    aux = models.JSONField("辅助核算", default=dict, blank=True)
    amount = MoneyField("年初余额（借正贷负）")
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "account_set__agency__code",
                                              "region": "account_set__region__code"}

    class Meta:
        verbose_name = "期初余额"
        ordering = ["account_set", "year", "account__code", "aux_hash"]
        constraints = (
            models.UniqueConstraint(fields=("account_set", "year", "account", "aux_hash"),
                                    name="acc_opening_key"),
            models.CheckConstraint(condition=~Q(amount=0), name="acc_opening_not_zero"),
        )

    @property
    def debit_amount(self):
        return self.amount if self.amount > 0 else None

    @property
    def credit_amount(self):
        return -self.amount if self.amount < 0 else None


class VoucherTemplate(models.Model):
    """凭证模板: lines (accounts, directions, summaries, optional amounts, auxiliary values) saved
    under a code and name per account set, to prefill new vouchers."""

    account_set = models.ForeignKey(AccountSet, verbose_name="账套", on_delete=models.CASCADE,
                                    related_name="voucher_templates")
    code = models.CharField("模板编码", max_length=30)
    name = models.CharField("模板名称", max_length=100)
    category = models.ForeignKey(VoucherCategory, verbose_name="凭证类别", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="templates")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "account_set__agency__code",
                                              "region": "account_set__region__code"}

    class Meta:
        verbose_name = "凭证模板"
        ordering = ["account_set", "code"]
        constraints = (models.UniqueConstraint(fields=("account_set", "code"), name="acc_template_code_uniq"),)

    def __str__(self):
        return f"{self.code} {self.name}"


class VoucherTemplateLine(models.Model):
    template = models.ForeignKey(VoucherTemplate, verbose_name="模板", on_delete=models.CASCADE,
                                 related_name="lines")
    line_no = models.PositiveSmallIntegerField("行号")
    summary = models.CharField("摘要", max_length=200, blank=True)
    account = models.ForeignKey(Account, verbose_name="科目", on_delete=models.PROTECT, related_name="template_lines")
    direction = models.CharField("方向", max_length=6, choices=Direction.choices)
    amount = MoneyField("金额", null=True, blank=True)
    aux = models.JSONField("辅助核算", default=dict, blank=True)

    class Meta:
        verbose_name = "凭证模板分录"
        ordering = ["template", "line_no"]
        constraints = (
            models.UniqueConstraint(fields=("template", "line_no"), name="acc_template_line_uniq"),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gt=0),
                                   name="acc_template_amount_positive"),
        )

"""Bank account supervision (银行账户监管): the register of budget units' bank accounts, the
applications that open, change and close them, annual inspections, the field-by-field history,
and the exchange centre's data: import batches, bank flows (交易流水), reported balances, the
per-account daily totals the reports read, and the exception message log (异常报文).

Every business row carries the agency and region it belongs to (copied from the account), so the
one permission filter (``scope_fields``) restricts each table without joins through accounts.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField

ACCOUNT_NO_RE = r"^[0-9]{8,32}$"
CURRENCY_RE = r"^[A-Z]{3}$"

SCOPE = {"agency": "agency__code", "region": "region__code"}


class Nature(models.TextChoices):
    BASIC = "basic", _("基本存款账户")
    GENERAL = "general", _("一般存款账户")
    SPECIAL = "special", _("专用存款账户")
    ZERO_BALANCE = "zero_balance", _("零余额账户")
    TEMPORARY = "temporary", _("临时存款账户")


class Currency(models.TextChoices):
    CNY = "CNY", _("人民币")
    USD = "USD", _("美元")
    EUR = "EUR", _("欧元")
    HKD = "HKD", _("港币")
    JPY = "JPY", _("日元")
    GBP = "GBP", _("英镑")


class BankAccount(models.Model):
    """A registered bank account of a budget unit (预算单位银行账户)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常")
        CLOSED = "closed", _("已销户")

    number = models.CharField("账号", max_length=32)
    name = models.CharField("账户名称", max_length=200)
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT,
                               related_name="bank_accounts")
    department = models.ForeignKey("orgs.Agency", verbose_name="一级预算单位", on_delete=models.PROTECT,
                                   related_name="+")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey("orgs.Bank", verbose_name="开户银行", on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey("orgs.BankBranch", verbose_name="开户网点", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    nature = models.CharField("账户性质", max_length=20, choices=Nature.choices)
    currency = models.CharField("币种", max_length=3, choices=Currency.choices, default=Currency.CNY)
    purpose = models.CharField("用途", max_length=300, blank=True)
    approval_doc = models.CharField("批准文号", max_length=100, blank=True)
    opened_on = models.DateField("开户日期")
    closed_on = models.DateField("销户日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    opening_balance = MoneyField("初始化余额", default=0)
    initialized_on = models.DateField("初始化日期", null=True, blank=True,
                                      help_text="初始化余额所对应的日期；此后的交易流水计入余额")
    last_inspection_year = models.PositiveIntegerField("最近年检年度", null=True, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {**SCOPE, "bank": "bank__code"}

    class Meta:
        verbose_name = "银行账户"
        ordering = ("agency__code", "number")
        constraints = (
            models.UniqueConstraint(fields=["bank", "number"], name="bankacc_account_bank_number_uniq"),
            models.CheckConstraint(condition=Q(number__regex=ACCOUNT_NO_RE), name="bankacc_account_number_digits"),
            models.CheckConstraint(condition=Q(currency__regex=CURRENCY_RE), name="bankacc_account_currency"),
            models.CheckConstraint(condition=~Q(name=""), name="bankacc_account_name_nonempty"),
            models.CheckConstraint(
                condition=(Q(status="closed", closed_on__isnull=False) | Q(status="active", closed_on__isnull=True)),
                name="bankacc_account_closed_has_date"),
            models.CheckConstraint(condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("opened_on")),
                                   name="bankacc_account_closed_after_open"),
            # a budget unit has at most one basic deposit account (基本存款账户) in use
            models.UniqueConstraint(fields=["agency"], condition=Q(nature="basic", status="active"),
                                    name="bankacc_account_one_basic"),
        )
        indexes = (
            models.Index(fields=["agency", "currency"], name="bankacc_account_agency_idx"),
            models.Index(fields=["department", "currency"], name="bankacc_account_dept_idx"),
            models.Index(fields=["bank", "currency"], name="bankacc_account_bank_idx"),
            models.Index(fields=["region"], name="bankacc_account_region_idx"),
        )

    def __str__(self):
        return f"{self.number} {self.name}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class OpeningBalanceItem(models.Model):
    """One component of an account's initial balance (初始化余额构成)."""

    class Source(models.TextChoices):
        FISCAL = "fiscal", _("财政拨款资金")
        SUPERIOR = "superior", _("上级补助资金")
        BUSINESS = "business", _("事业收入资金")
        OPERATING = "operating", _("经营收入资金")
        DEPOSIT = "deposit", _("代管及暂存资金")
        OTHER = "other", _("其他资金")

    account = models.ForeignKey(BankAccount, verbose_name="银行账户", on_delete=models.CASCADE,
                                related_name="opening_items")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    source = models.CharField("资金来源", max_length=20, choices=Source.choices)
    amount = MoneyField("金额")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = SCOPE

    class Meta:
        verbose_name = "初始化余额构成"
        ordering = ("account", "source")
        constraints = (models.UniqueConstraint(fields=["account", "source"], name="bankacc_opening_item_uniq"),)


class Application(models.Model):
    """An application to open, change or close an account (开户/变更/销户申请)."""

    class Kind(models.TextChoices):
        OPEN = "open", _("开户")
        CHANGE = "change", _("变更")
        CLOSE = "close", _("销户")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING = "pending", _("审核中")
        RETURNED = "returned", _("已退回")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("未通过")
        WITHDRAWN = "withdrawn", _("已撤回")

    OPEN_STATES = ("draft", "pending", "returned", "withdrawn")

    number = models.CharField("申请编号", max_length=30, unique=True)
    kind = models.CharField("申请类型", max_length=10, choices=Kind.choices)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(BankAccount, verbose_name="银行账户", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="applications")
    # the account as it will be after approval (open, change) or as it is (close)
    account_number = models.CharField("账号", max_length=32)
    account_name = models.CharField("账户名称", max_length=200)
    bank = models.ForeignKey("orgs.Bank", verbose_name="开户银行", on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey("orgs.BankBranch", verbose_name="开户网点", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    nature = models.CharField("账户性质", max_length=20, choices=Nature.choices)
    currency = models.CharField("币种", max_length=3, choices=Currency.choices, default=Currency.CNY)
    purpose = models.CharField("用途", max_length=300, blank=True)
    approval_doc = models.CharField("批准文号", max_length=100, blank=True)
    opened_on = models.DateField("开户日期")
    closed_on = models.DateField("销户日期", null=True, blank=True)
    reason = models.TextField("申请理由")
    return_reason = models.TextField("退回原因", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    decided_at = models.DateTimeField("办结时间", null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = SCOPE

    class Meta:
        verbose_name = "账户申请"
        ordering = ("-created_at", "-pk")
        constraints = (
            models.CheckConstraint(condition=Q(kind="open") | Q(account__isnull=False),
                                   name="bankacc_app_account_for_change"),
            models.CheckConstraint(condition=~Q(kind="close") | Q(closed_on__isnull=False),
                                   name="bankacc_app_close_has_date"),
            models.CheckConstraint(condition=Q(account_number__regex=ACCOUNT_NO_RE),
                                   name="bankacc_app_number_digits"),
            models.CheckConstraint(condition=~Q(reason=""), name="bankacc_app_reason_nonempty"),
            # one change or closing in progress per account
            models.UniqueConstraint(fields=["account"], condition=Q(status__in=["draft", "pending", "returned",
                                                                                "withdrawn"], account__isnull=False),
                                    name="bankacc_app_one_open_per_account"),
            # one opening in progress per bank account number
            models.UniqueConstraint(fields=["bank", "account_number"],
                                    condition=Q(kind="open", status__in=["draft", "pending", "returned",
                                                                         "withdrawn"]),
                                    name="bankacc_app_one_opening_per_number"),
        )
        indexes = (models.Index(fields=["agency", "status"], name="bankacc_app_agency_idx"),)

    def __str__(self):
        return f"{self.number} {self.get_kind_display()} {self.account_number}"

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.RETURNED, self.Status.WITHDRAWN)


class Inspection(models.Model):
    """The annual inspection (年检) of one account for one year."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING = "pending", _("审核中")
        RETURNED = "returned", _("已退回")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("未通过")
        WITHDRAWN = "withdrawn", _("已撤回")

    class Conclusion(models.TextChoices):
        COMPLIANT = "compliant", _("合规，继续使用")
        RECTIFY = "rectify", _("限期整改")
        CLOSE = "close", _("应予撤销")

    account = models.ForeignKey(BankAccount, verbose_name="银行账户", on_delete=models.PROTECT,
                                related_name="inspections")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField("年检年度")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    conclusion = models.CharField("年检结论", max_length=10, choices=Conclusion.choices, default=Conclusion.COMPLIANT)
    still_needed = models.BooleanField("仍需使用", default=True)
    usage = models.TextField("账户使用情况说明")
    return_reason = models.TextField("退回原因", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="填报人", on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField("填报时间", auto_now_add=True)
    decided_at = models.DateTimeField("办结时间", null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = SCOPE

    class Meta:
        verbose_name = "账户年检"
        ordering = ("-year", "account")
        constraints = (
            models.UniqueConstraint(fields=["account", "year"], name="bankacc_inspection_account_year_uniq"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="bankacc_inspection_year"),
            models.CheckConstraint(condition=~Q(usage=""), name="bankacc_inspection_usage_nonempty"),
        )

    def __str__(self):
        return f"{self.account.number} {self.year}年度年检"

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.RETURNED, self.Status.WITHDRAWN)


class AccountChange(models.Model):
    """One line of an account's history: one field changed (or the account opened, closed,
    inspected), by whom and when, and the application or inspection that did it."""

    class Kind(models.TextChoices):
        REGISTER = "register", _("登记")
        OPEN = "open", _("开户")
        CHANGE = "change", _("变更")
        CLOSE = "close", _("销户")
        INSPECTION = "inspection", _("年检")
        INITIAL = "initial", _("初始化余额")

    account = models.ForeignKey(BankAccount, verbose_name="银行账户", on_delete=models.PROTECT,
                                related_name="changes")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("变更类型", max_length=12, choices=Kind.choices)
    field = models.CharField("变更项目", max_length=40, blank=True)
    field_label = models.CharField("变更项目名称", max_length=40, blank=True)
    old_value = models.TextField("变更前", blank=True)
    new_value = models.TextField("变更后", blank=True)
    application = models.ForeignKey(Application, verbose_name="申请", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    inspection = models.ForeignKey(Inspection, verbose_name="年检", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="批准人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField("变更时间")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = SCOPE

    class Meta:
        verbose_name = "账户变更记录"
        ordering = ("-changed_at", "-pk")
        indexes = (
            models.Index(fields=["changed_at", "kind"], name="bankacc_change_at_idx"),
            models.Index(fields=["account", "changed_at"], name="bankacc_change_account_idx"),
        )


# --- exchange centre ------------------------------------------------------------------------------

class MessageKind(models.TextChoices):
    FLOWS = "flows", _("交易流水")
    BALANCES = "balances", _("账户余额")
    UNKNOWN = "unknown", _("无法识别")


class MessageFormat(models.TextChoices):
    XML = "xml", "XML"
    CSV = "csv", "CSV"
    UNKNOWN = "unknown", _("无法识别")


class MessageSource(models.TextChoices):
    API = "api", _("接口报送")
    FILE = "file", _("文件导入")


class ImportBatch(models.Model):
    """One message (file) accepted by the exchange centre. A second delivery of the same bytes
    finds this row and changes nothing."""

    bank = models.ForeignKey("orgs.Bank", verbose_name="银行", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("orgs.Region", verbose_name="接收区划", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+",
                               help_text="交换批次不属于任何预算单位；本列恒为空，使按单位授权的用户看不到批次")
    kind = models.CharField("报文类别", max_length=10, choices=MessageKind.choices)
    fmt = models.CharField("格式", max_length=10, choices=MessageFormat.choices)
    source = models.CharField("来源", max_length=10, choices=MessageSource.choices)
    business_date = models.DateField("业务日期")
    filename = models.CharField("文件名", max_length=255, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.BigIntegerField("字节数")
    lines = models.PositiveIntegerField("记录数")
    inserted = models.PositiveIntegerField("新增记录数")
    duplicates = models.PositiveIntegerField("重复记录数")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="接收人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField("接收时间")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"bank": "bank__code", "region": "region__code",
                                              "agency": "agency__code"}

    class Meta:
        verbose_name = "交换批次"
        ordering = ("-received_at", "-pk")
        constraints = (
            models.UniqueConstraint(fields=["bank", "kind", "sha256"], name="bankacc_batch_content_uniq"),
            models.CheckConstraint(condition=Q(inserted__lte=F("lines")), name="bankacc_batch_counts"),
        )
        indexes = (models.Index(fields=["kind", "business_date", "bank"], name="bankacc_batch_day_idx"),)

    def __str__(self):
        return f"{self.bank.name} {self.business_date} {self.get_kind_display()}"


class BankFlow(models.Model):
    """One transaction of a bank account as delivered by the bank (交易流水). Unique by bank,
    account number and bank serial number; the amount is positive and the direction says whether
    money came in (收入) or went out (支出).

    Written only by the exchange centre's import (one set-based INSERT per message), which is why
    the table carries no row-by-row foreign key checks: every reference is valid by construction
    (the bank and the batch are the ones the import just verified and created, the account comes
    from a join on the register), and the referenced rows are guarded from the other side (a
    database trigger refuses to delete an account with flows or an import batch that inserted
    flows; a bank keeps its batches through their own foreign key). Deferred foreign keys cost a
    trigger call and an index probe per row at commit, as much as the insert itself.

    The account and serial numbers are compared byte-wise (collation "C"): they are ASCII codes,
    and the unique index on them is the one every imported line must probe and enter."""

    class Direction(models.TextChoices):
        CREDIT = "C", _("收入")
        DEBIT = "D", _("支出")

    # no separate indexes on the keys: the unique (bank, account_no, serial_no) and the (tx_date,
    # account) indexes serve the lookups, and every index costs on a million-line import
    bank = models.ForeignKey("orgs.Bank", verbose_name="银行", on_delete=models.PROTECT, related_name="+",
                             db_index=False, db_constraint=False)
    account_no = models.CharField("账号", max_length=32, db_collation="C")
    account = models.ForeignKey(BankAccount, verbose_name="登记账户", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="flows", db_index=False,
                                db_constraint=False, help_text="为空表示该账号未在财政登记")
    serial_no = models.CharField("银行流水号", max_length=64, db_collation="C")
    tx_time = models.DateTimeField("交易时间")
    tx_date = models.DateField("交易日期")
    direction = models.CharField("收支方向", max_length=1, choices=Direction.choices)
    amount = MoneyField("金额")
    currency = models.CharField("币种", max_length=3)
    balance = MoneyField("交易后余额", null=True, blank=True)
    counterparty_name = models.CharField("对方户名", max_length=200, blank=True)
    counterparty_account = models.CharField("对方账号", max_length=40, blank=True)
    summary = models.CharField("摘要", max_length=200, blank=True)
    batch = models.ForeignKey(ImportBatch, verbose_name="交换批次", on_delete=models.PROTECT, related_name="+",
                              db_index=False, db_constraint=False)
    # copied from the account (unregistered: no agency, the receiving exchange centre's region); the
    # account's own foreign keys guard them, so no constraint checks them again on every row
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", null=True, blank=True,
                               on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False)
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", null=True, blank=True,
                               on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {**SCOPE, "bank": "bank__code"}

    class Meta:
        verbose_name = "交易流水"
        constraints = (
            models.UniqueConstraint(fields=["bank", "account_no", "serial_no"], name="bankacc_flow_serial_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bankacc_flow_amount_positive"),
            models.CheckConstraint(condition=Q(direction__in=["C", "D"]), name="bankacc_flow_direction"),
        )
        indexes = (
            # date first: a day's flows are appended at the index's right edge, where an (account,
            # date) index took an insertion in the middle of the index for every account of the day;
            # an account's flows of a period are found by a skip scan over the period's dates
            models.Index(fields=["tx_date", "account"], name="bankacc_flow_day_account_idx"),
            models.Index(fields=["bank", "account_no"], condition=Q(account__isnull=True),
                         name="bankacc_flow_unregistered_idx"),
        )


class AccountDay(models.Model):
    """Income and expenditure of one registered account on one day, with the account's running
    totals up to and including that day, maintained set-based by every import (and by relinking)
    from the rows it really inserted, in the same transaction.

    The reports read these instead of the flows: income of a period is the difference of two
    running totals, the balance at a date one running total less the one at the initialisation
    date, so a report costs a few index probes per account (the unique index carries the running
    totals), whatever the length of the period."""

    account = models.ForeignKey(BankAccount, verbose_name="银行账户", on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    day = models.DateField("日期")
    income = MoneyField("收入", default=0)
    expenditure = MoneyField("支出", default=0)
    flows = models.PositiveIntegerField("笔数", default=0)
    cum_income = MoneyField("累计收入", default=0, help_text="该账户截至当日（含）的全部收入")
    cum_expenditure = MoneyField("累计支出", default=0, help_text="该账户截至当日（含）的全部支出")

    class Meta:
        verbose_name = "账户日收支"
        constraints = (
            models.UniqueConstraint(fields=["account", "day"], include=["cum_income", "cum_expenditure"],
                                    name="bankacc_day_uniq"),
            models.CheckConstraint(condition=Q(income__gte=0, expenditure__gte=0), name="bankacc_day_nonnegative"),
        )


class ReportedBalance(models.Model):
    """A balance of an account at the end of a day as reported by the bank (余额报文)."""

    bank = models.ForeignKey("orgs.Bank", verbose_name="银行", on_delete=models.PROTECT, related_name="+")
    account_no = models.CharField("账号", max_length=32)
    account = models.ForeignKey(BankAccount, verbose_name="登记账户", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="reported_balances")
    balance_date = models.DateField("余额日期")
    balance = MoneyField("余额")
    currency = models.CharField("币种", max_length=3)
    batch = models.ForeignKey(ImportBatch, verbose_name="交换批次", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", db_index=False)
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+", db_index=False)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {**SCOPE, "bank": "bank__code"}

    class Meta:
        verbose_name = "银行报送余额"
        constraints = (
            models.UniqueConstraint(fields=["bank", "account_no", "balance_date"], name="bankacc_balance_uniq"),
        )
        indexes = (models.Index(fields=["balance_date", "account"], name="bankacc_balance_day_idx"),)


class ExceptionMessage(models.Model):
    """A message the exchange centre refused (异常报文): nothing of it was imported."""

    bank = models.ForeignKey("orgs.Bank", verbose_name="银行", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    bank_code = models.CharField("银行编码（报文所称）", max_length=40, blank=True)
    region = models.ForeignKey("orgs.Region", verbose_name="接收区划", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+",
                               help_text="异常报文不属于任何预算单位；本列恒为空，使按单位授权的用户看不到异常报文")
    business_date = models.DateField("业务日期", null=True, blank=True)
    kind = models.CharField("报文类别", max_length=10, choices=MessageKind.choices)
    fmt = models.CharField("格式", max_length=10, choices=MessageFormat.choices)
    source = models.CharField("来源", max_length=10, choices=MessageSource.choices)
    filename = models.CharField("文件名", max_length=255, blank=True)
    code = models.CharField("错误编码", max_length=60)
    reason = models.TextField("原因")
    errors = models.JSONField("错误明细", default=list)
    raw = models.TextField("报文内容", blank=True)
    raw_truncated = models.BooleanField("内容已截断", default=False)
    size = models.BigIntegerField("字节数")
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="接收人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField("接收时间")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"bank": "bank__code", "region": "region__code",
                                              "agency": "agency__code"}

    class Meta:
        verbose_name = "异常报文"
        ordering = ("-received_at", "-pk")
        indexes = (
            models.Index(fields=["bank", "received_at"], name="bankacc_exc_bank_idx"),
            models.Index(fields=["business_date"], name="bankacc_exc_date_idx"),
            models.Index(fields=["kind", "received_at"], name="bankacc_exc_kind_idx"),
        )

    def __str__(self):
        return f"{self.bank_code} {self.business_date or ''} {self.reason[:40]}"

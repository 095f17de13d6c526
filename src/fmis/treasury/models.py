"""Treasury centralized payment (国库集中支付): plans, applications, vouchers, bank returns,
refunds, corrections and daily clearing.

Money invariants live in the database: a plan's used amount never exceeds its approved amount, a
voucher's paid plus released amount never exceeds the voucher, refunds never exceed what was paid;
bank serial numbers are unique per bank, so every bank message is applied once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField


class PayMode(models.TextChoices):
    DIRECT = "direct", _("直接支付")
    AUTHORIZED = "authorized", _("授权支付")


class TreasuryConfig(models.Model):
    """Per region and year: which plans are enforced and which signing suite vouchers use."""

    class Suite(models.TextChoices):
        SM2 = "sm2", _("SM2（国密）")
        ED25519 = "ed25519", "Ed25519"

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    payment_plan_enabled = models.BooleanField("启用用款计划控制", default=False)
    procurement_plan_enabled = models.BooleanField("启用政府采购计划控制", default=False)
    signing_suite = models.CharField("签名算法", max_length=10, choices=Suite.choices, default=Suite.SM2)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code"}

    class Meta:
        verbose_name = "国库支付参数"
        constraints = (models.UniqueConstraint(fields=("region", "fiscal_year"), name="trs_config_uniq"),)

    def __str__(self):
        return f"{self.region_id}/{self.fiscal_year}"


class Counter(models.Model):
    """Document number sequences per region, year and kind (incremented by INSERT … ON CONFLICT)."""

    region = models.ForeignKey("orgs.Region", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "单据编号计数器"
        constraints = (models.UniqueConstraint(fields=("region", "fiscal_year", "kind"), name="trs_counter_uniq"),)


class BankEndpoint(models.Model):
    """Where the agent bank receives voucher messages."""

    bank = models.OneToOneField("orgs.Bank", verbose_name="代理银行", on_delete=models.PROTECT, related_name="+")
    url = models.URLField("报文接收地址", max_length=300)
    is_active = models.BooleanField("启用", default=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"bank": "bank__code"}

    class Meta:
        verbose_name = "银行报文接口"

    def __str__(self):
        return self.url


class PayerAccount(models.Model):
    """零余额账户: the finance zero-balance account (direct payment, agency empty) or a unit's
    zero-balance account (authorized payment), held at an agent bank."""

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    pay_mode = models.CharField("支付方式", max_length=12, choices=PayMode.choices)
    bank = models.ForeignKey("orgs.Bank", verbose_name="代理银行", on_delete=models.PROTECT, related_name="+")
    account_no = models.CharField("账号", max_length=32)
    account_name = models.CharField("户名", max_length=200)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "agency__code", "bank": "bank__code"}

    class Meta:
        verbose_name = "零余额账户"
        constraints = (
            models.UniqueConstraint(fields=("region", "pay_mode"), condition=Q(agency__isnull=True),
                                    name="trs_payer_region_uniq"),
            models.UniqueConstraint(fields=("agency", "pay_mode"), condition=Q(agency__isnull=False),
                                    name="trs_payer_agency_uniq"),
        )

    def __str__(self):
        return f"{self.account_name} {self.account_no}"


class SigningKey(models.Model):
    """The key a budget unit signs its payment vouchers with."""

    agency = models.OneToOneField("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    suite = models.CharField("签名算法", max_length=10, choices=TreasuryConfig.Suite.choices)
    private_key = models.BinaryField("私钥")
    public_key = models.BinaryField("公钥")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "单位签名密钥"


class PaymentPlan(models.Model):
    """用款计划: the monthly amount a unit may apply for against one indicator."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("已申报")
        APPROVED = "approved", _("已批复")

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="payment_plans")
    month = models.PositiveSmallIntegerField("月份")
    applied = MoneyField("申报金额", default=0)
    approved = MoneyField("批复金额", default=0)
    used = MoneyField("已用金额", default=0)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.APPLIED)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "agency__code"}

    class Meta:
        verbose_name = "用款计划"
        constraints = (
            models.UniqueConstraint(fields=("indicator", "month"), name="trs_plan_uniq"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="trs_plan_month"),
            models.CheckConstraint(condition=Q(applied__gt=0), name="trs_plan_applied_pos"),
            models.CheckConstraint(condition=Q(approved__gte=0, used__gte=0), name="trs_plan_nonneg"),
            models.CheckConstraint(condition=Q(used__lte=F("approved")), name="trs_plan_used_le_approved"),
        )

    def __str__(self):
        return f"{self.indicator_id}/{self.month}"

    @property
    def balance(self):
        return self.approved - self.used


class ProcurementPlan(models.Model):
    """政府采购计划: purchases of a unit against one indicator."""

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="procurement_plans")
    number = models.CharField("采购计划编号", max_length=40)
    item = models.CharField("采购品目", max_length=200)
    amount = MoneyField("计划金额")
    used = MoneyField("已用金额", default=0)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "agency__code"}

    class Meta:
        verbose_name = "政府采购计划"
        constraints = (
            models.UniqueConstraint(fields=("region", "fiscal_year", "number"), name="trs_proc_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0, used__gte=0), name="trs_proc_pos"),
            models.CheckConstraint(condition=Q(used__lte=F("amount")), name="trs_proc_used_le_amount"),
        )

    def __str__(self):
        return f"{self.number} {self.item}"


class PaymentApplication(models.Model):
    """支付申请."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("status", "录入")
        SUBMITTED = "submitted", _("已提交")
        APPROVED = "approved", _("已审核")
        REJECTED = "rejected", pgettext_lazy("status", "不予通过")
        VOUCHER_ISSUED = "voucher_issued", _("已生成凭证")
        PAID = "paid", _("已支付")
        PARTLY_PAID = "partly_paid", _("部分支付")
        FAILED = "failed", _("支付失败")

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("申请编号", max_length=40)
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="payment_applications")
    payee_name = models.CharField("收款人名称", max_length=200)
    payee_account = models.CharField("收款人账号", max_length=32)
    payee_bank = models.CharField("收款人开户行", max_length=200)
    amount = MoneyField("申请金额")
    pay_mode = models.CharField("支付方式", max_length=12, choices=PayMode.choices)
    settle_mode = models.CharField("结算方式", max_length=10)
    purpose = models.CharField("用途", max_length=300)
    func_code = models.CharField("支出功能分类", max_length=13)
    gov_eco_code = models.CharField("政府支出经济分类", max_length=11)
    dept_eco_code = models.CharField("部门支出经济分类", max_length=20)
    fund_type = models.CharField("资金性质", max_length=10)
    plan_month = models.PositiveSmallIntegerField("用款月份")
    procurement_plan = models.ForeignKey(ProcurementPlan, verbose_name="政府采购计划", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="applications")
    control_warnings = models.JSONField("控制预警", default=list, blank=True)
    plan_charged = models.BooleanField("已占用用款计划", default=False)
    procurement_charged = models.BooleanField("已占用采购计划", default=False)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    return_reason = models.CharField("退回原因", max_length=2000, blank=True)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "agency__code", "fund_type": "fund_type",
                    "func_code": "func_code", "gov_eco_code": "gov_eco_code", "dept_eco_code": "dept_eco_code"}

    class Meta:
        verbose_name = "支付申请"
        constraints = (
            models.UniqueConstraint(fields=("region", "fiscal_year", "number"), name="trs_app_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="trs_app_amount_pos"),
            models.CheckConstraint(condition=Q(plan_month__gte=1, plan_month__lte=12), name="trs_app_month"),
        )
        indexes = (models.Index(fields=("fiscal_year", "region", "agency", "status")),)

    def __str__(self):
        return self.number


class PaymentVoucher(models.Model):
    """支付凭证: generated from an approved application, signed, sent to the agent bank."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("已生成")
        PARTLY_PAID = "partly_paid", _("部分支付")
        PAID = "paid", _("已支付")
        FAILED = "failed", _("支付失败")

    application = models.OneToOneField(PaymentApplication, verbose_name="支付申请", on_delete=models.PROTECT,
                                       related_name="voucher")
    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("凭证编号", max_length=40, unique=True)
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey("indicators.Indicator", verbose_name="指标", on_delete=models.PROTECT,
                                  related_name="payment_vouchers")
    bank = models.ForeignKey("orgs.Bank", verbose_name="代理银行", on_delete=models.PROTECT, related_name="+")
    payer_account = models.CharField("付款账号", max_length=32)
    payer_name = models.CharField("付款户名", max_length=200)
    amount = MoneyField("凭证金额")
    paid = MoneyField("已支付金额", default=0)
    released = MoneyField("失败退回额度", default=0)
    refunded = MoneyField("已退款金额", default=0)
    corrected = MoneyField("已更正金额", default=0)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.ISSUED)
    message = models.JSONField("报文")
    signature = models.TextField("签名")
    issued_at = models.DateTimeField("生成时间", auto_now_add=True)
    settled_at = models.DateTimeField("支付时间", null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "agency__code", "bank": "bank__code",
                    "fund_type": "application__fund_type", "func_code": "application__func_code"}

    class Meta:
        verbose_name = "支付凭证"
        constraints = (
            models.CheckConstraint(condition=Q(amount__gt=0, paid__gte=0, released__gte=0, refunded__gte=0,
                                               corrected__gte=0), name="trs_voucher_nonneg"),
            models.CheckConstraint(condition=Q(paid__lte=F("amount") - F("released")),
                                   name="trs_voucher_paid_le_amount"),
            models.CheckConstraint(condition=Q(refunded__lte=F("paid") - F("corrected")),
                                   name="trs_voucher_refund_le_paid"),
        )
        indexes = (models.Index(fields=("bank", "status")), models.Index(fields=("fiscal_year", "region")))

    def __str__(self):
        return self.number

    @property
    def remaining(self):
        return self.amount - self.paid - self.released

    @property
    def refundable(self):
        return self.paid - self.refunded - self.corrected


class BankReceipt(models.Model):
    """回单: one bank message that paid or failed (part of) a voucher; idempotent per serial."""

    class Result(models.TextChoices):
        SUCCESS = "success", _("支付成功")
        FAILED = "failed", _("支付失败")

    bank = models.ForeignKey("orgs.Bank", verbose_name="代理银行", on_delete=models.PROTECT, related_name="+")
    serial_no = models.CharField("银行流水号", max_length=64)
    voucher = models.ForeignKey(PaymentVoucher, verbose_name="支付凭证", on_delete=models.PROTECT,
                                related_name="receipts")
    result = models.CharField("结果", max_length=10, choices=Result.choices)
    amount = MoneyField("金额")
    value_date = models.DateField("交易日期")
    reason = models.CharField("失败原因", max_length=300, blank=True)
    message = models.JSONField("报文")
    response = models.JSONField("处理结果")
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "voucher__region__code", "agency": "voucher__agency__code", "bank": "bank__code"}

    class Meta:
        verbose_name = "银行回单"
        constraints = (
            models.UniqueConstraint(fields=("bank", "serial_no"), name="trs_receipt_serial_uniq"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="trs_receipt_amount_nonneg"),
        )
        indexes = (models.Index(fields=("bank", "value_date")),)

    def __str__(self):
        return self.serial_no


class Refund(models.Model):
    """退款: money of a paid voucher returned by the bank, given back to the indicator."""

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("退款编号", max_length=40)
    voucher = models.ForeignKey(PaymentVoucher, verbose_name="支付凭证", on_delete=models.PROTECT,
                                related_name="refunds")
    bank = models.ForeignKey("orgs.Bank", verbose_name="代理银行", on_delete=models.PROTECT, related_name="+")
    serial_no = models.CharField("银行流水号", max_length=64)
    amount = MoneyField("退款金额")
    value_date = models.DateField("退款日期")
    reason = models.CharField("退款原因", max_length=300)
    message = models.JSONField("报文", null=True, blank=True)
    response = models.JSONField("处理结果", default=dict)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "voucher__agency__code", "bank": "bank__code"}

    class Meta:
        verbose_name = "退款"
        constraints = (
            models.UniqueConstraint(fields=("bank", "serial_no"), name="trs_refund_serial_uniq"),
            models.UniqueConstraint(fields=("region", "fiscal_year", "number"), name="trs_refund_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="trs_refund_amount_pos"),
        )

    def __str__(self):
        return self.number


class Correction(models.Model):
    """更正: move (part of) a paid amount to another indicator, through a review chain."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("status", "录入")
        SUBMITTED = "submitted", _("已提交")
        DONE = "done", _("已更正")
        REJECTED = "rejected", pgettext_lazy("status", "不予通过")

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField("预算年度")
    number = models.CharField("更正编号", max_length=40)
    voucher = models.ForeignKey(PaymentVoucher, verbose_name="支付凭证", on_delete=models.PROTECT,
                                related_name="corrections")
    agency = models.ForeignKey("orgs.Agency", verbose_name="预算单位", on_delete=models.PROTECT, related_name="+")
    from_indicator = models.ForeignKey("indicators.Indicator", verbose_name="原指标", on_delete=models.PROTECT,
                                       related_name="+")
    to_indicator = models.ForeignKey("indicators.Indicator", verbose_name="更正后指标", on_delete=models.PROTECT,
                                     related_name="+")
    amount = MoneyField("更正金额")
    reason = models.CharField("更正原因", max_length=300)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    done_at = models.DateTimeField("更正时间", null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "agency": "agency__code"}

    class Meta:
        verbose_name = "支付更正"
        constraints = (
            models.UniqueConstraint(fields=("region", "fiscal_year", "number"), name="trs_corr_number_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="trs_corr_amount_pos"),
            models.CheckConstraint(condition=~Q(from_indicator=F("to_indicator")), name="trs_corr_other_indicator"),
        )

    def __str__(self):
        return self.number


class BankStatement(models.Model):
    """对账单: the agent bank's own list of a day's payments and refunds (a bank message)."""

    bank = models.ForeignKey("orgs.Bank", verbose_name="代理银行", on_delete=models.PROTECT, related_name="+")
    date = models.DateField("日期")
    entries = models.JSONField("明细")
    message = models.JSONField("报文")
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"bank": "bank__code"}

    class Meta:
        verbose_name = "银行对账单"
        constraints = (models.UniqueConstraint(fields=("bank", "date"), name="trs_statement_uniq"),)


class ClearingStatement(models.Model):
    """清算单: per agent bank and day, paid vouchers and refunds, reconciled to the receipts."""

    region = models.ForeignKey("orgs.Region", verbose_name="财政区划", on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey("orgs.Bank", verbose_name="代理银行", on_delete=models.PROTECT, related_name="+")
    date = models.DateField("清算日期")
    number = models.CharField("清算单号", max_length=40)
    paid_count = models.PositiveIntegerField("支付笔数", default=0)
    paid_total = MoneyField("支付金额", default=0)
    refund_count = models.PositiveIntegerField("退款笔数", default=0)
    refund_total = MoneyField("退款金额", default=0)
    net_total = MoneyField("清算净额", default=0)
    bank_total = MoneyField("银行对账金额", null=True, blank=True)
    reconciled = models.BooleanField("已对平", default=False)
    lines = models.JSONField("凭证明细", default=list)
    differences = models.JSONField("差异", default=list)
    created_by = models.ForeignKey("iam.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("生成时间", auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields = {"region": "region__code", "bank": "bank__code"}

    class Meta:
        verbose_name = "清算单"
        constraints = (models.UniqueConstraint(fields=("region", "bank", "date"), name="trs_clearing_uniq"),)

    def __str__(self):
        return self.number

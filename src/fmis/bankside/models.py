"""The finance side's projection of the agent-bank budget business on the consortium ledger.

The ledger's world state (``bank/…`` keys, see ``contracts``) is the source of truth; these
tables are rebuilt from it by ``projection.project_block`` (idempotent: applying the same block
twice changes nothing) and are read by screens and reports. Money is yuan (``MoneyField``); the
ledger keeps fen.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fmis.iam.querysets import RestrictedQuerySet
from fmis.platform.fields import MoneyField


class BusinessType(models.Model):
    code = models.CharField("业务类型编码", max_length=60, unique=True)
    name = models.CharField("业务类型名称", max_length=60)
    budget_types = models.JSONField("预算类型", default=list)
    version = models.IntegerField("版本", default=1)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {}

    class Meta:
        verbose_name = "业务类型"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Merchant(models.Model):
    merchant_no = models.CharField("商户号", max_length=60, unique=True)
    name = models.CharField("商户名称", max_length=120)
    agency_code = models.CharField("预算单位编码", max_length=30, db_index=True)
    agency_name = models.CharField("预算单位名称", max_length=120)
    bank = models.CharField("代理银行", max_length=60, db_index=True)
    account_no = models.CharField("金融账户", max_length=60)
    currency = models.CharField("币种", max_length=3)
    managed = models.BooleanField("具备管理功能")
    balance = MoneyField("账户余额", default=0)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "agency_code", "bank": "bank"}

    class Meta:
        verbose_name = "商户"
        ordering = ["merchant_no"]
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="bankside_merchant_balance_gte_0")]

    def __str__(self) -> str:
        return f"{self.merchant_no} {self.name}"


class FlowRule(models.Model):
    class Flow(models.TextChoices):
        NONE = "none", _("无需申请")
        PRE_APPLICATION = "pre_application", _("预申请")
        APPLICATION = "application", pgettext_lazy("bankside", "申请")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="rules", verbose_name="商户")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, verbose_name="业务类型")
    version = models.IntegerField("版本")
    current = models.BooleanField("现行版本", default=True)
    pre_application = models.CharField("申请要求", max_length=20, choices=Flow.choices)
    limit = MoneyField("单笔限额", null=True, blank=True)
    required_fields = models.JSONField("必填要素", default=list)
    approver_region = models.CharField("审核财政区划", max_length=12)
    reason = models.CharField("调整原因", max_length=200, blank=True)
    exceptions = models.JSONField("异常业务流程", default=dict, blank=True)
    block = models.BigIntegerField("区块号")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "merchant__agency_code", "bank": "merchant__bank",
                                              "region": "approver_region"}

    class Meta:
        verbose_name = "流程规则"
        ordering = ["merchant__merchant_no", "business_type__code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "business_type", "version"], name="bankside_rule_version_uniq"),
            models.UniqueConstraint(fields=["merchant", "business_type"], condition=Q(current=True),
                                    name="bankside_rule_one_current"),
        ]

    @property
    def exception_modes(self) -> list[tuple[str, str]]:
        """The exception flows' settings of this version, labelled (defaults where unset)."""
        from fmis.bankside.contracts import DEFAULT_CASE_MODES

        kinds = {"return": _("资金退回"), "collection": _("委托收款"), "correction": _("支付更正"),
                 "mistaken_refund": _("错缴资金退回")}
        modes = {"direct": _("直接办理"), "approval": _("须经财政审核"), "forbidden": _("不允许")}
        merged = {**DEFAULT_CASE_MODES, **(self.exceptions or {})}
        return [(str(label), str(modes[merged[k]])) for k, label in kinds.items()]



class LedgerApplication(models.Model):
    """What a pre-application and a case application share: an application on the ledger, judged by
    the finance region its rule names, projected with the blocks that submitted and reviewed it."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待审核")
        APPROVED = "approved", pgettext_lazy("bankside", "已通过")
        REJECTED = "rejected", _("已退回")

    ledger_id = models.CharField("链上编号", max_length=64, unique=True)
    rule_version = models.IntegerField("规则版本")
    approver_region = models.CharField("审核财政区划", max_length=12)
    status = models.CharField("状态", max_length=20, choices=Status.choices)
    comment = models.CharField("审核意见", max_length=200, blank=True)
    submitted_block = models.BigIntegerField("提交区块")
    reviewed_block = models.BigIntegerField("审核区块", null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "merchant__agency_code", "bank": "merchant__bank",
                                              "region": "approver_region"}

    class Meta:
        abstract = True
        ordering = ["-submitted_block"]


class PreApplication(LedgerApplication):
    kind = models.CharField("类别", max_length=20, choices=FlowRule.Flow.choices)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="pre_applications",
                                 verbose_name="商户")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, verbose_name="业务类型")
    amount = MoneyField("申请金额")
    currency = models.CharField("币种", max_length=3)
    purpose = models.CharField("用途", max_length=200)
    payment_ledger_id = models.CharField("使用支付", max_length=64, blank=True)

    class Meta(LedgerApplication.Meta):
        verbose_name = "预申请"
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="bankside_preapp_amount_gt_0")]


class Payment(models.Model):
    class Branch(models.TextChoices):
        LEDGER = "ledger", _("增减计")
        SUSPENSE = "suspense", _("内部账户过渡")
        CORE = "core", _("传统核心扣款")

    class Status(models.TextChoices):
        PAID = "paid", _("已支付")
        SUSPENSE_BOOKED = "suspense_booked", _("待退款清账")
        RETURNED = "returned", _("已退回商户")
        PARTLY_RETURNED = "partly_returned", _("部分退回")
        FAILED = "failed", _("支付失败")

    ledger_id = models.CharField("链上编号", max_length=64, unique=True)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payments", verbose_name="商户")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, verbose_name="业务类型")
    voucher_id = models.CharField("支付凭证ID", max_length=60, unique=True)
    voucher_type = models.CharField("凭证类型", max_length=60, blank=True)
    voucher_no = models.CharField("凭证号", max_length=60, blank=True)
    fund_nature = models.CharField("资金性质", max_length=60, blank=True)
    payment_method = models.CharField("支付方式", max_length=60, blank=True)
    func_class = models.CharField("支出功能分类", max_length=20, blank=True)
    settlement_method = models.CharField("结算方式", max_length=60, blank=True)
    bank_code = models.CharField("银行编号", max_length=60)
    payee_account = models.CharField("银行账号", max_length=60)
    payee_name = models.CharField("银行户名", max_length=120)
    taxpayer_id = models.CharField("纳税人识别号", max_length=60, blank=True)
    budget_type = models.CharField("预算类型", max_length=60)
    purpose = models.CharField("用途", max_length=200, blank=True)
    bank_serial = models.CharField("银行流水号", max_length=60)
    amount = MoneyField("金额")
    currency = models.CharField("币种", max_length=3)
    rate = models.CharField("汇率", max_length=20, blank=True)
    date = models.DateField("日期", db_index=True)
    time = models.TimeField("时间")
    agency_code = models.CharField("预算单位编码", max_length=30, blank=True)
    agency_name = models.CharField("预算单位名称", max_length=120, blank=True)
    branch = models.CharField("记账路径", max_length=20, choices=Branch.choices)
    status = models.CharField("状态", max_length=20, choices=Status.choices)
    rule_version = models.IntegerField("规则版本")
    pre_application = models.ForeignKey(PreApplication, on_delete=models.PROTECT, null=True, blank=True,
                                        verbose_name="预申请")
    core_serial = models.CharField("核心流水号", max_length=60, blank=True)
    refund_core_serial = models.CharField("退款核心流水号", max_length=60, blank=True)
    returned_amount = MoneyField("已退回金额", default=0)
    corrections = models.IntegerField("更正次数", default=0)
    block = models.BigIntegerField("区块号")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "merchant__agency_code", "bank": "merchant__bank"}

    class Meta:
        verbose_name = "预算支付"
        ordering = ["-date", "-block"]
        constraints = [
            models.UniqueConstraint(fields=["bank_code", "bank_serial"], name="bankside_payment_serial_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bankside_payment_amount_gt_0"),
            models.CheckConstraint(condition=Q(returned_amount__gte=0) & Q(returned_amount__lte=models.F("amount")),
                                   name="bankside_payment_returned_within_amount"),
        ]


class StatementLine(models.Model):
    """One bookkeeping movement (增计/减计 or a recorded core-banking result): 对账单 lines."""

    class Kind(models.TextChoices):
        INCREASE = "bank.increase", _("增计")
        DECREASE = "bank.decrease", _("减计")
        CORE_DEBIT = "bank.core_debit", _("核心扣款")
        CORE_CREDIT = "bank.core_credit", _("核心入账")

    block = models.BigIntegerField("区块号")
    tx_id = models.CharField("交易编号", max_length=64)
    seq = models.IntegerField("区块内交易序号", default=0)  # the transaction's place among the block's
    n = models.IntegerField("序号")
    ref = models.CharField("业务编号", max_length=64, db_index=True)
    account_no = models.CharField("账号", max_length=60)
    party = models.CharField("账户类别", max_length=20)
    merchant_no = models.CharField("商户号", max_length=60)
    agency_code = models.CharField("预算单位编码", max_length=30, blank=True)
    bank = models.CharField("代理银行", max_length=60)
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    amount = MoneyField("金额")
    balance = MoneyField("余额", null=True, blank=True)
    date = models.DateField("日期")
    serial = models.CharField("银行流水号", max_length=60, blank=True)
    core_serial = models.CharField("核心流水号", max_length=60, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "agency_code", "bank": "bank"}

    class Meta:
        verbose_name = "对账单明细"
        ordering = ["date", "block", "seq", "n"]
        # statements: totals by account and date range, and lines paged in ledger order
        indexes = [models.Index(fields=["account_no", "date", "block", "seq", "n"], name="bankside_line_acct_order")]
        constraints = [
            models.UniqueConstraint(fields=["tx_id", "n"], name="bankside_line_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bankside_line_amount_gt_0"),
            models.CheckConstraint(condition=Q(balance__isnull=True) | Q(balance__gte=0),
                                   name="bankside_line_balance_gte_0"),
        ]


class ProjectionMark(models.Model):
    """How far the projection has got: the last ledger block whose bank-side results it applied
    (one row). A rebuild replays the blocks after it; screens show it as the data's freshness."""

    name = models.CharField("投影", max_length=30, unique=True, default="bankside")
    last_block = models.BigIntegerField("最后投影区块", default=0)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "投影进度"


class CoreAccount(models.Model):
    """An account in an agent bank's traditional core banking (银行传统核心), simulated: the path
    of seed 004 for parties without the management function goes through it."""

    bank = models.CharField("银行编码", max_length=60)
    account_no = models.CharField("账号", max_length=60)
    name = models.CharField("户名", max_length=120)
    currency = models.CharField("币种", max_length=3, default="CNY")
    balance = MoneyField("余额", default=0)
    frozen = models.BooleanField("冻结", default=False)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"bank": "bank"}

    class Meta:
        verbose_name = "核心账户"
        ordering = ["bank", "account_no"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "account_no"], name="bankside_core_account_uniq"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="bankside_core_balance_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.bank} {self.account_no}"


class CoreEntry(models.Model):
    """One request to the core banking and its result (ok or failed), unique per request id, so a
    repeated request returns the recorded result instead of applying again."""

    class Operation(models.TextChoices):
        DEBIT = "debit", _("扣款")
        CREDIT = "credit", _("入账")
        REFUND = "refund", _("冲正退回")

    class Status(models.TextChoices):
        OK = "ok", _("成功")
        FAILED = "failed", _("失败")

    bank = models.CharField("银行编码", max_length=60)
    request_id = models.CharField("请求编号", max_length=100)
    operation = models.CharField("操作", max_length=10, choices=Operation.choices)
    account_no = models.CharField("账号", max_length=60)
    amount = MoneyField("金额")
    currency = models.CharField("币种", max_length=3)
    status = models.CharField("结果", max_length=10, choices=Status.choices)
    core_serial = models.CharField("核心流水号", max_length=60, blank=True)
    code = models.CharField("错误码", max_length=60, blank=True)
    message = models.CharField("说明", max_length=200, blank=True)
    original_request_id = models.CharField("原请求编号", max_length=100, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"bank": "bank"}

    class Meta:
        verbose_name = "核心流水"
        ordering = ["bank", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "request_id"], name="bankside_core_request_uniq"),
            models.UniqueConstraint(fields=["bank", "core_serial"], condition=~Q(core_serial=""),
                                    name="bankside_core_serial_uniq"),
            # a debit is refunded at most once (failed refund attempts are recorded too)
            models.UniqueConstraint(fields=["bank", "original_request_id"], condition=Q(operation="refund", status="ok"),
                                    name="bankside_core_one_refund"),
            models.CheckConstraint(condition=Q(status="failed") | ~Q(core_serial=""),
                                   name="bankside_core_ok_has_serial"),
        ]


# --- exception flows (seed 004 §54) -----------------------------------------------------------------


class CaseKind(models.TextChoices):
    RETURN = "return", _("资金退回")
    COLLECTION = "collection", _("委托收款")
    CORRECTION = "correction", _("支付更正")
    MISTAKEN_REFUND = "mistaken_refund", _("错缴资金退回")


class CollectionAuthorisation(models.Model):
    """A customer's standing authorisation to collect from a merchant (委托收款授权), on the ledger."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        REVOKED = "revoked", _("已撤销")

    ledger_id = models.CharField("链上编号", max_length=64, unique=True)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="authorisations",
                                 verbose_name="商户")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, verbose_name="业务类型")
    budget_type = models.CharField("预算类型", max_length=60)
    customer_account = models.CharField("收款账号", max_length=60)
    customer_name = models.CharField("收款户名", max_length=120)
    currency = models.CharField("币种", max_length=3)
    reference = models.CharField("授权编号", max_length=60)
    limit = MoneyField("单笔限额")
    total_limit = MoneyField("累计限额", null=True, blank=True)
    collected = MoneyField("已收款金额", default=0)
    collections = models.IntegerField("收款笔数", default=0)
    valid_from = models.DateField("生效日期")
    valid_to = models.DateField("失效日期", null=True, blank=True)
    status = models.CharField("状态", max_length=20, choices=Status.choices)
    revoke_reason = models.CharField("撤销原因", max_length=200, blank=True)
    block = models.BigIntegerField("登记区块")
    revoked_block = models.BigIntegerField("撤销区块", null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "merchant__agency_code", "bank": "merchant__bank"}

    class Meta:
        verbose_name = "委托收款授权"
        ordering = ["-block"]
        constraints = [
            models.CheckConstraint(condition=Q(limit__gt=0), name="bankside_auth_limit_gt_0"),
            models.CheckConstraint(condition=Q(collected__gte=0), name="bankside_auth_collected_gte_0"),
            models.CheckConstraint(condition=Q(total_limit__isnull=True) | Q(collected__lte=models.F("total_limit")),
                                   name="bankside_auth_within_total"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.customer_name}"


class CaseApplication(LedgerApplication):
    """异常业务申请: the bank asks the finance side to approve a case its rule puts under approval."""

    kind = models.CharField("业务类别", max_length=20, choices=CaseKind.choices)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="case_applications",
                                 verbose_name="商户")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, verbose_name="业务类型")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, verbose_name="原支付")
    authorisation = models.ForeignKey(CollectionAuthorisation, on_delete=models.PROTECT, null=True, blank=True,
                                      verbose_name="委托收款授权")
    amount = MoneyField("申请金额", default=0)
    changes = models.JSONField("更正内容", default=dict, blank=True)
    reason = models.CharField("申请原因", max_length=200)
    reviewer = models.CharField("审核成员", max_length=100, blank=True)
    case_ledger_id = models.CharField("办理案件", max_length=64, blank=True)

    class Meta(LedgerApplication.Meta):
        verbose_name = "异常业务申请"
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="bankside_caseapp_amount_gte_0")]


class ExceptionCase(models.Model):
    """One exception case booked on the ledger: a fund return, an entrusted collection, a payment
    correction or a mistaken-payment refund, with its bookkeeping in the statement lines."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("已办结")
        FAILED = "failed", _("核心处理失败")

    class Mode(models.TextChoices):
        DIRECT = "direct", _("直接办理")
        APPROVAL = "approval", _("审批后办理")

    ledger_id = models.CharField("链上编号", max_length=64, unique=True)
    kind = models.CharField("业务类别", max_length=20, choices=CaseKind.choices)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="cases", verbose_name="商户")
    business_type = models.ForeignKey(BusinessType, on_delete=models.PROTECT, verbose_name="业务类型")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="cases",
                                verbose_name="原支付")
    authorisation = models.ForeignKey(CollectionAuthorisation, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="cases", verbose_name="委托收款授权")
    amount = MoneyField("金额", default=0)
    currency = models.CharField("币种", max_length=3)
    date = models.DateField("日期", db_index=True)
    bank_serial = models.CharField("银行流水号", max_length=60, blank=True)
    reason = models.CharField("原因/用途", max_length=200)
    branch = models.CharField("记账路径", max_length=20, choices=Payment.Branch.choices)
    mode = models.CharField("办理方式", max_length=20, choices=Mode.choices)
    status = models.CharField("状态", max_length=20, choices=Status.choices)
    application = models.ForeignKey(CaseApplication, on_delete=models.PROTECT, null=True, blank=True,
                                    verbose_name="审批申请")
    rule_version = models.IntegerField("规则版本")
    before = models.JSONField("变更前", null=True, blank=True)
    after = models.JSONField("变更后", null=True, blank=True)
    core_serial = models.CharField("核心流水号", max_length=60, blank=True)
    block = models.BigIntegerField("区块号")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"agency": "merchant__agency_code", "bank": "merchant__bank"}

    class Meta:
        verbose_name = "异常业务"
        ordering = ["-date", "-block"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="bankside_case_amount_gte_0"),
            models.CheckConstraint(condition=Q(kind="correction") | Q(amount__gt=0),
                                   name="bankside_case_money_amount_gt_0"),
        ]

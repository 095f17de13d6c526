"""Transfer payments on the consortium ledger: the installation's side.

Two kinds of tables:

* The local node's tables (blocks, transactions, world state, projections): created by the
  ledger's own DDL (``ledger/schema.py``, run by migration 0001) and written only by the node.
  The models below map them read-only (``managed = False``) for screens and the API.
* The membership service and the local key store (managed): the consortium's CA, join requests,
  and the keys of the members this installation operates. A member's private key is generated
  and kept by the member's installation (encrypted with the installation's secret); the CA keeps
  only certificates.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fmis.iam.querysets import RestrictedQuerySet


class ReadOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        raise RuntimeError("ledger tables are written by the node only")

    def delete(self, *args, **kwargs):
        raise RuntimeError("ledger tables are written by the node only")


class Block(ReadOnlyModel):
    number = models.BigIntegerField("区块号", primary_key=True)
    hash = models.BinaryField("区块哈希")
    prev_hash = models.BinaryField("前块哈希")
    tx_root = models.BinaryField("交易默克尔根")
    tx_count = models.IntegerField("交易数")
    log_size = models.BigIntegerField("日志长度")
    log_root = models.BinaryField("日志根")
    state_root = models.BinaryField("状态根")
    time_ms = models.BigIntegerField("出块时间")
    first_seq = models.BigIntegerField("起始序号")
    last_seq = models.BigIntegerField("截止序号")
    applied_at = models.DateTimeField("落账时间")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "transfers_block"
        verbose_name = "区块"
        ordering = ["-number"]


class LedgerTx(ReadOnlyModel):
    log_index = models.BigIntegerField("日志序号", primary_key=True)
    block_number = models.BigIntegerField("区块号")
    position = models.IntegerField("块内位置")
    seq = models.BigIntegerField("排序序号")
    tx_id = models.CharField("交易ID", max_length=64)
    contract = models.CharField("合约", max_length=40)
    function = models.CharField("函数", max_length=40)
    creator = models.CharField("发起者证书", max_length=64)
    valid = models.BooleanField("有效")
    reason = models.CharField("无效原因", max_length=80)
    detail = models.TextField("说明")
    envelope = models.BinaryField("交易信封")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "transfers_tx"
        verbose_name = "链上交易"
        ordering = ["-log_index"]


class StateEntry(ReadOnlyModel):
    key = models.TextField("键", primary_key=True)
    value = models.JSONField("值")
    block_number = models.BigIntegerField("区块号")

    class Meta:
        managed = False
        db_table = "transfers_state"
        verbose_name = "世界状态"


class Member(ReadOnlyModel):
    class Role(models.TextChoices):
        FINANCE = "finance", _("财政部门")
        SUPERVISION = "supervision", _("监督部门")
        BANK = "bank", _("代理银行")

    class Level(models.TextChoices):
        NATIONAL = "national", _("中央")
        PROVINCE = "province", _("省")
        CITY = "city", _("市")
        COUNTY = "county", _("县")

    cert_id = models.CharField("证书ID", max_length=64, primary_key=True)
    identity_id = models.CharField("身份标识", max_length=60)
    organisation = models.CharField("机构", max_length=200)
    region = models.CharField("区划", max_length=9)
    level = models.CharField("级次", max_length=10, choices=Level.choices)
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    suite = models.CharField("签名算法", max_length=10)
    public_key = models.TextField("公钥")
    certificate = models.TextField("证书")
    admitted_block = models.BigIntegerField("加入区块")
    revoked_block = models.BigIntegerField("吊销区块", null=True)
    revoke_reason = models.CharField("吊销原因", max_length=200)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "region"}

    class Meta:
        managed = False
        db_table = "transfers_member"
        verbose_name = "联盟成员"
        ordering = ["region", "identity_id"]


class Allocation(ReadOnlyModel):
    id = models.CharField("下达ID", max_length=64, primary_key=True)
    parent = models.ForeignKey("self", verbose_name="上级下达", null=True, on_delete=models.DO_NOTHING,
                               related_name="children", db_constraint=False)
    root_id = models.CharField("源头下达", max_length=64)
    from_region = models.CharField("下达区划", max_length=9)
    to_region = models.CharField("接收区划", max_length=9)
    fund_code = models.CharField("资金编码", max_length=30)
    direct = models.BooleanField("直达资金")
    func_code = models.CharField("功能分类", max_length=20)
    purpose = models.CharField("用途", max_length=200)
    doc_no = models.CharField("文号", max_length=60)
    fiscal_year = models.IntegerField("年度")
    amount = models.BigIntegerField("金额(分)")
    received = models.BooleanField("已确认接收")
    received_block = models.BigIntegerField("接收区块", null=True)
    sub_allocated = models.BigIntegerField("已分配(分)")
    spent = models.BigIntegerField("已支出(分)")
    recovered = models.BigIntegerField("已收回(分)")
    created_block = models.BigIntegerField("下达区块")
    created_time = models.BigIntegerField("下达时间")
    creator = models.CharField("发起者证书", max_length=64)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "to_region"}

    class Meta:
        managed = False
        db_table = "transfers_allocation"
        verbose_name = "转移支付下达"
        ordering = ["-created_block", "id"]

    @property
    def available(self) -> int:
        return self.amount - self.sub_allocated - self.spent - self.recovered


class Movement(ReadOnlyModel):
    pk = models.CompositePrimaryKey("log_index", "n")
    log_index = models.BigIntegerField("日志序号")
    n = models.SmallIntegerField("序")
    allocation = models.ForeignKey(Allocation, verbose_name="下达", on_delete=models.DO_NOTHING,
                                   related_name="movements", db_constraint=False)
    kind = models.CharField("类型", max_length=20)
    amount = models.BigIntegerField("金额(分)")
    region = models.CharField("区划", max_length=9)
    detail = models.JSONField("明细")
    block_number = models.BigIntegerField("区块号")
    time_ms = models.BigIntegerField("时间")

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "allocation__to_region"}

    class Meta:
        managed = False
        db_table = "transfers_movement"
        verbose_name = "资金变动"
        ordering = ["log_index", "n"]


class Cosign(ReadOnlyModel):
    pk = models.CompositePrimaryKey("tree_size", "signer")
    tree_size = models.BigIntegerField("日志长度")
    signer = models.CharField("签署成员", max_length=64)
    root = models.BinaryField("日志根")
    signature = models.BinaryField("签名")

    class Meta:
        managed = False
        db_table = "transfers_cosign"
        verbose_name = "检查点联署"


# --- managed: membership service and key store ------------------------------------------------


class ConsortiumConfig(models.Model):
    """The consortium this installation belongs to (one row), and its CA when it runs the
    membership service."""

    consortium = models.CharField("联盟标识", max_length=60, unique=True)
    name = models.CharField("联盟名称", max_length=100)
    hash_name = models.CharField("哈希算法", max_length=10, choices=[("sha256", "SHA-256"), ("sm3", "SM3")])
    default_suite = models.CharField("默认签名算法", max_length=10,
                                     choices=[("ed25519", "Ed25519"), ("sm2", "SM2")], default="ed25519")
    quorum = models.PositiveSmallIntegerField("检查点联署法定数")
    block_max_txs = models.PositiveIntegerField("每块最多交易数", default=500)
    ca_certificate = models.TextField("根证书")
    ca_private_key = models.BinaryField("根证书私钥(加密)", null=True, blank=True)
    genesis = models.BinaryField("创世消息")
    node_cert_id = models.CharField("本节点成员证书", max_length=64, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "联盟配置"
        constraints = (models.CheckConstraint(condition=Q(quorum__gte=1), name="transfers_quorum_positive"),)


class JoinRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    identity_id = models.CharField("身份标识", max_length=60)
    organisation = models.CharField("机构", max_length=200)
    region = models.CharField("区划", max_length=9)
    level = models.CharField("级次", max_length=10, choices=Member.Level.choices)
    role = models.CharField("角色", max_length=20, choices=Member.Role.choices)
    suite = models.CharField("签名算法", max_length=10, choices=[("ed25519", "Ed25519"), ("sm2", "SM2")])
    public_key = models.CharField("公钥(hex)", max_length=128)
    transport_public_key = models.CharField("传输公钥(hex)", max_length=64, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    certificate = models.TextField("证书", blank=True)
    cert_id = models.CharField("证书ID", max_length=64, blank=True)
    admit_tx_id = models.CharField("入链交易", max_length=64, blank=True)
    comment = models.CharField("审核意见", max_length=200, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT,
                                     related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", null=True,
                                    on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    reviewed_at = models.DateTimeField("审核时间", null=True)

    objects = RestrictedQuerySet.as_manager()
    scope_fields: ClassVar[dict[str, str]] = {"region": "region"}

    class Meta:
        verbose_name = "入盟申请"
        ordering = ["-created_at"]
        constraints = (
            models.UniqueConstraint(fields=["public_key"], name="transfers_join_public_key_uniq"),
            models.CheckConstraint(condition=Q(status="pending") | ~Q(reviewed_by=None),
                                   name="transfers_join_reviewed"),
        )


class MemberKey(models.Model):
    """A member key held by this installation (the member's own key store, not the CA's)."""

    cert_id = models.CharField("证书ID", max_length=64, blank=True)  # filled when the certificate is issued
    identity_id = models.CharField("身份标识", max_length=60)
    region = models.CharField("区划", max_length=9)
    role = models.CharField("角色", max_length=20, choices=Member.Role.choices)
    suite = models.CharField("签名算法", max_length=10)
    public_key = models.CharField("公钥(hex)", max_length=128, unique=True)
    private_key = models.BinaryField("私钥(加密)")
    transport_private_key = models.BinaryField("传输私钥(加密)", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "本机成员密钥"
        ordering = ["region"]
        constraints = (models.UniqueConstraint(fields=["cert_id"], condition=~Q(cert_id=""),
                                               name="transfers_memberkey_cert_uniq"),)

"""Platform tables: the audit log, domain event log and the outbox."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditRecord(models.Model):
    """One write, hash-chained to the previous record. Append-only (a trigger refuses updates)."""

    at = models.DateTimeField("时间")
    actor_id = models.BigIntegerField("操作人ID", null=True, blank=True)
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    action = models.CharField("操作", max_length=100)
    object_type = models.CharField("对象类型", max_length=100, blank=True)
    object_id = models.CharField("对象ID", max_length=64, blank=True)
    object_repr = models.CharField("对象", max_length=300, blank=True)
    before = models.JSONField("修改前", null=True, blank=True)
    after = models.JSONField("修改后", null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = "审计日志"
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["actor_id", "at"]),
                   models.Index(fields=["at"], name="platform_audit_at_idx"),
                   models.Index(fields=["action", "at"], name="platform_audit_action_at_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_repr}"


class EventRecord(models.Model):
    """Every domain event published, in the transaction that caused it."""

    at = models.DateTimeField("时间", auto_now_add=True)
    name = models.CharField("事件", max_length=100, db_index=True)
    payload = models.JSONField("内容")

    class Meta:
        verbose_name = "领域事件"


class OutboxMessage(models.Model):
    """A message that leaves the process, written in the business transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    topic = models.CharField("主题", max_length=100)
    key = models.CharField("幂等键", max_length=200)
    payload = models.JSONField("内容")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    last_error = models.TextField("最后错误", blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)

    class Meta:
        verbose_name = "发件箱消息"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["topic", "key"], name="outbox_topic_key_uniq")]
        indexes = [models.Index(fields=["status", "topic", "id"])]

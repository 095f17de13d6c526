"""Review chains (审核链): configuration per document type, review instances and their history.

A chain is an ordered list of steps; each step names the function a user must hold to act, and
the user's data scope for that function decides which documents they may act on. When a document
is submitted, the chain's steps are copied into the review instance, so editing a chain affects
new submissions and never a review already under way.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReviewChain(models.Model):
    doc_type = models.CharField("单据类型", max_length=60, unique=True)
    forbid_self_review = models.BooleanField("录入人不得审核", default=True,
                                             help_text="提交人不得审核自己提交的单据")
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="修改人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "审核链"
        ordering = ("doc_type",)

    def __str__(self):
        return self.doc_type


class ReviewStep(models.Model):
    chain = models.ForeignKey(ReviewChain, verbose_name="审核链", on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField("顺序")
    name = models.CharField("环节名称", max_length=100)
    function = models.CharField("功能编码", max_length=100,
                                help_text="执行本环节所需的功能权限；该功能的数据权限决定可审核哪些单据")

    class Meta:
        verbose_name = "审核环节"
        ordering = ("chain", "order")
        constraints = (
            models.UniqueConstraint(fields=["chain", "order"], name="workflow_step_chain_order_uniq"),
            models.CheckConstraint(condition=Q(order__gte=1), name="workflow_step_order_positive"),
            models.CheckConstraint(condition=~Q(name="") & ~Q(function=""), name="workflow_step_named"),
        )

    def __str__(self):
        return f"{self.order}. {self.name}"


class ReviewInstance(models.Model):
    """The review of one document under one document type. Every transition increments ``version``
    with a conditional update, so two people can never act on the same step."""

    class Status(models.TextChoices):
        PENDING = "pending", _("审核中")
        APPROVED = "approved", pgettext_lazy("status", "审核通过")
        RETURNED = "returned", _("已退回")
        REJECTED = "rejected", _("未通过")
        WITHDRAWN = "withdrawn", _("已撤回")

    FINAL = (Status.APPROVED, Status.REJECTED)

    doc_type = models.CharField("单据类型", max_length=60)
    content_type = models.ForeignKey(ContentType, verbose_name="对象类型", on_delete=models.PROTECT,
                                     related_name="+")
    object_id = models.BigIntegerField("单据ID")
    document = GenericForeignKey("content_type", "object_id")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    steps = models.JSONField("审核环节", default=list,
                             help_text="提交时复制的审核环节：[{name, function}, ...]")
    step_no = models.PositiveSmallIntegerField("当前环节序号")
    step_name = models.CharField("当前环节", max_length=100)
    step_function = models.CharField("当前环节功能", max_length=100)
    forbid_self_review = models.BooleanField("录入人不得审核", default=True)
    round = models.PositiveIntegerField("提交轮次", default=1)
    version = models.PositiveIntegerField("版本", default=1)
    submit_version = models.PositiveIntegerField("提交时版本", default=1)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提交人", on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField("提交时间")
    updated_at = models.DateTimeField("更新时间")
    finished_at = models.DateTimeField("办结时间", null=True, blank=True)

    class Meta:
        verbose_name = "审核实例"
        constraints = (
            models.UniqueConstraint(fields=["doc_type", "content_type", "object_id"],
                                    name="workflow_instance_document_uniq"),
            models.CheckConstraint(condition=Q(step_no__gte=1), name="workflow_instance_step_positive"),
            models.CheckConstraint(condition=Q(version__gte=models.F("submit_version")),
                                   name="workflow_instance_version_order"),
            # approved and rejected reviews, and only they, have an end time
            models.CheckConstraint(
                condition=(Q(status__in=["approved", "rejected"], finished_at__isnull=False)
                           | (~Q(status__in=["approved", "rejected"]) & Q(finished_at__isnull=True))),
                name="workflow_instance_finished_when_final"),
        )
        indexes = (
            models.Index(fields=["status", "doc_type", "step_function"], name="workflow_inst_inbox_idx"),
            models.Index(fields=["content_type", "object_id"], name="workflow_inst_doc_idx"),
            models.Index(fields=["submitted_by", "status"], name="workflow_inst_submitter_idx"),
        )

    def __str__(self):
        return f"{self.doc_type}#{self.object_id} {self.get_status_display()}"

    # --- presentation helpers used by the inbox templates --------------------------------------
    @property
    def spec(self):
        from fmis.platform.workflow import registry

        return registry.find(self.doc_type)

    def _document(self):
        try:
            return self.document
        except (AttributeError, LookupError):
            return None

    @property
    def type_name(self) -> str:
        spec = self.spec
        return str(spec.name) if spec else self.doc_type

    @property
    def title(self) -> str:
        spec = self.spec
        if spec is None:
            return f"{self.doc_type}#{self.object_id}"
        return spec.title_of(self._document(), self.object_id)

    @property
    def url(self) -> str:
        spec = self.spec
        if spec is None:
            return ""
        return spec.url_of(self._document(), self.object_id)

    @property
    def steps_total(self) -> int:
        return len(self.steps or [])

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def action_name(self) -> str:
        """The label of the annotated ``done_action`` (set by ``selectors.inbox_done``)."""
        code = getattr(self, "done_action", None)
        return str(ReviewAction.Kind(code).label) if code else ""


class ReviewAction(models.Model):
    """One line of a review's history: who did what, when, at which step, and why."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("提交")
        APPROVE = "approve", _("审核通过")
        RETURN = "return", _("退回")
        REJECT = "reject", _("不予通过")
        WITHDRAW = "withdraw", _("撤回")

    instance = models.ForeignKey(ReviewInstance, verbose_name="审核实例", on_delete=models.CASCADE,
                                 related_name="actions")
    version = models.PositiveIntegerField("版本")
    round = models.PositiveIntegerField("提交轮次")
    step_no = models.PositiveSmallIntegerField("环节序号")
    step_name = models.CharField("环节", max_length=100)
    action = models.CharField("操作", max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField("时间")
    comment = models.TextField("意见", blank=True)

    class Meta:
        verbose_name = "审核记录"
        ordering = ("instance", "version")
        constraints = (
            # one transition per version: the second of two concurrent actions cannot be recorded
            models.UniqueConstraint(fields=["instance", "version"], name="workflow_action_instance_version_uniq"),
            models.CheckConstraint(
                condition=~Q(action__in=["return", "reject"]) | ~Q(comment=""),
                name="workflow_action_reason_required"),
        )
        indexes = (models.Index(fields=["actor", "instance"], name="workflow_action_actor_idx"),)

    def __str__(self):
        return f"{self.get_action_display()} {self.step_name}"

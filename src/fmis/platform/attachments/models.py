"""Attachments (附件): files attached to any registered document, stored under MEDIA_ROOT with their
SHA-256, verified on every download."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q


class Attachment(models.Model):
    doc_type = models.CharField("单据类型", max_length=60)
    content_type = models.ForeignKey(ContentType, verbose_name="对象类型", on_delete=models.PROTECT,
                                     related_name="+")
    object_id = models.BigIntegerField("单据ID")
    document = GenericForeignKey("content_type", "object_id")
    filename = models.CharField("文件名", max_length=255)
    extension = models.CharField("扩展名", max_length=10)
    mime = models.CharField("文件类型", max_length=100)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    storage_name = models.CharField("存储路径", max_length=300, unique=True)
    note = models.CharField("说明", max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField("上传时间")

    class Meta:
        verbose_name = "附件"
        ordering = ("uploaded_at", "pk")
        constraints = (
            models.CheckConstraint(condition=Q(size__gt=0), name="attachments_size_positive"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="attachments_sha256_hex"),
            models.CheckConstraint(condition=~Q(filename=""), name="attachments_filename_nonempty"),
        )
        indexes = (models.Index(fields=["doc_type", "content_type", "object_id"], name="attachments_doc_idx"),)

    def __str__(self):
        return self.filename

    @property
    def size_display(self) -> str:
        if self.size < 1024:
            return f"{self.size} B"
        unit, div = ("KB", 1024) if self.size < 1024 * 1024 else ("MB", 1024 * 1024)
        tenths = (self.size * 10 + div // 2) // div
        return f"{tenths // 10}.{tenths % 10} {unit}"

    @property
    def type_name(self) -> str:
        from fmis.platform.workflow import registry

        spec = registry.find(self.doc_type)
        return str(spec.name) if spec else self.doc_type

    @property
    def document_title(self) -> str:
        from fmis.platform.workflow import registry

        spec = registry.find(self.doc_type)
        if spec is None:
            return f"{self.doc_type}#{self.object_id}"
        try:
            doc = self.document
        except (AttributeError, LookupError):
            doc = None
        return spec.title_of(doc, self.object_id)

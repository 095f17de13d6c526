"""Reads for attachments. A user sees an attachment only if they may see its document: the
document must be within their data scope for the document type's view function."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from fmis.iam import permissions
from fmis.platform.attachments.models import Attachment
from fmis.platform.errors import NotFound
from fmis.platform.workflow import registry
from fmis.platform.workflow.registry import DocumentType


def document_visible(user, spec: DocumentType, object_id) -> bool:
    qs = spec.model._default_manager.filter(pk=object_id)
    return permissions.restrict(qs, user, spec.view_function).exists()


def visible_document(*, user, doc_type: str, object_id) -> tuple[DocumentType, models.Model]:
    """The document if `user` may see it, else ``NotFound`` (missing and out of scope look the same)."""
    spec = registry.get(doc_type)
    doc = permissions.restrict(spec.model._default_manager.filter(pk=object_id), user, spec.view_function).first()
    if doc is None:
        raise NotFound("attachments.document_not_found", "单据不存在或不在您的数据权限范围内")
    return spec, doc


def for_document(*, user, document: models.Model, doc_type: str | None = None) -> QuerySet[Attachment]:
    """The attachments of `document`, empty if `user` may not see the document."""
    spec = registry.for_document(document, doc_type)
    if not permissions.can(user, "attachments.view") or not document_visible(user, spec, document.pk):
        return Attachment.objects.none()
    ct = ContentType.objects.get_for_model(spec.model)
    return (Attachment.objects.filter(doc_type=spec.code, content_type=ct, object_id=document.pk)
            .select_related("uploaded_by").order_by("uploaded_at", "pk"))


def visible(*, user, search: str = "", doc_type: str | None = None) -> QuerySet[Attachment]:
    """Every attachment `user` may see, across document types: one scope subquery per type."""
    if not permissions.can(user, "attachments.view"):
        return Attachment.objects.none()
    allowed: Q | None = None
    for spec in registry.document_types():
        if doc_type and spec.code != doc_type:
            continue
        if not permissions.can(user, spec.view_function):
            continue
        docs = permissions.restrict(spec.model._default_manager.all(), user, spec.view_function)
        part = Q(doc_type=spec.code, content_type=ContentType.objects.get_for_model(spec.model))
        if docs.query.where:
            part &= Q(object_id__in=docs.values("pk"))
        allowed = part if allowed is None else allowed | part
    if allowed is None:
        return Attachment.objects.none()
    qs = Attachment.objects.filter(allowed)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(filename__icontains=search) | Q(sha256=search.lower()) | Q(note__icontains=search))
    return qs.select_related("uploaded_by").prefetch_related("document").order_by("-uploaded_at", "-pk")


def get(*, user, attachment_id: int) -> Attachment:
    """One attachment `user` may see, else ``NotFound``."""
    att = Attachment.objects.select_related("uploaded_by").filter(pk=attachment_id).first()
    spec = registry.find(att.doc_type) if att is not None else None
    if (att is None or spec is None or not permissions.can(user, "attachments.view")
            or not document_visible(user, spec, att.object_id)):
        raise NotFound("attachments.not_found", "附件不存在或不在您的数据权限范围内")
    return att

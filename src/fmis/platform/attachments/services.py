"""Writes for attachments: upload, delete, and the verified opening of a stored file.

Upload checks the extension against an allow-list, the size against
``settings.FMIS_ATTACHMENT_MAX_BYTES`` and the content against the extension (``sniff``), then
stores the bytes under ``MEDIA_ROOT`` with their SHA-256. A download re-computes the SHA-256 and
refuses a file that no longer matches (and records the finding in the audit log). Attachments
of a document whose review is final (approved or rejected) can no longer be added or deleted.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import BinaryIO

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone

from fmis.iam import permissions
from fmis.platform import audit
from fmis.platform.attachments import selectors, sniff
from fmis.platform.attachments.models import Attachment
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.workflow import registry
from fmis.platform.workflow.models import ReviewInstance
from fmis.platform.workflow.registry import DocumentType

CHUNK = 64 * 1024
_FORBIDDEN_CHARS = set('<>:"|?*')
ALLOWED_TEXT = "、".join(sorted({k for k in sniff.ALLOWED if k != "jpeg"}))


def max_bytes() -> int:
    return int(settings.FMIS_ATTACHMENT_MAX_BYTES)


def too_large(limit: int) -> ValidationFailed:
    mb = 1024 * 1024
    shown = f"{limit // mb} MB" if limit >= mb and limit % mb == 0 else f"{limit} 字节"
    return ValidationFailed("attachments.too_large", f"文件超过大小限制（最大 {shown}）", field="file", limit=limit)


def clean_filename(name: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in _FORBIDDEN_CHARS).strip()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    if not stem.strip(" ."):
        raise ValidationFailed("attachments.bad_filename", "文件名不能为空", field="file")
    if len(base) > 200:
        base = f"{stem[: 200 - len(ext) - 1]}.{ext}" if ext else base[:200]
    return base


def _digest(fileobj: BinaryIO, limit: int) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    while True:
        data = fileobj.read(CHUNK)
        if not data:
            break
        size += len(data)
        if size > limit:
            raise too_large(limit)
        h.update(data)
    fileobj.seek(0)
    return h.hexdigest(), size


def document_is_final(spec: DocumentType, object_id: int, document: models.Model | None, *, lock: bool) -> bool:
    """Whether the document's review is final. With `lock`, the review instance row is locked so
    that an approval cannot complete while an attachment is being added or deleted."""
    qs = ReviewInstance.objects.filter(doc_type=spec.code, content_type=ContentType.objects.get_for_model(spec.model),
                                       object_id=object_id)
    if lock:
        qs = qs.select_for_update()
    inst = qs.first()
    if inst is not None and inst.status in ReviewInstance.FINAL:
        return True
    if spec.is_final is not None:
        if document is None:
            document = spec.model._default_manager.filter(pk=object_id).first()
        return document is not None and bool(spec.is_final(document))
    return False


def upload(*, document: models.Model, user, file: BinaryIO, doc_type: str | None = None,
           note: str = "") -> Attachment:
    """Attach `file` (a Django ``UploadedFile``/``File`` or any binary file object with a ``name``)."""
    spec = registry.for_document(document, doc_type)
    permissions.require(user, "attachments.upload")
    if not selectors.document_visible(user, spec, document.pk):
        raise PermissionDenied("attachments.out_of_scope", "该单据不在您的数据权限范围内", function=spec.view_function)
    filename = clean_filename(getattr(file, "name", "") or "")
    ext = sniff.extension_of(filename)
    kinds = sniff.ALLOWED.get(ext)
    if not kinds:
        raise ValidationFailed("attachments.type_not_allowed",
                               f"不允许上传{'.' + ext + ' ' if ext else '无扩展名的'}文件，允许的类型：{ALLOWED_TEXT}",
                               field="file")
    limit = max_bytes()
    declared = getattr(file, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise too_large(limit)
    sha, size = _digest(file, limit)
    if size == 0:
        raise ValidationFailed("attachments.empty", f"文件 {filename} 是空文件", field="file")
    kind = sniff.detect(file)
    if kind is None or kind not in kinds:
        found = kind.label if kind else "无法识别的内容"
        raise ValidationFailed("attachments.type_mismatch",
                               f"文件 {filename} 的内容与扩展名 .{ext} 不符（实际内容：{found}）", field="file")
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationFailed("attachments.note_too_long", "说明不能超过 300 个字符", field="note")
    now = timezone.now()
    file.seek(0)
    content = file if isinstance(file, File) else File(file, name=filename)
    stored = default_storage.save(f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}", content)
    try:
        with transaction.atomic():
            if document_is_final(spec, document.pk, document, lock=True):
                raise Conflict("attachments.document_final", "单据审核已办结，不能再添加附件")
            att = Attachment.objects.create(
                doc_type=spec.code, content_type=ContentType.objects.get_for_model(spec.model),
                object_id=document.pk, filename=filename, extension=ext, mime=kind.mime, size=size, sha256=sha,
                storage_name=stored, note=note, uploaded_by=user, uploaded_at=now)
            audit.record(user, "attachments.upload", att, object_repr=f"{spec.code}#{document.pk} {filename}")
    except BaseException:
        default_storage.delete(stored)
        raise
    return att


def delete(*, attachment_id: int, user) -> None:
    """Delete an attachment: only its uploader, only while the document is not final."""
    permissions.require(user, "attachments.delete")
    with transaction.atomic():
        att = Attachment.objects.select_for_update().filter(pk=attachment_id).first()
        spec = registry.find(att.doc_type) if att is not None else None
        if att is None or spec is None or not selectors.document_visible(user, spec, att.object_id):
            raise NotFound("attachments.not_found", "附件不存在或不在您的数据权限范围内")
        if att.uploaded_by_id != user.pk:
            raise PermissionDenied("attachments.not_uploader", "只能删除自己上传的附件")
        if document_is_final(spec, att.object_id, None, lock=True):
            raise Conflict("attachments.document_final", "单据审核已办结，附件不能删除")
        before = audit.snapshot(att)
        name = att.storage_name
        audit.record(user, "attachments.delete", None, before=before, object_type=att._meta.label_lower,
                     object_id=str(att.pk), object_repr=f"{att.doc_type}#{att.object_id} {att.filename}")
        att.delete()
        transaction.on_commit(lambda: default_storage.delete(name))


def _tampered(att: Attachment, user, code: str, message: str, **found) -> Conflict:
    with transaction.atomic():
        audit.record(user, "attachments.tamper_detected", att,
                     after={"sha256": att.sha256, "size": att.size, "storage_name": att.storage_name, **found},
                     object_repr=f"{att.doc_type}#{att.object_id} {att.filename}")
    return Conflict(code, message)


def open_verified(*, attachment_id: int, user) -> tuple[Attachment, BinaryIO]:
    """The attachment and its stored file, opened for reading after its SHA-256 and size were
    verified. A mismatch or a missing file raises ``Conflict`` and is recorded in the audit log."""
    att = selectors.get(user=user, attachment_id=attachment_id)
    try:
        fh = default_storage.open(att.storage_name, "rb")
    except FileNotFoundError:
        raise _tampered(att, user, "attachments.file_missing",
                        f"附件 {att.filename} 的文件已丢失，已记录审计日志", found="missing") from None
    try:
        h = hashlib.sha256()
        size = 0
        for data in iter(lambda: fh.read(CHUNK), b""):
            size += len(data)
            h.update(data)
        if size != att.size or h.hexdigest() != att.sha256:
            raise _tampered(att, user, "attachments.checksum_mismatch",
                            f"附件 {att.filename} 校验失败：文件内容与上传时的 SHA-256 不一致，可能已被篡改，已记录审计日志",
                            found_sha256=h.hexdigest(), found_size=size)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    return att, fh

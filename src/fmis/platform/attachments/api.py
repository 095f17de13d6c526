"""Attachments API: list a document's attachments, upload, verified download, delete."""


from datetime import datetime

from django.http import FileResponse
from ninja import File, Form, Router, Schema, UploadedFile

from fmis.iam.api_auth import requires
from fmis.platform.attachments import selectors, services
from fmis.platform.attachments.models import Attachment

router = Router(tags=["attachments"])


class AttachmentOut(Schema):
    id: int
    doc_type: str
    object_id: int
    filename: str
    mime: str
    size: int
    sha256: str
    note: str
    uploaded_by: str
    uploaded_at: datetime


def _out(a: Attachment) -> dict:
    return {"id": a.pk, "doc_type": a.doc_type, "object_id": a.object_id, "filename": a.filename, "mime": a.mime,
            "size": a.size, "sha256": a.sha256, "note": a.note, "uploaded_by": a.uploaded_by.username,
            "uploaded_at": a.uploaded_at}


@router.get("/documents/{doc_type}/{object_id}", response=list[AttachmentOut])
@requires("attachments.view")
def list_for_document(request, doc_type: str, object_id: int):
    """The attachments of one document (404 if the document is not visible to the caller)."""
    spec, doc = selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)
    return [_out(a) for a in selectors.for_document(user=request.user, document=doc, doc_type=spec.code)]


@router.post("/documents/{doc_type}/{object_id}", response={201: AttachmentOut})
@requires("attachments.upload")
def upload(request, doc_type: str, object_id: int, file: File[UploadedFile], note: Form[str] = ""):
    """Upload one file (multipart field ``file``); the type is checked by extension and content."""
    spec, doc = selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)
    att = services.upload(document=doc, user=request.user, file=file, doc_type=spec.code, note=note)
    return 201, _out(att)


@router.get("/{attachment_id}", response=AttachmentOut)
@requires("attachments.view")
def detail(request, attachment_id: int):
    return _out(selectors.get(user=request.user, attachment_id=attachment_id))


@router.get("/{attachment_id}/download")
@requires("attachments.view")
def download(request, attachment_id: int):
    """The file, after its SHA-256 was verified (409 problem details if it was altered)."""
    att, fh = services.open_verified(attachment_id=attachment_id, user=request.user)
    resp = FileResponse(fh, as_attachment=True, filename=att.filename, content_type=att.mime)
    resp["X-Content-Type-Options"] = "nosniff"
    resp["X-Checksum-SHA256"] = att.sha256
    return resp


@router.delete("/{attachment_id}", response={204: None})
@requires("attachments.delete")
def delete(request, attachment_id: int):
    services.delete(attachment_id=attachment_id, user=request.user)
    return 204, None

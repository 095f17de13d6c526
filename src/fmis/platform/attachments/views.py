"""Screens: upload to a document, verified download, delete, and the list of visible attachments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from fmis.iam import permissions
from fmis.platform.attachments import selectors, services
from fmis.platform.errors import DomainError, ValidationFailed
from fmis.platform.listing import page, wants_export
from fmis.platform.workflow import registry
from fmis.platform.xlsx import xlsx_response


class LimitedUploadHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes the size limit, instead of spooling it all."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = services.max_bytes()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.request.fmis_upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _error(request, exc: DomainError):
    return render(request, "attachments/error.html", {"error": exc.message}, status=exc.status)


def _back(request, fallback: str = "/") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return fallback


@csrf_exempt  # the CSRF check runs in _upload, after the size-limiting handler is installed
@login_required
@require_POST
def upload(request, doc_type: str, object_id: int):
    request.upload_handlers.insert(0, LimitedUploadHandler(request))
    return _upload(request, doc_type, object_id)


@csrf_protect
def _upload(request, doc_type: str, object_id: int):
    try:
        permissions.require(request.user, "attachments.upload")
        spec, doc = selectors.visible_document(user=request.user, doc_type=doc_type, object_id=object_id)
        back = _back(request, spec.url_of(doc))
        if getattr(request, "fmis_upload_too_large", False):
            raise services.too_large(services.max_bytes())
        f = request.FILES.get("file")
        if f is None:
            raise ValidationFailed("attachments.no_file", "请选择要上传的文件", field="file")
        att = services.upload(document=doc, user=request.user, file=f, doc_type=spec.code,
                              note=request.POST.get("note", ""))
    except DomainError as exc:
        if exc.status == 404:
            return _error(request, exc)
        messages.error(request, exc.message)
        return redirect(_back(request))
    messages.success(request, _("已上传附件：%(name)s") % {"name": att.filename})
    return redirect(back)


@login_required
def download(request, pk: int):
    try:
        permissions.require(request.user, "attachments.view")
        att, fh = services.open_verified(attachment_id=pk, user=request.user)
    except DomainError as exc:
        return _error(request, exc)
    resp = FileResponse(fh, as_attachment=True, filename=att.filename, content_type=att.mime)
    resp["X-Content-Type-Options"] = "nosniff"
    resp["X-Checksum-SHA256"] = att.sha256
    return resp


@login_required
@require_POST
def delete(request, pk: int):
    back = _back(request)
    try:
        att = selectors.get(user=request.user, attachment_id=pk)
        name = att.filename
        services.delete(attachment_id=pk, user=request.user)
    except DomainError as exc:
        if exc.status == 404:
            return _error(request, exc)
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, _("已删除附件：%(name)s") % {"name": name})
    return redirect(back)


@login_required
def attachment_list(request):
    try:
        permissions.require(request.user, "attachments.view")
    except DomainError as exc:
        return _error(request, exc)
    q = request.GET.get("q", "")
    doc_type = request.GET.get("type", "").strip() or None
    qs = selectors.visible(user=request.user, search=q, doc_type=doc_type)
    if wants_export(request):
        headers = [_("单据类型"), _("单据"), _("文件名"), _("文件类型"), _("大小（字节）"), _("SHA-256"), _("上传人"),
                   _("上传时间"), _("说明")]
        rows = ([a.type_name, a.document_title, a.filename, a.mime, a.size, a.sha256, a.uploaded_by.name,
                 timezone.localtime(a.uploaded_at), a.note] for a in qs.iterator(200))
        return xlsx_response(_("附件.xlsx"), headers, rows)
    ctx = page(request, qs)
    ctx.update({"q": q, "doc_type": doc_type or "", "types": registry.document_types()})
    return render(request, "attachments/list.html", ctx)

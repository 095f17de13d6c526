"""``{% load attachments %}{% attachments_panel document %}``: the attachments of a document page
(list with verified download, upload form, delete for the uploader), or equivalently
``{% include "attachments/includes/attachments.html" with document=obj %}``."""

from __future__ import annotations

from django import template

from fmis.iam import permissions
from fmis.platform.attachments import selectors, services, sniff
from fmis.platform.errors import DomainError
from fmis.platform.workflow import registry

register = template.Library()


@register.inclusion_tag("attachments/includes/attachments_panel.html", takes_context=True)
def attachments_panel(context, document, doc_type: str | None = None):
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    ctx = {"csrf_token": context.get("csrf_token"), "next": request.get_full_path() if request is not None else ""}
    try:
        spec = registry.for_document(document, doc_type or None)
    except DomainError as exc:
        ctx["error"] = exc.message
        return ctx
    visible = selectors.document_visible(user, spec, document.pk)
    final = services.document_is_final(spec, document.pk, document, lock=False)
    ctx.update({
        "spec": spec, "object_id": document.pk, "final": final,
        "attachments": list(selectors.for_document(user=user, document=document, doc_type=spec.code)),
        "can_upload": visible and not final and permissions.can(user, "attachments.upload"),
        "can_delete": visible and not final and permissions.can(user, "attachments.delete"),
        "accept": ",".join(f".{e}" for e in sniff.ALLOWED), "allowed": services.ALLOWED_TEXT,
        "max_mb": services.max_bytes() // (1024 * 1024), "user_id": getattr(user, "pk", None),
    })
    return ctx

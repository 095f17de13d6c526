"""Document types the treasury sends through review chains."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from fmis.platform.workflow.registry import register_document_type


def register() -> None:
    from fmis.treasury import services
    from fmis.treasury.models import Correction, PaymentApplication

    register_document_type(
        services.APP_DOC, _("支付申请"), PaymentApplication,
        title=lambda d: f"{d.number} {d.payee_name} {d.amount}",
        url=lambda d: reverse("treasury:application", args=[d.pk]),
        view_function="treasury.application.view",
        submit_function="treasury.application.submit",
        default_steps=[("国库处审核", "treasury.review.application")],
        callback=services.on_application_review,
        approve_many=_approve_applications,
    )
    register_document_type(
        services.CORRECTION_DOC, _("支付更正"), Correction,
        title=lambda d: f"{d.number} {d.amount}",
        url=lambda d: reverse("treasury:correction", args=[d.pk]),
        view_function="treasury.correction.view",
        submit_function="treasury.correction.submit",
        default_steps=[("国库处审核", "treasury.review.correction")],
        callback=services.on_correction_review,
    )


def _approve_applications(*, object_ids, user, comment: str = "") -> dict:
    """The inbox's batch approval of payment applications: one voucher message per bank."""
    from fmis.treasury import services

    result = services.approve_applications(application_ids=list(object_ids), user=user, comment=comment)
    return {"approved": result["approved"],
            "failed": [{"object_id": f["application_id"], "code": f["code"], "message": f["message"]}
                       for f in result["failed"]]}

"""Document types bank account supervision sends through review chains."""

from __future__ import annotations

from django.urls import reverse

from fmis.platform.workflow.registry import register_document_type


def register() -> None:
    from fmis.bankaccounts import functions as F
    from fmis.bankaccounts import services
    from fmis.bankaccounts.models import Application, Inspection

    register_document_type(
        services.APPLICATION_DOC, "银行账户申请", Application,
        title=lambda d: f"{d.number} {d.get_kind_display()} {d.account_number} {d.account_name}",
        url=lambda d: reverse("bankaccounts:application", args=[d.pk]),
        view_function=F.APPLICATION_VIEW,
        submit_function=F.APPLY,
        default_steps=services.REVIEW_STEPS,
        callback=services.on_application_review,
    )
    register_document_type(
        services.INSPECTION_DOC, "银行账户年检", Inspection,
        title=lambda d: f"{d.account.number} {d.year}年度年检",
        url=lambda d: reverse("bankaccounts:inspection", args=[d.pk]),
        view_function=F.INSPECTION_VIEW,
        submit_function=F.APPLY,
        default_steps=services.REVIEW_STEPS,
        callback=services.on_inspection_review,
    )

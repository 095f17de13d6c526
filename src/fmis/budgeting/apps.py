from django.apps import AppConfig


class BudgetingConfig(AppConfig):
    name = "fmis.budgeting"
    label = "budgeting"
    verbose_name = "预算编制"

    def ready(self):
        from django.urls import reverse
        from django.utils.translation import gettext_lazy

        from fmis.budgeting import functions as fn
        from fmis.budgeting import services
        from fmis.budgeting.models import Submission
        from fmis.platform.workflow.registry import register_document_type

        register_document_type(
            services.DOC_SUBMISSION, gettext_lazy("部门预算申报"), Submission,
            title=lambda sub: f"{sub.round.fiscal_year} {sub.get_stage_display()} {sub.agency.name}",
            url=lambda sub: reverse("budgeting:submission", args=[sub.pk]),
            view_function=fn.UNIT_VIEW, submit_function=fn.UNIT_DECLARE,
            default_steps=[("主管部门审核", fn.UNIT_REVIEW), ("预算处审核", fn.REVIEW)],
            callback=services.on_submission_review,
            prepare=services.lock_for_review,
        )

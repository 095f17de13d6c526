from django.apps import AppConfig


class BasicInfoConfig(AppConfig):
    name = "fmis.basicinfo"
    label = "basicinfo"
    verbose_name = "基础信息库"

    def ready(self):
        from django.urls import reverse
        from django.utils.translation import gettext_lazy

        from fmis.basicinfo import functions as fn
        from fmis.basicinfo import services
        from fmis.basicinfo.models import InfoSubmission
        from fmis.platform.workflow.registry import register_document_type

        register_document_type(
            services.DOC_SUBMISSION, gettext_lazy("基础信息报送"), InfoSubmission,
            title=lambda s: f"{s.agency.name} {s.fiscal_year} 年基础信息",
            url=lambda s: reverse("basicinfo:submission", args=[s.pk]),
            view_function=fn.SUBMISSION_VIEW, submit_function=fn.SUBMIT,
            default_steps=services.DEFAULT_STEPS,
            callback=services.on_submission_review,
            prepare=services.lock_for_review,
        )

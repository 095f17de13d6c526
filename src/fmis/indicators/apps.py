from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "fmis.indicators"
    label = "indicators"
    verbose_name = "预算指标"

    def ready(self):
        from django.urls import reverse
        from django.utils.translation import gettext_lazy

        from fmis.indicators import functions as fn
        from fmis.indicators import services
        from fmis.indicators.models import Adjustment, Indicator
        from fmis.platform.workflow.registry import register_document_type

        register_document_type(
            services.DOC_INDICATOR, gettext_lazy("预算指标"), Indicator,
            title=lambda ind: f"{ind.code} {ind.title}",
            url=lambda ind: reverse("indicators:detail", args=[ind.pk]),
            view_function=fn.VIEW, submit_function=fn.MANAGE,
            default_steps=[("预算处审核", fn.REVIEW)],
            callback=services.on_indicator_review,
            prepare=services.lock_for_review,
        )
        register_document_type(
            services.DOC_ADJUSTMENT, gettext_lazy("指标调整单"), Adjustment,
            title=lambda adj: f"{adj.number} {adj.get_kind_display()}",
            url=lambda adj: reverse("indicators:adjustment", args=[adj.pk]),
            view_function=fn.ADJUST, submit_function=fn.ADJUST,
            default_steps=[("预算处审核", fn.ADJUST_REVIEW)],
            callback=services.on_adjustment_review,
            prepare=services.lock_for_review,
        )

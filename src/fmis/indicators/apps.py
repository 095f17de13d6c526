from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "fmis.indicators"
    label = "indicators"
    verbose_name = "预算指标"

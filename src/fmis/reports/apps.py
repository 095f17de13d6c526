from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "fmis.reports"
    label = "reports"
    verbose_name = "会计报表"

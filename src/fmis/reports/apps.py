from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "fmis.reports"
    label = "reports"
    verbose_name = "会计报表"

    def ready(self):
        from django.db.models.signals import post_migrate

        post_migrate.connect(_preload_statements, sender=self)


def _preload_statements(sender, **kwargs):
    from fmis.reports.services import ensure_standard_statements

    ensure_standard_statements()

from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "fmis.accounting"
    label = "accounting"
    verbose_name = "会计核算"

    def ready(self):
        from django.db.models.signals import post_migrate

        from fmis.accounting import handlers

        handlers.subscribe_all()
        post_migrate.connect(handlers.preload_rules_after_migrate, sender=self)

from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "fmis.iam"
    label = "iam"
    verbose_name = "用户与权限"

    def ready(self):
        from django.db.models.signals import post_migrate

        from fmis.iam.functions import sync_functions_after_migrate

        post_migrate.connect(sync_functions_after_migrate, sender=self)

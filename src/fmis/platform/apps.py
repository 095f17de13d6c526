from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "fmis.platform"
    label = "platform"
    verbose_name = "平台"

from django.apps import AppConfig


class BasicInfoConfig(AppConfig):
    name = "fmis.basicinfo"
    label = "basicinfo"
    verbose_name = "基础信息库"

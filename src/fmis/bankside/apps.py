from django.apps import AppConfig


class BanksideConfig(AppConfig):
    name = "fmis.bankside"
    label = "bankside"
    verbose_name = "代理银行预算业务"

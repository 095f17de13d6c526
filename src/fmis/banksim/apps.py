from django.apps import AppConfig


class BanksimConfig(AppConfig):
    name = "fmis.banksim"
    label = "banksim"
    verbose_name = "代理银行模拟器"

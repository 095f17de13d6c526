from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "fmis.transfers"
    label = "transfers"
    verbose_name = "转移支付"

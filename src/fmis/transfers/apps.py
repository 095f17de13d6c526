from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "fmis.transfers"
    label = "transfers"
    verbose_name = "转移支付"

    def ready(self):
        from fmis.transfers import local

        local.register_sender()

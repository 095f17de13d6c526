from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "fmis.treasury"
    label = "treasury"
    verbose_name = "国库集中支付"

    def ready(self):
        from fmis.treasury import bank, workflows

        workflows.register()
        bank.register_sender()

from django.apps import AppConfig


class BankAccountsConfig(AppConfig):
    name = "fmis.bankaccounts"
    label = "bankaccounts"
    verbose_name = "银行账户监管"

    def ready(self):
        from fmis.bankaccounts import workflows

        workflows.register()

from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "wallet"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from wallet.receivers import auto_reload_on_wallet_debit
        from wemaster.ledger.signals import student_wallet_debited

        student_wallet_debited.connect(auto_reload_on_wallet_debit, dispatch_uid="wallet.auto_reload_on_debit")

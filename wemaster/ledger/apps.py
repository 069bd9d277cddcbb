from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "wemaster.ledger"
    label = "ledger"

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wemaster.accounts"
    label = "accounts"

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wemaster.accounts"
    label = "accounts"

    def ready(self):
        from wemaster.accounts import checks  # noqa: F401 - registers the system checks

from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from community import signals  # noqa: F401 - connects the display-name invalidation

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "wemaster.core"
    label = "core"
    verbose_name = "Core infrastructure"

    def ready(self):
        from django.db.backends.signals import connection_created

        from wemaster.core import metrics
        from wemaster.core.cache import breaker, recovery

        connection_created.connect(metrics.instrument_connection, dispatch_uid="wemaster.core.metrics")
        breaker.on_recovery(recovery.forget_everything_cached_before_the_outage)

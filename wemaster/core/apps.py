from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    name = "wemaster.core"
    label = "core"
    verbose_name = "Core infrastructure"

    def ready(self):
        from celery.signals import worker_process_shutdown
        from django.core.signals import request_finished, request_started
        from django.db.backends.signals import connection_created

        from wemaster.core import checks, metrics, signals  # noqa: F401 - system checks, auth cache invalidation
        from wemaster.core.cache import breaker, recovery
        from wemaster.core.logging import connect_request_logging

        connection_created.connect(metrics.instrument_connection, dispatch_uid="wemaster.core.metrics")
        request_started.connect(metrics.request_started, dispatch_uid="wemaster.core.metrics")
        request_finished.connect(metrics.request_finished, dispatch_uid="wemaster.core.metrics")
        worker_process_shutdown.connect(metrics.mark_this_process_dead, dispatch_uid="wemaster.core.metrics")
        metrics.on_process_exit()
        connect_request_logging()
        breaker.on_recovery(recovery.forget_everything_cached_before_the_outage)


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the project's site as `admin.site`."""

    default = False  # named in INSTALLED_APPS; CoreConfig stays this module's app config
    default_site = "wemaster.core.admin_site.StaffAdminSite"

"""Settings as a process started with some environment would compute them, read in this process.

The settings package (wemaster/settings/) only reads the environment, so importing it afresh under
a replaced `os.environ` gives exactly what a web worker, a websocket worker or a Celery worker started with
those variables would configure; tests then install the parts they exercise (CACHES,
CHANNEL_LAYERS, the CELERY_ namespace) with pytest-django's `settings` fixture.
"""

import importlib
import os
import sys
from contextlib import contextmanager
from types import ModuleType

from django.conf import settings as django_settings

SETTINGS_PACKAGE = django_settings.SETTINGS_MODULE
# The variables this suite varies; each probe starts without any of them.
SERVICE_VARIABLES = (
    "REDIS_URL",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_SENTINEL_DB",
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
)


@contextmanager
def _environment(variables: dict[str, str]):
    saved = dict(os.environ)
    try:
        for name in SERVICE_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(variables)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_from_environment(**variables: str) -> ModuleType:
    """The settings module computed with `variables` set (and none of SERVICE_VARIABLES else).
    Raises what the settings raise (ImproperlyConfigured)."""

    def settings_modules() -> list[str]:
        return [name for name in sys.modules if name == SETTINGS_PACKAGE or name.startswith(f"{SETTINGS_PACKAGE}.")]

    parent_name, _, attribute = SETTINGS_PACKAGE.rpartition(".")
    parent = sys.modules[parent_name]
    running = {name: sys.modules.pop(name) for name in settings_modules()}
    try:
        with _environment(variables):
            return importlib.import_module(SETTINGS_PACKAGE)
    finally:
        # The probe's modules leave; the running process keeps the settings it started with.
        for name in settings_modules():
            del sys.modules[name]
        sys.modules.update(running)
        setattr(parent, attribute, running[SETTINGS_PACKAGE])


def celery_config(module: ModuleType) -> dict:
    """The CELERY_ namespace as Celery's own lower-case settings (what `config_from_object` reads)."""
    return {name[len("CELERY_") :].lower(): getattr(module, name) for name in dir(module) if name.startswith("CELERY_")}

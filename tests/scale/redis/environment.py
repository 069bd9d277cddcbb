"""Settings as a process started with some environment would compute them, read in this process.

`wemaster/settings.py` only reads the environment, so executing it again under a replaced
`os.environ` gives exactly what a web worker, a websocket worker or a Celery worker started with
those variables would configure; tests then install the parts they exercise (CACHES,
CHANNEL_LAYERS, the CELERY_ namespace) with pytest-django's `settings` fixture.
"""

import importlib.util
import os
from contextlib import contextmanager
from types import ModuleType

from django.conf import settings as django_settings

SETTINGS_FILE = importlib.util.find_spec(django_settings.SETTINGS_MODULE).origin
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
    spec = importlib.util.spec_from_file_location("wemaster_settings_probe", SETTINGS_FILE)
    module = importlib.util.module_from_spec(spec)
    with _environment(variables):
        spec.loader.exec_module(module)
    return module


def celery_config(module: ModuleType) -> dict:
    """The CELERY_ namespace as Celery's own lower-case settings (what `config_from_object` reads)."""
    return {name[len("CELERY_") :].lower(): getattr(module, name) for name in dir(module) if name.startswith("CELERY_")}

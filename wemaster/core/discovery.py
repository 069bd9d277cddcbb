"""Find a conventional module (`seed`, `reconcile`, `warmers`, ...) in every installed app."""

from collections.abc import Iterator
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType

from django.apps import apps


def app_modules(name: str) -> Iterator[ModuleType]:
    """Each installed app's `<app>.<name>` module that exists, in INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        module_name = f"{config.name}.{name}"
        if find_spec(module_name) is not None:
            yield import_module(module_name)

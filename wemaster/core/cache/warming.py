"""Cache warming: each installed app may ship `warmers.py` with `WARMERS = {"family": callable}`.

A warmer takes no argument and fills its family through `get_or_compute` (so it obeys the
same keys, tags and TTLs as the requests it prepares); it returns how many entries it
warmed. `manage.py warm_cache` and the `warm_cache` Celery beat task run them.
"""

import logging
from collections.abc import Callable, Iterable
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps

logger = logging.getLogger(__name__)

Warmer = Callable[[], int]


def discover_warmers() -> dict[str, Warmer]:
    """Every family's warmer, in INSTALLED_APPS order. Two apps naming the same family is
    a configuration error."""
    found: dict[str, Warmer] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.warmers"
        if find_spec(module_name) is None:
            continue
        for family, warmer in getattr(import_module(module_name), "WARMERS", {}).items():
            if family in found:
                raise ValueError(f"cache family {family!r} has two warmers ({module_name})")
            found[family] = warmer
    return found


def warm(only: Iterable[str] | None = None, *, progress=None) -> dict[str, int]:
    """Run the selected warmers (all by default); returns entries warmed per family.

    Raises KeyError naming the unknown families in `only`. `progress(iterable, desc=...,
    total=...)` may wrap the loop (tqdm in the management command).
    """
    warmers = discover_warmers()
    selected = list(warmers) if not only else list(only)
    unknown = [family for family in selected if family not in warmers]
    if unknown:
        raise KeyError(", ".join(unknown))
    items = selected if progress is None else progress(selected, desc="warming", total=len(selected))
    warmed = {}
    for family in items:
        warmed[family] = int(warmers[family]() or 0)
        logger.info("cache family warmed", extra={"family": family, "entries": warmed[family]})
    return warmed

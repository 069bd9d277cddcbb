"""WeMaster settings (DJANGO_SETTINGS_MODULE stays "wemaster.settings"): a package, so that what
differs by environment can live apart from what every environment shares."""

from wemaster.settings.base import *  # noqa: F403

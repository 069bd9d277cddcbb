"""Values a tutor profile accepts, checked the same way by the API and the admin.

Time zones are IANA names as the standard library knows them (`zoneinfo`); languages are
ISO 639-1 codes as pycountry lists them. Both sets are read once per process.
"""

import zoneinfo
from functools import cache

import pycountry
from django.core.exceptions import ValidationError


@cache
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def language_codes() -> frozenset[str]:
    return frozenset(language.alpha_2 for language in pycountry.languages if hasattr(language, "alpha_2"))


def validate_time_zone(value: str) -> None:
    """Raises ValidationError unless `value` is an IANA time zone name, e.g. "Europe/Berlin"."""
    if value not in time_zone_names():
        raise ValidationError(f'Unknown time zone "{value}"; use an IANA name such as "Europe/Berlin".')


def normalize_language_code(value: str) -> str:
    """ " DE " -> "de". Raises ValidationError unless it is an ISO 639-1 code."""
    code = value.strip().lower()
    if code not in language_codes():
        raise ValidationError(f'Unknown language "{value}"; use an ISO 639-1 code such as "en" or "de".')
    return code


def normalize_subject_name(value: str) -> str:
    """Subjects are stored lowercase without surrounding spaces ("Algebra " -> "algebra")."""
    return value.strip().lower()

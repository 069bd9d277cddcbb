"""The project's serializer vocabulary: DRF's, with strict bodies and zone-aware datetimes.

Apps import `from wemaster.core import serializers` instead of DRF's module, so every serializer
of the API gets both rules (a test fails for one that does not):

- an unknown body field is a 400 `unknown_field` naming it (`{"<name>": ["Unknown field."]}`),
  checked before any other field, so a misspelt field is never silently ignored. Read-only
  fields count as unknown in a body: they cannot be set. Query strings are not checked: they
  also carry the paging and filtering parameters every list shares.
- a datetime without a time zone is a 400 on that field (DRF would read it in the server's zone).
"""

from collections.abc import Mapping

from django.db import models
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers as drf
from rest_framework.serializers import *  # noqa: F403 - the whole vocabulary, two names replaced below

UNKNOWN_FIELD = "unknown_field"
UNKNOWN_FIELD_MESSAGE = "Unknown field."


class DateTimeField(drf.DateTimeField):
    """ISO 8601 with a zone (`2026-11-25T21:00:00Z` or `+02:00`); a naive time is refused."""

    default_error_messages = {
        "naive": "Give a time zone (e.g. 2026-11-25T21:00:00Z); a time without one is ambiguous.",
    }

    def to_internal_value(self, value):
        parsed = parse_datetime(value.strip()) if isinstance(value, str) else value
        if hasattr(parsed, "tzinfo") and hasattr(parsed, "hour") and timezone.is_naive(parsed):
            raise drf.ValidationError(self.error_messages["naive"], code="invalid")
        return super().to_internal_value(value)


def unknown_fields(serializer: drf.Serializer, data) -> list[str]:
    """Keys of a body (not a query string) that name no writable field of `serializer`."""
    if not isinstance(data, Mapping) or isinstance(data, QueryDict):
        return []
    writable = {name for name, field in serializer.fields.items() if not field.read_only}
    return sorted(str(key) for key in data if key not in writable)


class StrictBodyMixin:
    def to_internal_value(self, data):
        unknown = unknown_fields(self, data)
        if unknown:
            raise drf.ValidationError({name: [UNKNOWN_FIELD_MESSAGE] for name in unknown}, code=UNKNOWN_FIELD)
        return super().to_internal_value(data)


class Serializer(StrictBodyMixin, drf.Serializer):
    pass


class ModelSerializer(StrictBodyMixin, drf.ModelSerializer):
    serializer_field_mapping = {**drf.ModelSerializer.serializer_field_mapping, models.DateTimeField: DateTimeField}


class EmptyBodySerializer(Serializer):
    """For writes that take no body: any field sent is unknown."""


def reject_body(request) -> None:
    """Raise the 400 `unknown_field` if a write that takes no body was sent one."""
    EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)

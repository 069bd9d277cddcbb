"""The OpenAPI schema class: every operation documents the error envelope for the statuses the
shared conventions can answer anywhere (README, Architecture: Conventions), unless the view declared them.

400 bad input, 401 no or bad token, 403 role, 404 someone else's or no object, 429 throttled,
503 a backing service down; writes add 409 (conflicts, Idempotency-Key in use) and 422
(Idempotency-Key reused); requests with a body add 413 (too large) and 415 (not JSON).
"""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. `validation_error`, `not_found`.")
    detail = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Field errors of a `validation_error`.")


COMMON = ("400", "401", "403", "404", "429", "503")
WRITES = ("409", "422")
WITH_BODY = ("413", "415")


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = list(COMMON)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes += WRITES + WITH_BODY
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        return responses


class PrimarySessionScheme(SessionScheme):
    """The session cookie, documented as DRF's (only the database it is read from differs)."""

    target_class = "wemaster.core.authentication.PrimarySessionAuthentication"


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>`: the device tokens of knox, under the name DRF's token
    scheme had (`tokenAuth`), so clients' Authorize settings keep working."""

    target_class = "wemaster.core.authentication.CachedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )

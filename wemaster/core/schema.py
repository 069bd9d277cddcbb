"""The OpenAPI schema class: the document Swagger UI (`/api/docs/`) shows client developers.

- Tags: every operation under /api/v1/ carries one tag, chosen by the first segment of its path
  (`TAG_BY_SEGMENT`), so views declare none; SPECTACULAR_SETTINGS["TAGS"] describes each tag.
  A path whose segment is not mapped keeps drf-spectacular's default tag, which the schema tests
  refuse: a new area of the API must be given its tag here.
- Descriptions: only those written for clients reach the schema (`extend_schema(description=...)`,
  `extend_schema_serializer(description=...)`, fields' `help_text`). View and serializer
  docstrings are notes for maintainers and stay out of it.
- Errors: every operation documents the error envelope for the statuses the API can answer
  anywhere (docs/API.md, Errors), unless the view declared them: 400 bad input, 401 no or bad
  token, 403 role, 404 someone else's or no object, 414/431 a query string or headers too large,
  429 throttled, 503 a backing service down;
  writes add 409 (conflicts, Idempotency-Key in use) and 422 (Idempotency-Key reused); requests
  with a body add 413 (too large) and 415 (not JSON).
- Authentication: the token is the only scheme documented (SPECTACULAR_SETTINGS
  ["AUTHENTICATION_WHITELIST"]), as `tokenAuth` (`ApiTokenScheme`); the session cookie serves
  the browsable API and admin only.
"""

from drf_spectacular.drainage import get_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from wemaster.core import serializers

API_PREFIX = "/api/v1/"

# First path segment under /api/v1/ -> the operation's tag.
TAG_BY_SEGMENT = {
    "auth": "accounts",
    "me": "accounts",
    "tutors": "accounts",
    "subjects": "accounts",
    "wallet": "wallet",
    "lessons": "lessons",
    "reviews": "lessons",
    "earnings": "earnings",
    "conversations": "messaging",
    "community": "community",
    "notifications": "notifications",
    "ping": "operations",
}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. `validation_error`, `not_found`.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    fields = serializers.DictField(
        required=False, help_text="Per-field messages of a `validation_error` or an `unknown_field`."
    )


# 414 and 431: a query string or headers over the request limits (wemaster.core.request_limits).
COMMON = ("400", "401", "403", "404", "414", "429", "431", "503")
WRITES = ("409", "422")
WITH_BODY = ("413", "415")


def tag_for_path(path: str) -> str | None:
    """The tag of an /api/v1/ path, or None when its first segment is not mapped."""
    if not path.startswith(API_PREFIX):
        return None
    return TAG_BY_SEGMENT.get(path[len(API_PREFIX) :].split("/", 1)[0])


class ApiAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        tag = tag_for_path(self.path)
        return [tag] if tag else super().get_tags()

    def get_description(self) -> str:
        # `extend_schema(description=...)` overrides this method where a view gives one; what
        # would reach the default implementation is a docstring, written for maintainers.
        return ""

    def _map_basic_serializer(self, serializer, direction):
        mapped = super()._map_basic_serializer(serializer, direction)
        # Keep only a description given with `extend_schema_serializer`, never the class docstring.
        explicit = get_override(serializer, "description", None)
        if explicit:
            mapped["description"] = explicit
        else:
            mapped.pop("description", None)
        # Bodies are strict (wemaster.core.serializers): the schema says so, so generated clients
        # and schema-driven tests do not send fields the API refuses.
        serializer_class = serializer if isinstance(serializer, type) else type(serializer)
        if direction == "request" and issubclass(serializer_class, serializers.StrictBodyMixin):
            mapped["additionalProperties"] = False
        return mapped

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = list(COMMON)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes += WRITES + WITH_BODY
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        return responses


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The API token as Swagger UI's *Authorize* dialog offers it: one stable name (`tokenAuth`)
    and a description for clients, whichever token library the authentication class builds on."""

    target_class = "wemaster.core.authentication.CachedTokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; the key comes from `POST /api/v1/auth/token` (or `/auth/register`).",
        }

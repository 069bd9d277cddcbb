"""Every API route, walked from Django's URL resolver, so suites that must cover all of them
(authorization matrix, bad input) notice a new route the day it is added."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str  # e.g. "api/v1/community/posts/<int:post_id>"
    view: type
    methods: tuple[str, ...]

    @property
    def params(self) -> list[str]:
        return [m.group("name") for m in _PARAM.finditer(self.pattern)]

    @property
    def openapi_path(self) -> str:
        return "/" + _PARAM.sub(lambda m: "{" + m.group("name") + "}", self.pattern)

    def path(self, **kwargs) -> str:
        return "/" + _PARAM.sub(lambda m: str(kwargs[m.group("name")]), self.pattern)


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_routes() -> list[Route]:
    routes = []
    for pattern, entry in _walk(get_resolver().url_patterns):
        if not pattern.startswith(API_PREFIX):
            continue
        view = getattr(entry.callback, "view_class", None) or getattr(entry.callback, "cls", None)
        methods = tuple(m for m in METHODS if view is not None and hasattr(view, m))
        routes.append(Route(entry.name, pattern, view, methods))
    return routes

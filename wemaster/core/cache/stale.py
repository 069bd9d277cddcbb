"""Request-scoped record of stale serves, turned into a `Cache-Status` response header.

`get_or_compute(..., stale_if_error=True)` calls `mark_stale_served()` when it answers
with a last-good value because the database is unreachable; `CacheStatusMiddleware`
then adds `Cache-Status: stale-if-error` to that request's response. The context
variable holds a mutable per-request object, so a mark made in a thread that runs the
view is still seen by the middleware.
"""

from contextvars import ContextVar

STALE_IF_ERROR = "stale-if-error"

_request_state: ContextVar[dict | None] = ContextVar("wemaster_cache_request_state", default=None)


def mark_stale_served(family: str) -> None:
    state = _request_state.get()
    if state is not None:
        state["stale_families"].add(family)


def stale_families() -> set[str]:
    state = _request_state.get()
    return set(state["stale_families"]) if state is not None else set()


class CacheStatusMiddleware:
    """Adds `Cache-Status: stale-if-error` when any value of the response was stale."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = {"stale_families": set()}
        token = _request_state.set(state)
        try:
            response = self.get_response(request)
        finally:
            _request_state.reset(token)
        if state["stale_families"]:
            response["Cache-Status"] = STALE_IF_ERROR
            response["Cache-Control"] = "no-store"
        return response

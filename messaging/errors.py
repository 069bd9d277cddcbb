"""Errors of the chat websocket, sent back as `{"type": "error", "code", "detail"}` frames."""

from rest_framework import status

from wemaster.core.errors import DomainError


class Throttled(DomainError):
    """A scoped rate limit (`message_send`, `ws_read`) refused the frame; carries `retry_after`."""

    code = "throttled"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many requests; slow down."

    def __init__(self, retry_after: float):
        super().__init__()
        self.retry_after = int(retry_after + 0.999)


class FrameParseError(DomainError):
    code = "parse_error"
    default_detail = "Frames are JSON objects."


class FrameTooLarge(DomainError):
    code = "frame_too_large"
    default_detail = "The frame is larger than the server accepts."


class UnknownFrame(DomainError):
    code = "unknown_type"
    default_detail = "Unknown frame type."

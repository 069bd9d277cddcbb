"""The one JSON parser of the API: DRF's, plus the inputs that would otherwise reach a 500.

- nesting deeper than the recursion limit (Python's json raises RecursionError, not ValueError);
- NUL characters (PostgreSQL text cannot store them) and lone UTF-16 surrogates (not encodable
  as UTF-8, so the database driver would fail) anywhere in the document, keys included.
Each is a 400 `parse_error` with the error envelope.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def unstorable_text(value: str) -> bool:
    """True for text PostgreSQL cannot store: NUL characters or lone surrogates."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check(value, depth: int = 0) -> None:
    if isinstance(value, str):
        if unstorable_text(value):
            raise ParseError("Text may not contain NUL characters or unpaired surrogates.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        try:
            _check(data)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        return data

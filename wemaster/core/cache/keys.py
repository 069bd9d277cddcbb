"""Cache keys built from request input: checked, hashed, and capped per family.

A public page keyed by a query parameter (`?tag=`, `?author=`, `?subject=`) lets a client choose
cache keys. Three rules keep that from filling Redis (README, Caching and resilience):

- the value is checked before any lookup (`query_text`, `printable`): bounded length, printable
  characters only; anything else is a 400 `validation_error`;
- the key holds a hash of the normalized parameters (`params_key`), never the raw value;
- a family given `distinct_keys=N` in `get_or_compute` keeps at most N such entries in Redis: a
  sorted set per family (`keys:<family>`, score = when the entry leaves Redis) admits each stored
  entry, and storing one past the cap deletes the entries closest to leaving (`admit`). An attacker
  sending endless distinct values therefore adds at most N entries, and evicts older ones (which
  are recomputed on their next request) rather than growing memory.
"""

import hashlib
import json
import time
import unicodedata

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

INDEX_PREFIX = "keys:"

NOT_PRINTABLE = "Only printable characters are allowed."

# KEYS[1]: the family's index; ARGV: now, the entry's Redis key, when it expires, the cap.
# Forget entries Redis has already expired, admit this one, evict the ones closest to expiry
# beyond the cap (in one atomic step, so concurrent writers cannot overshoot it); the index itself
# expires with its last entry.
_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if over > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[1], over)
    for i = 1, #popped, 2 do
        redis.call('DEL', popped[i])
    end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last > 0 then
    redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(last[2])) + 1)
end
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
    return 1
end
return 0
"""


def printable(value: str) -> None:
    """Validator: refuses control, format, surrogate, private-use and unassigned characters
    (Unicode category C*), which no tag, subject or search needs."""
    if any(unicodedata.category(char).startswith("C") for char in value):
        raise DjangoValidationError(NOT_PRINTABLE, code="invalid")


def query_text(name: str, value: str | None, *, max_length: int) -> str:
    """A query-parameter value that may become part of a cache key, trimmed; "" when absent.
    Raises DRF's ValidationError (400 `validation_error` naming `name`) when it is longer than
    `max_length` or not printable."""
    value = (value or "").strip()
    if len(value) > max_length:
        raise ValidationError({name: [f"Ensure this field has no more than {max_length} characters."]})
    try:
        printable(value)
    except DjangoValidationError as exc:
        raise ValidationError({name: [NOT_PRINTABLE]}) from exc
    return value


def params_key(prefix: str, **params) -> str:
    """`<prefix>:<hash>` of the normalized parameters (sorted, JSON): request input never appears
    raw in a key, and every key of a family has the same length."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{prefix}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def admit(cache, *, family: str, entry_key: str, lifetime: float, distinct_keys: int) -> bool:
    """Record that `entry_key` (as passed to `cache.set`) is about to be stored for `lifetime`
    seconds, evicting the family's entries beyond `distinct_keys` (those closest to expiry).
    False when it is not admitted (it would itself be the first to go) or Redis could not answer:
    the caller then stores nothing. Caches without Redis (the in-process one in
    development) bound themselves (`MAX_ENTRIES`) and admit everything."""
    client = getattr(cache, "client", None)
    if not hasattr(client, "eval_script"):
        return True
    now = time.time()
    admitted = client.eval_script(
        _ADMIT,
        keys=[cache.make_key(INDEX_PREFIX + family)],
        args=[now, cache.make_key(entry_key), now + lifetime, distinct_keys],
    )
    return admitted == 1

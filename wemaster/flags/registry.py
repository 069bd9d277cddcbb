"""Every feature flag the code checks, with what it means when staff have not created it.

A flag without a row in the database takes its `default`: the behaviour the code had before the
flag existed, so a fresh deployment (or one whose flags were deleted) behaves as it always did.
`seed_demo` creates every flag listed here. Checking a name not listed is a programming error
(LookupError): a typo must not silently turn a feature off.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FlagSpec:
    default: bool
    note: str


# The families of the cache API (wemaster/core/cache): "cache.<family>" off for a user serves that
# user the uncached path (the family's compute, straight from the database).
CACHE_FAMILIES = {
    "auth_token": "token -> identity lookups (checked before the caller is known: on only for everyone)",
    "community_comments": "first page of a post's comments",
    "community_posts": "first pages of the community post lists",
    "community_tags": "the community tag list",
    "earnings_analytics": "a tutor's earnings analytics",
    "earnings_overview": "a tutor's earnings overview",
    "messaging_unread": "a user's unread message counts",
    "subject_catalog": "the subject catalog (directory filters)",
    "subjects": "the subject list with tutor counts",
    "tutor_directory": "first pages of the tutor directory",
}


def cache_flag(family: str) -> str:
    return f"cache.{family}"


FLAGS: dict[str, FlagSpec] = {
    cache_flag(family): FlagSpec(default=True, note=f"Cache fast path: {what}.")
    for family, what in CACHE_FAMILIES.items()
}


def spec(name: str) -> FlagSpec:
    try:
        return FLAGS[name]
    except KeyError:
        raise LookupError(f"unknown feature flag {name!r}: declare it in wemaster/flags/registry.py") from None

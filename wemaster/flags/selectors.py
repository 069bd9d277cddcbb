"""The flag table every process decides from, and users' groups, through the cache API.

Both are plain data cached with tags (wemaster/core/cache): the table in the memory level of each
process, so a check costs no database query and, within `CACHE_TAG_MEMO_SECONDS`, no Redis round
trip either. Any change to a flag, switch or sample (admin, management command, shell) invalidates
`FLAGS_TAG` on commit (`signals.py`); other processes see it within the tag memo's lifetime.
"""

from wemaster.flags.buckets import percent_in_buckets

FLAGS_TAG = "feature_flags"
TABLE_FAMILY = "feature_flags"
GROUPS_FAMILY = "feature_flags_user_groups"
TABLE_TTL = 3600


def user_groups_tag(user_id: int) -> str:
    return f"user:{user_id}:groups"


def _load_table() -> dict:
    from waffle import get_waffle_sample_model, get_waffle_switch_model

    from wemaster.flags.models import Flag

    rows = list(Flag.objects.values("id", "name", "everyone", "percent", "authenticated", "staff", "superusers"))
    flags = {
        row["name"]: {
            "everyone": row["everyone"],
            "buckets": None if row["percent"] is None else percent_in_buckets(row["percent"]),
            "authenticated": row["authenticated"],
            "staff": row["staff"],
            "superusers": row["superusers"],
            "users": [],
            "groups": [],
        }
        for row in rows
    }
    if flags:  # the overrides, two queries whatever the number of flags
        names = {row["id"]: row["name"] for row in rows}
        for flag_id, user_id in Flag.users.through.objects.values_list("flag_id", "user_id"):
            flags[names[flag_id]]["users"].append(user_id)
        for flag_id, group_id in Flag.groups.through.objects.values_list("flag_id", "group_id"):
            flags[names[flag_id]]["groups"].append(group_id)
    return {
        "flags": flags,
        "switches": dict(get_waffle_switch_model().objects.values_list("name", "active")),
        "samples": {
            name: float(percent) for name, percent in get_waffle_sample_model().objects.values_list("name", "percent")
        },
    }


def flag_table() -> dict:
    """`{"flags": {name: {...}}, "switches": {name: bool}, "samples": {name: percent}}`."""
    from wemaster.core.cache import get_or_compute

    return get_or_compute(
        "feature_flags:table", _load_table, tags=[FLAGS_TAG], ttl=TABLE_TTL, family=TABLE_FAMILY, local=True
    )


def user_group_ids(user_id: int) -> list[int]:
    """Ids of the user's groups (consulted only for flags turned on for groups)."""
    from django.contrib.auth import get_user_model

    from wemaster.core.cache import get_or_compute

    return get_or_compute(
        f"feature_flags:groups:{user_id}",
        lambda: list(
            get_user_model().groups.through.objects.filter(user_id=user_id).values_list("group_id", flat=True)
        ),
        tags=[user_groups_tag(user_id)],
        ttl=TABLE_TTL,
        family=GROUPS_FAMILY,
    )

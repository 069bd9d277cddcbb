"""Every declared feature flag, as its default leaves it: staff see them in the admin, ready to roll back or out."""

from wemaster.flags.services import flags_declare


def seed_demo(*, scale: int, progress) -> list:
    flags_declare()
    return []

from django.db import transaction

from wemaster.flags.models import Flag
from wemaster.flags.registry import FLAGS


@transaction.atomic
def flags_declare() -> list[str]:
    """Create every registry flag that has no row yet, in the state its default gives (a default-on
    flag at 100 %, so it can be rolled back to a percentage; a default-off flag at 0 %). Existing
    flags are left as staff set them. Returns the names created; the table is invalidated on commit."""
    existing = set(Flag.objects.filter(name__in=FLAGS).values_list("name", flat=True))
    created = []
    for name, spec in FLAGS.items():
        if name not in existing:
            Flag.objects.create(name=name, percent=100 if spec.default else 0, note=spec.note)
            created.append(name)
    return created


@transaction.atomic
def rollout_save(record) -> None:
    """Save a flag, switch or sample as staff set it (admin form or action), validated like the
    form; the flag table is invalidated on commit (`signals.py`), so every process sees it within
    CACHE_TAG_MEMO_SECONDS."""
    record.full_clean(validate_unique=False)
    record.save()


@transaction.atomic
def rollout_delete(record) -> None:
    """Delete a flag, switch or sample: a declared flag then falls back to its registry default."""
    record.delete()

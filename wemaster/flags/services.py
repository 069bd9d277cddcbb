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

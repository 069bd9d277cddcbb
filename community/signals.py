"""Cache invalidation the community owes to changes made elsewhere (a decoupled concern: signals).

Cached post and comment pages show their authors' display names; a rename made through the
accounts app (PATCH /api/v1/me, admin) must reach them on commit, not when their TTL ends.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from community import cache_tags
from wemaster.core.cache import invalidate_tags


@receiver(post_save, sender=get_user_model(), dispatch_uid="community.author_renamed")
def author_renamed(sender, instance, created, update_fields=None, **kwargs):
    """A save that may change the display name invalidates the pages that show authors. No query
    here (a save must not cost reads): saves naming other fields (last_login, password) skip it."""
    if created or (update_fields is not None and "display_name" not in update_fields):
        return
    invalidate_tags(cache_tags.AUTHORS, cache_tags.author(instance.pk))

"""Cache invalidation the community owes to changes made elsewhere (a decoupled concern: signals).

Cached post and comment pages show their authors' display names; a rename made through the
accounts app (PATCH /api/v1/me, admin) must reach them on commit, not when their TTL ends.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from community import cache_tags
from community.models import Comment, Post
from wemaster.core.cache import invalidate_tags


def _shows_on_community_pages(user_id: int) -> bool:
    return (
        Post.objects.filter(author_id=user_id, is_hidden=False, deleted_at__isnull=True).exists()
        or Comment.objects.filter(author_id=user_id, is_hidden=False, deleted_at__isnull=True).exists()
    )


@receiver(post_save, sender=get_user_model(), dispatch_uid="community.author_renamed")
def author_renamed(sender, instance, created, update_fields=None, **kwargs):
    """A saved display name invalidates the pages that show authors, if this user appears on any:
    someone with no visible post or comment renames without emptying the community's caches."""
    if created or (update_fields is not None and "display_name" not in update_fields):
        return
    if _shows_on_community_pages(instance.pk):
        invalidate_tags(cache_tags.AUTHORS, cache_tags.author(instance.pk))

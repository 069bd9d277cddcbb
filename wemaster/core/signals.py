"""Decoupled consequences of account rows changing (signals, so every writer is covered: services,
admin, the shell): the cached token identities are dropped, and a save that takes a user's access
away (deactivation, a role change) closes the user's open sockets (`revocation`)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from knox.models import get_token_model

from wemaster.core.authentication import invalidate_user_tokens, token_tag
from wemaster.core.cache import invalidate_tags
from wemaster.core.revocation import revoke_sessions

User = get_user_model()
ACCESS_FIELDS = frozenset({"is_active", "role"})


@receiver(pre_save, sender=User, dispatch_uid="core.auth.user_saving")
def user_saving(sender, instance, update_fields=None, **kwargs):
    """Remember the access the user had, for `user_saved` to compare (one query, only for saves
    that may change it)."""
    if instance._state.adding or (update_fields is not None and not ACCESS_FIELDS & set(update_fields)):
        return
    instance._access_before = sender.objects.filter(pk=instance.pk).values_list("is_active", "role").first()


@receiver(post_save, sender=User, dispatch_uid="core.auth.user_saved")
def user_saved(sender, instance, created, **kwargs):
    if created:
        return
    invalidate_user_tokens(instance.pk)
    before = instance.__dict__.pop("_access_before", None)
    if before is not None and ((before[0] and not instance.is_active) or before[1] != instance.role):
        revoke_sessions(instance.pk)


@receiver(post_save, sender=get_token_model(), dispatch_uid="core.auth.token_saved")
def token_saved(sender, instance, created, **kwargs):
    if not created:  # nothing is cached under a new token's digest
        invalidate_tags(token_tag(instance.digest))


@receiver(post_delete, sender=get_token_model(), dispatch_uid="core.auth.token_deleted")
def token_deleted(sender, instance, **kwargs):
    invalidate_tags(token_tag(instance.digest))

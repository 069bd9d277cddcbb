"""Cache invalidation for the cached token authentication (a decoupled concern: signals)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from wemaster.core.authentication import invalidate_user_tokens, token_tag
from wemaster.core.cache import invalidate_tags


@receiver(post_save, sender=get_user_model(), dispatch_uid="core.auth.user_saved")
def user_saved(sender, instance, created, **kwargs):
    if not created:
        invalidate_user_tokens(instance.pk)


@receiver([post_save, post_delete], sender=Token, dispatch_uid="core.auth.token_changed")
def token_changed(sender, instance, **kwargs):
    invalidate_tags(token_tag(instance.key))

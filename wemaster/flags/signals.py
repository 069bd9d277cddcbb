"""The flag table and users' groups are invalidated on commit of any change, whoever makes it
(admin, waffle's management commands, a shell): signals, because waffle's own code saves them."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from waffle import get_waffle_sample_model, get_waffle_switch_model

from wemaster.core.cache import invalidate_tags
from wemaster.flags.models import Flag
from wemaster.flags.selectors import FLAGS_TAG, user_groups_tag

_TABLE_MODELS = (Flag, get_waffle_switch_model(), get_waffle_sample_model(), Group)


def _table_changed(sender, **kwargs):
    invalidate_tags(FLAGS_TAG)


for _model in _TABLE_MODELS:
    post_save.connect(_table_changed, sender=_model, dispatch_uid=f"flags.table.save.{_model._meta.label}")
    post_delete.connect(_table_changed, sender=_model, dispatch_uid=f"flags.table.delete.{_model._meta.label}")


@receiver(m2m_changed, sender=Flag.users.through, dispatch_uid="flags.table.users")
@receiver(m2m_changed, sender=Flag.groups.through, dispatch_uid="flags.table.groups")
def _overrides_changed(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        invalidate_tags(FLAGS_TAG)


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="flags.user_groups")
def _user_groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:  # a user's groups changed
        user_ids = [instance.pk]
    elif action == "pre_clear":  # a group is emptied
        user_ids = list(instance.user_set.values_list("pk", flat=True))
    else:
        user_ids = list(pk_set)
    invalidate_tags(*(user_groups_tag(user_id) for user_id in user_ids))

"""django-cachalot caches read-mostly tables only, and a write is seen by the next read."""

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session

from tests.accounts.factories import StudentFactory
from wemaster.accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)

MONEY_AND_CHAT_APPS = {"ledger", "wallet", "earnings", "messaging", "lessons"}


def test_read_after_write_on_a_cached_table(django_assert_num_queries):
    user = StudentFactory(display_name="Before")
    assert User.objects.get(pk=user.pk).display_name == "Before"
    with django_assert_num_queries(0):  # served by cachalot
        assert User.objects.get(pk=user.pk).display_name == "Before"
    User.objects.filter(pk=user.pk).update(display_name="After")
    with django_assert_num_queries(1):
        assert User.objects.get(pk=user.pk).display_name == "After"


@pytest.mark.parametrize("model", [Group, Session])
def test_tables_not_listed_are_never_served_from_cache(model, django_assert_num_queries):
    for _ in range(2):
        with django_assert_num_queries(1):
            list(model.objects.all())


def test_only_read_mostly_tables_are_cachable():
    cachable = django_settings.CACHALOT_ONLY_CACHABLE_TABLES
    assert django_settings.CACHALOT_TIMEOUT > 0
    for model in apps.get_models():
        if model._meta.app_label in MONEY_AND_CHAT_APPS or "idempoten" in model._meta.db_table:
            assert model._meta.db_table not in cachable
    assert cachable <= {t for m in apps.get_models() for t in (m._meta.db_table,)} | {
        f.m2m_db_table() for m in apps.get_models() for f in m._meta.local_many_to_many
    }

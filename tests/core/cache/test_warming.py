import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from tests.accounts.factories import TutorFactory
from wemaster.accounts.services import subjects_resolve
from wemaster.core.cache.warming import discover_warmers
from wemaster.core.tasks import warm_cache

pytestmark = pytest.mark.django_db


def test_warmers_are_discovered_from_installed_apps():
    assert "tutor_directory" in discover_warmers()


def test_warm_cache_command_fills_the_directory(api_client, capsys, django_assert_num_queries, settings):
    settings.CACHALOT_ENABLED = False
    tutor = TutorFactory()
    tutor.tutor_profile.subjects.set(subjects_resolve(["algebra"]))
    call_command("warm_cache", "--only", "tutor_directory")
    assert "tutor_directory: 2 entries" in capsys.readouterr().out
    with django_assert_num_queries(0):
        assert api_client.get("/api/v1/tutors").json()["results"][0]["id"] == tutor.id
        assert api_client.get("/api/v1/tutors", {"subject": "algebra"}).json()["results"][0]["id"] == tutor.id


def test_unknown_family_is_an_error():
    with pytest.raises(CommandError, match="nope"):
        call_command("warm_cache", "--only", "tutor_directory,nope")


def test_beat_schedule_runs_the_warming_task():
    entry = django_settings.CELERY_BEAT_SCHEDULE["warm-cache"]
    assert entry["task"] == warm_cache.name
    assert entry["schedule"] == django_settings.CACHE_WARM_INTERVAL_SECONDS
    warmed = warm_cache.delay().get()
    assert set(warmed) == set(discover_warmers())
    assert warmed["tutor_directory"] == 1

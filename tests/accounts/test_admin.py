"""Staff edit accounts in the admin: a tutor always gets a profile, profile edits go through the
service the API uses (catalog subjects, languages, the directory's cache), catalog edits too."""

import pytest

from tests.accounts.factories import StaffFactory, StudentFactory, TutorFactory
from wemaster.accounts.models import Role, Subject, TutorProfile, User
from wemaster.accounts.services import subjects_resolve

pytestmark = pytest.mark.django_db

TUTORS = "/api/v1/tutors"


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def _post_value(value):
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return "" if value is None else str(value)


def change_form_data(response) -> dict:
    """The change form as the page renders it (main form and inlines), ready to post back."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
        forms += inline.formset.forms
    for form in forms:
        for bound in form:
            if bound.field.disabled:
                continue
            value = bound.value()
            if value is False:
                continue  # an unchecked checkbox is absent from a real post
            data[bound.html_name] = "on" if value is True else _post_value(value)
    return data


def test_a_tutor_added_in_admin_gets_a_profile(staff_client):
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "added@example.test",
            "display_name": "Added",
            "role": Role.TUTOR,
            "password1": "Correct-horse-99",
            "password2": "Correct-horse-99",
        },
    )
    assert response.status_code == 302, response.content
    user = User.objects.get(email="added@example.test")
    assert TutorProfile.objects.filter(pk=user.pk, hourly_rate=0).exists()


def test_a_student_made_tutor_in_admin_gets_a_profile(staff_client):
    student = StudentFactory()
    data = change_form_data(staff_client.get(f"/admin/accounts/user/{student.pk}/change/"))
    data["role"] = Role.TUTOR
    assert staff_client.post(f"/admin/accounts/user/{student.pk}/change/", data).status_code == 302
    assert TutorProfile.objects.filter(pk=student.pk).exists()


def test_profile_edits_in_admin_go_through_the_service_and_show_at_once(
    staff_client, api_client, django_capture_on_commit_callbacks
):
    algebra, _ = subjects_resolve(["algebra", "physics"])
    tutor = TutorFactory(display_name="Before", profile__subjects=["physics"])
    assert api_client.get(TUTORS).json()["results"][0]["hourly_rate"] == "40.00"  # cached from here on
    url = f"/admin/accounts/user/{tutor.pk}/change/"
    data = change_form_data(staff_client.get(url))
    assert data["tutor_profile-0-hourly_rate"] == "40.00"
    data.update(
        {
            "display_name": "After",
            "tutor_profile-0-hourly_rate": "55.50",
            "tutor_profile-0-subjects": [str(algebra.pk)],
            "tutor_profile-0-headline": "Edited by staff",
            "tutor_profile-0-timezone": "Europe/Berlin",
            "tutor_profile-0-languages": "DE, en",
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = api_client.get(TUTORS).json()["results"][0]
    assert (row["display_name"], row["hourly_rate"], row["subjects"], row["headline"]) == (
        "After",
        "55.50",
        ["algebra"],
        "Edited by staff",
    )
    detail = api_client.get(f"{TUTORS}/{tutor.pk}").json()
    assert (detail["languages"], detail["timezone"]) == (["de", "en"], "Europe/Berlin")


@pytest.mark.parametrize(
    "field, value",
    [
        ("tutor_profile-0-hourly_rate", "0.50"),
        ("tutor_profile-0-hourly_rate", "1000.01"),
        ("tutor_profile-0-timezone", "Mars/Olympus_Mons"),
        ("tutor_profile-0-languages", "en, klingon"),
    ],
)
def test_admin_refuses_what_the_api_refuses(staff_client, field, value):
    tutor = TutorFactory()
    url = f"/admin/accounts/user/{tutor.pk}/change/"
    data = change_form_data(staff_client.get(url))
    data[field] = value
    response = staff_client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert response.context["inline_admin_formsets"][0].formset.errors[0]
    assert TutorProfile.objects.get(pk=tutor.pk).hourly_rate == 4_000


def test_catalog_edits_in_admin_reach_the_directory_at_once(
    staff_client, api_client, django_capture_on_commit_callbacks
):
    assert api_client.get(TUTORS, {"subject": "geology"}).status_code == 400  # the catalog is cached now
    assert api_client.get("/api/v1/subjects").json()["results"] == []
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post("/admin/accounts/subject/add/", {"name": " Geology "})
    assert response.status_code == 302
    assert Subject.objects.filter(name="geology").exists()
    assert api_client.get(TUTORS, {"subject": "geology"}).status_code == 200
    assert [row["name"] for row in api_client.get("/api/v1/subjects").json()["results"]] == ["geology"]
    duplicate = staff_client.post("/admin/accounts/subject/add/", {"name": "GEOLOGY"})
    assert duplicate.status_code == 200 and Subject.objects.filter(name__iexact="geology").count() == 1

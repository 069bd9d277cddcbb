"""GET/PUT /api/v1/me/availability: the tutor's whole set, replaced at once."""

import pytest

from tests.accounts.factories import StudentFactory, TutorFactory
from wemaster.scheduling.models import AvailabilityException, AvailabilityWindow

URL = "/api/v1/me/availability"
WEEK = {
    "windows": [
        {"weekday": "monday", "start": "09:00", "end": "12:00"},
        {"weekday": "monday", "start": "14:00", "end": "18:30"},
        {"weekday": "sunday", "start": "20:00", "end": "24:00"},
    ],
    "exceptions": [
        {"date": "2027-03-29", "kind": "unavailable"},
        {"date": "2027-03-30", "kind": "available", "start": "07:00", "end": "08:00"},
        {"date": "2027-04-05", "kind": "unavailable", "start": "09:00", "end": "10:00"},
    ],
}


def errors(response, field):
    assert response.status_code == 400, response.content
    return response.json()["fields"][field]


@pytest.mark.django_db
def test_put_replaces_the_whole_set_and_get_returns_it(client_for):
    tutor = TutorFactory()
    assert AvailabilityWindow.objects.filter(tutor=tutor).count() == 7  # the factory's open week
    client = client_for(tutor)
    put = client.put(URL, WEEK, format="json")
    assert put.status_code == 200, put.content
    expected_exceptions = [
        {"date": "2027-03-29", "kind": "unavailable", "start": None, "end": None},
        {"date": "2027-03-30", "kind": "available", "start": "07:00", "end": "08:00"},
        {"date": "2027-04-05", "kind": "unavailable", "start": "09:00", "end": "10:00"},
    ]
    expected = {"timezone": "UTC", "windows": WEEK["windows"], "exceptions": expected_exceptions}
    assert put.json() == expected
    assert client.get(URL).json() == expected
    assert AvailabilityWindow.objects.filter(tutor=tutor).count() == 3
    assert client.put(URL, {"windows": [], "exceptions": []}, format="json").json()["windows"] == []
    assert not AvailabilityWindow.objects.filter(tutor=tutor).exists()
    assert not AvailabilityException.objects.filter(tutor=tutor).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "window, message",
    [
        ({"weekday": "monday", "start": "12:00", "end": "09:00"}, "the end must be after the start"),
        ({"weekday": "monday", "start": "09:15", "end": "10:00"}, "30-minute grid"),
    ],
)
def test_windows_must_end_after_they_start_on_the_grid(client_for, window, message):
    tutor = TutorFactory()
    response = client_for(tutor).put(URL, {"windows": [window], "exceptions": []}, format="json")
    assert message in errors(response, "windows")[0]
    assert AvailabilityWindow.objects.filter(tutor=tutor).count() == 7  # nothing replaced


@pytest.mark.django_db
def test_overlapping_windows_of_a_weekday_are_refused_touching_ones_accepted(client_for):
    client = client_for(TutorFactory())
    overlapping = [
        {"weekday": "friday", "start": "09:00", "end": "12:00"},
        {"weekday": "friday", "start": "11:30", "end": "13:00"},
    ]
    response = client.put(URL, {"windows": overlapping, "exceptions": []}, format="json")
    assert errors(response, "windows") == ["Windows overlap on Friday: 09:00-12:00 and 11:30-13:00."]
    touching = [overlapping[0], {"weekday": "friday", "start": "12:00", "end": "13:00"}]
    assert client.put(URL, {"windows": touching, "exceptions": []}, format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"windows": [{"weekday": "monday", "start": "25:00", "end": "26:00"}], "exceptions": []}, "windows"),
        ({"windows": [{"weekday": "monday", "start": "9:00", "end": "10:00"}], "exceptions": []}, "windows"),
        ({"windows": [{"weekday": "funday", "start": "09:00", "end": "10:00"}], "exceptions": []}, "windows"),
        ({"windows": [{"weekday": "monday", "start": "23:30", "end": "24:30"}], "exceptions": []}, "windows"),
        ({"windows": [], "exceptions": [{"date": "2027-01-01", "kind": "available"}]}, "exceptions"),
        (
            {"windows": [], "exceptions": [{"date": "2027-01-01", "kind": "unavailable", "start": "09:00"}]},
            "exceptions",
        ),
        ({"windows": [], "exceptions": [{"date": "2027-02-30", "kind": "unavailable"}]}, "exceptions"),
        ({"windows": []}, "exceptions"),
    ],
)
def test_malformed_sets_are_400_naming_the_field(client_for, body, field):
    response = client_for(TutorFactory()).put(URL, body, format="json")
    assert response.json()["code"] == "validation_error"
    assert errors(response, field)


@pytest.mark.django_db
def test_limits_on_windows_and_exceptions(client_for, settings):
    client = client_for(TutorFactory())
    settings.AVAILABILITY_MAX_WINDOWS, settings.AVAILABILITY_MAX_EXCEPTIONS = 2, 1
    windows = [{"weekday": day, "start": "09:00", "end": "10:00"} for day in ("monday", "tuesday", "friday")]
    assert errors(client.put(URL, {"windows": windows, "exceptions": []}, format="json"), "windows") == [
        "At most 2 windows."
    ]
    days_off = [{"date": f"2027-01-0{day}", "kind": "unavailable"} for day in (1, 2)]
    assert errors(client.put(URL, {"windows": [], "exceptions": days_off}, format="json"), "exceptions") == [
        "At most 1 exceptions."
    ]
    assert client.put(URL, {"windows": windows[:2], "exceptions": days_off[:1]}, format="json").status_code == 200


@pytest.mark.django_db
def test_unknown_fields_and_the_zone_are_refused(client_for):
    client = client_for(TutorFactory())
    response = client.put(URL, {**WEEK, "timezone": "Europe/Berlin"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_field")
    window = {"weekday": "monday", "start": "09:00", "end": "10:00", "every": "week"}
    response = client.put(URL, {"windows": [window], "exceptions": []}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_field")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put"])
def test_students_and_staff_get_403(client_for, method):
    for user in (StudentFactory(), StudentFactory(is_staff=True)):
        response = getattr(client_for(user), method)(URL, WEEK, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not AvailabilityWindow.objects.exists()

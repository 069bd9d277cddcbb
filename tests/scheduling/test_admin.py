from datetime import date

import pytest

from tests.accounts.factories import StudentFactory
from tests.lessons.factories import tutor_teaching
from tests.scheduling.factories import set_availability


@pytest.mark.django_db
def test_staff_read_availability_in_the_admin_and_change_nothing_there(client):
    tutor = tutor_teaching()
    set_availability(
        tutor, windows=[(2, "09:30", "12:00")], exceptions=[(date(2027, 3, 29), "available", "18:00", "24:00")]
    )
    client.force_login(StudentFactory(is_staff=True, is_superuser=True))
    windows = client.get("/admin/scheduling/availabilitywindow/")
    assert windows.status_code == 200
    assert all(text in windows.content.decode() for text in ("Wednesday", "09:30", "12:00", tutor.email))
    exceptions = client.get("/admin/scheduling/availabilityexception/").content.decode()
    assert all(text in exceptions for text in ("March 29, 2027", "18:00", "24:00"))
    for model in ("availabilitywindow", "availabilityexception"):
        assert client.get(f"/admin/scheduling/{model}/add/").status_code == 403

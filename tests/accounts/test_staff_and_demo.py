"""Staff are a role of their own (no wallet, no earnings); the demo seed shows onboarding."""

import pytest
from django.core.management import call_command

from tests.accounts.factories import StaffFactory
from wallet.models import Wallet
from wemaster.accounts.models import Role, TutorProfile, User
from wemaster.accounts.seed import DEMO_DOMAIN, DEMO_TUTORS, ONBOARDING_TUTOR, demo_email
from wemaster.core.models import ReconcileRun
from wemaster.ledger.models import Account
from wemaster.ledger.reconcile import find_discrepancies

pytestmark = pytest.mark.django_db


def test_staff_have_no_wallet_and_wallet_routes_refuse_them(client_for):
    staff = StaffFactory()
    client = client_for(staff)
    for path in ("/api/v1/wallet", "/api/v1/wallet/payment-methods", "/api/v1/wallet/top-ups"):
        response = client.get(path)
        assert (response.status_code, response.json()["code"]) == (403, "not_a_student"), path
    assert client.get("/api/v1/earnings/overview").status_code == 403
    assert client.get("/api/v1/me").json()["role"] == "staff"
    assert not Wallet.objects.exists() and not Account.objects.filter(owner=staff).exists()


def test_nobody_registers_as_staff(api_client):
    response = api_client.post(
        "/api/v1/auth/register",
        {"email": "boss@example.test", "password": "Correct-horse-99", "role": "staff", "display_name": "Boss"},
        format="json",
    )
    assert response.status_code == 400 and "role" in response.json()["fields"]
    assert not User.objects.exists()


def test_seed_demo_makes_a_staff_member_without_a_wallet_and_tutors_with_full_profiles(api_client, capsys):
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    staff = User.objects.get(email=f"admin@{DEMO_DOMAIN}")
    assert (staff.role, staff.is_staff) == (Role.STAFF, True)
    assert not Wallet.objects.filter(student=staff).exists()
    assert not Account.objects.filter(owner=staff).exists()
    assert find_discrepancies() == []
    # The staff operations page has a last reconcile to show.
    assert ReconcileRun.objects.order_by("-ran_at").first().problems == []

    listed = {row["id"]: row for row in api_client.get("/api/v1/tutors").json()["results"]}
    for index, demo in enumerate(DEMO_TUTORS, start=1):
        tutor = User.objects.get(email=demo_email("tutor", index))
        detail = api_client.get(f"/api/v1/tutors/{tutor.id}").json()
        assert (detail["headline"], detail["timezone"], detail["languages"]) == (
            demo.headline,
            demo.timezone,
            list(demo.languages),
        )
        assert listed[tutor.id]["subjects"] == sorted(demo.subjects)
    onboarding = User.objects.get(email=f"new-tutor@{DEMO_DOMAIN}")
    assert TutorProfile.objects.get(pk=onboarding.pk).hourly_rate == 0 and ONBOARDING_TUTOR.hourly_rate == 0
    assert onboarding.id not in listed
    assert api_client.get(f"/api/v1/tutors/{onboarding.id}").status_code == 404
    counts = {row["name"]: row["tutor_count"] for row in api_client.get("/api/v1/subjects").json()["results"]}
    assert counts["programming"] == 1 and counts["history"] == 0  # the onboarding tutor is not counted
    assert f"new-tutor@{DEMO_DOMAIN}" in capsys.readouterr().out

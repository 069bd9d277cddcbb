"""Admin for staff across every app: money is shown, never editable; every page renders."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from earnings import services as earnings
from tests.accounts.factories import StudentFactory
from tests.earnings.conftest import fund_available
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, tutor_teaching
from wemaster.accounts.models import User
from wemaster.lessons import services as lessons

MONEY_APPS = {"ledger", "wallet", "earnings", "lessons", "core"}
# Stored minor units that only services may change (balances, amounts moved, prices, splits).
MONEY_FIELDS = {
    "balance",
    "held",
    "amount",
    "balance_after",
    "price",
    "commission",
    "cancellation_fee",
    "gross",
    "net",
    "commission_returned",
    "tutor_recovered",
    "platform_covered",
}


def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User(email="root@example.test", is_staff=True, is_superuser=True, is_active=True)
    return request


def money_admins():
    """(label, model, admin) for every registered ModelAdmin and inline of a money model."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in MONEY_APPS:
            yield model._meta.label, model, model_admin
        for inline in model_admin.get_inline_instances(superuser_request(), None):
            if inline.model._meta.app_label in MONEY_APPS:
                yield f"{model._meta.label} inline {inline.model._meta.label}", inline.model, inline


def money_fields(model) -> list[str]:
    return [field.name for field in model._meta.concrete_fields if field.name in MONEY_FIELDS]


MONEY_ADMINS = [pytest.param(model, model_admin, id=label) for label, model, model_admin in money_admins()]


def test_the_walk_covers_the_money_models():
    labels = {model._meta.label for model, _ in (param.values for param in MONEY_ADMINS)}
    assert {"lessons.Lesson", "lessons.RefundRequest", "earnings.Earning", "earnings.Withdrawal"} <= labels
    assert {"ledger.Account", "ledger.Entry", "ledger.Hold", "wallet.TopUp"} <= labels


@pytest.mark.parametrize(("model", "model_admin"), MONEY_ADMINS)
def test_no_money_field_is_editable_and_money_records_are_not_added_or_deleted_by_hand(model, model_admin):
    request = superuser_request()
    fields = money_fields(model)
    if not fields:
        return
    if isinstance(model_admin, admin.options.InlineModelAdmin):
        assert not model_admin.has_add_permission(request, None)
    else:
        assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, None)
    if model_admin.has_change_permission(request, None):
        readonly = set(model_admin.get_readonly_fields(request, None))
        editable = {name for name in model_admin.get_fields(request, None) if name not in readonly and name in fields}
        assert editable == set(), f"{model._meta.label}: {editable} editable in the admin"


@pytest.fixture
def money_records(db):
    student = StudentFactory()
    tutor = tutor_teaching(hourly_rate=4_050)
    funded_wallet(student, 10_000)
    lesson = completed_lesson(student=student, tutor=tutor)
    lessons.refund_request_create(student=student, lesson_id=lesson.pk, reason="no show")
    fund_available(tutor, 5_000)
    method = earnings.payout_method_add(tutor=tutor, token="btok_ok")
    earnings.withdrawal_request(tutor=tutor, amount=2_500, payout_method_id=method.pk)
    return lesson


@pytest.mark.django_db
def test_every_admin_page_renders_for_staff_with_money_in_currency_format(client, money_records):
    staff = StudentFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        changelist = client.get(f"/admin/{info[0]}/{info[1]}/")
        assert changelist.status_code == 200, info
        first = model.objects.order_by("pk").first()
        if first is not None:
            assert client.get(f"/admin/{info[0]}/{info[1]}/{first.pk}/change/").status_code == 200, info
    lessons_page = client.get("/admin/lessons/lesson/").content.decode()
    assert "40.50 USD" in lessons_page
    assert "25.00 USD" in client.get("/admin/earnings/withdrawal/").content.decode()

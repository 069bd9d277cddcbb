"""The staff admin across every app: every page renders, nothing is editable unless a service
saves it, money reads "12.50 USD" on list and detail pages, and the operations page shows what
waits for staff in a constant number of queries."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from waffle.models import Sample, Switch

from community import services as community
from earnings import services as earnings
from earnings.models import Withdrawal, WithdrawalStatus
from messaging import services as messaging
from tests.accounts.factories import StaffFactory, StudentFactory, token_for
from tests.earnings.conftest import fund_available
from tests.lessons.factories import completed_lesson, tutor_teaching
from tests.messaging.factories import direct_conversation
from tests.wallet.factories import funded, wallet_for
from wemaster.accounts.models import DeviceToken, User
from wemaster.core.admin_base import ReadOnlyAdminMixin
from wemaster.core.money import format_minor
from wemaster.flags.services import flags_declare, rollout_save
from wemaster.ledger.models import Account, AccountKind, Entry, TransferKind
from wemaster.ledger.reconcile import find_discrepancies, reconcile_run
from wemaster.lessons import services as lessons
from wemaster.lessons.models import RefundRequest, RefundStatus
from wemaster.notifications.services import email_settings_update
from wemaster.reviews.services import review_create
from wemaster.scheduling.models import ExceptionKind
from wemaster.scheduling.services import availability_replace
from wemaster.scheduling.slots import DatedException, Window

# Stored minor units: never an editable field, never shown raw on a page.
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
    "hourly_rate",
    "auto_reload_threshold",
    "auto_reload_amount",
    "auto_reload_monthly_cap",
}

# The only form fields staff may edit, each saved by a service in the admin's save_model (or,
# for an inline, its save_formset): everything else on every page is read-only.
EDITABLE = {
    # staff_user_save / user_create; the tutor profile inline through tutor_profile_update.
    "accounts.User": {
        "email",
        "display_name",
        "role",
        "bio",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
        "hourly_rate",
        "subjects",
        "headline",
        "timezone",
        "languages",
    },
    "accounts.Subject": {"name"},  # subject_save (the catalog's cached pages)
    "auth.Group": {"name", "permissions"},  # Django's permission records: no cache or money behind them
    # flags.services.rollout_save: a rollout is edited by hand, the flag table invalidated on commit.
    "flags.Flag": {
        "name", "everyone", "percent", "testing", "superusers", "staff", "authenticated",
        "languages", "groups", "users", "rollout", "note",
    },  # fmt: skip
    "waffle.Switch": {"name", "active", "note"},
    "waffle.Sample": {"name", "percent", "note"},
}
ROLLOUTS = {"flags.Flag", "waffle.Switch", "waffle.Sample"}
PLAIN_ROWS = {"auth.Group"}  # saved by Django itself, on purpose (see EDITABLE)
ADDABLE = {"accounts.User", "accounts.Subject", "auth.Group", *ROLLOUTS}
DELETABLE = {"accounts.Subject", "auth.Group", *ROLLOUTS}

REGISTERED = [
    pytest.param(model, model_admin, id=model._meta.label) for model, model_admin in admin.site._registry.items()
]
_FIELD = re.compile(r"<(input|select|textarea)\b([^>]*)>")
_ATTRIBUTE = re.compile(r'(?:^|\s)(name|type)="([^"]*)"')
_FORMSET_MANAGEMENT = re.compile(r"-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$")


def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User(email="root@example.test", is_staff=True, is_superuser=True, is_active=True)
    return request


def editable_fields(html: str) -> set[str]:
    """The field names a staff member could post back from a rendered change form: every input,
    select and textarea but hidden ones (keys, formset management), buttons and the CSRF token;
    an inline's "prefix-0-name" counts as "name"."""
    names = set()
    for _, attributes in _FIELD.findall(html):
        attrs = dict(_ATTRIBUTE.findall(attributes))
        name = attrs.get("name", "")
        if not name or attrs.get("type") in {"hidden", "submit"} or name == "csrfmiddlewaretoken":
            continue
        if name in {"action", "select_across", "_selected_action", "index"} or _FORMSET_MANAGEMENT.search(name):
            continue
        names.add(name.rsplit("-", 1)[-1])
    return names


def make_records(*, tutor_name: str = "Ana Tutor", group: str = "Moderators") -> dict:
    """At least one row of every registered model, made the way the platform makes them."""
    student = StudentFactory(display_name="Sam Student")
    tutor = tutor_teaching(hourly_rate=4_050)
    tutor.display_name = tutor_name
    tutor.save(update_fields=["display_name"])
    wallet = wallet_for(student)
    funded(wallet, 10_000)
    lesson = completed_lesson(student=student, tutor=tutor)
    lessons.refund_request_create(student=student, lesson_id=lesson.pk, reason="no show")
    fund_available(tutor, 5_000)
    method = earnings.payout_method_add(tutor=tutor, token="btok_ok")
    withdrawal = earnings.withdrawal_request(tutor=tutor, amount=2_500, payout_method_id=method.pk)
    post = community.post_create(author=student, title="Fractions?", body="How?", tags=["algebra"])
    answer = community.comment_create(post_id=post.pk, author=tutor, body="Like this.")
    community.comment_create(post_id=post.pk, author=student, body="Thanks!", parent_id=answer.pk)
    community.follow_create(follower=student, user_id=tutor.pk)
    community.report_create(reporter=tutor, reason="spam", post_id=post.pk)
    community.report_create(reporter=student, reason="rude", comment_id=answer.pk)
    chat = direct_conversation(student, tutor)
    messaging.message_send(sender=student, conversation_id=chat.pk, body="Hello")
    token_for(student)
    Group.objects.create(name=group)
    reconcile_run()
    availability_replace(
        tutor=tutor,
        windows=[Window(0, 9 * 60, 12 * 60)],
        exceptions=[DatedException(timezone.localdate() + timedelta(days=3), ExceptionKind.UNAVAILABLE, None, None)],
    )
    email_settings_update(user_id=tutor.pk, email={"lesson_booked": False})
    review_create(student=student, lesson_id=lesson.pk, rating=4, text="Clear and patient.")
    flags_declare()
    rollout_save(Switch(name=f"maintenance-banner-{group}", active=False))
    rollout_save(Sample(name=f"trace-requests-{group}", percent=1))
    return {"student": student, "tutor": tutor, "lesson": lesson, "withdrawal": withdrawal, "wallet": wallet}


@pytest.fixture
def every_record(db):
    return make_records()


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_every_admin_and_inline_is_built_on_the_staff_base():
    request = superuser_request()
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, ReadOnlyAdminMixin), model._meta.label
        for inline in model_admin.get_inline_instances(request, None):
            label = f"{model._meta.label} inline {inline.model._meta.label}"
            assert isinstance(inline, ReadOnlyAdminMixin), label


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED)
def test_nothing_is_added_or_deleted_by_hand_and_editing_goes_through_a_service(model, model_admin):
    request, label = superuser_request(), model._meta.label
    assert model_admin.has_add_permission(request) == (label in ADDABLE), label
    assert model_admin.has_delete_permission(request, None) == (label in DELETABLE), label
    # Methods Django's ModelAdmin does not define as such: the admin's own (or a shared base's).
    overrides = {
        name
        for name in ("save_model", "delete_model", "delete_queryset")
        if getattr(type(model_admin), name) is not getattr(admin.ModelAdmin, name)
    }
    if label in EDITABLE and label not in PLAIN_ROWS:
        assert "save_model" in overrides, f"{label}: editable fields, but no service saves them"
    if label in DELETABLE and label not in PLAIN_ROWS:
        assert {"delete_model", "delete_queryset"} <= set(overrides), label
    if model_admin.has_change_permission(request, None):
        assert label in EDITABLE, f"{label}: its form is editable"
    money = {field.name for field in model._meta.concrete_fields if field.name in MONEY_FIELDS}
    assert money.isdisjoint(model_admin.get_fields(request, None)), f"{label}: raw cents on its page"


@pytest.mark.django_db
def test_every_page_renders_read_only_with_money_in_currency_format(staff_client, every_record):
    objects = {User: every_record["tutor"]}  # a tutor: the page with the profile inline
    for model in admin.site._registry:
        label, info = model._meta.label, (model._meta.app_label, model._meta.model_name)
        changelist = staff_client.get(f"/admin/{info[0]}/{info[1]}/")
        assert changelist.status_code == 200, label
        obj = objects.get(model) or model.objects.order_by("pk").first()
        assert obj is not None, f"{label}: the fixture made no row"
        page = staff_client.get(f"/admin/{info[0]}/{info[1]}/{obj.pk}/change/")
        assert page.status_code == 200, label
        html = page.content.decode()
        editable = editable_fields(html)
        assert editable <= EDITABLE.get(label, set()), f"{label}: {editable - EDITABLE.get(label, set())} editable"
        if label not in EDITABLE:
            assert 'name="_save"' not in html and "Close" in html, f"{label}: a Save button on a read-only page"
        for field in model._meta.concrete_fields:
            value = getattr(obj, field.name)
            if field.name in MONEY_FIELDS and label != "accounts.User" and value is not None:
                assert format_minor(value) in html, f"{label}.{field.name} not shown as money"
                if abs(value) >= 100:
                    assert f'<div class="readonly">{value}</div>' not in html, f"{label}.{field.name} in raw cents"
        if model is User:
            assert obj.password not in html, "the password hash on the user's page"
    assert "40.50 USD" in staff_client.get("/admin/lessons/lesson/").content.decode()
    assert "25.00 USD" in staff_client.get("/admin/earnings/withdrawal/").content.decode()


def changelist_queries(client) -> dict[str, int]:
    """Queries of each changelist, rendered after the home page (which caches the staff member
    the same way in every round)."""
    client.get("/admin/")
    counts = {}
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts[model._meta.label] = len(queries)
    return counts


@pytest.mark.django_db
def test_every_changelist_costs_the_same_queries_whatever_the_number_of_rows(staff_client):
    make_records()
    one = changelist_queries(staff_client)
    make_records(tutor_name="Ben Tutor", group="Support")
    assert changelist_queries(staff_client) == one


@pytest.mark.django_db
def test_detail_pages_name_the_people_and_the_amount(staff_client, every_record):
    withdrawal = every_record["withdrawal"]
    page = staff_client.get(f"/admin/earnings/withdrawal/{withdrawal.pk}/change/").content.decode()
    assert escape(f"Withdrawal #{withdrawal.pk} — Ana Tutor — 25.00 USD (requested)") in page
    assert '<div class="readonly">2500</div>' not in page and "25.00 USD" in page
    wallet = every_record["wallet"]
    page = staff_client.get(f"/admin/wallet/wallet/{wallet.pk}/change/").content.decode()
    assert "Wallet of Sam Student" in page
    assert f"{format_minor(Account.objects.get(pk=wallet.account_id).balance)} USD" in page


@pytest.mark.django_db
def test_the_site_is_branded_links_the_api_docs_and_names_plurals_right(staff_client):
    index = staff_client.get("/admin/").content.decode()
    assert "WeMaster staff" in index and "Django administration" not in index
    assert 'href="/api/docs/"' in index
    assert "Entries" in index and "Entrys" not in index
    assert 'href="/admin/operations/"' in index
    assert Entry._meta.verbose_name_plural == "entries"


# --- the operations page ---------------------------------------------------------------------------


def failed_payout(tutor, django_capture_on_commit_callbacks) -> Withdrawal:
    method = earnings.payout_method_add(tutor=tutor, token="btok_fail")
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = earnings.withdrawal_request(tutor=tutor, amount=2_000, payout_method_id=method.pk)
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.FAILED
    return withdrawal


def stuck_payout(tutor) -> Withdrawal:
    """A payout requested two hours ago whose task never ran (a lost broker message)."""
    method = earnings.payout_method_add(tutor=tutor, token="btok_ok")
    withdrawal = earnings.withdrawal_request(tutor=tutor, amount=3_000, payout_method_id=method.pk)
    Withdrawal.objects.filter(pk=withdrawal.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    return withdrawal


def pending_refund():
    student, tutor = StudentFactory(), tutor_teaching()
    funded(wallet_for(student), 10_000)
    lesson = completed_lesson(student=student, tutor=tutor)
    return lessons.refund_request_create(student=student, lesson_id=lesson.pk, reason="no show")


def operations_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/operations/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.django_db
def test_operations_page_shows_what_waits_for_staff_in_constant_queries(
    staff_client, django_capture_on_commit_callbacks
):
    refund = pending_refund()
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    failed = failed_payout(tutor, django_capture_on_commit_callbacks)
    reconcile_run()  # before the stuck payout, which reconcile would report
    stuck = stuck_payout(tutor)
    few, page = operations_queries(staff_client)
    assert f'href="/admin/lessons/refundrequest/{refund.pk}/change/"' in page and "40.00 USD" in page
    assert "Refund requests to decide: 1" in page
    assert "Payouts failed: 1, stuck: 1" in page
    assert f'href="/admin/earnings/withdrawal/{failed.pk}/change/"' in page
    assert f'href="/admin/earnings/withdrawal/{stuck.pk}/change/"' in page and "30.00 USD" in page
    assert "every invariant held" in page
    # A Redis cache has a breaker, closed while Redis answers; the embedded default has none.
    assert f"<strong>{'closed' if settings.REDIS_URL else 'none'}</strong>" in page
    assert "withdrawal" in page and "requested" in page  # the unresolved intent

    for _ in range(3):
        pending_refund()
        other = tutor_teaching()
        fund_available(other, 10_000)
        failed_payout(other, django_capture_on_commit_callbacks)
    many, page = operations_queries(staff_client)
    assert "Refund requests to decide: 4" in page and "Payouts failed: 4, stuck: 1" in page
    assert many == few


@pytest.mark.django_db
def test_operations_page_shows_the_last_reconcile_discrepancies(staff_client):
    reconcile_run()
    wallet = Account.objects.create(kind=AccountKind.STUDENT_WALLET, currency="USD", owner=StudentFactory())
    Account.objects.filter(pk=wallet.pk).update(balance=700)  # a balance no entry explains
    reconcile_run()
    _, page = operations_queries(staff_client)
    assert "1 discrepancies" in page and f"account {wallet.pk} balance 700" in page


@pytest.mark.django_db
def test_operations_page_is_for_staff_only(client):
    assert client.get("/admin/operations/").status_code == 302
    client.force_login(StudentFactory())
    response = client.get("/admin/operations/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- actions through the services ----------------------------------------------------------------


def refund_legs(refund: RefundRequest) -> list[tuple[str, int]]:
    """The refund transfer's legs by account kind (whose accounts differ from case to case)."""
    entries = Entry.objects.filter(transfer__kind=TransferKind.REFUND, transfer__reference=f"lesson:{refund.lesson_id}")
    return sorted(entries.values_list("account__kind", "amount"))


@pytest.mark.django_db
def test_a_refund_approved_in_the_admin_moves_the_money_exactly_like_the_api(
    staff_client, client_for, django_capture_on_commit_callbacks
):
    by_api, by_admin = pending_refund(), pending_refund()
    decider = StaffFactory()
    assert client_for(decider).post(f"/api/v1/wallet/refund-requests/{by_api.pk}/approve").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/lessons/refundrequest/", {"action": "approve", "_selected_action": [by_admin.pk]}
        )
    assert response.status_code == 302
    by_api.refresh_from_db()
    by_admin.refresh_from_db()
    assert by_admin.status == by_api.status == RefundStatus.APPROVED
    split = ("amount", "commission_returned", "tutor_recovered", "platform_covered")
    assert [getattr(by_admin, name) for name in split] == [getattr(by_api, name) for name in split]
    assert refund_legs(by_admin) == refund_legs(by_api) != []
    assert find_discrepancies() == []


NEW_PASSWORD = "Another-horse-77"


def sign_out_post(change: str, user) -> tuple[str, dict]:
    if change == "deactivate":
        return "/admin/accounts/user/", {"action": "deactivate", "_selected_action": [user.pk]}
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    return f"/admin/accounts/user/{user.pk}/password/", data


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["deactivate", "password"])
def test_deactivating_or_setting_a_password_in_the_admin_signs_the_user_out_everywhere(
    change, staff_client, client_for, django_capture_on_commit_callbacks
):
    student = StudentFactory()
    api = client_for(student)
    assert api.get("/api/v1/me").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(*sign_out_post(change, student))
    assert response.status_code == 302, response.content
    student.refresh_from_db()
    assert not DeviceToken.objects.filter(user=student).exists()
    assert api.get("/api/v1/me").status_code == 401
    if change == "deactivate":
        assert not student.is_active
    else:
        assert student.is_active and student.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_actions_need_the_change_permission_not_an_editable_form(client):
    refund = pending_refund()
    viewer = StaffFactory()
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_refundrequest"))
    client.force_login(viewer)
    assert client.get(f"/admin/lessons/refundrequest/{refund.pk}/change/").status_code == 200
    client.post("/admin/lessons/refundrequest/", {"action": "approve", "_selected_action": [refund.pk]})
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING

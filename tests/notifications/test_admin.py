import pytest
from django.contrib import admin

from tests.accounts.factories import TutorFactory
from wemaster.notifications import services
from wemaster.notifications.models import EmailOptOut, Notification, NotificationKind


@pytest.mark.django_db
def test_staff_list_notifications_read_only(admin_client, rf, admin_user):
    tutor = TutorFactory()
    services.notification_create(
        recipient_id=tutor.id, kind=NotificationKind.PAYOUT_PAID, cause_key="withdrawal:1:1", payload={}
    )
    response = admin_client.get("/admin/notifications/notification/")
    assert response.status_code == 200
    assert "withdrawal:1:1" in response.content.decode()
    request = rf.get("/admin/")
    request.user = admin_user
    for model in (Notification, EmailOptOut):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)

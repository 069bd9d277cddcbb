"""REST routes of the notifications app, mounted under /api/v1/ by wemaster/urls.py."""

from django.urls import path

from wemaster.notifications.api import views

urlpatterns = [
    path("notifications", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/unread-count", views.UnreadCountView.as_view(), name="notification-unread-count"),
    path("notifications/read", views.ReadView.as_view(), name="notification-read"),
    path("notifications/unsubscribe", views.UnsubscribeView.as_view(), name="notification-unsubscribe"),
    path("me/notification-settings", views.EmailSettingsView.as_view(), name="notification-settings"),
]

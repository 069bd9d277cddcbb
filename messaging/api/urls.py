"""REST routes of the messaging app, mounted under /api/v1/ by wemaster/urls.py."""

from django.urls import path

from messaging.api import views

urlpatterns = [
    path("conversations", views.ConversationListView.as_view(), name="conversation-list"),
    path("conversations/unread", views.UnreadView.as_view(), name="conversation-unread"),
    path("conversations/<int:conversation_id>", views.ConversationDetailView.as_view(), name="conversation-detail"),
    path("conversations/<int:conversation_id>/leave", views.ConversationLeaveView.as_view(), name="conversation-leave"),
    path("conversations/<int:conversation_id>/read", views.ReadView.as_view(), name="conversation-read"),
    path("conversations/<int:conversation_id>/messages", views.MessageListView.as_view(), name="message-list"),
    path(
        "conversations/<int:conversation_id>/messages/<int:message_id>",
        views.MessageDetailView.as_view(),
        name="message-detail",
    ),
]

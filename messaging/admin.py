"""Conversations in the admin: read-only (members join and leave through the API, which sends
the events); staff moderate messages with the soft-delete action, which calls the service."""

from django.contrib import admin, messages

from messaging import services
from messaging.models import Conversation, Membership, Message
from wemaster.core.admin_base import StaffAdmin, StaffInline


class MembershipInline(StaffInline):
    model = Membership
    fields = ["user", "last_read_message_id", "joined_at", "left_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "conversation")


@admin.register(Conversation)
class ConversationAdmin(StaffAdmin):
    list_display = ["id", "kind", "title", "created_at", "last_activity_at"]
    list_filter = ["kind"]
    search_fields = ["title", "memberships__user__email"]
    fields = ["kind", "title", "created_by", "created_at", "last_message", "last_activity_at"]
    inlines = [MembershipInline]
    ordering = ["-id"]
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(StaffAdmin):
    list_display = ["id", "conversation", "sender", "short_body", "created_at", "edited_at", "deleted_at"]
    list_select_related = ["sender", "conversation"]
    search_fields = ["sender__email", "conversation__memberships__user__email", "body"]
    fields = ["conversation", "sender", "body", "client_id", "created_at", "edited_at", "deleted_at"]
    actions = ["soft_delete_messages"]
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="body")
    def short_body(self, message):
        return message.body[:80]

    @admin.action(description="Soft-delete selected messages (members are notified)", permissions=["operate"])
    def soft_delete_messages(self, request, queryset):
        deleted = 0
        for message_id in queryset.filter(deleted_at__isnull=True).values_list("id", flat=True):
            if services.message_moderate_delete(message_id=message_id) is not None:
                deleted += 1
        self.message_user(request, f"{deleted} message(s) deleted.", messages.SUCCESS)

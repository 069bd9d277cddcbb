from django.contrib import admin, messages

from messaging import services
from messaging.models import Conversation, Membership, Message


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    readonly_fields = ["last_read_message_id", "joined_at", "left_at"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "title", "created_at", "last_activity_at"]
    list_filter = ["kind"]
    search_fields = ["title", "memberships__user__email"]
    readonly_fields = ["pair_key", "created_by", "created_at", "last_message", "last_activity_at"]
    inlines = [MembershipInline]
    ordering = ["-id"]
    show_full_result_count = False


@admin.action(description="Soft-delete selected messages (members are notified)", permissions=["delete"])
def soft_delete_messages(modeladmin, request, queryset):
    deleted = 0
    for message_id in queryset.filter(deleted_at__isnull=True).values_list("id", flat=True):
        if services.message_moderate_delete(message_id=message_id) is not None:
            deleted += 1
    modeladmin.message_user(request, f"{deleted} message(s) deleted.", messages.SUCCESS)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "sender", "short_body", "created_at", "edited_at", "deleted_at"]
    list_select_related = ["sender"]
    search_fields = ["sender__email", "conversation__memberships__user__email", "body"]
    raw_id_fields = ["conversation", "sender"]
    readonly_fields = ["conversation", "sender", "client_id", "created_at", "edited_at", "deleted_at"]
    actions = [soft_delete_messages]
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="body")
    def short_body(self, message):
        return message.body[:80]

    def has_add_permission(self, request):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a hard delete would bypass the event to clients
        return actions

    def delete_model(self, request, obj):
        services.message_moderate_delete(message_id=obj.pk)

    def has_change_permission(self, request, obj=None):
        return False

from django.contrib import admin, messages

from wemaster.core.errors import DomainError
from wemaster.lessons import services
from wemaster.lessons.models import Lesson, RefundRequest


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["id", "student", "tutor", "subject", "starts_at", "duration_minutes", "price", "status"]
    list_filter = ["status"]
    search_fields = ["student__email", "tutor__email"]
    list_select_related = ["student", "tutor", "subject"]
    readonly_fields = [field.name for field in Lesson._meta.fields]

    def has_add_permission(self, request):
        return False  # lessons are booked through the API, which holds the money


@admin.register(RefundRequest)
class RefundRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "student", "lesson", "amount", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["student__email", "=lesson__id"]
    list_select_related = ["student", "decided_by"]
    readonly_fields = [field.name for field in RefundRequest._meta.fields]
    actions = ["approve", "reject"]

    def has_add_permission(self, request):
        return False

    def _decide(self, request, queryset, service, verb: str) -> None:
        done = 0
        for refund_id in queryset.values_list("id", flat=True):
            try:
                service(refund_request_id=refund_id, staff=request.user)
            except DomainError as exc:
                self.message_user(request, f"Refund request {refund_id}: {exc.detail}", messages.WARNING)
            else:
                done += 1
        self.message_user(request, f"{done} refund request(s) {verb}.")

    @admin.action(description="Approve: move the money back to the student")
    def approve(self, request, queryset):
        self._decide(request, queryset, services.refund_request_approve, "approved")

    @admin.action(description="Reject: move nothing")
    def reject(self, request, queryset):
        self._decide(request, queryset, services.refund_request_reject, "rejected")

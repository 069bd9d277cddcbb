from django.contrib import admin, messages

from wemaster.core.admin_money import ReadOnlyMoneyAdmin, money_column
from wemaster.core.errors import DomainError
from wemaster.lessons import services
from wemaster.lessons.models import Lesson, RefundRequest


@admin.register(Lesson)
class LessonAdmin(ReadOnlyMoneyAdmin):
    """Lessons are booked, completed and cancelled through the API, which moves the money."""

    list_display = [
        "id",
        "student",
        "tutor",
        "subject",
        "starts_at",
        "duration_minutes",
        "price_display",
        "commission_display",
        "status",
    ]
    list_filter = ["status", "subject", "currency"]
    search_fields = ["=id", "student__email", "tutor__email"]
    list_select_related = ["student", "tutor", "subject"]
    date_hierarchy = "starts_at"
    ordering = ["-id"]
    price_display = money_column("price")
    commission_display = money_column("commission")


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyMoneyAdmin):
    """Staff decide through the actions, which call the services: a staff member who is the
    lesson's student or tutor is refused (conflict of interest) and every decision records who
    took it (`decided_by`, shown in the list and on the page)."""

    list_display = [
        "id",
        "student",
        "tutor",
        "lesson",
        "amount_display",
        "status",
        "created_at",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["=id", "student__email", "lesson__tutor__email", "decided_by__email", "=lesson__id"]
    list_select_related = ["student", "decided_by", "lesson__tutor"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["approve", "reject"]
    amount_display = money_column("amount")

    @admin.display(description="tutor", ordering="lesson__tutor")
    def tutor(self, obj):
        return obj.lesson.tutor

    def has_change_permission(self, request, obj=None):
        # The actions need the change permission; the form itself shows every field read-only.
        return request.user.has_perm("lessons.change_refundrequest")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in RefundRequest._meta.fields]

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

    @admin.action(description="Approve: move the money back to the student", permissions=["change"])
    def approve(self, request, queryset):
        self._decide(request, queryset, services.refund_request_approve, "approved")

    @admin.action(description="Reject: move nothing", permissions=["change"])
    def reject(self, request, queryset):
        self._decide(request, queryset, services.refund_request_reject, "rejected")

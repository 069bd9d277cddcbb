from django.contrib import admin

from wemaster.core.admin_base import StaffAdmin
from wemaster.lessons import services
from wemaster.lessons.models import DisputeOutcome, Lesson, RefundRequest


@admin.register(Lesson)
class LessonAdmin(StaffAdmin):
    """Lessons are booked, completed and cancelled through the API, which moves the money; staff
    resolve disputed ones (a problem the student reported) with the actions, which call
    `lesson_dispute_resolve` like the API does."""

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
        "reported_at",
        "resolution",
    ]
    list_filter = ["status", "resolution", "subject", "currency"]
    search_fields = ["=id", "student__email", "tutor__email"]
    list_select_related = ["student", "tutor", "subject"]
    date_hierarchy = "starts_at"
    ordering = ["-id"]
    actions = ["resolve_complete", "resolve_refund"]
    money_fields = ("price", "commission", "cancellation_fee")

    def _resolve(self, request, queryset, outcome: str) -> None:
        self.act_on_each(
            request,
            queryset.values_list("id", flat=True),
            lambda lesson_id: services.lesson_dispute_resolve(lesson_id=lesson_id, staff=request.user, outcome=outcome),
            label="Lesson",
            done=f"{{count}} disputed lesson(s) resolved: {outcome}.",
        )

    @admin.action(
        description="Resolve dispute: complete (the tutor is paid, commission taken)", permissions=["operate"]
    )
    def resolve_complete(self, request, queryset):
        self._resolve(request, queryset, DisputeOutcome.COMPLETE)

    @admin.action(
        description="Resolve dispute: refund (the hold is released, the student pays nothing)", permissions=["operate"]
    )
    def resolve_refund(self, request, queryset):
        self._resolve(request, queryset, DisputeOutcome.REFUND)


@admin.register(RefundRequest)
class RefundRequestAdmin(StaffAdmin):
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
    list_select_related = ["student", "decided_by", "lesson__tutor", "lesson__student"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["approve", "reject"]
    money_fields = ("amount", "commission_returned", "tutor_recovered", "platform_covered")

    @admin.display(description="tutor", ordering="lesson__tutor")
    def tutor(self, obj):
        return obj.lesson.tutor

    def _decide(self, request, queryset, service, verb: str) -> None:
        self.act_on_each(
            request,
            queryset.values_list("id", flat=True),
            lambda refund_id: service(refund_request_id=refund_id, staff=request.user),
            label="Refund request",
            done=f"{{count}} refund request(s) {verb}.",
        )

    @admin.action(description="Approve: move the money back to the student", permissions=["operate"])
    def approve(self, request, queryset):
        self._decide(request, queryset, services.refund_request_approve, "approved")

    @admin.action(description="Reject: move nothing", permissions=["operate"])
    def reject(self, request, queryset):
        self._decide(request, queryset, services.refund_request_reject, "rejected")

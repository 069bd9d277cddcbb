from django.contrib import admin, messages

from wemaster.core.admin_base import StaffAdmin
from wemaster.core.errors import DomainError
from wemaster.reviews import services
from wemaster.reviews.models import Review


@admin.register(Review)
class ReviewAdmin(StaffAdmin):
    """Students write reviews and tutors reply through the API; staff only hide a review (or show
    it again) with the actions, which call `review_set_hidden` so the tutor's rating follows in
    the same transaction. Every field is read-only: nothing here bypasses the service."""

    list_display = ["id", "tutor", "student", "lesson", "rating", "is_hidden", "hidden_reason", "created_at"]
    list_filter = ["is_hidden", "hidden_reason", "rating"]
    search_fields = ["=id", "=lesson__id", "student__email", "tutor__email", "text"]
    list_select_related = ["student", "tutor", "lesson__student", "lesson__tutor"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["hide", "show"]

    def _set_hidden(self, request, queryset, *, hidden: bool) -> None:
        done = 0
        for review_id in queryset.values_list("id", flat=True):
            try:
                services.review_set_hidden(review_id=review_id, staff=request.user, hidden=hidden)
            except DomainError as exc:
                self.message_user(request, f"Review {review_id}: {exc.detail}", messages.WARNING)
            else:
                done += 1
        self.message_user(request, f"{done} review(s) {'hidden' if hidden else 'shown'}; the ratings follow.")

    @admin.action(description="Hide: leave out of the tutor's list and rating", permissions=["operate"])
    def hide(self, request, queryset):
        self._set_hidden(request, queryset, hidden=True)

    @admin.action(description="Show again (not a refunded lesson's review)", permissions=["operate"])
    def show(self, request, queryset):
        self._set_hidden(request, queryset, hidden=False)

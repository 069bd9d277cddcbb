from django.contrib import admin

from wemaster.core.admin_base import StaffAdmin
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
        self.act_on_each(
            request,
            queryset.values_list("id", flat=True),
            lambda review_id: services.review_set_hidden(review_id=review_id, staff=request.user, hidden=hidden),
            label="Review",
            done=f"{{count}} review(s) {'hidden' if hidden else 'shown'}; the ratings follow.",
        )

    @admin.action(description="Hide: leave out of the tutor's list and rating", permissions=["operate"])
    def hide(self, request, queryset):
        self._set_hidden(request, queryset, hidden=True)

    @admin.action(description="Show again (not a refunded lesson's review)", permissions=["operate"])
    def show(self, request, queryset):
        self._set_hidden(request, queryset, hidden=False)

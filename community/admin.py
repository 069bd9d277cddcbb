"""Staff moderation: reports are reviewed here; actions go through the community services,
so hidden content leaves every list, feed and cached page at once."""

from django.contrib import admin, messages

from community import services
from community.models import Comment, Follow, Post, Report, ReportStatus, Tag


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "reporter", "post", "comment", "reason", "created_at", "resolved_by"]
    list_filter = ["status"]
    list_select_related = ["reporter", "post", "comment", "resolved_by"]
    readonly_fields = ["reporter", "post", "comment", "reason", "status", "resolved_by", "resolved_at", "created_at"]
    ordering = ["-id"]
    actions = ["hide_content", "restore_content", "dismiss"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Hide the reported content (resolves its pending reports)")
    def hide_content(self, request, queryset):
        for report in queryset:
            services.report_hide_content(report_id=report.id, moderator=request.user)
        self.message_user(request, f"Hid the content of {queryset.count()} report(s).", messages.SUCCESS)

    @admin.action(description="Restore the reported content")
    def restore_content(self, request, queryset):
        for report in queryset:
            services.report_restore_content(report_id=report.id, moderator=request.user)
        self.message_user(request, f"Restored the content of {queryset.count()} report(s).", messages.SUCCESS)

    @admin.action(description="Dismiss (leave the content as it is)")
    def dismiss(self, request, queryset):
        for report in queryset.filter(status=ReportStatus.PENDING):
            services.report_dismiss(report_id=report.id, moderator=request.user)
        self.message_user(request, "Dismissed.", messages.SUCCESS)


class ReadOnlyContentMixin:
    """Content changes go through the API and its services (counters, caches); staff moderate
    with the actions."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Post)
class PostAdmin(ReadOnlyContentMixin, admin.ModelAdmin):
    list_display = ["id", "title", "author", "kind", "reaction_count", "comment_count", "is_hidden", "deleted_at"]
    list_filter = ["kind", "is_hidden"]
    list_select_related = ["author"]
    search_fields = ["title"]
    ordering = ["-id"]
    actions = ["hide", "restore"]

    @admin.action(description="Hide selected posts")
    def hide(self, request, queryset):
        for post_id in queryset.values_list("id", flat=True):
            services.post_hide(post_id=post_id, moderator=request.user)

    @admin.action(description="Restore selected posts")
    def restore(self, request, queryset):
        for post_id in queryset.values_list("id", flat=True):
            services.post_restore(post_id=post_id, moderator=request.user)


@admin.register(Comment)
class CommentAdmin(ReadOnlyContentMixin, admin.ModelAdmin):
    list_display = ["id", "post", "author", "parent", "is_hidden", "deleted_at", "created_at"]
    list_filter = ["is_hidden"]
    list_select_related = ["author", "post"]
    ordering = ["-id"]
    actions = ["hide", "restore"]

    @admin.action(description="Hide selected comments")
    def hide(self, request, queryset):
        for comment_id in queryset.values_list("id", flat=True):
            services.comment_hide(comment_id=comment_id, moderator=request.user)

    @admin.action(description="Restore selected comments")
    def restore(self, request, queryset):
        for comment_id in queryset.values_list("id", flat=True):
            services.comment_restore(comment_id=comment_id, moderator=request.user)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "post_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["post_count"]
    ordering = ["-post_count"]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["id", "follower", "followed_user", "tag", "created_at"]
    list_select_related = ["follower", "followed_user", "tag"]
    raw_id_fields = ["follower", "followed_user", "tag"]
    ordering = ["-id"]

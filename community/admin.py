"""Staff moderation: reports are reviewed here; actions go through the community services,
so hidden content leaves every list, feed and cached page at once. Tags and follows are read-only
(the API's services keep the tags' counts and the feeds)."""

from django.contrib import admin, messages

from community import services
from community.models import Comment, Follow, Post, Report, ReportStatus, Tag
from wemaster.core.admin_base import StaffAdmin


@admin.register(Report)
class ReportAdmin(StaffAdmin):
    list_display = ["id", "status", "reporter", "post", "comment", "reason", "created_at", "resolved_by"]
    list_filter = ["status"]
    list_select_related = ["reporter", "post", "comment__author", "resolved_by"]
    ordering = ["-id"]
    actions = ["hide_content", "restore_content", "dismiss"]

    @admin.action(description="Hide the reported content (resolves its pending reports)", permissions=["operate"])
    def hide_content(self, request, queryset):
        for report in queryset:
            services.report_hide_content(report_id=report.id, moderator=request.user)
        self.message_user(request, f"Hid the content of {queryset.count()} report(s).", messages.SUCCESS)

    @admin.action(description="Restore the reported content", permissions=["operate"])
    def restore_content(self, request, queryset):
        for report in queryset:
            services.report_restore_content(report_id=report.id, moderator=request.user)
        self.message_user(request, f"Restored the content of {queryset.count()} report(s).", messages.SUCCESS)

    @admin.action(description="Dismiss (leave the content as it is)", permissions=["operate"])
    def dismiss(self, request, queryset):
        for report in queryset.filter(status=ReportStatus.PENDING):
            services.report_dismiss(report_id=report.id, moderator=request.user)
        self.message_user(request, "Dismissed.", messages.SUCCESS)


@admin.register(Post)
class PostAdmin(StaffAdmin):
    """Content changes go through the API and its services (counters, caches); staff moderate
    with the actions."""

    list_display = ["id", "title", "author", "kind", "reaction_count", "comment_count", "is_hidden", "deleted_at"]
    list_filter = ["kind", "is_hidden"]
    list_select_related = ["author"]
    search_fields = ["title"]
    ordering = ["-id"]
    actions = ["hide", "restore"]

    @admin.action(description="Hide selected posts", permissions=["operate"])
    def hide(self, request, queryset):
        for post_id in queryset.values_list("id", flat=True):
            services.post_hide(post_id=post_id, moderator=request.user)

    @admin.action(description="Restore selected posts", permissions=["operate"])
    def restore(self, request, queryset):
        for post_id in queryset.values_list("id", flat=True):
            services.post_restore(post_id=post_id, moderator=request.user)


@admin.register(Comment)
class CommentAdmin(StaffAdmin):
    list_display = ["id", "post", "author", "parent", "is_hidden", "deleted_at", "created_at"]
    list_filter = ["is_hidden"]
    list_select_related = ["author", "post", "parent__author"]
    ordering = ["-id"]
    actions = ["hide", "restore"]

    @admin.action(description="Hide selected comments", permissions=["operate"])
    def hide(self, request, queryset):
        for comment_id in queryset.values_list("id", flat=True):
            services.comment_hide(comment_id=comment_id, moderator=request.user)

    @admin.action(description="Restore selected comments", permissions=["operate"])
    def restore(self, request, queryset):
        for comment_id in queryset.values_list("id", flat=True):
            services.comment_restore(comment_id=comment_id, moderator=request.user)


@admin.register(Tag)
class TagAdmin(StaffAdmin):
    list_display = ["id", "name", "post_count", "created_at"]
    search_fields = ["name"]
    ordering = ["-post_count"]


@admin.register(Follow)
class FollowAdmin(StaffAdmin):
    list_display = ["id", "follower", "followed_user", "tag", "created_at"]
    list_select_related = ["follower", "followed_user", "tag"]
    ordering = ["-id"]

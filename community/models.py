"""Community: posts with tags, comments (one level of replies), reactions, follows, reports.

Counters (`Post.reaction_count`, `Post.comment_count`, `Tag.post_count`) are denormalized and
changed only by services, with F() updates in the same transaction as the row they count.
"Visible" means neither soft-deleted by its author nor hidden by a moderator.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class PostKind(models.TextChoices):
    DISCUSSION = "discussion", "Discussion"
    QUESTION = "question", "Question"


class ReactionKind(models.TextChoices):
    LIKE = "like", "Like"
    INSIGHTFUL = "insightful", "Insightful"
    THANKS = "thanks", "Thanks"


class ReportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIONED = "actioned", "Actioned (content hidden)"
    DISMISSED = "dismissed", "Dismissed"


TAG_MAX_LENGTH = 40
VISIBLE = Q(is_hidden=False, deleted_at__isnull=True)


class Tag(models.Model):
    """A normalized (lowercase, trimmed) tag, created on first use. `post_count` counts visible posts."""

    name = models.CharField(max_length=TAG_MAX_LENGTH, unique=True)
    post_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["-post_count", "-id"], name="community_tag_popular")]

    def __str__(self):
        return self.name


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_posts")
    kind = models.CharField(max_length=16, choices=PostKind.choices, default=PostKind.DISCUSSION)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=20_000)
    tags = models.ManyToManyField(Tag, through="PostTag", related_name="posts")
    reaction_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    # Decayed score of reactions and comments over age; refreshed by the `trending_refresh`
    # beat task and by every write that changes a counter (services.trending_sql).
    trending_score = models.FloatField(default=0.0)
    accepted_comment = models.ForeignKey("Comment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_hidden = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Keyset orderings of the public lists (key, id), only over visible posts.
        indexes = [
            models.Index(fields=["-created_at", "-id"], condition=VISIBLE, name="community_post_new"),
            models.Index(fields=["-reaction_count", "-id"], condition=VISIBLE, name="community_post_top"),
            models.Index(fields=["-trending_score", "-id"], condition=VISIBLE, name="community_post_trending"),
            models.Index(fields=["author", "-created_at", "-id"], name="community_post_author"),
            models.Index(fields=["created_at"], name="community_post_created"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_visible(self) -> bool:
        return not self.is_hidden and self.deleted_at is None


class PostTag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tag", "post"], name="community_posttag_unique")]

    def __str__(self):
        return f"post {self.post_id} tagged {self.tag_id}"


class Comment(models.Model):
    """A comment on a post, or a reply to a top-level comment (never a reply to a reply)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField(max_length=10_000)
    is_hidden = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["post", "parent", "id"], name="community_comment_thread")]

    def __str__(self):
        return f"Comment #{self.pk} by {self.author.display_name}"

    @property
    def is_visible(self) -> bool:
        return not self.is_hidden and self.deleted_at is None


class Reaction(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_reactions")
    kind = models.CharField(max_length=16, choices=ReactionKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="community_reaction_one_per_user")]
        indexes = [models.Index(fields=["post"], name="community_reaction_post")]

    def __str__(self):
        return f"{self.kind} by {self.user_id} on post {self.post_id}"


class Follow(models.Model):
    """The follower follows exactly one of: a user, a tag."""

    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_follows")
    followed_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="community_followers"
    )
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(followed_user__isnull=False, tag__isnull=True)
                | Q(followed_user__isnull=True, tag__isnull=False),
                name="community_follow_user_xor_tag",
            ),
            models.UniqueConstraint(
                fields=["follower", "followed_user"],
                condition=Q(followed_user__isnull=False),
                name="community_follow_user_unique",
            ),
            models.UniqueConstraint(
                fields=["follower", "tag"], condition=Q(tag__isnull=False), name="community_follow_tag_unique"
            ),
        ]

    def __str__(self):
        target = self.followed_user.display_name if self.followed_user_id else f"#{self.tag.name}"
        return f"{self.follower.display_name} follows {target}"


class Report(models.Model):
    """A user's report of a post or a comment (exactly one); staff act on it in admin."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_reports")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(post__isnull=False, comment__isnull=True) | Q(post__isnull=True, comment__isnull=False),
                name="community_report_post_xor_comment",
            ),
            models.UniqueConstraint(
                fields=["reporter", "post"], condition=Q(post__isnull=False), name="community_report_post_unique"
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"],
                condition=Q(comment__isnull=False),
                name="community_report_comment_unique",
            ),
        ]
        indexes = [models.Index(fields=["status", "id"], name="community_report_queue")]

    def __str__(self):
        target = f"post #{self.post_id}" if self.post_id else f"comment #{self.comment_id}"
        return f"Report #{self.pk} by {self.reporter.display_name} on {target} ({self.status})"

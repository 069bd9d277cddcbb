"""Community writes. Every function runs in one transaction; counters move with F() updates
in the same transaction as the row they count, and caches are invalidated on commit."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from community import cache_tags
from community.models import (
    TAG_MAX_LENGTH,
    Comment,
    Follow,
    Post,
    PostKind,
    PostTag,
    Reaction,
    Report,
    ReportStatus,
    Tag,
)
from wemaster.accounts.models import User
from wemaster.core.cache import invalidate_tags
from wemaster.core.cache.removals import mark_removed, unmark_removed
from wemaster.core.errors import DomainError, NotFound, Throttled, ValidationFailed
from wemaster.core.throttles import rate_limit_hit
from wemaster.notifications import notify


class ReplyDepthExceeded(DomainError):
    code = "reply_depth_exceeded"
    default_detail = "Replies are one level deep: reply to the top-level comment instead."


class NotAQuestion(DomainError):
    code = "not_a_question"
    default_detail = "Only questions have an accepted answer."


class CannotFollowSelf(DomainError):
    code = "cannot_follow_self"
    default_detail = "You cannot follow yourself."


# --- tags -----------------------------------------------------------------------------------------


def tags_normalize(names: Iterable[str]) -> list[str]:
    """Lowercase, trimmed, inner whitespace collapsed, duplicates and blanks dropped, order kept.

    Raises ValidationFailed when more than COMMUNITY_MAX_TAGS_PER_POST remain or one is too long."""
    normalized: list[str] = []
    for raw in names:
        name = " ".join(raw.split()).lower()
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH:
            raise ValidationFailed(fields={"tags": [f"A tag has at most {TAG_MAX_LENGTH} characters."]})
        if name not in normalized:
            normalized.append(name)
    limit = settings.COMMUNITY_MAX_TAGS_PER_POST
    if len(normalized) > limit:
        raise ValidationFailed(fields={"tags": [f"At most {limit} tags per post."]})
    return normalized


def _tags_resolve(names: list[str], *, creator: User | None) -> list[Tag]:
    """The tags named, created on first use (concurrent creators both succeed). Each new tag
    counts against the `tag_create` rate of `creator` (None: staff tools, not counted).
    Raises Throttled when `creator` has created too many tags lately."""
    if not names:
        return []
    existing = set(Tag.objects.filter(name__in=names).values_list("name", flat=True))
    new = [name for name in names if name not in existing]
    if creator is not None:
        for _ in new:
            wait = rate_limit_hit("tag_create", str(creator.id))
            if wait is not None:
                raise Throttled(wait, "Too many new tags lately; use existing tags or try again later.")
    if new:
        Tag.objects.bulk_create([Tag(name=name) for name in new], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=names).order_by("id"))


def _tag_counts_bump(tag_ids: Iterable[int], delta: int) -> None:
    # One row at a time in id order: concurrent posts touching the same tags never deadlock.
    for tag_id in sorted(set(tag_ids)):
        Tag.objects.filter(pk=tag_id).update(post_count=F("post_count") + delta)


# --- trending -------------------------------------------------------------------------------------


def trending_sql(*, reaction_delta: int = 0, comment_delta: int = 0, now: datetime | None = None):
    """SQL for the trending score of the row being updated, its counters moved by the deltas
    (an UPDATE's right-hand sides see the old row):
    (reactions + w * comments + 1) / (age_hours + 2) ** gravity."""
    now_epoch = (now or timezone.now()).timestamp()
    if connection.vendor == "postgresql":
        created = "EXTRACT(EPOCH FROM created_at)::float8"
        age = f"GREATEST((%s::float8 - {created}) / 3600.0, 0)"
        sql = f"(reaction_count + %s + %s::float8 * (comment_count + %s) + 1) / POWER({age} + 2, %s::float8)"
    else:
        created = "((julianday(created_at) - 2440587.5) * 86400.0)"
        age = f"MAX((%s - {created}) / 3600.0, 0)"
        sql = f"(reaction_count + %s + %s * (comment_count + %s) + 1.0) / POWER({age} + 2, %s)"
    params = [
        reaction_delta,
        settings.COMMUNITY_TRENDING_COMMENT_WEIGHT,
        comment_delta,
        now_epoch,
        settings.COMMUNITY_TRENDING_GRAVITY,
    ]
    return RawSQL(sql, params)


def _post_counters_bump(*, post: Post, reactions: int = 0, comments: int = 0) -> None:
    """Move the counters and the trending score of one post in one UPDATE."""
    changes = {"trending_score": trending_sql(reaction_delta=reactions, comment_delta=comments)}
    if reactions:
        changes["reaction_count"] = F("reaction_count") + reactions
    if comments:
        changes["comment_count"] = F("comment_count") + comments
    Post.objects.filter(pk=post.id).update(**changes)
    _post_lists_invalidate(post)


def _post_lists_invalidate(post: Post) -> None:
    """Empty the cached pages that can hold `post`, after a change of its counters or score:
    its detail, the lists filtered by neither tag nor author, its tags' lists and its author's.
    A list filtered by another tag or author cannot hold it, so a comment or a reaction leaves
    those cached (a change of which posts a list holds bumps `cache_tags.POSTS` instead)."""
    tag_names = Tag.objects.filter(posttag__post_id=post.id).values_list("name", flat=True)
    invalidate_tags(
        cache_tags.post(post.id),
        cache_tags.UNFILTERED,
        cache_tags.author(post.author_id),
        *(cache_tags.tag(name) for name in tag_names),
    )


def trending_refresh(*, now: datetime | None = None) -> int:
    """Recompute the trending score of every post inside the trending window; older posts drop
    to 0 (they leave the trending list). Returns the number of posts rescored."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.COMMUNITY_TRENDING_WINDOW_HOURS)
    with transaction.atomic():
        rescored = Post.objects.filter(created_at__gte=cutoff).update(trending_score=trending_sql(now=now))
        Post.objects.filter(created_at__lt=cutoff, trending_score__gt=0).update(trending_score=0)
        invalidate_tags(cache_tags.RANKED)
    return rescored


# --- posts ----------------------------------------------------------------------------------------


def _post_for_change(*, post_id: int, actor: User) -> Post:
    """The post, row-locked, if `actor` may change it (author or staff). Precondition: in a
    transaction. Raises NotFound for a deleted post, someone else's, or a hidden one (non-staff)."""
    post = Post.objects.select_for_update().filter(pk=post_id, deleted_at__isnull=True).first()
    if post is None or not (actor.is_staff or (post.author_id == actor.id and not post.is_hidden)):
        raise NotFound()
    return post


def _post_tag_ids(post_id: int) -> list[int]:
    return list(PostTag.objects.filter(post_id=post_id).values_list("tag_id", flat=True))


def _post_invalidate(post: Post, tag_names: Iterable[str]) -> None:
    invalidate_tags(
        cache_tags.POSTS,
        cache_tags.TAGS,
        cache_tags.post(post.id),
        cache_tags.post_comments(post.id),
        cache_tags.author(post.author_id),
        *(cache_tags.tag(name) for name in tag_names),
    )


def post_create(*, author: User, title: str, body: str, kind: str = PostKind.DISCUSSION, tags=()) -> Post:
    names = tags_normalize(tags)
    with transaction.atomic():
        # A new post's trending score: no reactions, no comments, age 0.
        fresh_score = 1.0 / 2**settings.COMMUNITY_TRENDING_GRAVITY
        post = Post.objects.create(author=author, title=title, body=body, kind=kind, trending_score=fresh_score)
        resolved = _tags_resolve(names, creator=author)
        PostTag.objects.bulk_create([PostTag(post=post, tag=tag) for tag in resolved])
        _tag_counts_bump((tag.id for tag in resolved), +1)
        _post_invalidate(post, names)
    return post


def post_update(
    *,
    post_id: int,
    actor: User,
    title: str | None = None,
    body: str | None = None,
    kind: str | None = None,
    tags: Iterable[str] | None = None,
) -> Post:
    """Edit a post (author or staff). Raises NotFound, ValidationFailed (tags)."""
    names = tags_normalize(tags) if tags is not None else None
    with transaction.atomic():
        post = _post_for_change(post_id=post_id, actor=actor)
        for field, value in (("title", title), ("body", body), ("kind", kind)):
            if value is not None:
                setattr(post, field, value)
        post.save(update_fields=["title", "body", "kind", "updated_at"])
        old = {tag.id: tag.name for tag in Tag.objects.filter(posttag__post=post)}
        touched = set(old.values())
        if names is not None:
            new = {tag.id: tag.name for tag in _tags_resolve(names, creator=actor)}
            removed, added = old.keys() - new.keys(), new.keys() - old.keys()
            PostTag.objects.filter(post=post, tag_id__in=removed).delete()
            PostTag.objects.bulk_create([PostTag(post=post, tag_id=tag_id) for tag_id in added])
            if post.is_visible:
                _tag_counts_bump(removed, -1)
                _tag_counts_bump(added, +1)
            touched |= set(new.values())
        _post_invalidate(post, touched)
    return post


def _post_visibility_set(post: Post, *, hidden: bool | None = None, deleted: bool = False) -> None:
    """Apply a moderation or deletion flag to a locked post and keep tag counts exact."""
    was_visible = post.is_visible
    if hidden is not None:
        post.is_hidden = hidden
    if deleted:
        post.deleted_at = timezone.now()
    post.save(update_fields=["is_hidden", "deleted_at", "updated_at"])
    if was_visible != post.is_visible:
        _tag_counts_bump(_post_tag_ids(post.id), +1 if post.is_visible else -1)
    # Stale copies served while the database is down ignore tags: the mark keeps the post out of them.
    if post.is_visible:
        unmark_removed(cache_tags.REMOVED_POST, [post.id])
    else:
        mark_removed(cache_tags.REMOVED_POST, [post.id])
    _post_invalidate(post, Tag.objects.filter(posttag__post=post).values_list("name", flat=True))


def post_delete(*, post_id: int, actor: User) -> None:
    """Soft-delete (author or staff). Raises NotFound."""
    with transaction.atomic():
        post = _post_for_change(post_id=post_id, actor=actor)
        _post_visibility_set(post, deleted=True)


def post_hide(*, post_id: int, moderator: User) -> None:
    """Moderation: the post vanishes from every list, feed, detail (non-staff) and cached page."""
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id)
        _post_visibility_set(post, hidden=True)
        _reports_resolve(Report.objects.filter(post_id=post_id), ReportStatus.ACTIONED, moderator)


def post_restore(*, post_id: int, moderator: User) -> None:
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id)
        _post_visibility_set(post, hidden=False)


def _visible_post(post_id: int) -> Post:
    post = Post.objects.filter(pk=post_id, is_hidden=False, deleted_at__isnull=True).first()
    if post is None:
        raise NotFound()
    return post


# --- comments -------------------------------------------------------------------------------------


def comment_create(*, post_id: int, author: User, body: str, parent_id: int | None = None) -> Comment:
    """Raises NotFound (post), ValidationFailed (parent not on this post), ReplyDepthExceeded."""
    with transaction.atomic():
        post = _visible_post(post_id)
        if parent_id is not None:
            parent = Comment.objects.filter(pk=parent_id, post=post, is_hidden=False, deleted_at__isnull=True).first()
            if parent is None:
                raise ValidationFailed(fields={"parent": ["No such comment on this post."]})
            if parent.parent_id is not None:
                raise ReplyDepthExceeded()
        comment = Comment.objects.create(post=post, author=author, body=body, parent_id=parent_id)
        notify.comment_created(post=post, comment=comment)
        _post_counters_bump(post=post, comments=+1)
        invalidate_tags(cache_tags.post_comments(post.id))
    return comment


def _comment_for_change(*, post_id: int, comment_id: int, actor: User) -> Comment:
    comment = (
        Comment.objects.select_for_update()
        .filter(pk=comment_id, post_id=post_id, deleted_at__isnull=True, post__deleted_at__isnull=True)
        .first()
    )
    if comment is None or not (actor.is_staff or (comment.author_id == actor.id and not comment.is_hidden)):
        raise NotFound()
    return comment


def comment_update(*, post_id: int, comment_id: int, actor: User, body: str) -> Comment:
    with transaction.atomic():
        comment = _comment_for_change(post_id=post_id, comment_id=comment_id, actor=actor)
        comment.body = body
        comment.save(update_fields=["body", "updated_at"])
        invalidate_tags(cache_tags.post_comments(post_id))
    return comment


def _comment_visibility_set(comment: Comment, *, hidden: bool | None = None, deleted: bool = False) -> None:
    was_visible = comment.is_visible
    if hidden is not None:
        comment.is_hidden = hidden
    if deleted:
        comment.deleted_at = timezone.now()
    comment.save(update_fields=["is_hidden", "deleted_at", "updated_at"])
    if was_visible != comment.is_visible:
        _post_counters_bump(post=comment.post, comments=+1 if comment.is_visible else -1)
    if not comment.is_visible:
        Post.objects.filter(pk=comment.post_id, accepted_comment=comment).update(accepted_comment=None)
    invalidate_tags(cache_tags.POSTS, cache_tags.post_comments(comment.post_id), cache_tags.post(comment.post_id))


def comment_delete(*, post_id: int, comment_id: int, actor: User) -> None:
    with transaction.atomic():
        comment = _comment_for_change(post_id=post_id, comment_id=comment_id, actor=actor)
        _comment_visibility_set(comment, deleted=True)


def comment_hide(*, comment_id: int, moderator: User) -> None:
    with transaction.atomic():
        comment = Comment.objects.select_for_update().get(pk=comment_id)
        _comment_visibility_set(comment, hidden=True)
        _reports_resolve(Report.objects.filter(comment_id=comment_id), ReportStatus.ACTIONED, moderator)


def comment_restore(*, comment_id: int, moderator: User) -> None:
    with transaction.atomic():
        comment = Comment.objects.select_for_update().get(pk=comment_id)
        _comment_visibility_set(comment, hidden=False)


def answer_accept(*, post_id: int, actor: User, comment_id: int | None) -> Post:
    """The question's author accepts one comment as the answer (replacing any earlier one);
    `comment_id=None` clears it. Raises NotFound (not the author's visible post), NotAQuestion,
    ValidationFailed (comment not on this post)."""
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(pk=post_id, is_hidden=False, deleted_at__isnull=True).first()
        if post is None or post.author_id != actor.id:
            raise NotFound()
        if post.kind != PostKind.QUESTION:
            raise NotAQuestion()
        if (
            comment_id is not None
            and not Comment.objects.filter(pk=comment_id, post=post, is_hidden=False, deleted_at__isnull=True).exists()
        ):
            raise ValidationFailed(fields={"comment": ["No such comment on this post."]})
        post.accepted_comment_id = comment_id
        post.save(update_fields=["accepted_comment", "updated_at"])
        notify.answer_accepted(post=post)
        invalidate_tags(cache_tags.POSTS, cache_tags.post(post.id), cache_tags.post_comments(post.id))
    return post


# --- reactions ------------------------------------------------------------------------------------


def reaction_set(*, post_id: int, user: User, kind: str) -> Reaction:
    """Create the user's reaction or change its kind. The counter moves only when a row is
    inserted, in the insert's transaction; a concurrent duplicate insert fails on the unique
    constraint and becomes a kind change. Raises NotFound."""
    post = _visible_post(post_id)
    while True:
        try:
            with transaction.atomic():
                reaction = Reaction.objects.create(post_id=post_id, user=user, kind=kind)
                _post_counters_bump(post=post, reactions=+1)
                return reaction
        except IntegrityError:
            with transaction.atomic():
                reaction = Reaction.objects.select_for_update().filter(post_id=post_id, user=user).first()
                if reaction is not None:  # else removed concurrently since: insert again
                    if reaction.kind != kind:
                        reaction.kind = kind
                        reaction.save(update_fields=["kind"])
                    return reaction


def reaction_remove(*, post_id: int, user: User) -> None:
    """Remove the user's reaction if any (idempotent). Raises NotFound for an invisible post."""
    post = _visible_post(post_id)
    with transaction.atomic():
        deleted, _ = Reaction.objects.filter(post_id=post_id, user=user).delete()
        if deleted:
            _post_counters_bump(post=post, reactions=-1)


# --- follows --------------------------------------------------------------------------------------


def follow_create(*, follower: User, user_id: int | None = None, tag_name: str | None = None) -> tuple[Follow, bool]:
    """Follow a user or a tag (created on first use). Idempotent: returns (follow, created).
    Raises NotFound (no such user), CannotFollowSelf, ValidationFailed (tag)."""
    with transaction.atomic():
        if user_id is not None:
            if user_id == follower.id:
                raise CannotFollowSelf()
            if not User.objects.filter(pk=user_id, is_active=True).exists():
                raise NotFound("No such user.")
            lookup = {"follower": follower, "followed_user_id": user_id}
        else:
            names = tags_normalize([tag_name or ""])
            if not names:
                raise ValidationFailed(fields={"tag": ["A tag name is required."]})
            (tag,) = _tags_resolve(names, creator=follower)
            lookup = {"follower": follower, "tag": tag}
        try:
            with transaction.atomic():
                return Follow.objects.create(**lookup), True
        except IntegrityError:
            return Follow.objects.get(**lookup), False


def follow_delete(*, follower: User, user_id: int | None = None, tag_name: str | None = None) -> None:
    """Stop following (idempotent)."""
    follows = Follow.objects.filter(follower=follower)
    if user_id is not None:
        follows = follows.filter(followed_user_id=user_id)
    else:
        follows = follows.filter(tag__name__in=tags_normalize([tag_name or ""]))
    with transaction.atomic():
        follows.delete()


# --- reports and moderation -----------------------------------------------------------------------


def report_create(
    *, reporter: User, reason: str, post_id: int | None = None, comment_id: int | None = None
) -> tuple[Report, bool]:
    """Report a visible post or comment. One report per user per item: a repeat returns the
    existing report, unchanged (created=False). Raises NotFound."""
    with transaction.atomic():
        if post_id is not None:
            _visible_post(post_id)
            lookup = {"reporter": reporter, "post_id": post_id}
        else:
            if not Comment.objects.filter(
                pk=comment_id,
                is_hidden=False,
                deleted_at__isnull=True,
                post__is_hidden=False,
                post__deleted_at__isnull=True,
            ).exists():
                raise NotFound()
            lookup = {"reporter": reporter, "comment_id": comment_id}
        try:
            with transaction.atomic():
                return Report.objects.create(reason=reason, **lookup), True
        except IntegrityError:
            return Report.objects.get(**lookup), False


def _reports_resolve(reports, status: str, moderator: User) -> None:
    reports.filter(status=ReportStatus.PENDING).update(status=status, resolved_by=moderator, resolved_at=timezone.now())


def report_hide_content(*, report_id: int, moderator: User) -> None:
    """Hide the reported post or comment; every pending report on it is marked actioned."""
    report = Report.objects.get(pk=report_id)
    if report.post_id:
        post_hide(post_id=report.post_id, moderator=moderator)
    else:
        comment_hide(comment_id=report.comment_id, moderator=moderator)


def report_restore_content(*, report_id: int, moderator: User) -> None:
    report = Report.objects.get(pk=report_id)
    if report.post_id:
        post_restore(post_id=report.post_id, moderator=moderator)
    else:
        comment_restore(comment_id=report.comment_id, moderator=moderator)


def report_dismiss(*, report_id: int, moderator: User) -> None:
    with transaction.atomic():
        _reports_resolve(Report.objects.filter(pk=report_id), ReportStatus.DISMISSED, moderator)

"""Demo community: posts (discussions and questions) over the last days, comments with
replies, an accepted answer, reactions and follows among the demo users. Idempotent."""

from datetime import timedelta

from django.utils import timezone

from community import services
from community.models import Post, PostKind, ReactionKind
from wemaster.accounts.models import User
from wemaster.accounts.seed import DEMO_DOMAIN, demo_email

TOPICS = [
    ("How do you memorise irregular verbs?", ["spanish", "study-tips"]),
    ("Best way to prepare for a calculus exam in two weeks", ["mathematics", "exams"]),
    ("Why does ice float? A kitchen experiment", ["physics", "chemistry"]),
    ("Recursion finally clicked for me", ["programming"]),
    ("Reading Borges in the original: where to start?", ["literature", "spanish"]),
    ("Balancing redox equations step by step", ["chemistry"]),
    ("Pomodoro or long sessions?", ["study-tips"]),
    ("Proof by induction: a gentle walkthrough", ["mathematics"]),
]
KINDS = list(ReactionKind.values)


def seed_demo(*, scale: int, progress) -> list:
    if Post.objects.filter(author__email__endswith=f"@{DEMO_DOMAIN}").exists():
        return []
    tutors = list(User.objects.filter(email__in=[demo_email("tutor", i) for i in range(1, 4)]).order_by("id"))
    students = list(
        User.objects.filter(email__in=[demo_email("student", i) for i in range(1, 3 * scale + 1)]).order_by("id")
    )
    people = tutors + students
    if not people:
        return []
    count = 8 * scale
    now = timezone.now()
    for index in progress(range(count), desc="community posts", total=count):
        title, tags = TOPICS[index % len(TOPICS)]
        author = people[index % len(people)]
        kind = PostKind.QUESTION if index % 3 == 1 else PostKind.DISCUSSION
        post = services.post_create(
            author=author,
            title=title if index < len(TOPICS) else f"{title} (part {index // len(TOPICS) + 1})",
            body=f"{title}\n\nSharing what worked for me and curious how others approach it.",
            kind=kind,
            tags=tags,
        )
        # Spread posts over the last days (oldest first) so `new` and `trending` differ.
        Post.objects.filter(pk=post.pk).update(created_at=now - timedelta(hours=6 * (count - index)))
        answer = None
        for offset, commenter in enumerate(people[index % 3 :: 3][:3]):
            if commenter == author:
                continue
            comment = services.comment_create(post_id=post.id, author=commenter, body="Great point, thanks!")
            answer = answer or comment
            if offset == 0:
                services.comment_create(post_id=post.id, author=author, body="Glad it helped.", parent_id=comment.id)
        if kind == PostKind.QUESTION and answer is not None:
            services.answer_accept(post_id=post.id, actor=author, comment_id=answer.id)
        for position, reactor in enumerate(people[: (index * 5) % len(people) + 1]):
            if reactor != author:
                services.reaction_set(post_id=post.id, user=reactor, kind=KINDS[position % len(KINDS)])
    for student in students:
        if tutors:
            services.follow_create(follower=student, user_id=tutors[0].id)
        services.follow_create(follower=student, tag_name="study-tips")
    services.trending_refresh()
    return []

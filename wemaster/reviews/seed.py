"""Demo reviews: most completed lessons of the demo tutors get a review (mostly good, some not),
so the directory's "best rated" ordering and each tutor's review list show real numbers; tutors
reply to some, and the demo staff member has hidden one (the admin shows it, the rating leaves it
out). A refunded lesson gets none. Idempotent."""

import random

from wemaster.accounts.models import User
from wemaster.accounts.seed import DEMO_DOMAIN, DEMO_TUTORS, demo_email
from wemaster.lessons.models import Lesson, LessonStatus, RefundStatus
from wemaster.reviews import services
from wemaster.reviews.models import Review

REVIEWED_SHARE = 0.7
STARS = [5, 5, 5, 4, 4, 4, 3, 2]
TEXTS = {
    5: ["Clear explanations and lots of patience.", "Exactly what I needed before the exam.", ""],
    4: ["Good lesson; a bit fast at the end.", "Well prepared, helpful exercises.", ""],
    3: ["Fine, but we spent long on things I knew.", ""],
    2: ["Started late and felt rushed.", ""],
}
REPLIES = ["Thank you, see you next week!", "Thanks for the feedback; I'll slow down next time."]


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    tutors = list(User.objects.filter(email__in=[demo_email("tutor", i) for i in range(1, len(DEMO_TUTORS) + 1)]))
    if not tutors or Review.objects.filter(tutor__in=tutors).exists():
        return []
    rng = random.Random(17)
    lessons = list(
        Lesson.objects.filter(tutor__in=tutors, status=LessonStatus.COMPLETED)
        .exclude(refund_request__status=RefundStatus.APPROVED)
        .order_by("id")
    )
    reviewed = [lesson for lesson in lessons if rng.random() < REVIEWED_SHARE]
    made = []
    for lesson in progress(reviewed, desc="reviews", total=len(reviewed)):
        rating = rng.choice(STARS)
        review = services.review_create(
            student=lesson.student, lesson_id=lesson.pk, rating=rating, text=rng.choice(TEXTS[rating])
        )
        made.append(review)
        if rng.random() < 0.3:
            services.review_reply(tutor=lesson.tutor, review_id=review.pk, text=rng.choice(REPLIES))
    staff = User.objects.filter(email=f"admin@{DEMO_DOMAIN}", is_staff=True).first()
    if staff is not None and made:
        services.review_set_hidden(review_id=made[0].pk, staff=staff, hidden=True)
    return []

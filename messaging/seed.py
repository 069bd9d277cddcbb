"""Demo conversations with history between the demo tutors and students (idempotent)."""

from messaging import services
from messaging.models import Conversation, ConversationKind, Message
from wemaster.accounts.models import User
from wemaster.accounts.seed import demo_email

LINES = [
    "Hi! Could we go over last week's homework?",
    "Of course. Which exercise gave you trouble?",
    "Number 4, the one with <b>fractions</b> & ratios.",
    "Let's start there on Thursday. Bring your notes.",
    "Great, thank you!",
]


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    tutors = list(User.objects.filter(email__in=[demo_email("tutor", i) for i in range(1, 4)]).order_by("id"))
    students = list(
        User.objects.filter(email__in=[demo_email("student", i) for i in range(1, 3 * scale + 1)]).order_by("id")
    )
    if not tutors or not students:
        return []
    pairs = [(tutors[index % len(tutors)], student) for index, student in enumerate(students)]
    for tutor, student in progress(pairs, desc="conversations", total=len(pairs)):
        conversation, _ = services.conversation_create(creator=student, participant_ids=[tutor.id])
        if Message.objects.filter(conversation=conversation).exists():
            continue
        for index, line in enumerate(LINES * scale):
            author = student if index % 2 == 0 else tutor
            services.message_send(sender=author, conversation_id=conversation.id, body=line)
    group, created = _study_group(tutors, students[:3])
    if created:
        members = [tutors[0], *students[:3]]
        for author, line in zip(
            members, ["Welcome to the study group!", "Hello everyone", "Hi!", "Hello!"], strict=False
        ):
            services.message_send(sender=author, conversation_id=group.id, body=line)
    return []


def _study_group(tutors, students):
    title = "Study group"
    existing = Conversation.objects.filter(title=title, kind=ConversationKind.GROUP, created_by=tutors[0]).first()
    if existing is not None:
        return existing, False
    return services.conversation_create(
        creator=tutors[0], participant_ids=[student.id for student in students], title=title
    )

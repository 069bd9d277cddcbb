"""Demo accounts with known credentials (printed by `seed_demo`)."""

from django.conf import settings
from django.contrib.auth.hashers import make_password

from wemaster.accounts import sessions
from wemaster.accounts.models import Role, TutorProfile, User
from wemaster.accounts.services import subjects_resolve

DEMO_PASSWORD = "wemaster-demo-2026"
DEMO_DOMAIN = "demo.wemaster.test"
# The device name of the tokens `seed_demo` prints (each run replaces the previous one).
DEMO_DEVICE = "seed_demo"

DEMO_TUTORS = [
    ("Ada Lovelace", 4500, ["mathematics", "programming"]),
    ("Marie Curie", 5200, ["chemistry", "physics"]),
    ("Jorge Borges", 3800, ["spanish", "literature"]),
]


def demo_email(kind: str, index: int) -> str:
    return f"{kind}{index}@{DEMO_DOMAIN}"


def _ensure_user(*, email: str, role: str, display_name: str, password_hash: str, is_staff: bool = False) -> User:
    user, _ = User.objects.get_or_create(
        email=email,
        defaults={
            "role": role,
            "display_name": display_name,
            "password": password_hash,
            "is_staff": is_staff,
            "is_superuser": is_staff,
        },
    )
    return user


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    credentials = []
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
    admin = _ensure_user(
        email=f"admin@{DEMO_DOMAIN}",
        role=Role.STUDENT,
        display_name="Staff",
        password_hash=password_hash,
        is_staff=True,
    )
    credentials.append(("staff", admin.email, DEMO_PASSWORD))
    for index, (name, rate, subjects) in enumerate(DEMO_TUTORS, start=1):
        tutor = _ensure_user(
            email=demo_email("tutor", index), role=Role.TUTOR, display_name=name, password_hash=password_hash
        )
        profile, _ = TutorProfile.objects.get_or_create(
            user=tutor, defaults={"hourly_rate": rate, "currency": settings.CURRENCY}
        )
        profile.subjects.set(subjects_resolve(subjects))
        credentials.append(("tutor", tutor.email, DEMO_PASSWORD))
    students = 3 * scale
    for index in progress(range(1, students + 1), desc="students", total=students):
        student = _ensure_user(
            email=demo_email("student", index),
            role=Role.STUDENT,
            display_name=f"Student {index}",
            password_hash=password_hash,
        )
        if index <= 3:
            credentials.append(("student", student.email, DEMO_PASSWORD))
    return credentials


def demo_token(email: str) -> str:
    """A fresh API token of the demo login `email`; the one printed by the previous run stops
    working (only digests are stored, so a token cannot be printed twice)."""
    return sessions.token_replace(user=User.objects.get(email=email), name=DEMO_DEVICE)

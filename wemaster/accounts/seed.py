"""Demo accounts with known credentials (printed by `seed_demo`)."""

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from wemaster.accounts import sessions
from wemaster.accounts.models import Role, User
from wemaster.accounts.services import TutorProfileChanges, subjects_resolve, tutor_profile_update

DEMO_PASSWORD = "wemaster-demo-2026"
DEMO_DOMAIN = "demo.wemaster.test"
# The device name of the tokens `seed_demo` prints (each run replaces the previous one).
DEMO_DEVICE = "seed_demo"


@dataclass(frozen=True)
class DemoTutor:
    name: str
    hourly_rate: int  # cents; 0 = not set yet
    subjects: tuple[str, ...]
    headline: str
    timezone: str
    languages: tuple[str, ...]


DEMO_TUTORS = [
    DemoTutor(
        "Ada Lovelace",
        4500,
        ("mathematics", "programming"),
        "Mathematics and programming, from first loops to proofs",
        "Europe/London",
        ("en", "fr"),
    ),
    DemoTutor(
        "Marie Curie",
        5200,
        ("chemistry", "physics"),
        "Physics and chemistry with experiments you can do at home",
        "Europe/Paris",
        ("fr", "pl", "en"),
    ),
    DemoTutor(
        "Jorge Borges",
        3800,
        ("spanish", "literature"),
        "Spanish conversation and the literature of the River Plate",
        "America/Argentina/Buenos_Aires",
        ("es", "en"),
    ),
]
# A tutor still onboarding: subjects but no rate yet, so the directory does not list them.
ONBOARDING_TUTOR = DemoTutor(
    "Grace Hopper", 0, ("programming",), "Compilers and COBOL (rate coming soon)", "America/New_York", ("en",)
)
# The catalog tutors choose from: the demo tutors' subjects and a few nobody teaches yet.
DEMO_CATALOG = ("biology", "english", "history", "music")


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


def _ensure_tutor(*, email: str, tutor: DemoTutor, password_hash: str) -> User:
    user = _ensure_user(email=email, role=Role.TUTOR, display_name=tutor.name, password_hash=password_hash)
    changes = TutorProfileChanges(
        hourly_rate=tutor.hourly_rate,
        subjects=list(tutor.subjects),
        headline=tutor.headline,
        timezone=tutor.timezone,
        languages=list(tutor.languages),
    )
    tutor_profile_update(user=user, changes=changes)
    return user


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    credentials = []
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow by design
    staff = _ensure_user(
        email=f"admin@{DEMO_DOMAIN}", role=Role.STAFF, display_name="Staff", password_hash=password_hash, is_staff=True
    )
    # Seeds before the staff role made the staff member a student: no wallet is opened for staff.
    User.objects.filter(pk=staff.pk).exclude(role=Role.STAFF).update(role=Role.STAFF)
    credentials.append(("staff", staff.email, DEMO_PASSWORD))
    subjects_resolve([*DEMO_CATALOG, *(name for tutor in [*DEMO_TUTORS, ONBOARDING_TUTOR] for name in tutor.subjects)])
    for index, tutor in enumerate(DEMO_TUTORS, start=1):
        user = _ensure_tutor(email=demo_email("tutor", index), tutor=tutor, password_hash=password_hash)
        credentials.append(("tutor", user.email, DEMO_PASSWORD))
    onboarding = _ensure_tutor(email=f"new-tutor@{DEMO_DOMAIN}", tutor=ONBOARDING_TUTOR, password_hash=password_hash)
    credentials.append(("tutor", onboarding.email, DEMO_PASSWORD))
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

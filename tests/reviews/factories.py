from tests.accounts.factories import StudentFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import completed_lesson, tutor_teaching


def reviewable_lesson(*, student=None, tutor=None):
    """A completed lesson (paid from a funded wallet) that its student may review."""
    student = student or StudentFactory()
    funded_wallet(student, 10_000)
    return completed_lesson(student=student, tutor=tutor or tutor_teaching())

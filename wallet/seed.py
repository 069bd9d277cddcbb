"""Demo wallets: every demo student gets a Visa card and money from real top-ups (sandbox gateway);
the first student's history also shows a declined top-up, so every outcome is on screen."""

from wallet import services
from wallet.models import PaymentMethod, TopUp, TopUpStatus
from wemaster.accounts.models import User
from wemaster.accounts.seed import demo_email

DEMO_TOP_UPS = [10_000, 5_000]  # cents, per student


def seed_demo(*, scale: int, progress) -> list[tuple[str, str, str]]:
    students = 3 * scale
    emails = [demo_email("student", index) for index in range(1, students + 1)]
    for student in progress(User.objects.filter(email__in=emails), desc="wallets", total=students):
        wallet = services.wallet_ensure(student=student)
        if not PaymentMethod.objects.filter(wallet=wallet).exists():
            services.payment_method_add(wallet=wallet, token="tok_visa")
        if TopUp.objects.filter(wallet=wallet, status=TopUpStatus.SUCCEEDED).exists():
            continue
        for amount in DEMO_TOP_UPS:
            services.top_up_create(wallet=wallet, amount=amount)
        if student.email == emails[0]:
            declining = services.payment_method_add(wallet=wallet, token="tok_chargeCustomerFail")
            services.top_up_create(wallet=wallet, amount=2_000, payment_method_id=declining.id)
    return []

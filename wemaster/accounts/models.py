from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

# A device name is what the client calls itself (its `device` field or User-Agent), cut to this.
DEVICE_NAME_MAX_LENGTH = 64


def normalize_email(email: str) -> str:
    """The one form an email is stored, looked up and throttled in (emails are case-insensitive)."""
    return BaseUserManager.normalize_email(email.strip()).lower()


class Role(models.TextChoices):
    STUDENT = "student", "Student"
    TUTOR = "tutor", "Tutor"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        fields.setdefault("display_name", "Admin")
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Logs in with email (stored lowercase, unique). `role` decides wallet vs earnings."""

    email = models.EmailField(unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    display_name = models.CharField(max_length=80)
    bio = models.TextField(blank=True, max_length=2000)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]
        indexes = [models.Index(fields=["role", "id"], name="accounts_user_role_id")]

    def __str__(self):
        return f"{self.display_name} <{self.email}>"

    @property
    def is_tutor(self) -> bool:
        return self.role == Role.TUTOR

    @property
    def is_student(self) -> bool:
        return self.role == Role.STUDENT


class Subject(models.Model):
    """A teachable subject, normalized lowercase ("algebra"); read-mostly, cachalot-cached."""

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TutorProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="tutor_profile", primary_key=True)
    hourly_rate = models.PositiveIntegerField(default=0, help_text="Minor units (cents) per hour.")
    currency = models.CharField(max_length=3, default="USD")
    subjects = models.ManyToManyField(Subject, related_name="tutors", blank=True)
    rating = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)

    def __str__(self):
        return f"Tutor profile of {self.user_id}"


class DeviceToken(AbstractAuthToken):
    """One API token per device (django-rest-knox's token, `KNOX_TOKEN_MODEL`).

    Only the SHA-512 `digest` of the token is stored, so a copy of the database holds no
    usable session; `token_key` (its first characters) names it to the websocket layer. The
    `expiry` slides with use and `last_used` follows it, both written at most once per
    `REST_KNOX["MIN_REFRESH_INTERVAL"]` (wemaster.core.authentication). Knox keys the row by
    its digest; here an integer id does, so clients can name a token without knowing it.
    """

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=DEVICE_NAME_MAX_LENGTH, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-id"], name="accounts_devicetoken_user_id"),
            models.Index(fields=["expiry"], name="accounts_devicetoken_expiry"),
        ]

    def __str__(self):
        return f"{self.name or 'token'} {self.token_key}… of user {self.user_id}"

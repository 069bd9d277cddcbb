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
    """What a user does on the platform. Staff operate it: no wallet, no earnings (`is_staff`
    grants the admin; a staff member who also studies or teaches keeps that role instead)."""

    STUDENT = "student", "Student"
    TUTOR = "tutor", "Tutor"
    STAFF = "staff", "Staff"


# Roles anyone may register with; staff accounts are made by staff (admin, seed_demo).
SELF_SERVICE_ROLES = (Role.STUDENT, Role.TUTOR)


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


class TutorProfileQuerySet(models.QuerySet):
    def bookable(self) -> "TutorProfileQuerySet":
        """Profiles students can find and book: an active tutor with a rate and at least one subject."""
        teaches = TutorProfile.subjects.through.objects.filter(tutorprofile_id=models.OuterRef("pk"))
        return self.filter(user__role=Role.TUTOR, user__is_active=True, hourly_rate__gt=0).filter(
            models.Exists(teaches)
        )


class TutorProfile(models.Model):
    """What students see of a tutor. Every tutor has one (registration and admin create it through
    `services.tutor_profile_ensure`); it is listed and bookable only once it has a rate and a subject.

    `rating` is the mean review score, meaningful only when `review_count` > 0 (the API shows null
    then); it is 0 rather than NULL so that "best rated first" is a plain descending index scan.
    The new columns also default in the database: bench/seed.py writes profiles with COPY.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="tutor_profile", primary_key=True)
    hourly_rate = models.PositiveIntegerField(default=0, help_text="Minor units (cents) per hour; 0 = not set.")
    currency = models.CharField(max_length=3, default="USD")
    subjects = models.ManyToManyField(Subject, related_name="tutors", blank=True)
    headline = models.CharField(max_length=120, blank=True, default="", db_default="")
    timezone = models.CharField(max_length=64, default="UTC", db_default="UTC", help_text="IANA time zone name.")
    rating = models.DecimalField(max_digits=3, decimal_places=2, default=0, db_default=0)
    review_count = models.PositiveIntegerField(default=0, db_default=0)

    objects = TutorProfileQuerySet.as_manager()

    class Meta:
        indexes = [
            # The directory's keyset orderings: price (both ways), best rated; newest is the primary key.
            models.Index(fields=["hourly_rate", "user"], name="accounts_tutor_by_price"),
            models.Index(fields=["rating", "user"], name="accounts_tutor_by_rating"),
        ]

    def __str__(self):
        return f"Tutor profile of {self.user.display_name}"

    @property
    def is_bookable(self) -> bool:
        """Needs `subjects` prefetched (or costs a query)."""
        return self.hourly_rate > 0 and bool(self.subjects.all())


class TutorLanguage(models.Model):
    """A language a tutor teaches in (ISO 639-1 code), in the order the tutor gave them."""

    profile = models.ForeignKey(TutorProfile, on_delete=models.CASCADE, related_name="languages")
    code = models.CharField(max_length=2)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["profile", "code"], name="accounts_tutor_language_once")]
        # The directory's `?language=` filter: an index-only EXISTS per profile.
        indexes = [models.Index(fields=["code", "profile"], name="accounts_tutor_language_code")]

    def __str__(self):
        return self.code


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
        return f"{self.name or 'token'} {self.token_key}… of {self.user.display_name}"

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.crypto import EncryptedCharField


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone.")


class CustomerTier(models.TextChoices):
    ENTERPRISE = "enterprise", "Enterprise"
    PROFESSIONAL = "professional", "Professional"
    STANDARD = "standard", "Standard"
    FREE = "free", "Free"


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    tier = models.CharField(
        max_length=20, choices=CustomerTier.choices, default=CustomerTier.STANDARD
    )
    email_domain = models.CharField(
        max_length=200, blank=True, help_text="Customers writing from this domain belong here."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class UserManager(DjangoUserManager):
    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def with_email(self, email: str):
        """The user with this address in any letter case, through the LOWER(email) unique index.

        (`email__iexact` compares UPPER(email), which no index serves: a scan of every user.)
        """
        return self.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower())

    def get_by_natural_key(self, username):
        return self.with_email(username).get()


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: customer, agent, lead, reviewer, technician or admin (by group)."""

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    # Encrypted at rest (core.crypto); nothing looks accounts up by phone number.
    phone = EncryptedCharField(max_length=40, blank=True)
    sms_notifications = models.BooleanField(
        default=False,
        help_text="Text the phone number when a request changes (the number and a link only).",
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_organization_admin = models.BooleanField(
        default=False, help_text="May see every ticket of the organisation."
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    language = models.CharField(
        max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin.")
    is_active = models.BooleanField(default=True)
    signup_pending = models.BooleanField(
        default=False,
        help_text="Signed up on the help center and not yet confirmed by e-mail (inactive until).",
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="core_user_email_ci_unique")]

    def __str__(self):
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        password_changed = self._password is not None
        super().save(*args, **kwargs)
        if password_changed and self.is_active and self.has_usable_password():
            from core.signals import password_in_use

            password_in_use.send(sender=type(self), user=self)

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@", 1)[0]

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.display_name

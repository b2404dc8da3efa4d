import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel
from core.storage import encrypted_storage

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz or tz == "UTC"]


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone."), code="bad_timezone")


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    DOCTOR = "doctor", _("Doctor")
    HOSPITAL = "hospital", _("Hospital staff")
    ADMIN = "admin", _("Administrator")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, *, email=None, phone=None, password=None, **fields):
        email = self.normalize_email(email).lower() if email else None
        user = self.model(email=email, phone=phone or None, **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **fields):
        fields.setdefault("role", Role.PATIENT)
        return self._create(email=email, password=password, **fields)

    def create_superuser(self, email=None, password=None, **fields):
        fields["role"] = Role.ADMIN
        return self._create(email=email, password=password, **fields)


class User(BaseModel, AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Logs in with email *or* phone; at least one of them is set."""

    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email"), unique=True, null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, unique=True, null=True, blank=True,
                             help_text=_("International format, e.g. +12025550123."))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.PATIENT,
                            db_index=True)
    preferred_language = models.CharField(_("preferred language"), max_length=8,
                                          choices=settings.LANGUAGES, default="en")
    location = models.CharField(_("location"), max_length=200, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, validators=[validate_timezone], default="UTC")
    photo = models.ImageField(_("profile photo"), upload_to="photos/%Y/%m/", storage=encrypted_storage, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False,
                                   help_text=_("Can log into Django admin (administrators)."))

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(phone__isnull=False),
                name="user_has_email_or_phone",
                violation_error_message=_("Give an email address or a phone number."),
            ),
        ]

    def __str__(self):
        return self.name or self.email or self.phone or str(self.id)

    def save(self, *args, **kwargs):
        # Empty strings would collide on the unique indexes; store NULL instead.
        self.email = self.email.lower() if self.email else None
        self.phone = self.phone or None
        if self.role == Role.ADMIN:
            self.is_staff = True
            self.is_superuser = True
        super().save(*args, **kwargs)

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name.split(" ")[0] if self.name else ""

    @property
    def login_id(self):
        return self.email or self.phone

    @property
    def is_patient(self):
        return self.role == Role.PATIENT

    @property
    def is_doctor(self):
        return self.role == Role.DOCTOR

    @property
    def is_hospital_staff(self):
        return self.role == Role.HOSPITAL

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def requires_two_factor(self):
        return self.role in settings.TWO_FACTOR_REQUIRED_ROLES


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


def identity_proof_path(instance, filename):
    # The stored name carries no part of the uploaded name (which may hold personal data).
    return f"identity/{instance.user_id}/{timezone.now():%Y%m%d%H%M%S}.bin"


def cv_path(instance, filename):
    return f"cv/{instance.user_id}/{timezone.now():%Y%m%d%H%M%S}.bin"


class DoctorApplication(BaseModel):
    """A doctor's request to practise on Haven. Each (re-)application is a new row: history stays."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="doctor_applications")
    specialty = models.CharField(_("specialty"), max_length=120)
    years_experience = models.PositiveSmallIntegerField(_("years of experience"))
    cv_text = models.TextField(_("CV / experience"))
    cv_file = models.FileField(_("CV file"), upload_to=cv_path, storage=encrypted_storage, blank=True)
    cv_file_type = models.CharField(max_length=64, blank=True)
    identity_proof = models.FileField(_("identity proof"), upload_to=identity_proof_path,
                                      storage=encrypted_storage)
    identity_proof_type = models.CharField(max_length=64)
    proposed_timeslots = models.JSONField(
        _("proposed weekly timeslots"), default=list,
        help_text=_('List of {"weekday": 0-6 (Monday=0), "start": "HH:MM", "end": "HH:MM"}.'))
    status = models.CharField(_("status"), max_length=16, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.PENDING, db_index=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    # The status the doctor was last emailed about: makes the notification task idempotent.
    notified_status = models.CharField(max_length=16, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("doctor application")
        constraints = [
            # One open application at a time per doctor.
            models.UniqueConstraint(fields=["user"], condition=Q(status="pending"),
                                    name="one_pending_application_per_doctor"),
        ]

    def __str__(self):
        return f"{self.user} — {self.specialty} ({self.get_status_display()})"


class StaffInvitation(BaseModel):
    """An approved hospital's first user invites colleagues; the token is single-use."""

    hospital = models.ForeignKey("clinic.Hospital", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_open(self):
        return self.accepted_at is None and self.expires_at > timezone.now()


class ConsentKind(models.TextChoices):
    EMOTION_CAPTURE = "emotion_capture", _("Face-based emotion snapshots")
    EMOTION_IMAGES = "emotion_images", _("Keeping the snapshot images")
    EMOTION_RESULTS = "emotion_results", _("Keeping the estimated emotion of each snapshot")
    EMOTION_SCORES = "emotion_scores", _("Keeping all the scores of each snapshot")


class ConsentRecord(BaseModel):
    """Append-only history of a user's consents; the latest record per kind is the current state."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    granted = models.BooleanField()
    text_version = models.CharField(max_length=20, default="2026-11",
                                    help_text=_("Version of the consent text the user saw."))
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "kind", "-created_at"])]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Consent records are append-only.")
        super().save(*args, **kwargs)


class ApiTokenFamily(BaseModel):
    """One API sign-in: every access and refresh token minted from it by rotation carries its id.
    Only the newest refresh token (``refresh_jti``) may be exchanged; presenting an older one means
    it was copied, and the whole family is revoked. Access tokens are checked against the family
    in the same query that loads their user, so a revocation takes effect at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token_families")
    refresh_jti = models.CharField(max_length=32)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at"]

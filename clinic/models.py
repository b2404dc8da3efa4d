from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Hospital(BaseModel):
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    pin_code = models.CharField(_("PIN / postal code"), max_length=20, blank=True)
    contact = models.CharField(_("contact phone"), max_length=30)
    email = models.EmailField(_("email"), unique=True, null=True, blank=True)
    specialities = models.JSONField(_("specialities"), default=list, blank=True)
    website = models.URLField(_("website"), blank=True)
    link = models.URLField(_("map or booking link"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.PENDING, db_index=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    notified_status = models.CharField(max_length=16, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class HospitalStaff(BaseModel):
    """A hospital-role user working for a hospital. The owner (first user) may invite others."""

    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="staff")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="hospital_staff")
    is_owner = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = _("hospital staff")

    def __str__(self):
        return f"{self.user} @ {self.hospital}"


class DoctorProfile(BaseModel):
    """Created when an admin approves a doctor's application."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="doctor_profile")
    designation = models.CharField(_("designation"), max_length=120, blank=True)
    specialty = models.CharField(_("specialty"), max_length=120, db_index=True)
    years_experience = models.PositiveSmallIntegerField(_("years of experience"), default=0)
    details = models.TextField(_("education and details"), blank=True)
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)
    consultation_modes = models.JSONField(_("consultation modes"), default=list, blank=True)
    shift_start = models.TimeField(_("shift start"), null=True, blank=True)
    shift_end = models.TimeField(_("shift end"), null=True, blank=True)

    class Meta:
        ordering = ["user__name"]

    def __str__(self):
        return f"Dr. {self.user.name}"


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    NON_BINARY = "non_binary", _("Non-binary")
    OTHER = "other", _("Other")
    UNDISCLOSED = "undisclosed", _("Prefer not to say")


class Patient(BaseModel):
    """A person receiving care. May have an own login (``user``) or be managed by family only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="patient_record")
    name = models.CharField(_("name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"))
    gender = models.CharField(_("gender"), max_length=16, choices=Gender.choices)
    contact = models.CharField(_("contact phone"), max_length=30, blank=True)
    photo = models.ImageField(_("photo"), upload_to="patients/%Y/%m/", blank=True)
    emergency_contact = models.CharField(_("emergency contact"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Relation(models.TextChoices):
    SELF = "self", _("Self")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    OTHER = "other", _("Other")


class UserPatientRelation(BaseModel):
    """Which accounts may act for which patient (a parent for a child, a spouse, oneself)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="patient_relations")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="user_relations")
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "patient"], name="unique_user_patient_relation"),
        ]

    def __str__(self):
        return f"{self.user} → {self.patient} ({self.get_relation_display()})"


class WeeklyAvailability(BaseModel):
    """A recurring weekly window in the doctor's own time zone, at a hospital or online."""

    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="availability")
    hospital = models.ForeignKey(Hospital, null=True, blank=True, on_delete=models.CASCADE,
                                 help_text=_("Empty for online consultations."))
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=[(i, d) for i, d in enumerate(
            [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"),
             _("Sunday")])])
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("to"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    buffer_minutes = models.PositiveSmallIntegerField(_("buffer between slots (minutes)"), default=0)

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name_plural = _("weekly availability")
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")),
                                   name="availability_ends_after_start"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="availability_weekday"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

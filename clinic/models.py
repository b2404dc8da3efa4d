import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from core.fields import EncryptedTextField
from core.models import BaseModel
from core.storage import encrypted_storage


# A title the person typed into their own name ("Dr Nina New", "Dr. Nina", "Doctor Nina", "Dra. Ana").
_TITLE = re.compile(r"^\s*(?:dr|dra|doctor|doc)\b\.?\s*", re.IGNORECASE)


def doctor_display_name(name) -> str:
    """How a doctor is named everywhere (pages, e-mails, notifications, admin): the title once,
    in the reader's language — "Dr. Nina New" for "Nina New" as for "Dr Nina New"."""
    name = str(name or "").strip()
    bare = _TITLE.sub("", name, count=1).strip() or name
    return gettext("Dr. %(name)s") % {"name": bare}


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


class ConsultationMode(models.TextChoices):
    REMOTE = "remote", _("Online (video or audio)")
    REGULAR = "regular", _("In person")


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
    accepts_new_patients = models.BooleanField(_("accepts new patients"), default=True)

    class Meta:
        ordering = ["user__name"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return doctor_display_name(self.user.name)

    @property
    def name(self):
        return self.user.name


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
    photo = models.ImageField(_("photo"), upload_to="patients/%Y/%m/", storage=encrypted_storage, blank=True)
    emergency_contact = models.CharField(_("emergency contact"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.date_of_birth:
            validate_date_of_birth(self.date_of_birth)


MAX_AGE_YEARS = 120


def validate_date_of_birth(born: dt.date) -> None:
    """Not in the future, and at most MAX_AGE_YEARS ago: a typo (year 1, year 9999) is not saved."""
    today = timezone.localdate()
    if born > today:
        raise ValidationError({"date_of_birth": [_("The date of birth cannot be in the future.")]})
    if born < today.replace(year=today.year - MAX_AGE_YEARS, day=min(today.day, 28)):
        raise ValidationError({"date_of_birth": [_("Enter a real date of birth.")]})


class Relation(models.TextChoices):
    SELF = "self", _("Self")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    OTHER = "other", _("Other")


class Consent(models.TextChoices):
    """Where a relationship that grants access to a patient's data stands. Only accepted links
    grant access; a declined, withdrawn or removed link is deleted (the audit log keeps its story)."""

    PENDING = "pending", _("Invitation pending")
    ACCEPTED = "accepted", _("Accepted")


class LinksInForce(models.Manager):
    """The default manager of the access-granting links: accepted links only, so a query that
    forgets the consent state still cannot hand out access. Invitations are read and written
    through ``with_invitations``. (Joins through a reverse relation, e.g.
    ``care_links__doctor=...``, are not filtered by a manager: use the clinic selectors.)"""

    def get_queryset(self):
        return super().get_queryset().filter(consent=Consent.ACCEPTED)


def _consent_field():
    return models.CharField(_("consent"), max_length=10, choices=Consent.choices, default=Consent.ACCEPTED)


def _invited_by_field():
    return models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("invited by"))


class UserPatientRelation(BaseModel):
    """Which accounts may act for which patient (a parent for a child, a spouse, oneself).
    A pending link is an invitation the invited account (``user``) accepts or declines."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="patient_relations")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="user_relations")
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    consent = _consent_field()
    invited_by = _invited_by_field()

    objects = LinksInForce()
    with_invitations = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "patient"], name="unique_user_patient_relation"),
        ]
        indexes = [
            models.Index(fields=["user", "consent"], name="user_patient_user_consent"),
            models.Index(fields=["patient", "consent"], name="user_patient_patient_consent"),
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


# --- care relationships ------------------------------------------------------------------------

class HospitalDoctor(BaseModel):
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="doctor_links")
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="hospital_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital", "doctor"], name="unique_hospital_doctor")]

    def __str__(self):
        return f"{self.doctor} @ {self.hospital}"


class HospitalPatient(BaseModel):
    """A patient registered with a hospital. Pending: the hospital's invitation, which the patient
    (or their manager) accepts; booking at the hospital is consent and registers at once."""

    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="patient_links")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="hospital_links")
    consent = _consent_field()
    invited_by = _invited_by_field()

    objects = LinksInForce()
    with_invitations = models.Manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital", "patient"], name="unique_hospital_patient")]
        indexes = [
            models.Index(fields=["hospital", "consent"], name="hospital_patient_h_consent"),
            models.Index(fields=["patient", "consent"], name="hospital_patient_p_consent"),
        ]

    def __str__(self):
        return f"{self.patient} @ {self.hospital}"


class CareTeamMember(BaseModel):
    """The doctor–patient mapping: a doctor in the patient's care team. Pending: proposed by a
    hospital's staff or referred by a care-team colleague; the patient (or their manager) accepts."""

    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="care_links")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_links")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    consent = _consent_field()

    objects = LinksInForce()
    with_invitations = models.Manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["doctor", "patient"], name="unique_doctor_patient")]
        indexes = [
            models.Index(fields=["doctor", "consent"], name="care_team_doctor_consent"),
            models.Index(fields=["patient", "consent"], name="care_team_patient_consent"),
        ]

    def __str__(self):
        return f"{self.doctor} → {self.patient}"


# --- availability --------------------------------------------------------------------------------

class AvailabilityException(BaseModel):
    """Time the doctor is not available: leave days or blocked hours (absolute, time-zone aware)."""

    class Kind(models.TextChoices):
        LEAVE = "leave", _("Leave")
        BLOCKED = "blocked", _("Blocked hours")

    doctor = models.ForeignKey(DoctorProfile, on_delete=models.CASCADE, related_name="exceptions")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BLOCKED)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    reason = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="exception_ends_after_start")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"


# --- appointments --------------------------------------------------------------------------------

class AppointmentType(models.TextChoices):
    REMOTE = "remote", _("Online")
    REGULAR = "regular", _("In person")
    EMERGENCY = "emergency", _("Emergency")


class AppointmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    CONFIRMED = "confirmed", _("Confirmed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# Statuses that hold a place in the doctor's and the patient's calendars.
ACTIVE_STATUSES = (AppointmentStatus.REQUESTED, AppointmentStatus.CONFIRMED)


class Appointment(BaseModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(DoctorProfile, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="appointments",
                               help_text=_("Empty for an emergency request no doctor has accepted yet."))
    hospital = models.ForeignKey(Hospital, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    type = models.CharField(_("type"), max_length=10, choices=AppointmentType.choices, db_index=True)
    start = models.DateTimeField(_("start"), db_index=True)
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=10, choices=AppointmentStatus.choices,
                              default=AppointmentStatus.REQUESTED, db_index=True)
    reason = EncryptedTextField(_("reason for visit"), blank=True)
    notes = EncryptedTextField(_("notes"), blank=True)
    extras = models.JSONField(_("extras"), default=dict, blank=True)
    room_id = models.CharField(_("call room"), max_length=64, blank=True, db_index=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    overbooked = models.BooleanField(default=False, help_text=_("Deliberately booked over another appointment."))
    overbook_reason = EncryptedTextField(max_length=300, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    cancellation_reason = EncryptedTextField(_("cancellation reason"), blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    rescheduled_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="rescheduled_to")

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["doctor", "start"]),
            models.Index(fields=["patient", "start"]),
            models.Index(fields=["hospital", "start"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_ends_after_start"),
            models.CheckConstraint(condition=~Q(type="regular") | Q(hospital__isnull=False),
                                   name="in_person_needs_hospital"),
            models.CheckConstraint(condition=Q(type="emergency") | Q(doctor__isnull=False),
                                   name="scheduled_needs_doctor"),
            # Same-slot races are refused by every database; overlapping ranges additionally by a
            # Postgres exclusion constraint (migration 0003).
            # Emergencies are exempt: they interrupt whatever is scheduled.
            models.UniqueConstraint(fields=["doctor", "start"],
                                    condition=Q(status__in=["requested", "confirmed"], overbooked=False)
                                    & ~Q(type="emergency"),
                                    name="one_active_appointment_per_doctor_start"),
            models.UniqueConstraint(fields=["patient", "start"],
                                    condition=Q(status__in=["requested", "confirmed"]) & ~Q(type="emergency"),
                                    name="one_active_appointment_per_patient_start"),
        ]

    def __str__(self):
        doctor = self.doctor or gettext("(unassigned)")
        return f"{self.patient} · {doctor} · {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES


class AppointmentEvent(BaseModel):
    """A typed entry in the appointment's history: who did what, when and why."""

    class Kind(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        CONFIRMED = "confirmed", _("Confirmed")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        CANCELLED = "cancelled", _("Cancelled")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("Marked as no-show")
        ACCEPTED = "accepted", _("Emergency accepted")
        ESCALATED = "escalated", _("Emergency escalated")
        OVERBOOKED = "overbooked", _("Overbooked")
        NOTE = "note", _("Note")
        REMINDER = "reminder", _("Reminder sent")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    reason = EncryptedTextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return gettext("%(what)s by %(who)s") % {"what": self.get_kind_display(),
                                                  "who": self.actor or gettext("the system")}


class EmergencyStep(models.IntegerChoices):
    """The escalation ladder of an emergency request nobody has accepted yet (clinic.services):
    each step alerts more people, EMERGENCY_ESCALATION_MINUTES after the one before."""

    ON_DUTY = 1, _("Doctors on duty")
    TEAM = 2, _("Care team and hospital doctors")
    STAFF = 3, _("Hospital staff and administrators")


class EmergencyLadderStep(BaseModel):
    """One step of an emergency's escalation ladder, taken once: the unique key makes a retried or
    overlapping scheduler run a no-op. ``at`` is when the step was taken; the alerts of the step
    (``EmergencyAlert.step``) say who was reached."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="ladder_steps")
    number = models.PositiveSmallIntegerField(choices=EmergencyStep.choices)
    at = models.DateTimeField()
    alerted = models.PositiveIntegerField(default=0, help_text=_("People newly alerted at this step."))

    class Meta:
        ordering = ["appointment", "number"]
        constraints = [models.UniqueConstraint(fields=["appointment", "number"], name="one_ladder_step_per_number")]

    def __str__(self):
        return f"{self.appointment_id} · {self.get_number_display()}"


class EmergencyAlert(BaseModel):
    """Who was alerted to an emergency request, and at which step of the ladder — the doctors whose
    queue shows it, and (last step) the hospital staff and administrators."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="alerts")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="emergency_alerts")
    step = models.PositiveSmallIntegerField(default=1, choices=EmergencyStep.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appointment", "recipient"], name="one_alert_per_recipient")]


class AppointmentReminder(BaseModel):
    """One row per (appointment, reminder kind): the unique constraint makes each reminder
    claimable once, however often the scheduler fires."""

    class Kind(models.TextChoices):
        DAY_BEFORE = "24h", _("24 hours before")
        HOUR_BEFORE = "1h", _("1 hour before")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appointment", "kind"], name="one_reminder_per_kind")]


class CalendarFeed(BaseModel):
    """A secret, revocable URL serving the user's appointments as an iCalendar feed."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    include_reasons = models.BooleanField(
        _("include reasons for visit"), default=False,
        help_text=_("Off by default: calendar apps copy events to wherever the calendar is shared."))

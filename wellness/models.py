from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedJSONField, EncryptedTextField
from core.models import BaseModel


class WellnessEntry(BaseModel):
    """One day's check-in. Editable on that day and the day after (patient's local dates), then locked."""

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="wellness_entries")
    date = models.DateField(_("date"))
    sleep_hours = models.DecimalField(_("sleep (hours)"), max_digits=3, decimal_places=1, null=True, blank=True,
                                      validators=[MinValueValidator(0), MaxValueValidator(24)])
    meditation_minutes = models.PositiveSmallIntegerField(_("meditation (minutes)"), null=True, blank=True,
                                                          validators=[MaxValueValidator(1440)])
    mood = models.PositiveSmallIntegerField(_("mood (1–10)"), validators=[MinValueValidator(1), MaxValueValidator(10)])
    stress = models.PositiveSmallIntegerField(_("stress (1–10)"),
                                              validators=[MinValueValidator(1), MaxValueValidator(10)])
    notes = EncryptedTextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-date"]
        verbose_name_plural = _("wellness entries")
        constraints = [
            models.UniqueConstraint(fields=["patient", "date"], name="one_wellness_entry_per_day"),
            models.CheckConstraint(condition=Q(mood__gte=1, mood__lte=10), name="mood_1_to_10"),
            models.CheckConstraint(condition=Q(stress__gte=1, stress__lte=10), name="stress_1_to_10"),
            models.CheckConstraint(condition=Q(sleep_hours__isnull=True) | Q(sleep_hours__gte=0, sleep_hours__lte=24),
                                   name="sleep_0_to_24"),
        ]
        indexes = [models.Index(fields=["patient", "-date"])]

    def __str__(self):
        return f"{self.patient} {self.date}"


class Habit(BaseModel):
    """A custom habit: yes/no ("took my walk") or a number with a unit ("walk — 30 min")."""

    class Kind(models.TextChoices):
        YES_NO = "yes_no", _("Yes / no")
        NUMBER = "number", _("Number")

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="habits")
    name = models.CharField(_("habit"), max_length=80)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.YES_NO)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    target = models.DecimalField(_("daily target"), max_digits=7, decimal_places=1, null=True, blank=True)
    suggested_by = models.ForeignKey("clinic.DoctorProfile", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="suggested_habits")
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def counts_as_done(self, *, done=None, value=None) -> bool:
        """The one definition of "done" for a day's log: a yes/no habit when answered yes; a number
        habit when a value above 0 was logged that also reaches the target, if there is one (0 is
        never done, even with a target of 0)."""
        if self.kind == self.Kind.NUMBER:
            if value is None or value <= 0:
                return False
            return self.target is None or value >= self.target
        return bool(done)


class HabitLog(BaseModel):
    habit = models.ForeignKey(Habit, on_delete=models.CASCADE, related_name="logs")
    date = models.DateField()
    done = models.BooleanField(default=False)
    value = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["habit", "date"], name="one_habit_log_per_day")]


class TodoTask(BaseModel):
    """Morning plan: tasks for a day (optionally at a time); night review marks them done."""

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="todo_tasks")
    date = models.DateField(_("day"))
    title = EncryptedTextField(_("task"), max_length=200)
    time = models.TimeField(_("time"), null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    carried_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="carried_to")

    class Meta:
        ordering = ["date", "time", "created_at"]
        indexes = [models.Index(fields=["patient", "date"])]

    def __str__(self):
        return self.title


class DailyReview(BaseModel):
    """The night review's reflection for a day."""

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="daily_reviews")
    date = models.DateField()
    reflection = EncryptedTextField(_("reflection"), blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "date"], name="one_review_per_day")]


class WellnessSettings(BaseModel):
    """Per-patient preferences: the gentle evening reminder when nothing was logged."""

    patient = models.OneToOneField("clinic.Patient", on_delete=models.CASCADE, related_name="wellness_settings")
    evening_reminder = models.BooleanField(_("evening reminder"), default=True)
    reminder_time = models.TimeField(_("reminder time"), default="20:00")
    last_reminded_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("wellness settings")
        verbose_name_plural = _("wellness settings")

    def __str__(self):
        return _("Wellness settings of %(patient)s") % {"patient": self.patient}


# --- risk -------------------------------------------------------------------------------------------

class RiskFlag(BaseModel):
    """A high-risk flag on a patient: raised by a doctor, or suggested by a rule for a clinician to
    confirm (AI and rules assist, clinicians decide)."""

    class Source(models.TextChoices):
        DOCTOR = "doctor", _("Doctor")
        RULE = "rule", _("Automatic rule (needs a clinician's confirmation)")

    class Status(models.TextChoices):
        SUGGESTED = "suggested", _("Suggested")
        OPEN = "open", _("Open")
        CLEARED = "cleared", _("Cleared")
        DISMISSED = "dismissed", _("Dismissed")

    class FollowUp(models.TextChoices):
        CALL = "call", _("Call the patient")
        EMERGENCY_CONSULT = "emergency_consult", _("Emergency consultation")
        SEND_RESOURCES = "send_resources", _("Send resources")

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="risk_flags")
    doctor = models.ForeignKey("clinic.DoctorProfile", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="risk_flags", help_text=_("The doctor who raised or confirmed it."))
    source = models.CharField(max_length=8, choices=Source.choices)
    rule = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    reason = EncryptedTextField(_("reason"))
    follow_up = models.CharField(_("follow-up"), max_length=20, choices=FollowUp.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live flag per patient and rule, so a rule firing every night does not pile up.
            models.UniqueConstraint(fields=["patient", "rule"], condition=Q(status__in=["suggested", "open"]),
                                    name="one_live_flag_per_rule"),
        ]


class RiskFlagEvent(BaseModel):
    class Kind(models.TextChoices):
        SUGGESTED = "suggested", _("Suggested by a rule")
        RAISED = "raised", _("Marked high-risk")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")
        CLEARED = "cleared", _("Cleared")
        FOLLOW_UP_DONE = "follow_up_done", _("Follow-up done")

    flag = models.ForeignKey(RiskFlag, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    note = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["created_at"]


class FollowUpTask(BaseModel):
    flag = models.ForeignKey(RiskFlag, on_delete=models.CASCADE, related_name="tasks")
    doctor = models.ForeignKey("clinic.DoctorProfile", on_delete=models.CASCADE, related_name="follow_up_tasks")
    action = models.CharField(max_length=20, choices=RiskFlag.FollowUp.choices)
    due_on = models.DateField(_("due"))
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        ordering = ["due_on"]


# --- emotion snapshots (consented) ----------------------------------------------------------------------

class EmotionSnapshot(BaseModel):
    """The result of analysing a short webcam capture. Only with the patient's consent; the emotion
    vector is encrypted at rest; frames are kept only with a separate consent."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Analysing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Keep(models.TextChoices):
        """What of the result the patient consented to keep (fixed at capture time)."""
        SCORES = "scores", _("The estimate and all its scores")
        LABEL = "label", _("Only the estimated emotion")
        NONE = "none", _("Nothing: show me the result once")

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="emotion_snapshots")
    captured_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    keep = models.CharField(max_length=8, choices=Keep.choices, default=Keep.SCORES, editable=False)
    face_detected = models.BooleanField(null=True)
    # The result, encrypted like the vector (counts per emotion are computed after decrypting).
    dominant_emotion = EncryptedTextField(max_length=12, blank=True)
    confidence = EncryptedJSONField(null=True, blank=True)
    emotion_vector = EncryptedJSONField(null=True, blank=True)
    frames = models.JSONField(default=list, blank=True,
                              help_text=_("Names of the stored (encrypted) frames while analysing, or kept ones."))
    keep_frames = models.BooleanField(default=False)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"])]


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel


class Notification(BaseModel):
    """One in-app notification for one person, optionally also emailed.

    ``source_key`` names what caused it (``event:<id>``, ``reminder:<id>``): with the unique
    constraint it makes a retried task a no-op instead of a second notification. The email's text
    and calendar attachment are rendered in the recipient's language when the row is written, so
    the delivery task only sends what is stored.
    """

    class Kind(models.TextChoices):
        APPOINTMENT_REQUESTED = "appointment.requested", _("Appointment requested")
        APPOINTMENT_CONFIRMED = "appointment.confirmed", _("Appointment confirmed")
        APPOINTMENT_RESCHEDULED = "appointment.rescheduled", _("Appointment rescheduled")
        APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")
        APPOINTMENT_COMPLETED = "appointment.completed", _("Appointment completed")
        APPOINTMENT_REMINDER = "appointment.reminder", _("Appointment reminder")
        EMERGENCY = "emergency.requested", _("Emergency request")
        EMERGENCY_ACCEPTED = "emergency.accepted", _("Emergency accepted")
        EMERGENCY_ESCALATED = "emergency.escalated", _("Emergency escalated")
        WELLNESS_REMINDER = "wellness.reminder", _("Wellness check-in reminder")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True, help_text=_("A path inside Haven."))
    source_key = models.CharField(max_length=80, blank=True, editable=False)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    email_requested = models.BooleanField(default=False, editable=False)
    email_text = models.TextField(blank=True, editable=False)
    ics = models.TextField(blank=True, editable=False, help_text=_("iCalendar attachment of the email."))
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["recipient", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "source_key"], condition=~Q(source_key=""),
                                    name="one_notification_per_source"),
        ]

    def __str__(self):
        return f"{self.recipient} · {self.title}"

    @property
    def is_unread(self):
        return self.read_at is None

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedJSONField, EncryptedTextField
from core.models import BaseModel
from core.storage import encrypted_storage


class Notification(BaseModel):
    """One in-app notification for one person, optionally also emailed.

    ``source_key`` names what caused it (``event:<id>``, ``reminder:<id>``): with the unique
    constraint it makes a retried task a no-op instead of a second notification.

    What it says is ``kind`` + ``params`` (encrypted JSON: names, times, reasons, previews), rendered
    when it is read, in the reader's language and time zone, by the kind's renderer in
    ``telehealth.notification_texts`` (``rendered``); its e-mail is rendered the same way when it
    is sent. ``title``/``body`` keep the text as first written: the fallback for rows without
    params (written before params existed, or by a caller passing ready text) and for the admin.
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
        CHAT_MESSAGE = "chat.message", _("New chat message")
        CHAT_URGENT = "chat.urgent", _("Urgent chat")
        CHAT_URGENT_ESCALATED = "chat.escalated", _("Urgent chat escalated")
        CALL_REQUESTED = "call.requested", _("Call requested")
        CALL_ACCEPTED = "call.accepted", _("Call request accepted")
        CALL_DECLINED = "call.declined", _("Call request declined")
        ACCESS_INVITATION = "access.invitation", _("Access invitation")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    # Previews of chat messages and visit or cancellation reasons: encrypted at rest like their source.
    body = EncryptedTextField(_("message"), blank=True)
    params = EncryptedJSONField(null=True, blank=True, editable=False)
    url = models.CharField(_("link"), max_length=500, blank=True, help_text=_("A path inside Haven."))
    source_key = models.CharField(max_length=80, blank=True, editable=False)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    email_requested = models.BooleanField(default=False, editable=False)
    email_text = EncryptedTextField(blank=True, editable=False)
    ics = models.TextField(blank=True, editable=False, help_text=_("iCalendar attachment of the email."))
    emailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
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

    @property
    def rendered(self):
        """Title, body (and e-mail) in the active language, for the recipient (cached per language)."""
        from telehealth.notification_texts import render

        return render(self)


# --- telehealth: chat ------------------------------------------------------------------------------

class Chat(BaseModel):
    """The conversation of one doctor–patient pair (one per mapping; family members take part on
    the patient's side). Archiving is per side; ``last_seq`` hands out message sequence numbers."""

    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="chats",
                                verbose_name=_("patient"))
    doctor = models.ForeignKey("clinic.DoctorProfile", on_delete=models.CASCADE, related_name="chats",
                               verbose_name=_("doctor"))
    is_active_for_doctor = models.BooleanField(_("shown to the doctor"), default=True)
    is_active_for_patient = models.BooleanField(_("shown to the patient"), default=True)
    is_urgent = models.BooleanField(_("urgent"), default=False, db_index=True)
    urgent_at = models.DateTimeField(_("marked urgent"), null=True, blank=True)
    urgent_escalated_at = models.DateTimeField(
        _("escalated to hospital staff"), null=True, blank=True, help_text=_("When the unanswered urgent conversation was escalated to hospital staff."))
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [models.UniqueConstraint(fields=["patient", "doctor"], name="one_chat_per_doctor_patient")]

    def __str__(self):
        return f"{self.patient} ↔ {self.doctor}"


class Message(BaseModel):
    """One chat message. ``seq`` orders a chat's messages (clients resync with ``after=seq``);
    ``client_id`` is chosen by the sending client so a retried send is stored once."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        AUDIO = "audio", _("Voice message")
        FILE = "file", _("File")

    class SenderRole(models.TextChoices):
        DOCTOR = "doctor", _("Doctor")
        PATIENT = "patient", _("Patient")
        FAMILY = "family", _("Family member on behalf of the patient")

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation"))
    seq = models.PositiveBigIntegerField(_("number in the conversation"), editable=False)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("sender"))
    sender_role = models.CharField(_("sender's role"), max_length=8, choices=SenderRole.choices)
    client_id = models.CharField(max_length=64)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TEXT)
    body = EncryptedTextField(_("text"), blank=True)  # encrypted at rest (core.fields)
    file = models.FileField(_("file"), upload_to="chat/%Y/%m/", storage=encrypted_storage, blank=True,
                            max_length=300)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_type = models.CharField(_("file type"), max_length=100, blank=True)
    file_size = models.PositiveIntegerField(_("file size"), default=0)
    redacted_at = models.DateTimeField(_("removed by a moderator"), null=True, blank=True, editable=False,
                                       help_text=_("Body and file were blanked (the reason is in the audit log)."))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["chat", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chat", "seq"], name="unique_chat_message_seq"),
            models.UniqueConstraint(fields=["chat", "sender", "client_id"], name="unique_chat_message_client_id"),
        ]

    def __str__(self):
        return f"{self.chat} #{self.seq}"


class ChatReadState(BaseModel):
    """How far one person has read a chat: messages with ``seq`` above ``last_read_seq`` are unread
    for them; the other side's pointers are the read receipts."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="read_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_read_states")
    last_read_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return _("%(user)s has read %(chat)s up to message %(seq)d") % {
            "user": self.user, "chat": self.chat, "seq": self.last_read_seq}

    class Meta:
        verbose_name = _("read position")
        verbose_name_plural = _("read positions")
        constraints = [models.UniqueConstraint(fields=["chat", "user"], name="one_read_state_per_chat_user")]


class CallRequest(BaseModel):
    """A patient's side asks, from a chat, for a call now. The doctor accepts (an online
    appointment starting now is created and both are taken to its call room) or declines; the
    requester may cancel while it is pending; an unanswered request expires. At most one request
    per chat is pending at a time."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the doctor")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="call_requests",
                             verbose_name=_("conversation"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("asked by"))
    audio_only = models.BooleanField(_("audio only"), default=False)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("answered by"))
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    decline_reason = models.CharField(_("reason for declining"), max_length=300, blank=True)
    appointment = models.OneToOneField("clinic.Appointment", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="call_request", verbose_name=_("appointment"))

    class Meta:
        verbose_name = _("call request")
        verbose_name_plural = _("call requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["chat"], condition=Q(status="pending"),
                                    name="one_pending_call_request_per_chat"),
        ]

    def __str__(self):
        return f"{self.chat} · {self.get_status_display()}"

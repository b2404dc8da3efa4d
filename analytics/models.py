from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel


class AuditAction(models.TextChoices):
    LOGIN_SUCCEEDED = "login.succeeded", _("Login succeeded")
    LOGIN_FAILED = "login.failed", _("Login failed")
    LOCKED_OUT = "login.locked_out", _("Locked out")
    LOGOUT = "logout", _("Logout")
    TWO_FACTOR_ENROLLED = "2fa.enrolled", _("Two-factor enrolled")
    TWO_FACTOR_REMOVED = "2fa.removed", _("Two-factor removed")
    BACKUP_CODES_GENERATED = "2fa.backup_codes", _("Backup codes generated")
    TWO_FACTOR_FAILED = "2fa.failed", _("Two-factor code rejected")
    USER_CREATED = "user.created", _("Account created")
    USER_UPDATED = "user.updated", _("Account updated")
    APPLICATION_SUBMITTED = "application.submitted", _("Doctor application submitted")
    APPLICATION_APPROVED = "application.approved", _("Doctor application approved")
    APPLICATION_REJECTED = "application.rejected", _("Doctor application rejected")
    IDENTITY_PROOF_VIEWED = "identity_proof.viewed", _("Identity proof viewed")
    HOSPITAL_APPROVED = "hospital.approved", _("Hospital approved")
    HOSPITAL_REJECTED = "hospital.rejected", _("Hospital rejected")
    STAFF_INVITED = "staff.invited", _("Hospital staff invited")
    STAFF_JOINED = "staff.joined", _("Hospital staff joined")
    PATIENT_CREATED = "patient.created", _("Patient record created")
    PATIENT_VIEWED = "patient.viewed", _("Patient record viewed")
    MAPPING_HOSPITAL_DOCTOR_ADDED = "mapping.hospital_doctor.added", _("Doctor added to hospital")
    MAPPING_HOSPITAL_DOCTOR_REMOVED = "mapping.hospital_doctor.removed", _("Doctor removed from hospital")
    MAPPING_HOSPITAL_PATIENT_ADDED = "mapping.hospital_patient.added", _("Patient registered with hospital")
    MAPPING_HOSPITAL_PATIENT_REMOVED = "mapping.hospital_patient.removed", _("Patient removed from hospital")
    MAPPING_DOCTOR_PATIENT_ADDED = "mapping.doctor_patient.added", _("Doctor added to care team")
    MAPPING_DOCTOR_PATIENT_REMOVED = "mapping.doctor_patient.removed", _("Doctor removed from care team")
    MAPPING_USER_PATIENT_ADDED = "mapping.user_patient.added", _("Account linked to patient")
    MAPPING_USER_PATIENT_UPDATED = "mapping.user_patient.updated", _("Account–patient relation changed")
    MAPPING_USER_PATIENT_REMOVED = "mapping.user_patient.removed", _("Account unlinked from patient")
    AVAILABILITY_REPLACED = "availability.replaced", _("Weekly schedule changed")
    AVAILABILITY_EXCEPTION_ADDED = "availability.exception_added", _("Schedule exception added")
    APPOINTMENT_BOOKED = "appointment.booked", _("Appointment booked")
    APPOINTMENT_CONFIRMED = "appointment.confirmed", _("Appointment confirmed")
    APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")
    APPOINTMENT_COMPLETED = "appointment.completed", _("Appointment completed")
    APPOINTMENT_NO_SHOW = "appointment.no_show", _("Appointment no-show")
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled", _("Appointment rescheduled")
    APPOINTMENT_VIEWED = "appointment.viewed", _("Appointment viewed")
    EMERGENCY_REQUESTED = "appointment.emergency_requested", _("Emergency requested")
    EMERGENCY_ACCEPTED = "appointment.emergency_accepted", _("Emergency accepted")
    WELLNESS_VIEWED = "wellness.viewed", _("Wellness data viewed")
    RISK_VIEWED = "risk.viewed", _("Risk flags viewed")
    RISK_FLAG_SUGGESTED = "risk_flag.suggested", _("Risk flag suggested by a rule")
    RISK_FLAG_RAISED = "risk_flag.raised", _("Patient marked high-risk")
    RISK_FLAG_CONFIRMED = "risk_flag.confirmed", _("Risk flag confirmed")
    RISK_FLAG_DISMISSED = "risk_flag.dismissed", _("Risk flag dismissed")
    RISK_FLAG_CLEARED = "risk_flag.cleared", _("Risk flag cleared")
    RISK_FOLLOW_UP_DONE = "risk_flag.follow_up_done", _("Risk follow-up done")
    CONSENT_GRANTED = "consent.granted", _("Consent granted")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
    DOCTOR_CREATED = "doctor.created", _("Doctor created by an administrator")
    DOCTOR_DEACTIVATED = "doctor.deactivated", _("Doctor deactivated")
    DOCTOR_UPDATED = "doctor.updated", _("Doctor profile updated")
    EMOTION_CAPTURED = "emotion.captured", _("Emotion snapshot captured")
    EMOTION_ERASED = "emotion.erased", _("Emotion data erased")
    EMOTION_HISTORY_VIEWED = "emotion.history_viewed", _("Emotion history viewed")
    HOSPITAL_CREATED = "hospital.created", _("Hospital created")
    HOSPITAL_DELETED = "hospital.deleted", _("Hospital deleted")
    HOSPITAL_UPDATED = "hospital.updated", _("Hospital updated")
    PATIENT_DELETED = "patient.deleted", _("Patient record deleted")
    PATIENT_UPDATED = "patient.updated", _("Patient record updated")
    WELLNESS_ENTRY_CREATED = "wellness.entry.created", _("Wellness check-in created")
    WELLNESS_ENTRY_UPDATED = "wellness.entry.updated", _("Wellness check-in updated")
    WELLNESS_HABIT_CREATED = "wellness.habit.created", _("Habit created")
    WELLNESS_HABIT_UPDATED = "wellness.habit.updated", _("Habit updated")
    WELLNESS_HABIT_ARCHIVED = "wellness.habit.archived", _("Habit archived")
    WELLNESS_HABIT_SUGGESTED = "wellness.habit.suggested", _("Habit suggested by a doctor")
    WELLNESS_REVIEW_SAVED = "wellness.review.saved", _("Night review saved")
    WELLNESS_SETTINGS_UPDATED = "wellness.settings.updated", _("Wellness settings updated")
    WELLNESS_TASK_ADDED = "wellness.task.added", _("Task added")
    WELLNESS_TASK_DONE = "wellness.task.done", _("Task done")
    WELLNESS_TASK_UNDONE = "wellness.task.undone", _("Task marked not done")
    WELLNESS_TASK_UPDATED = "wellness.task.updated", _("Task updated")
    WELLNESS_TASK_CARRIED_OVER = "wellness.task.carried_over", _("Tasks carried over")
    APPOINTMENT_REQUESTED = "appointment.requested", _("Appointment requested")
    CALL_STARTED = "call.started", _("Call started")
    CALL_ENDED = "call.ended", _("Call ended")
    CALL_REQUEST_CREATED = "call_request.created", _("Call requested from a chat")
    CALL_REQUEST_ACCEPTED = "call_request.accepted", _("Call request accepted")
    CALL_REQUEST_DECLINED = "call_request.declined", _("Call request declined")
    CALL_REQUEST_CANCELLED = "call_request.cancelled", _("Call request cancelled")
    CALL_REQUEST_EXPIRED = "call_request.expired", _("Call request expired")
    CALL_REQUEST_VIEWED = "call_request.viewed", _("Call request viewed")
    CHAT_VIEWED = "chat.viewed", _("Chat messages viewed")
    CHAT_FILE_VIEWED = "chat.file_viewed", _("Chat file downloaded")
    CHAT_MESSAGE_VIEWED = "chat.message_viewed", _("Chat message opened by an administrator")
    CHAT_MESSAGE_SENT = "chat.message_sent", _("Chat message sent")
    CHAT_MESSAGE_REDACTED = "chat.message_redacted", _("Chat message removed by a moderator")
    CHAT_ARCHIVED = "chat.archived", _("Chat archived")
    CHAT_RESTORED = "chat.restored", _("Chat restored")
    CHAT_URGENT_MARKED = "chat.urgent_marked", _("Chat marked urgent")
    CHAT_URGENT_WITHDRAWN = "chat.urgent_withdrawn", _("Chat no longer urgent")
    CHAT_URGENT_RESOLVED = "chat.urgent_resolved", _("Urgent chat handled")
    CHAT_URGENT_ESCALATED = "chat.urgent_escalated", _("Urgent chat escalated to hospital staff")
    SMS_SENT = "notification.sms_sent", _("SMS sent")
    SMS_FAILED = "notification.sms_failed", _("SMS failed")
    CALENDAR_FEED_READ = "calendar.feed_read", _("Calendar feed read")
    ADMIN_CLINICAL_VIEWED = "admin.clinical_viewed", _("Clinical record opened in Django admin")


class AuditEvent(BaseModel):
    """Who did what to which object, when (UTC) and from where. Append-only."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True,
                                   help_text=_("Kept when the actor account is deleted."))
    action = models.CharField(max_length=48, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    target_label = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"])]

    def __str__(self):
        when = f"{self.created_at:%Y-%m-%d %H:%M:%S} " if self.created_at else ""
        return f"{when}{self.actor_label} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

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


class AuditEvent(BaseModel):
    """Who did what to which object, when (UTC) and from where. Append-only."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True,
                                   help_text=_("Kept when the actor account is deleted."))
    action = models.CharField(max_length=40, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    target_label = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

"""Writes for accounts: signups, doctor and hospital approval, invitations, profile, 2FA.

Every function takes keyword arguments, validates, writes inside a transaction, records an audit
event and queues notifications on commit. Views and the API call these and nothing else.
"""

import datetime as dt
import secrets
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApplicationStatus, DoctorApplication, Role, StaffInvitation, User
from accounts.policy import has_two_factor  # noqa: F401 (callers import it from here too)
from analytics.models import AuditAction
from analytics.services import audit_record
from clinic.models import (
    ApprovalStatus,
    DoctorProfile,
    Hospital,
    HospitalStaff,
    Patient,
    Relation,
    UserPatientRelation,
    WeeklyAvailability,
)
from core.errors import Conflict, DomainError, PermissionDenied
from core.phones import normalize_phone
from core.uploads import clean_document, reencode_image

BACKUP_CODE_COUNT = 10
INVITATION_TTL = dt.timedelta(days=7)


# --- helpers ---------------------------------------------------------------------------------

def _check_identity_free(*, email, phone, exclude=None):
    """Normalise email/phone and make sure no other account uses them (errors name the field)."""
    errors = {}
    email = email.strip().lower() if email else None
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    else:
        phone = None
    others = User.objects.exclude(pk=exclude.pk) if exclude else User.objects.all()
    if email and others.filter(email__iexact=email).exists():
        errors["email"] = [_("An account with this email already exists.")]
    if phone and "phone" not in errors and others.filter(phone=phone).exists():
        errors["phone"] = [_("An account with this phone number already exists.")]
    if not email and not phone and "phone" not in errors:
        errors["email"] = [_("Give an email address or a phone number.")]
    if errors:
        raise ValidationError(errors)
    return email, phone


class IdentityTaken(Exception):
    """A sign-up named an e-mail or phone that already has an account. Sign-up services catch it,
    tell the owner and answer as if all went well, so nobody can probe who has an account."""

    def __init__(self, owners):
        super().__init__("identity taken")
        self.owners = owners  # [(user, "email" | "phone")]


def _identity_owners(*, email, phone) -> list:
    owners = []
    if email:
        owners += [(u, "email") for u in User.objects.filter(email__iexact=email)]
    if phone:
        owners += [(u, "phone") for u in User.objects.filter(phone=phone) if (u, "email") not in owners]
    return owners


def _tell_owners(owners) -> None:
    from accounts.tasks import send_signup_attempt_notice

    for user, channel in owners:
        _on_commit(send_signup_attempt_notice, str(user.pk), channel)


def _validate_password(password, user):
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


def _clean_identity(*, email, phone):
    """Normalise e-mail and phone without looking at other accounts."""
    email = email.strip().lower() if email else None
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
    else:
        phone = None
    if not email and not phone:
        raise ValidationError({"email": [_("Give an email address or a phone number.")]})
    return email, phone


def _new_user(*, role, name, email, phone, password, photo=None, signup=False, **fields) -> User:
    """Create an account. For a self-service sign-up (``signup=True``) every check that does not
    depend on other accounts runs first, and a taken e-mail or phone raises IdentityTaken instead
    of a field error."""
    if not signup:
        email, phone = _check_identity_free(email=email, phone=phone)
    else:
        email, phone = _clean_identity(email=email, phone=phone)
    user = User(role=role, name=name.strip(), email=email, phone=phone, **fields)
    _validate_password(password, user)
    user.set_password(password)
    if photo:
        user.photo = reencode_image(photo, max_side=800)
    user.full_clean(exclude=["password"], validate_unique=not signup)
    if signup and (owners := _identity_owners(email=email, phone=phone)):
        raise IdentityTaken(owners)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent signup took the email/phone between check and save
        if signup:
            raise IdentityTaken(_identity_owners(email=email, phone=phone)) from exc
        raise ValidationError({"email": [_("An account with this email or phone already exists.")]}) from exc
    if email:
        address = EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        if signup:
            # Web and API sign-ups alike: a link proving the address is the person's.
            from accounts.tasks import send_email_verification

            _on_commit(send_email_verification, str(address.pk))
    return user


def _on_commit(task, *args):
    transaction.on_commit(lambda: task.delay(*args))


# --- signups ---------------------------------------------------------------------------------

@transaction.atomic
def patient_signup(*, name: str, date_of_birth: dt.date, gender: str, preferred_language: str,
                   location: str, phone: str, password: str, email: str | None = None,
                   photo=None, timezone_name: str = "UTC", request=None) -> User | None:
    """Returns the new user, or None when the e-mail or phone already has an account (whose
    owner is told instead; callers answer both cases alike)."""
    if date_of_birth > timezone.localdate():
        raise ValidationError({"date_of_birth": [_("The date of birth cannot be in the future.")]})
    if date_of_birth < dt.date(1900, 1, 1):
        raise ValidationError({"date_of_birth": [_("Enter a real date of birth.")]})
    try:
        user = _new_user(role=Role.PATIENT, name=name, email=email, phone=phone, password=password,
                         photo=photo, preferred_language=preferred_language, location=location,
                         timezone=timezone_name, signup=True)
    except IdentityTaken as taken:
        _tell_owners(taken.owners)
        return None
    patient = Patient(user=user, name=user.name, date_of_birth=date_of_birth, gender=gender,
                      contact=user.phone or "")
    patient.full_clean(exclude=["user"])
    patient.save()
    UserPatientRelation.objects.create(user=user, patient=patient, relation=Relation.SELF)
    audit_record(action=AuditAction.USER_CREATED, actor=user, target=user, request=request, role=user.role)
    return user


def _clean_timeslots(timeslots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate proposed weekly slots: weekday 0–6, HH:MM times, end after start, no overlaps."""
    cleaned = []
    for slot in timeslots or []:
        try:
            weekday = int(slot["weekday"])
            start = dt.time.fromisoformat(str(slot["start"]))
            end = dt.time.fromisoformat(str(slot["end"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError({"proposed_timeslots": [_("Each timeslot needs a weekday, a start and an end time.")]}) from exc
        if not 0 <= weekday <= 6:
            raise ValidationError({"proposed_timeslots": [_("Weekday must be 0 (Monday) to 6 (Sunday).")]})
        if end <= start:
            raise ValidationError({"proposed_timeslots": [_("A timeslot must end after it starts.")]})
        cleaned.append({"weekday": weekday, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")})
    cleaned.sort(key=lambda s: (s["weekday"], s["start"]))
    for a, b in zip(cleaned, cleaned[1:]):
        if a["weekday"] == b["weekday"] and b["start"] < a["end"]:
            raise ValidationError({"proposed_timeslots": [_("Timeslots on the same day must not overlap.")]})
    if not cleaned:
        raise ValidationError({"proposed_timeslots": [_("Propose at least one weekly timeslot.")]})
    return cleaned


def _new_application(*, user, **fields) -> DoctorApplication:
    application = _prepare_application(**fields)
    return _save_application(application, user=user)


def _prepare_application(*, specialty, years_experience, cv_text, cv_file, identity_proof,
                         proposed_timeslots) -> DoctorApplication:
    """Validate an application and clean its files; unsaved and without its user yet."""
    errors = {}
    if identity_proof is None:
        errors["identity_proof"] = [_("Upload a proof of identity (PDF or image).")]
    if years_experience is None or not 0 <= int(years_experience) <= 70:
        errors["years_experience"] = [_("Enter years of experience between 0 and 70.")]
    if not (cv_text or "").strip():
        errors["cv_text"] = [_("Describe your training and experience.")]
    if not (specialty or "").strip():
        errors["specialty"] = [_("Enter your specialty.")]
    if errors:
        raise ValidationError(errors)
    # Stored rebuilt, never as uploaded: images lose EXIF (GPS), PDFs lose scripts and payloads.
    try:
        identity_proof, proof_type = clean_document(identity_proof)
    except ValidationError as exc:
        raise ValidationError({"identity_proof": exc.messages}) from exc
    cv_type = ""
    if cv_file:
        try:
            cv_file, cv_type = clean_document(cv_file)
        except ValidationError as exc:
            raise ValidationError({"cv_file": exc.messages}) from exc
    return DoctorApplication(
        specialty=specialty.strip(), years_experience=int(years_experience),
        cv_text=cv_text.strip(), proposed_timeslots=_clean_timeslots(proposed_timeslots),
        identity_proof=identity_proof, identity_proof_type=proof_type,
        cv_file=cv_file or None, cv_file_type=cv_type,
    )


def _save_application(application: DoctorApplication, *, user) -> DoctorApplication:
    application.user = user
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError as exc:
        raise Conflict(_("You already have an application under review.")) from exc
    return application


@transaction.atomic
def doctor_apply(*, name: str, email: str, phone: str, password: str, specialty: str,
                 years_experience: int, cv_text: str, identity_proof, proposed_timeslots: list,
                 cv_file=None, photo=None, preferred_language: str = "en",
                 timezone_name: str = "UTC", request=None) -> DoctorApplication | None:
    """Returns the application, or None when the e-mail or phone already has an account (whose
    owner is told instead). The application is checked first, so its errors do not depend on that."""
    if not email:
        raise ValidationError({"email": [_("Doctors need an email address for application updates.")]})
    application = _prepare_application(specialty=specialty, years_experience=years_experience,
                                       cv_text=cv_text, cv_file=cv_file, identity_proof=identity_proof,
                                       proposed_timeslots=proposed_timeslots)
    try:
        user = _new_user(role=Role.DOCTOR, name=name, email=email, phone=phone, password=password,
                         photo=photo, preferred_language=preferred_language, timezone=timezone_name,
                         signup=True)
    except IdentityTaken as taken:
        _tell_owners(taken.owners)
        return None
    application = _save_application(application, user=user)
    audit_record(action=AuditAction.APPLICATION_SUBMITTED, actor=user, target=application, request=request)
    return application


@transaction.atomic
def doctor_reapply(*, user: User, specialty: str, years_experience: int, cv_text: str,
                   identity_proof, proposed_timeslots: list, cv_file=None, request=None) -> DoctorApplication:
    """A rejected doctor applies again; the rejected application stays in the history."""
    current = user.doctor_applications.first()
    if user.role != Role.DOCTOR or current is None or current.status != ApplicationStatus.REJECTED:
        raise PermissionDenied(_("Only a rejected application can be submitted again."))
    application = _new_application(user=user, specialty=specialty, years_experience=years_experience,
                                   cv_text=cv_text, cv_file=cv_file, identity_proof=identity_proof,
                                   proposed_timeslots=proposed_timeslots)
    audit_record(action=AuditAction.APPLICATION_SUBMITTED, actor=user, target=application,
                 request=request, reapplication=True)
    return application


def _lock_pending_application(application_id) -> DoctorApplication:
    application = DoctorApplication.objects.select_for_update().select_related("user").get(pk=application_id)
    if application.status != ApplicationStatus.PENDING:
        raise Conflict(_("This application was already decided (%(status)s).")
                       % {"status": application.get_status_display()})
    return application


@transaction.atomic
def application_approve(*, application: DoctorApplication, decided_by: User, request=None) -> DoctorApplication:
    """Approve: creates the doctor's profile and weekly (online) availability from the application."""
    if not decided_by.is_admin:
        raise PermissionDenied(_("Only administrators decide applications."))
    application = _lock_pending_application(application.pk)
    application.status = ApplicationStatus.APPROVED
    application.decided_by = decided_by
    application.decided_at = timezone.now()
    application.rejection_reason = ""
    application.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason", "updated_at"])

    profile, _created = DoctorProfile.objects.update_or_create(
        user=application.user,
        defaults={"specialty": application.specialty, "years_experience": application.years_experience,
                  "details": application.cv_text},
    )
    if not profile.availability.exists():
        WeeklyAvailability.objects.bulk_create(
            WeeklyAvailability(doctor=profile, weekday=s["weekday"],
                               start_time=dt.time.fromisoformat(s["start"]),
                               end_time=dt.time.fromisoformat(s["end"]))
            for s in application.proposed_timeslots
        )
    audit_record(action=AuditAction.APPLICATION_APPROVED, actor=decided_by, target=application, request=request)
    from accounts.tasks import send_application_status_email

    _on_commit(send_application_status_email, str(application.pk))
    return application


@transaction.atomic
def application_reject(*, application: DoctorApplication, decided_by: User, reason: str,
                       request=None) -> DoctorApplication:
    if not decided_by.is_admin:
        raise PermissionDenied(_("Only administrators decide applications."))
    if not (reason or "").strip():
        raise ValidationError({"rejection_reason": [_("Give the reason for the rejection; the doctor will see it.")]})
    application = _lock_pending_application(application.pk)
    application.status = ApplicationStatus.REJECTED
    application.rejection_reason = reason.strip()
    application.decided_by = decided_by
    application.decided_at = timezone.now()
    application.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason", "updated_at"])
    audit_record(action=AuditAction.APPLICATION_REJECTED, actor=decided_by, target=application,
                 request=request, reason=application.rejection_reason)
    from accounts.tasks import send_application_status_email

    _on_commit(send_application_status_email, str(application.pk))
    return application


@transaction.atomic
def hospital_signup(*, hospital_name: str, address: str, contact: str, specialities: list[str],
                    name: str, email: str, password: str, phone: str | None = None,
                    city: str = "", state: str = "", country: str = "", pin_code: str = "",
                    website: str = "", request=None) -> Hospital | None:
    """Returns the hospital, or None when the e-mail (of the hospital or the person) or the phone
    is already registered; the owner is told instead and callers answer both cases alike."""
    if not email:
        raise ValidationError({"email": [_("Hospitals need an email address for approval updates.")]})
    hospital = Hospital(name=hospital_name.strip(), address=address.strip(), contact=contact.strip(),
                        email=email.strip().lower(), specialities=[s.strip() for s in specialities if s.strip()],
                        city=city, state=state, country=country, pin_code=pin_code, website=website)
    hospital.full_clean(validate_unique=False)
    try:
        registered = Hospital.objects.filter(email__iexact=hospital.email).first()
        if registered is not None:
            owner = registered.staff.filter(is_owner=True).select_related("user").first()
            raise IdentityTaken([(owner.user, "email")] if owner else [])
        user = _new_user(role=Role.HOSPITAL, name=name, email=email, phone=phone, password=password, signup=True)
    except IdentityTaken as taken:
        _tell_owners(taken.owners)
        return None
    hospital.save()
    HospitalStaff.objects.create(hospital=hospital, user=user, is_owner=True)
    audit_record(action=AuditAction.USER_CREATED, actor=user, target=hospital, request=request, role=user.role)
    return hospital


def _decide_hospital(hospital_id, *, decided_by, status, reason="", request=None) -> Hospital:
    if not decided_by.is_admin:
        raise PermissionDenied(_("Only administrators approve hospitals."))
    hospital = Hospital.objects.select_for_update().get(pk=hospital_id)
    if hospital.status != ApprovalStatus.PENDING:
        raise Conflict(_("This hospital was already decided (%(status)s).") % {"status": hospital.get_status_display()})
    hospital.status = status
    hospital.rejection_reason = reason
    hospital.decided_by = decided_by
    hospital.decided_at = timezone.now()
    hospital.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at", "updated_at"])
    action = AuditAction.HOSPITAL_APPROVED if status == ApprovalStatus.APPROVED else AuditAction.HOSPITAL_REJECTED
    audit_record(action=action, actor=decided_by, target=hospital, request=request, reason=reason)
    from accounts.tasks import send_hospital_status_email

    _on_commit(send_hospital_status_email, str(hospital.pk))
    return hospital


@transaction.atomic
def hospital_approve(*, hospital: Hospital, decided_by: User, request=None) -> Hospital:
    return _decide_hospital(hospital.pk, decided_by=decided_by, status=ApprovalStatus.APPROVED, request=request)


@transaction.atomic
def hospital_reject(*, hospital: Hospital, decided_by: User, reason: str, request=None) -> Hospital:
    if not (reason or "").strip():
        raise ValidationError({"rejection_reason": [_("Give the reason for the rejection.")]})
    return _decide_hospital(hospital.pk, decided_by=decided_by, status=ApprovalStatus.REJECTED,
                            reason=reason.strip(), request=request)


@transaction.atomic
def staff_invite(*, invited_by: User, email: str, request=None) -> StaffInvitation:
    membership = getattr(invited_by, "hospital_staff", None)
    if membership is None or not membership.is_owner:
        raise PermissionDenied(_("Only the hospital's first user can invite staff."))
    if membership.hospital.status != ApprovalStatus.APPROVED:
        raise PermissionDenied(_("Staff can be invited once the hospital is approved."))
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [_("An account with this email already exists.")]})
    invitation = StaffInvitation.objects.create(
        hospital=membership.hospital, email=email, token=secrets.token_urlsafe(32),
        invited_by=invited_by, expires_at=timezone.now() + INVITATION_TTL)
    audit_record(action=AuditAction.STAFF_INVITED, actor=invited_by, target=membership.hospital,
                 request=request, email=email)
    from accounts.tasks import send_staff_invitation_email

    _on_commit(send_staff_invitation_email, str(invitation.pk))
    return invitation


@transaction.atomic
def staff_invitation_accept(*, token: str, name: str, password: str, phone: str | None = None,
                            request=None) -> User:
    invitation = StaffInvitation.objects.select_for_update().select_related("hospital").filter(token=token).first()
    if invitation is None or not invitation.is_open:
        raise DomainError(_("This invitation is invalid, used or expired. Ask for a new one."))
    user = _new_user(role=Role.HOSPITAL, name=name, email=invitation.email, phone=phone, password=password)
    HospitalStaff.objects.create(hospital=invitation.hospital, user=user, is_owner=False)
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_by", "accepted_at", "updated_at"])
    audit_record(action=AuditAction.STAFF_JOINED, actor=user, target=invitation.hospital, request=request)
    return user


@transaction.atomic
def admin_create(*, created_by: User | None, name: str, email: str, password: str,
                 phone: str | None = None, request=None) -> User:
    """Create an administrator. ``created_by`` is None only for the bootstrap command."""
    if created_by is not None and not created_by.is_admin:
        raise PermissionDenied(_("Only administrators can create administrators."))
    if not email:
        raise ValidationError({"email": [_("Administrators need an email address.")]})
    user = _new_user(role=Role.ADMIN, name=name, email=email, phone=phone, password=password)
    audit_record(action=AuditAction.USER_CREATED, actor=created_by or user, target=user,
                 request=request, role=user.role)
    return user


# --- profile -----------------------------------------------------------------------------------

USER_EDITABLE_FIELDS = ("name", "email", "phone", "preferred_language", "location", "timezone")


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict, photo=None, password: str | None = None,
                request=None) -> User:
    """Update profile fields. Role and activation are admin matters and not changed here.
    A new e-mail or phone needs the actor's password (a stolen session or access token alone
    cannot take the account over), and the old address is told, with a link that undoes it."""
    data = {k: v for k, v in data.items() if k in USER_EDITABLE_FIELDS and v is not None}
    old_email, old_phone = user.email, user.phone
    if "email" in data or "phone" in data:
        email, phone = _check_identity_free(email=data.get("email", user.email),
                                            phone=data.get("phone", user.phone), exclude=user)
        data["email"], data["phone"] = email, phone
        if (email, phone) != (old_email, old_phone) and not actor.check_password(password or ""):
            raise ValidationError({"password": [_("Enter your current password to change your email or phone.")]})
    changed = [k for k, v in data.items() if getattr(user, k) != v]
    for key in changed:
        setattr(user, key, data[key])
    if photo is not None:
        user.photo = reencode_image(photo, max_side=800)
        changed.append("photo")
    if not changed:
        return user
    user.full_clean(exclude=["password"])
    user.save()
    if "email" in changed and user.email:
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    if "name" in changed and user.is_patient:
        Patient.objects.filter(user=user).update(name=user.name)
    audit_record(action=AuditAction.USER_UPDATED, actor=actor, target=user, request=request, fields=sorted(changed))
    if "email" in changed or "phone" in changed:
        from accounts.tasks import send_identity_change_notice

        token = identity_undo_token(user=user, old_email=old_email, old_phone=old_phone)
        transaction.on_commit(lambda: send_identity_change_notice.delay(
            str(user.pk), old_email, old_phone if "phone" in changed else None, token))
    return user


IDENTITY_UNDO_SALT = "accounts.identity-change-undo"


def identity_undo_token(*, user: User, old_email: str | None, old_phone: str | None) -> str:
    """A signed, expiring link token that puts the old e-mail and phone back (see identity_change_undo)."""
    from django.core import signing

    return signing.dumps({"u": str(user.pk), "oe": old_email, "op": old_phone, "ne": user.email, "np": user.phone},
                         salt=IDENTITY_UNDO_SALT, compress=True)


def identity_undo_read(token: str) -> dict:
    from django.core import signing

    try:
        return signing.loads(token, salt=IDENTITY_UNDO_SALT, max_age=settings.IDENTITY_UNDO_MAX_AGE)
    except signing.BadSignature as exc:  # includes SignatureExpired
        raise DomainError(_("This link is invalid or has expired.")) from exc


@transaction.atomic
def identity_change_undo(*, token: str, request=None) -> User:
    """The owner of the old address undoes a change of e-mail or phone. Whoever made the change
    knew the password, so it stops working (and with it every session and API token): the owner
    sets a new one through "forgot password" at the restored address."""
    from accounts.tokens import revoke_all

    claims = identity_undo_read(token)
    user = User.objects.select_for_update().filter(pk=claims["u"]).first()
    if user is None or (user.email, user.phone) != (claims["ne"], claims["np"]):
        raise DomainError(_("This change was already undone, or the address was changed again."))
    others = User.objects.exclude(pk=user.pk)
    if claims["oe"] and not others.filter(email__iexact=claims["oe"]).exists():
        user.email = claims["oe"]
    if claims["op"] and not others.filter(phone=claims["op"]).exists():
        user.phone = claims["op"]
    user.set_unusable_password()
    user.save()
    if user.email:
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    revoke_all(user, reason="identity_undo")
    audit_record(action=AuditAction.IDENTITY_CHANGE_UNDONE, actor=None, target=user, request=request,
                 restored_email=bool(claims["oe"]), restored_phone=bool(claims["op"]))
    return user


def user_set_language(*, user: User, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": [_("Unknown language.")]})
    if user.preferred_language != language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language", "updated_at"])


# --- two-factor authentication -------------------------------------------------------------------

def totp_device_start(*, user: User) -> TOTPDevice:
    """An unconfirmed TOTP device whose secret the user scans; replaced if enrolment restarts."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


@transaction.atomic
def totp_device_confirm(*, user: User, token: str, request=None) -> list[str]:
    """Confirm enrolment with a first code; returns fresh backup codes to show once."""
    if TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).exists():
        # Replacing a factor goes through two_factor_remove, which asks for the current one.
        raise DomainError(_("Two-factor authentication is already on. Remove it first to use another app."))
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise DomainError(_("Start the set-up again: no authenticator is waiting for confirmation."))
    if not _verify(device, (token or "").replace(" ", "")):
        audit_record(action=AuditAction.TWO_FACTOR_FAILED, actor=user, target=user, request=request, step="enrol")
        raise ValidationError({"token": [_("That code is not right. Check the time on your phone and try again.")]})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    audit_record(action=AuditAction.TWO_FACTOR_ENROLLED, actor=user, target=user, request=request)
    return backup_codes_generate(user=user, request=request)


@transaction.atomic
def backup_codes_generate(*, user: User, request=None) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(user=user, defaults={"name": "backup", "confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    audit_record(action=AuditAction.BACKUP_CODES_GENERATED, actor=user, target=user, request=request)
    return codes


def otp_devices(user: User):
    return [d for d in (*TOTPDevice.objects.filter(user=user, confirmed=True),
                        *StaticDevice.objects.filter(user=user, confirmed=True))]


# Wrong codes in a row that do not delay the next try (a typo, a code read as it changed); from
# then on django-otp's exponential back-off (1, 2, 4 … seconds) applies.
OTP_FREE_FAILURES = 3


def _totp_shaped(token: str, device: TOTPDevice) -> bool:
    return token.isdigit() and len(token) == device.digits


def _verify(device, token: str) -> bool:
    if device.throttling_failure_count < OTP_FREE_FAILURES:
        device.throttling_failure_timestamp = None  # (in memory: a failure below still counts)
    return device.verify_token(token)


def otp_verify(*, user: User, token: str, request=None):
    """Check a code against the user's devices. Codes are single-use: TOTP refuses a time step it
    already accepted, and a backup code is deleted when used. Returns the device or None.

    An authenticator code goes to the authenticator only and a backup code to the backup codes
    only: offering each code to every device counted a failure against the other one (a used
    backup code delayed the authenticator), and django-otp refuses even a correct code while
    its back-off runs — so a correct code right after a wrong one was refused."""
    token = (token or "").replace(" ", "").strip().lower()
    if token:
        with transaction.atomic():
            for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
                if _totp_shaped(token, device) and _verify(device, token):
                    return device
            if not token.isdigit():
                for device in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
                    if _verify(device, token):
                        return device
    audit_record(action=AuditAction.TWO_FACTOR_FAILED, actor=user, target=user, request=request, step="verify")
    return None


def otp_failure_message(user: User) -> str:
    """What to tell someone whose code was refused: the truth — wrong or used, or wait."""
    waits = []
    for device in (*TOTPDevice.objects.filter(user=user, confirmed=True),
                   *StaticDevice.objects.filter(user=user, confirmed=True)):
        allowed, info = device.verify_is_allowed()
        if not allowed and device.throttling_failure_count >= OTP_FREE_FAILURES and info.get("locked_until"):
            waits.append((info["locked_until"] - timezone.now()).total_seconds())
    if waits:
        seconds = max(1, int(max(waits) + 0.999))
        return ngettext("Too many wrong codes in a row. Wait %(seconds)d second, then enter the current code.",
                        "Too many wrong codes in a row. Wait %(seconds)d seconds, then enter the current code.",
                        seconds) % {"seconds": seconds}
    return _("That code is not right or was already used. Try the next code from your app, or a backup code.")


@transaction.atomic
def two_factor_remove(*, user: User, password: str, token: str, request=None) -> None:
    """Remove all second factors. Needs the password *and* a current code (authenticator or
    backup code): whoever learnt only the password cannot swap in their own authenticator.
    The owner is e-mailed, so a removal they did not make does not go unnoticed."""
    if not user.check_password(password or ""):
        raise ValidationError({"password": [_("The password is not correct.")]})
    if otp_verify(user=user, token=token, request=request) is None:
        raise ValidationError({"token": [otp_failure_message(user)]})
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(action=AuditAction.TWO_FACTOR_REMOVED, actor=user, target=user, request=request)
    from accounts.tasks import send_security_email

    _on_commit(send_security_email, str(user.pk), "two_factor_removed")

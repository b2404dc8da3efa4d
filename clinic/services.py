"""Writes for the clinic: care relationships, availability, appointments and emergencies.

Keyword-only functions, validated, in a transaction; they write typed appointment events and the
audit log, and queue notifications on commit. Access is checked here too (the actor is always an
argument), so pages and the API cannot forget it.
"""

import datetime as dt
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Role, User
from analytics.services import audit_record, audit_record_many
from clinic import scheduling, selectors
from clinic.extras import extras_with
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AppointmentType,
    ApprovalStatus,
    AvailabilityException,
    CalendarFeed,
    CareTeamMember,
    Consent,
    ConsultationMode,
    DoctorProfile,
    EmergencyAlert,
    EmergencyLadderStep,
    EmergencyStep,
    Hospital,
    HospitalDoctor,
    HospitalPatient,
    Patient,
    Relation,
    UserPatientRelation,
    WeeklyAvailability,
)
from clinic.signals import patient_access_ended
from core.errors import Conflict, DomainError, NotFound, PermissionDenied

# Sent (on commit) when a doctor joins a patient's care team; the chat feature opens a chat there.
care_team_member_added = Signal()  # kwargs: member (CareTeamMember)

Kind = AppointmentEvent.Kind

# Allowed status changes: (from, to) -> event kind.
TRANSITIONS = {
    (AppointmentStatus.REQUESTED, AppointmentStatus.CONFIRMED): Kind.CONFIRMED,
    (AppointmentStatus.REQUESTED, AppointmentStatus.CANCELLED): Kind.CANCELLED,
    (AppointmentStatus.CONFIRMED, AppointmentStatus.CANCELLED): Kind.CANCELLED,
    (AppointmentStatus.CONFIRMED, AppointmentStatus.COMPLETED): Kind.COMPLETED,
    (AppointmentStatus.CONFIRMED, AppointmentStatus.NO_SHOW): Kind.NO_SHOW,
}


class SlotTaken(Conflict):
    """Someone else booked the slot first (or it overlaps another active appointment)."""


def _notify(event: AppointmentEvent):
    from clinic.tasks import appointment_event_notify

    transaction.on_commit(lambda: appointment_event_notify.delay(str(event.pk)))


def _event(appointment, kind, actor=None, reason="", notify=True, **data) -> AppointmentEvent:
    event = AppointmentEvent.objects.create(appointment=appointment, kind=kind, actor=actor, reason=reason, data=data)
    if notify:
        _notify(event)
    return event


# --- care relationships ------------------------------------------------------------------------------
#
# Every link that grants access to a patient's data is consented to by the patient (or the person
# who manages their access, see ``selectors.patient_ids_access_managed_by``): the patient's own
# action (booking, an emergency) puts it in force at once, administrators link directly, and
# anything else is a pending invitation the other side accepts. Whoever ends a link, the accounts
# that lost access hear it on commit (``clinic.signals.patient_access_ended``).

ACCEPTED, PENDING = Consent.ACCEPTED, Consent.PENDING


def _access_ended(patient_id, user_ids) -> None:
    ids = sorted({uid for uid in user_ids if uid}, key=str)
    if ids:
        transaction.on_commit(lambda: patient_access_ended.send(sender=Patient, patient_id=patient_id, user_ids=ids))


def _hospital_staff_ids(hospital_id) -> list:
    return list(User.objects.filter(hospital_staff__hospital_id=hospital_id).values_list("pk", flat=True))


def access_managers_of(patient: Patient) -> list[User]:
    """Who answers invitations for a patient: their own account, or for a dependant without one,
    the guardians linked to them."""
    if patient.user_id:
        return [patient.user]
    links = UserPatientRelation.objects.filter(patient=patient).values("user_id")
    return list(User.objects.filter(pk__in=links, is_active=True).order_by("pk"))


def _invite_notify(link, recipients) -> None:
    from clinic.notifications import access_invitation_notify

    access_invitation_notify(link, recipients)


def _require_hospital_manager(actor: User, hospital: Hospital):
    if not selectors.can_manage_hospital(actor, hospital):
        raise PermissionDenied(_("Only administrators or this hospital's staff manage its mappings."))


@transaction.atomic
def hospital_doctor_add(*, actor: User, hospital: Hospital, doctor: DoctorProfile) -> HospitalDoctor:
    _require_hospital_manager(actor, hospital)
    link, created = HospitalDoctor.objects.get_or_create(hospital=hospital, doctor=doctor)
    if created:
        audit_record(action="mapping.hospital_doctor.added", actor=actor, target=link)
    return link


@transaction.atomic
def hospital_doctor_remove(*, actor: User, link: HospitalDoctor) -> None:
    _require_hospital_manager(actor, link.hospital)
    audit_record(action="mapping.hospital_doctor.removed", actor=actor, target=link)
    link.delete()


@transaction.atomic
def hospital_patient_add(*, actor: User | None, hospital: Hospital, patient: Patient) -> HospitalPatient:
    """Register a patient with a hospital. ``actor`` None: the patient (or their family) booked
    there, which is consent — in force at once. Administrators register directly. The hospital's
    staff invite: the registration is pending until the patient (or their manager) accepts."""
    if actor is not None:
        _require_hospital_manager(actor, hospital)
    accept = actor is None or actor.is_admin
    link, created = HospitalPatient.with_invitations.get_or_create(
        hospital=hospital, patient=patient, defaults={"consent": ACCEPTED if accept else PENDING, "invited_by": actor})
    if created and accept:
        audit_record(action="mapping.hospital_patient.added", actor=actor, target=link)
    elif created:
        audit_record(action="mapping.hospital_patient.invited", actor=actor, target=link)
        _invite_notify(link, access_managers_of(patient))
    elif accept and link.consent == PENDING:
        link.consent = ACCEPTED
        link.save(update_fields=["consent", "updated_at"])
        audit_record(action="mapping.hospital_patient.accepted", actor=actor, target=link, by="booking")
    return link


@transaction.atomic
def hospital_patient_remove(*, actor: User, link: HospitalPatient) -> None:
    _require_hospital_manager(actor, link.hospital)
    audit_record(action="mapping.hospital_patient.removed", actor=actor, target=link, consent=link.consent)
    was_in_force = link.consent == ACCEPTED
    link.delete()
    if was_in_force:
        _access_ended(link.patient_id, _hospital_staff_ids(link.hospital_id))


def _may_manage_care_team(actor: User, patient: Patient, doctor: DoctorProfile) -> bool:
    """Administrators; staff for a doctor *and* a patient of their own hospital; a doctor of the
    patient's care team for a colleague (a referral) or for themself (leaving)."""
    if actor.is_admin:
        return True
    hospital = selectors.staff_hospital_of(actor)
    if hospital is not None:
        return (HospitalPatient.objects.filter(hospital=hospital, patient=patient).exists()
                and HospitalDoctor.objects.filter(hospital=hospital, doctor=doctor).exists())
    own = selectors.doctor_profile_of(actor)
    return own is not None and selectors.is_in_care_team(own, patient)


def _care_team_accepted(member: CareTeamMember) -> None:
    transaction.on_commit(lambda: care_team_member_added.send(sender=CareTeamMember, member=member))


@transaction.atomic
def care_team_add(*, actor: User | None, doctor: DoctorProfile, patient: Patient) -> CareTeamMember:
    """Add a doctor to a patient's care team. ``actor`` None: the system, on the patient's own
    action (booking with the doctor, an emergency they raised that the doctor accepted) — in force
    at once; administrators add directly. Staff of a hospital (its doctors, its patients) and
    care-team doctors (referring a colleague) propose: pending until the patient accepts.
    The one place later features hook into (``care_team_member_added``, once in force)."""
    if actor is not None and not _may_manage_care_team(actor, patient, doctor):
        raise PermissionDenied(_("You cannot change this patient's care team."))
    accept = actor is None or actor.is_admin
    member, created = CareTeamMember.with_invitations.get_or_create(
        doctor=doctor, patient=patient, defaults={"added_by": actor, "consent": ACCEPTED if accept else PENDING})
    if created and accept:
        audit_record(action="mapping.doctor_patient.added", actor=actor, target=member)
        _care_team_accepted(member)
    elif created:
        audit_record(action="mapping.doctor_patient.invited", actor=actor, target=member)
        _invite_notify(member, access_managers_of(patient))
    elif accept and member.consent == PENDING:
        member.consent = ACCEPTED
        member.save(update_fields=["consent", "updated_at"])
        audit_record(action="mapping.doctor_patient.accepted", actor=actor, target=member, by="patient action")
        _care_team_accepted(member)
    return member


def _care_team_on_patient_action(*, by: User | None, doctor: DoctorProfile, patient: Patient) -> CareTeamMember:
    """The doctor joins the care team because of something done for the patient: in force when the
    patient's side (or an administrator, or the doctor already in the team) did it; a proposal
    waiting for the patient when hospital staff did."""
    if by is None or by.is_admin or selectors.can_act_for_patient(by, patient) or (
            selectors.doctor_profile_of(by) == doctor):
        return care_team_add(actor=None, doctor=doctor, patient=patient)
    member, created = CareTeamMember.with_invitations.get_or_create(
        doctor=doctor, patient=patient, defaults={"added_by": by, "consent": PENDING})
    if created:
        audit_record(action="mapping.doctor_patient.invited", actor=by, target=member)
        _invite_notify(member, access_managers_of(patient))
    return member


@transaction.atomic
def care_team_remove(*, actor: User, member: CareTeamMember) -> None:
    """Administrators, staff of the hospital of both doctor and patient, or the doctor leaving
    (a doctor refers colleagues but does not remove them). The patient: ``access_remove``."""
    own = selectors.doctor_profile_of(actor)
    leaving = own is not None and own.pk == member.doctor_id
    if not (leaving or (own is None and _may_manage_care_team(actor, member.patient, member.doctor))):
        raise PermissionDenied(_("You cannot change this patient's care team."))
    audit_record(action="mapping.doctor_patient.removed", actor=actor, target=member, consent=member.consent)
    was_in_force = member.consent == ACCEPTED
    member.delete()
    if was_in_force:
        _access_ended(member.patient_id, [member.doctor.user_id])


@transaction.atomic
def dependent_patient_create(*, actor: User, name: str, date_of_birth: dt.date, gender: str, relation: str,
                             contact: str = "", emergency_contact: str = "") -> Patient:
    """A family account adds a person it cares for (a child, a spouse without an account)."""
    if relation == Relation.SELF:
        raise ValidationError({"relation": [_("Choose how this person is related to you.")]})
    if date_of_birth > timezone.localdate():
        raise ValidationError({"date_of_birth": [_("The date of birth cannot be in the future.")]})
    patient = Patient(name=name.strip(), date_of_birth=date_of_birth, gender=gender, contact=contact,
                      emergency_contact=emergency_contact)
    patient.full_clean()
    patient.save()
    UserPatientRelation.objects.create(user=actor, patient=patient, relation=relation, consent=ACCEPTED)
    audit_record(action="patient.created", actor=actor, target=patient, relation=relation)
    return patient


@transaction.atomic
def user_patient_relation_add(*, actor: User, user: User, patient: Patient, relation: str) -> UserPatientRelation:
    """Link another account to a patient. Administrators link directly. The patient (or, for a
    dependant without an account, a guardian) invites: the invited account accepts. Nobody else —
    hospital staff never create family links."""
    allowed = actor.is_admin or selectors.manages_access_of(actor, patient.pk)
    if not allowed:
        if selectors.patients_visible_to(actor, clinical=False).filter(pk=patient.pk).exists():
            raise PermissionDenied(_("Only the patient (or the guardian of a dependant) invites family members."))
        raise NotFound(_("Patient not found."))
    if relation not in Relation.values:
        raise ValidationError({"relation": [_("Unknown relation.")]})
    if relation == Relation.SELF and patient.user_id != user.pk:
        raise ValidationError({"relation": [_("“Self” is only for the patient's own account.")]})
    accept = actor.is_admin or user.pk == actor.pk and relation == Relation.SELF
    try:
        with transaction.atomic():
            link = UserPatientRelation.with_invitations.create(
                user=user, patient=patient, relation=relation, consent=ACCEPTED if accept else PENDING,
                invited_by=actor)
    except IntegrityError as exc:
        raise Conflict(_("This account is already linked to this patient.")) from exc
    if accept:
        audit_record(action="mapping.user_patient.added", actor=actor, target=link, relation=relation)
    else:
        audit_record(action="mapping.user_patient.invited", actor=actor, target=link, relation=relation)
        _invite_notify(link, [user])
    return link


@transaction.atomic
def user_patient_relation_update(*, actor: User, link: UserPatientRelation, relation: str) -> UserPatientRelation:
    """Change how a patient is related to a linked account (``relation`` is what the patient is to
    that account: "child" — the patient is their child). The linked account, whoever manages the
    patient's access (the patient, or a dependant's guardian) or an administrator; invitations too."""
    if not (actor.is_admin or link.user_id == actor.pk or selectors.manages_access_of(actor, link.patient_id)):
        raise PermissionDenied(_("Only the patient, their guardian, the linked account or an administrator "
                                 "changes this relation."))
    if relation not in Relation.values:
        raise ValidationError({"relation": [_("Unknown relation.")]})
    own = link.patient.user_id is not None and link.patient.user_id == link.user_id
    if (relation == Relation.SELF) != own:
        raise ValidationError({"relation": [_("“Self” is only for the patient's own account, and it stays so.")]})
    # The stored value (Django admin hands over the instance already changed).
    previous = UserPatientRelation.with_invitations.filter(pk=link.pk).values_list("relation", flat=True).first()
    if previous == relation:
        link.relation = relation
        return link
    link.relation = relation
    link.save(update_fields=["relation", "updated_at"])
    audit_record(action="mapping.user_patient.updated", actor=actor, target=link, relation=relation,
                 previous=previous, consent=link.consent)
    return link


def _require_not_last_guardian(link: UserPatientRelation) -> None:
    """A dependant without an own account keeps at least one guardian: otherwise nobody (but an
    administrator) could ever see, book for or manage them again."""
    if link.consent != ACCEPTED or link.patient.user_id is not None:
        return
    others = UserPatientRelation.objects.filter(patient_id=link.patient_id).exclude(pk=link.pk)
    if not others.exists():
        raise Conflict(_("You are the only one caring for %(name)s: link someone else first, or ask an "
                         "administrator to close the record.") % {"name": link.patient.name})


def family_invite_answer(patient: Patient) -> str:
    """The one reply to an invitation, whether or not an account matched."""
    return _("If a Haven patient account signs in with that email or phone, it is invited to act for "
             "%(name)s. Access starts once they accept.") % {"name": patient.name}


@transaction.atomic
def family_invite(*, actor: User, patient: Patient, login: str, relation: str) -> None:
    """A manager invites the patient account signing in with ``login`` (email or phone) to act for
    ``patient``; it accepts or declines. Answers nothing: the caller replies the same whether or
    not such an account exists or was already linked, so the form cannot probe accounts."""
    if not (actor.is_admin or selectors.manages_access_of(actor, patient.pk)):
        raise PermissionDenied(_("Only the patient (or the guardian of a dependant) invites family members."))
    if relation not in Relation.values or relation == Relation.SELF:
        raise ValidationError({"relation": [_("Choose how the patient is related to them.")]})
    user = selectors.account_for_family_invite(fetched_by=actor, login=login)
    if user is None:
        audit_record(action="mapping.user_patient.invited", actor=actor, target=patient, relation=relation,
                     matched=False)
        return
    try:
        with transaction.atomic():
            user_patient_relation_add(actor=actor, user=user, patient=patient, relation=relation)
    except Conflict:
        pass  # already linked or invited: the same answer


@transaction.atomic
def user_patient_relation_remove(*, actor: User, link: UserPatientRelation) -> None:
    """The linked account leaves, the patient (or the dependant's guardian) removes it, or an
    administrator does; the patient's own link stays."""
    if not (actor.is_admin or link.user_id == actor.pk or selectors.manages_access_of(actor, link.patient_id)):
        raise PermissionDenied(_("Only the linked account or an administrator removes this relation."))
    if link.relation == Relation.SELF and not actor.is_admin:
        raise PermissionDenied(_("Your own patient record cannot be unlinked."))
    if not actor.is_admin:
        _require_not_last_guardian(link)
    audit_record(action="mapping.user_patient.removed", actor=actor, target=link, consent=link.consent)
    was_in_force = link.consent == ACCEPTED
    link.delete()
    if was_in_force:
        _access_ended(link.patient_id, [link.user_id])


# --- consent: the patient's answers -------------------------------------------------------------------

def _may_answer(actor: User, link) -> bool:
    """Invitations to a family link wait for the invited account; hospital registrations and
    care-team proposals for whoever manages the patient's access."""
    if isinstance(link, UserPatientRelation):
        return link.user_id == actor.pk
    return selectors.manages_access_of(actor, link.patient_id)


def _audit_kind(link) -> str:
    return {HospitalPatient: "hospital_patient", CareTeamMember: "doctor_patient",
            UserPatientRelation: "user_patient"}[type(link)]


@transaction.atomic
def access_accept(*, actor: User, link):
    """Accept an invitation (a hospital registration, a care-team proposal, a family link)."""
    if not _may_answer(actor, link):
        raise PermissionDenied(_("This invitation waits for someone else's answer."))
    link = type(link).with_invitations.select_for_update().get(pk=link.pk)
    if link.consent == ACCEPTED:
        return link
    link.consent = ACCEPTED
    link.save(update_fields=["consent", "updated_at"])
    audit_record(action=f"mapping.{_audit_kind(link)}.accepted", actor=actor, target=link)
    if isinstance(link, CareTeamMember):
        _care_team_accepted(link)
    return link


@transaction.atomic
def access_decline(*, actor: User, link) -> None:
    """Decline an invitation: it is gone (the audit log keeps the story)."""
    if not _may_answer(actor, link):
        raise PermissionDenied(_("This invitation waits for someone else's answer."))
    if link.consent != PENDING:
        raise Conflict(_("This has already been accepted; remove it instead."))
    audit_record(action=f"mapping.{_audit_kind(link)}.declined", actor=actor, target=link)
    link.delete()


@transaction.atomic
def access_remove(*, actor: User, link) -> None:
    """The patient (or their manager) ends a hospital's, a doctor's or an account's access, or
    withdraws an invitation; a family member may also leave. Effective at once, on every surface."""
    manager = selectors.manages_access_of(actor, link.patient_id)
    if isinstance(link, UserPatientRelation):
        if not (manager or link.user_id == actor.pk):
            raise PermissionDenied(_("Only the patient or their guardian removes this access."))
        if link.relation == Relation.SELF:
            raise PermissionDenied(_("Your own patient record cannot be unlinked."))
        _require_not_last_guardian(link)
        audit_record(action="mapping.user_patient.removed", actor=actor, target=link, consent=link.consent)
        ended = [link.user_id]
    elif not manager:
        raise PermissionDenied(_("Only the patient or their guardian removes this access."))
    elif isinstance(link, HospitalPatient):
        audit_record(action="mapping.hospital_patient.removed", actor=actor, target=link, consent=link.consent)
        ended = _hospital_staff_ids(link.hospital_id)
    else:
        audit_record(action="mapping.doctor_patient.removed", actor=actor, target=link, consent=link.consent)
        ended = [link.doctor.user_id]
    was_in_force = link.consent == ACCEPTED
    link.delete()
    if was_in_force:
        _access_ended(link.patient_id, ended)


# --- availability --------------------------------------------------------------------------------------

@transaction.atomic
def availability_replace(*, doctor: DoctorProfile, actor: User, windows: list[dict]) -> list[WeeklyAvailability]:
    """Replace the doctor's weekly schedule. Each window: weekday, start_time, end_time, hospital
    (None for online), slot_minutes, buffer_minutes. Windows at the same place must not overlap."""
    if not (actor.is_admin or selectors.doctor_profile_of(actor) == doctor):
        raise PermissionDenied(_("Only the doctor edits this schedule."))
    hospitals = set(HospitalDoctor.objects.filter(doctor=doctor).values_list("hospital_id", flat=True))
    rows, errors = [], []
    for i, w in enumerate(windows):
        row = WeeklyAvailability(doctor=doctor, weekday=w["weekday"], start_time=w["start_time"],
                                 end_time=w["end_time"], hospital=w.get("hospital"),
                                 slot_minutes=w.get("slot_minutes") or 30, buffer_minutes=w.get("buffer_minutes") or 0)
        if row.end_time <= row.start_time:
            errors.append(_("Row %(n)d: the window must end after it starts.") % {"n": i + 1})
        if not 5 <= row.slot_minutes <= 240:
            errors.append(_("Row %(n)d: slot length must be between 5 and 240 minutes.") % {"n": i + 1})
        if row.buffer_minutes > 120:
            errors.append(_("Row %(n)d: buffer must be at most 120 minutes.") % {"n": i + 1})
        if row.hospital_id and row.hospital_id not in hospitals:
            errors.append(_("Row %(n)d: you do not work at that hospital.") % {"n": i + 1})
        rows.append(row)
    ordered = sorted(rows, key=lambda r: (r.weekday, r.start_time))
    for a, b in zip(ordered, ordered[1:]):
        if a.weekday == b.weekday and b.start_time < a.end_time:
            errors.append(_("%(day)s: two windows overlap.") % {"day": a.get_weekday_display()})
    if errors:
        raise ValidationError({"windows": errors})
    doctor.availability.all().delete()
    created = WeeklyAvailability.objects.bulk_create(rows)
    audit_record(action="availability.replaced", actor=actor, target=doctor, windows=len(rows))
    return created


MAX_EXCEPTION_AHEAD = dt.timedelta(days=2 * 365)


@transaction.atomic
def availability_exception_add(*, doctor: DoctorProfile, actor: User, start: dt.datetime, end: dt.datetime,
                               kind: str, reason: str = "") -> AvailabilityException:
    if not (actor.is_admin or selectors.doctor_profile_of(actor) == doctor):
        raise PermissionDenied(_("Only the doctor edits this schedule."))
    if end <= start:
        raise ValidationError({"end": [_("The end must be after the start.")]})
    if end > timezone.now() + MAX_EXCEPTION_AHEAD:
        raise ValidationError({"end": [_("Plan leave and blocked hours at most two years ahead.")]})
    exception = AvailabilityException.objects.create(doctor=doctor, start=start, end=end, kind=kind, reason=reason)
    audit_record(action="availability.exception_added", actor=actor, target=doctor, kind=kind)
    return exception


@transaction.atomic
def availability_exception_remove(*, actor: User, exception: AvailabilityException) -> None:
    if not (actor.is_admin or selectors.doctor_profile_of(actor) == exception.doctor):
        raise PermissionDenied(_("Only the doctor edits this schedule."))
    exception.delete()


# --- booking -----------------------------------------------------------------------------------------

def _may_book_for(actor: User, patient: Patient) -> bool:
    if actor.is_admin or selectors.can_act_for_patient(actor, patient):
        return True
    hospital = selectors.staff_hospital_of(actor)
    return hospital is not None and HospitalPatient.objects.filter(hospital=hospital, patient=patient).exists()


def _require_staff_hospital(actor: User, patient: Patient, *, doctor: DoctorProfile | None,
                            hospital: Hospital | None, patient_side: bool | None = None) -> None:
    """Hospital staff book only within their hospital: with its doctors, at it (or online)."""
    if patient_side is None:
        patient_side = actor.is_admin or selectors.can_act_for_patient(actor, patient)
    if patient_side:
        return
    own = selectors.staff_hospital_of(actor)
    if own is None:
        return
    if hospital is not None and hospital.pk != own.pk:
        raise PermissionDenied(_("Hospital staff book only at their own hospital."))
    if doctor is not None and not HospitalDoctor.objects.filter(hospital=own, doctor=doctor).exists():
        raise PermissionDenied(_("Hospital staff book only with their own hospital's doctors."))


def _lock_doctor(doctor: DoctorProfile) -> DoctorProfile:
    # Serialises bookings per doctor on Postgres; the constraints are the last line of defence.
    return DoctorProfile.objects.select_for_update().get(pk=doctor.pk)


def _check_patient_free(patient, start, end, exclude=None):
    clash = Appointment.objects.filter(patient=patient, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start)
    clash = clash.exclude(type=AppointmentType.EMERGENCY)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise Conflict(_("%(name)s already has an appointment at that time.") % {"name": patient.name})


def _save_booking(appointment: Appointment):
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as exc:
        raise SlotTaken(_("This slot was just taken. Please choose another time.")) from exc
    except OperationalError as exc:
        # Concurrent overlapping inserts checking the Postgres exclusion constraints can deadlock;
        # the one Postgres aborts lost the race (the patient side is not serialised by a row lock).
        if getattr(exc.__cause__, "sqlstate", None) != "40P01":
            raise
        raise SlotTaken(_("This slot was just taken. Please choose another time.")) from exc


@transaction.atomic
def appointment_book_now(*, accepted_by: User, patient: Patient, doctor: DoctorProfile, requested_by: User | None,
                         minutes: int, reason: str = "", extras: dict | None = None,
                         now: dt.datetime | None = None, **event_data) -> Appointment:
    """A confirmed online appointment starting now, which the doctor agreed to on the spot (a call
    asked for from a chat). Outside the doctor's offered slots, but under the same rules as any
    booking: the doctor's row lock, no overlap for the doctor or the patient, the database
    constraints. The caller holds the transaction and has checked ``accepted_by`` is the doctor."""
    doctor = _lock_doctor(doctor)
    start = (now or timezone.now()).replace(microsecond=0)
    end = start + dt.timedelta(minutes=minutes)
    busy = (Appointment.objects.filter(doctor=doctor, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start)
            .exclude(type=AppointmentType.EMERGENCY).order_by("-end").first())
    if busy is not None:
        raise SlotTaken(
            _("You have another appointment until %(end)s. Decline this request, or accept it once you are free.")
            % {"end": formats.time_format(timezone.localtime(busy.end), "TIME_FORMAT")})
    _check_patient_free(patient, start, end)
    appointment = Appointment(
        patient=patient, doctor=doctor, type=AppointmentType.REMOTE, start=start, end=end, reason=reason.strip(),
        booked_by=requested_by, status=AppointmentStatus.CONFIRMED, room_id=secrets.token_urlsafe(16),
        extras=extras_with(None, **(extras or {})))
    _save_booking(appointment)
    # The history says where it came from; the caller notifies people in its own words.
    _event(appointment, Kind.REQUESTED, requested_by, reason=appointment.reason, notify=False, **event_data)
    _event(appointment, Kind.CONFIRMED, accepted_by, notify=False, **event_data)
    care_team_add(actor=None, doctor=doctor, patient=patient)
    audit_record(action="appointment.booked", actor=accepted_by, target=appointment, **event_data)
    return appointment


@transaction.atomic
def appointment_book(*, booked_by: User, patient: Patient, doctor: DoctorProfile, start: dt.datetime, type: str,
                     hospital: Hospital | None = None, reason: str = "", overbook_reason: str = "") -> Appointment:
    """Book a free slot. Patients and family book slots the doctor offers; the doctor may
    deliberately overbook (with a reason). Concurrent bookings of one slot: exactly one wins."""
    patient_side = booked_by.is_admin or selectors.can_act_for_patient(booked_by, patient)
    if not (patient_side or _may_book_for(booked_by, patient)):
        if not (selectors.doctor_profile_of(booked_by) == doctor and selectors.is_in_care_team(doctor, patient)):
            raise NotFound(_("Patient not found."))
    if type not in (AppointmentType.REMOTE, AppointmentType.REGULAR):
        raise ValidationError({"type": [_("Choose an online or an in-person appointment.")]})
    if type == AppointmentType.REGULAR and hospital is None:
        raise ValidationError({"hospital": [_("Choose the hospital for an in-person appointment.")]})
    if type == AppointmentType.REMOTE:
        hospital = None
    if timezone.is_naive(start):
        raise ValidationError({"start": [_("Give the time with its time zone.")]})
    if start <= timezone.now():
        raise ValidationError({"start": [_("That time is in the past.")]})
    by_doctor = selectors.doctor_profile_of(booked_by) == doctor
    _require_staff_hospital(booked_by, patient, doctor=doctor, hospital=hospital, patient_side=patient_side)
    overbook = bool(overbook_reason.strip())
    if overbook and not by_doctor:
        raise PermissionDenied(_("Only the doctor can overbook."))
    doctor = _lock_doctor(doctor)
    if overbook:
        length = doctor.availability.values_list("slot_minutes", flat=True).first() or 30
        end = start + dt.timedelta(minutes=length)
    else:
        slot = scheduling.find_slot(doctor, start, mode=type, hospital=hospital)
        if slot is None:
            taken = (Appointment.objects.filter(doctor=doctor, status__in=ACTIVE_STATUSES, start__lte=start, end__gt=start)
                     .exclude(type=AppointmentType.EMERGENCY).exists())
            if taken:
                raise SlotTaken(_("This slot was just taken. Please choose another time."))
            raise ValidationError({"start": [_("The doctor does not offer that time. Choose one of the free slots.")]})
        end = slot.end
    _check_patient_free(patient, start, end)
    appointment = Appointment(
        patient=patient, doctor=doctor, hospital=hospital, type=type, start=start, end=end, reason=reason.strip(),
        booked_by=booked_by, overbooked=overbook, overbook_reason=overbook_reason.strip(),
        status=AppointmentStatus.CONFIRMED if by_doctor else AppointmentStatus.REQUESTED,
        room_id=secrets.token_urlsafe(16) if type == AppointmentType.REMOTE else "",
    )
    _save_booking(appointment)
    _event(appointment, Kind.REQUESTED, booked_by, reason=appointment.reason)
    if overbook:
        _event(appointment, Kind.OVERBOOKED, booked_by, reason=appointment.overbook_reason, notify=False)
    if by_doctor:
        _event(appointment, Kind.CONFIRMED, booked_by, notify=False)
    if patient_side or by_doctor:
        care_team_add(actor=None, doctor=doctor, patient=patient)
    else:
        _care_team_on_patient_action(by=booked_by, doctor=doctor, patient=patient)
    if hospital is not None and patient_side:
        # Booking at a hospital is the patient's consent to be registered there.
        hospital_patient_add(actor=None, hospital=hospital, patient=patient)
    audit_record(action="appointment.booked", actor=booked_by, target=appointment)
    return appointment


# --- changes --------------------------------------------------------------------------------------------

def _side(actor: User, appointment: Appointment) -> str | None:
    """'doctor', 'staff', 'admin' or 'patient' — how the actor relates to the appointment."""
    if actor.is_admin:
        return "admin"
    doctor = selectors.doctor_profile_of(actor)
    if doctor is not None and appointment.doctor_id == doctor.pk:
        return "doctor"
    hospital = selectors.staff_hospital_of(actor)
    # Staff change only their hospital's appointments — the ones its appointments page lists.
    if hospital is not None and (appointment.hospital_id == hospital.pk or (
            appointment.hospital_id is None and Appointment.objects.filter(
                selectors.hospital_appointment_condition(hospital), pk=appointment.pk).exists())):
        return "staff"
    if selectors.can_act_for_patient(actor, appointment.patient):
        return "patient"
    return None


def acts_as_patient(actor: User, appointment: Appointment) -> bool:
    """True when ``actor`` changes ``appointment`` as its patient (or family): the cut-off applies."""
    return _side(actor, appointment) == "patient"


def _locked(appointment: Appointment, actor: User) -> tuple[Appointment, str]:
    side = _side(actor, appointment)
    if side is None:
        # Visible (e.g. a care-team doctor seeing a colleague's appointment) but not theirs to change.
        if selectors.appointments_visible_to(actor).filter(pk=appointment.pk).exists():
            raise PermissionDenied(_("You cannot change this appointment."))
        raise NotFound(_("Appointment not found."))
    return Appointment.objects.select_for_update().get(pk=appointment.pk), side


def _transition(appointment: Appointment, to: str, actor: User, reason: str = "", **data) -> Appointment:
    kind = TRANSITIONS.get((appointment.status, to))
    if kind is None:
        raise DomainError(_("An appointment that is %(current)s cannot become %(new)s.") % {
            "current": appointment.get_status_display().lower(), "new": AppointmentStatus(to).label.lower()})
    appointment.status = to
    appointment.save(update_fields=["status", "updated_at", *data.pop("fields", [])])
    _event(appointment, kind, actor, reason=reason, **data)
    audit_record(action=f"appointment.{to}", actor=actor, target=appointment, reason=reason)
    if appointment.type == AppointmentType.EMERGENCY:
        _emergency_queues_changed(appointment)
    return appointment


@transaction.atomic
def appointment_confirm(*, actor: User, appointment: Appointment) -> Appointment:
    appointment, side = _locked(appointment, actor)
    if side == "patient":
        raise PermissionDenied(_("The doctor or the hospital confirms appointments."))
    return _transition(appointment, AppointmentStatus.CONFIRMED, actor)


@transaction.atomic
def appointment_cancel(*, actor: User, appointment: Appointment, reason: str) -> Appointment:
    appointment, side = _locked(appointment, actor)
    if appointment.type == AppointmentType.EMERGENCY and side not in ("patient", "admin"):
        # Only the people asking for help withdraw it (and administrators, who fix mistakes).
        raise PermissionDenied(_("Only the patient or their family can withdraw an emergency request."))
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give a reason for the cancellation.")]})
    if side == "patient" and appointment.type != AppointmentType.EMERGENCY:
        if not scheduling.patient_may_change(appointment.start):
            hours = settings.APPOINTMENT_CANCEL_CUTOFF_HOURS
            raise DomainError(ngettext(
                "Appointments can be cancelled online until %(hours)d hour before they start. Please call the clinic.",
                "Appointments can be cancelled online until %(hours)d hours before they start. Please call the clinic.",
                hours) % {"hours": hours})
    appointment.cancelled_by = actor
    appointment.cancellation_reason = reason.strip()
    return _transition(appointment, AppointmentStatus.CANCELLED, actor, reason=reason.strip(),
                       fields=["cancelled_by", "cancellation_reason"])


@transaction.atomic
def appointment_complete(*, actor: User, appointment: Appointment, notes: str = "") -> Appointment:
    appointment, side = _locked(appointment, actor)
    if side not in ("doctor", "admin"):
        raise PermissionDenied(_("Only the doctor completes an appointment."))
    if appointment.start > timezone.now():
        raise DomainError(_("An appointment can be completed once it has started."))
    fields = []
    if notes.strip():
        appointment.notes = notes.strip()
        fields = ["notes"]
    return _transition(appointment, AppointmentStatus.COMPLETED, actor, fields=fields)


@transaction.atomic
def appointment_mark_no_show(*, actor: User, appointment: Appointment) -> Appointment:
    appointment, side = _locked(appointment, actor)
    if side not in ("doctor", "staff", "admin"):
        raise PermissionDenied(_("Only the doctor or the hospital marks a no-show."))
    if appointment.start > timezone.now():
        raise DomainError(_("A no-show can be recorded once the appointment time has passed."))
    return _transition(appointment, AppointmentStatus.NO_SHOW, actor)


@transaction.atomic
def appointment_set_status(*, actor: User, appointment: Appointment, status: str, reason: str = "") -> Appointment:
    """One entry point for status changes (the API's PUT /status)."""
    actions = {
        AppointmentStatus.CONFIRMED: lambda: appointment_confirm(actor=actor, appointment=appointment),
        AppointmentStatus.CANCELLED: lambda: appointment_cancel(actor=actor, appointment=appointment, reason=reason),
        AppointmentStatus.COMPLETED: lambda: appointment_complete(actor=actor, appointment=appointment),
        AppointmentStatus.NO_SHOW: lambda: appointment_mark_no_show(actor=actor, appointment=appointment),
    }
    if status not in actions:
        raise ValidationError({"status": [_("Status must be confirmed, cancelled, completed or no_show.")]})
    return actions[status]()


@transaction.atomic
def appointment_reschedule(*, actor: User, appointment: Appointment, start: dt.datetime, reason: str = "") -> Appointment:
    """Move an active appointment to another free slot of the same doctor, mode and place. The
    appointment keeps its id and history; the move is an event with the old and new times."""
    appointment, side = _locked(appointment, actor)
    if appointment.status not in ACTIVE_STATUSES or appointment.type == AppointmentType.EMERGENCY:
        raise DomainError(_("Only requested or confirmed appointments can be rescheduled."))
    if side == "patient" and not scheduling.patient_may_change(appointment.start):
        hours = settings.APPOINTMENT_CANCEL_CUTOFF_HOURS
        raise DomainError(ngettext(
            "Appointments can be moved online until %(hours)d hour before they start. Please call the clinic.",
            "Appointments can be moved online until %(hours)d hours before they start. Please call the clinic.",
            hours) % {"hours": hours})
    if start <= timezone.now():
        raise ValidationError({"start": [_("That time is in the past.")]})
    if side == "patient" and not scheduling.patient_may_change(start):
        # Same rule as above, for the new time: otherwise the patient could not move it back.
        hours = settings.APPOINTMENT_CANCEL_CUTOFF_HOURS
        raise ValidationError({"start": [ngettext(
            "Choose a time at least %(hours)d hour from now: closer appointments can only be changed by the clinic.",
            "Choose a time at least %(hours)d hours from now: closer appointments can only be changed by the clinic.",
            hours) % {"hours": hours}]})
    doctor = _lock_doctor(appointment.doctor)
    slot = scheduling.find_slot(doctor, start, mode=appointment.type, hospital=appointment.hospital)
    if slot is None:
        raise SlotTaken(_("That time is not free. Please choose another slot."))
    _check_patient_free(appointment.patient, slot.start, slot.end, exclude=appointment)
    old_start, old_end = appointment.start, appointment.end
    appointment.start, appointment.end = slot.start, slot.end
    if side == "patient":
        appointment.status = AppointmentStatus.REQUESTED  # the doctor confirms the new time
    try:
        with transaction.atomic():
            appointment.save(update_fields=["start", "end", "status", "updated_at"])
    except IntegrityError as exc:
        raise SlotTaken(_("This slot was just taken. Please choose another time.")) from exc
    # New time, new reminders: sent ones were for the old time (their history stays in the events).
    appointment.reminders.all().delete()
    _event(appointment, Kind.RESCHEDULED, actor, reason=reason.strip(),
           previous_start=old_start.isoformat(), previous_end=old_end.isoformat(), start=slot.start.isoformat())
    audit_record(action="appointment.rescheduled", actor=actor, target=appointment, reason=reason)
    return appointment


@transaction.atomic
def appointment_update_details(*, actor: User, appointment: Appointment, reason: str | None = None,
                               notes: str | None = None) -> Appointment:
    """The patient side's reason, the doctor's notes. (``extras`` is written only by the services
    that own its keys: see clinic.extras.)"""
    appointment, side = _locked(appointment, actor)
    fields = []
    if reason is not None:
        if side != "patient" and side != "admin":
            raise PermissionDenied(_("The patient describes the reason for the visit."))
        appointment.reason = reason.strip()
        fields.append("reason")
    if notes is not None:
        if side not in ("doctor", "admin"):
            raise PermissionDenied(_("Only the doctor writes appointment notes."))
        appointment.notes = notes.strip()
        fields.append("notes")
    if fields:
        appointment.save(update_fields=[*fields, "updated_at"])
        _event(appointment, Kind.NOTE, actor, notify=False, fields=fields)
    return appointment


# --- emergencies -----------------------------------------------------------------------------------------
#
# The escalation ladder of an emergency nobody has accepted yet. Each step alerts more people
# (EmergencyAlert rows: who, at which step, when) and is itself recorded once (EmergencyLadderStep,
# unique per appointment and number, taken under the appointment's row lock), so retried or
# overlapping scheduler runs never alert anyone twice:
#   1. on request: the doctors of the patient's care team and hospitals who are on duty now;
#   2. EMERGENCY_ESCALATION_MINUTES later: every doctor of the care team and of those hospitals;
#   3. as long again later: the hospitals' staff, the administrators, and every doctor on duty.
# A step that leaves nobody alerted at all is followed by the next one at once: an emergency never
# waits on an empty list. Alerted doctors see the emergency in their queue and may accept it.

Step = EmergencyStep
LAST_STEP = max(Step.values)


def escalation_interval() -> dt.timedelta:
    return dt.timedelta(minutes=settings.EMERGENCY_ESCALATION_MINUTES)


def _on_duty_doctors(candidates, at=None) -> list[DoctorProfile]:
    return [d for d in candidates if scheduling.is_on_duty(d, at)]


def _emergency_hospital_ids(appointment: Appointment) -> set:
    """The approved hospitals the patient is registered with (accepted registrations: the manager),
    and the one the emergency was raised at."""
    ids = set(HospitalPatient.objects.filter(patient_id=appointment.patient_id,
                                             hospital__status=ApprovalStatus.APPROVED)
              .values_list("hospital_id", flat=True))
    if appointment.hospital_id:
        ids.add(appointment.hospital_id)
    return ids


def _patients_doctors(appointment: Appointment, hospital_ids) -> list[DoctorProfile]:
    """The patient's own doctors: their care team (accepted links) and the doctors of their hospitals."""
    team = CareTeamMember.objects.filter(patient_id=appointment.patient_id).values("doctor_id")
    return list(selectors.doctors_directory().filter(
        Q(pk__in=team) | Q(hospital_links__hospital_id__in=hospital_ids)).distinct())


def ladder_recipients(appointment: Appointment, number: int, at=None) -> list[User]:
    """Who step ``number`` of the ladder alerts (before leaving out those already alerted)."""
    hospital_ids = _emergency_hospital_ids(appointment)
    if number == Step.ON_DUTY:
        return [d.user for d in _on_duty_doctors(_patients_doctors(appointment, hospital_ids), at)]
    if number == Step.TEAM:
        return [d.user for d in _patients_doctors(appointment, hospital_ids)]
    staff = User.objects.filter(hospital_staff__hospital_id__in=hospital_ids, role=Role.HOSPITAL, is_active=True)
    admins = User.objects.filter(role=Role.ADMIN, is_active=True)
    return [*staff.order_by("pk"), *admins.order_by("pk"),
            *[d.user for d in _on_duty_doctors(selectors.doctors_directory(), at)]]


def _alert(appointment: Appointment, users, step) -> list[User]:
    existing = set(EmergencyAlert.objects.filter(appointment=appointment).values_list("recipient_id", flat=True))
    new = [u for u in {u.pk: u for u in users}.values() if u.pk not in existing]
    EmergencyAlert.objects.bulk_create(EmergencyAlert(appointment=appointment, recipient=u, step=step) for u in new)
    return new


def _take_step(appointment: Appointment, number: int, now, actor=None) -> EmergencyLadderStep | None:
    """Record step ``number`` and alert its people; None when it was already taken."""
    try:
        with transaction.atomic():
            step = EmergencyLadderStep.objects.create(appointment=appointment, number=number, at=now)
    except IntegrityError:
        return None
    new = _alert(appointment, ladder_recipients(appointment, number, now), number)
    step.alerted = len(new)
    step.save(update_fields=["alerted", "updated_at"])
    if number == Step.ON_DUTY:
        _event(appointment, Kind.REQUESTED, actor, reason=appointment.reason, emergency=True, alerted=len(new))
    else:
        _event(appointment, Kind.ESCALATED, None, step=number, alerted=len(new))
        if appointment.escalated_at is None:
            appointment.escalated_at = now
            appointment.save(update_fields=["escalated_at", "updated_at"])
    return step


def _is_waiting(appointment: Appointment) -> bool:
    return (appointment.type == AppointmentType.EMERGENCY and appointment.doctor_id is None
            and appointment.status == AppointmentStatus.REQUESTED)


def _climb(appointment: Appointment, now) -> int:
    """Take every step that is due (the appointment's row is locked). Returns how many were taken."""
    taken = 0
    while _is_waiting(appointment):
        last = appointment.ladder_steps.order_by("-number").first()
        if last is None or last.number >= LAST_STEP:
            break
        anyone = EmergencyAlert.objects.filter(appointment=appointment).exists()
        if anyone and now < last.at + escalation_interval():
            break
        if _take_step(appointment, last.number + 1, now) is None:
            break
        taken += 1
    if taken and _is_waiting(appointment) and not appointment.ladder_steps.filter(number=LAST_STEP).exists():
        _queue_next_step(appointment)
    return taken


def _queue_next_step(appointment: Appointment) -> None:
    from clinic.tasks import emergency_escalate

    appointment_id = str(appointment.pk)
    seconds = int(escalation_interval().total_seconds())
    transaction.on_commit(lambda: emergency_escalate.apply_async((appointment_id,), countdown=seconds))


def _emergency_queues_changed(appointment: Appointment) -> None:
    """On commit, tell the live emergency queues and hospital dashboards concerned (sockets)."""
    appointment_id = appointment.pk

    def push():
        from telehealth.consumers_emergencies import emergency_queues_push

        emergency_queues_push(appointment_id)

    transaction.on_commit(push)


@transaction.atomic
def emergency_request(*, requested_by: User, patient: Patient, reason: str, hospital: Hospital | None = None,
                      now=None) -> Appointment:
    """Raise an emergency: step 1 of the ladder alerts the on-duty doctors of the patient's care
    team and hospitals; the later steps follow while nobody accepts (see above)."""
    if not _may_book_for(requested_by, patient):
        raise NotFound(_("Patient not found."))
    _require_staff_hospital(requested_by, patient, doctor=None, hospital=hospital)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Describe briefly what is happening.")]})
    if Appointment.objects.filter(patient=patient, type=AppointmentType.EMERGENCY, doctor__isnull=True,
                                  status=AppointmentStatus.REQUESTED).exists():
        raise Conflict(_("An emergency request for %(name)s is already waiting for a doctor.") % {"name": patient.name})
    now = now or timezone.now()
    appointment = Appointment.objects.create(
        patient=patient, type=AppointmentType.EMERGENCY, hospital=hospital, start=now,
        end=now + dt.timedelta(minutes=30), reason=reason.strip(), booked_by=requested_by,
        room_id=secrets.token_urlsafe(16))
    _take_step(appointment, Step.ON_DUTY, now, actor=requested_by)
    audit_record(action="appointment.emergency_requested", actor=requested_by, target=appointment)
    if not _climb(appointment, now):
        _queue_next_step(appointment)
    _emergency_queues_changed(appointment)
    return appointment


def emergency_accept(*, actor: User, appointment: Appointment) -> Appointment:
    """First doctor to accept wins: a conditional UPDATE that only one request can match."""
    doctor = selectors.doctor_profile_of(actor)
    # An alerted doctor who is too late no longer sees the request in the queue; they should learn
    # who took it (409), not get a 404.
    alerted = EmergencyAlert.objects.filter(appointment_id=appointment.pk, recipient=actor).exists()
    if doctor is None or not (alerted or selectors.appointments_visible_to(actor).filter(pk=appointment.pk).exists()):
        raise NotFound(_("Appointment not found."))
    with transaction.atomic():
        won = Appointment.objects.filter(pk=appointment.pk, type=AppointmentType.EMERGENCY, doctor__isnull=True,
                                         status=AppointmentStatus.REQUESTED).update(
            doctor=doctor, status=AppointmentStatus.CONFIRMED, updated_at=timezone.now())
        if not won:
            current = Appointment.objects.select_related("doctor__user").get(pk=appointment.pk)
            who = current.doctor.user.name if current.doctor else _("someone else")
            raise Conflict(_("This emergency was already accepted by %(name)s.") % {"name": who})
        appointment.refresh_from_db()
        _event(appointment, Kind.ACCEPTED, actor)
        # The patient's own emergency is their consent; one raised by hospital staff is a proposal.
        _care_team_on_patient_action(by=appointment.booked_by, doctor=doctor, patient=appointment.patient)
        audit_record(action="appointment.emergency_accepted", actor=actor, target=appointment)
        _emergency_queues_changed(appointment)
    return appointment


@transaction.atomic
def emergency_escalate(*, appointment_id, now=None) -> bool:
    """Take the ladder's next step(s) if due, for an emergency still waiting. Idempotent: the row
    lock orders concurrent runs, and each step is recorded once. Returns whether a step was taken."""
    appointment = Appointment.objects.select_for_update().filter(
        pk=appointment_id, type=AppointmentType.EMERGENCY).first()
    if appointment is None:
        return False
    if not _climb(appointment, now or timezone.now()):
        return False
    _emergency_queues_changed(appointment)
    return True


def emergencies_escalate_due(now=None) -> int:
    """Climb the ladder of every waiting emergency that has steps left (beat, every minute; the
    safety net for lost countdowns). Returns how many emergencies took a step."""
    now = now or timezone.now()
    waiting = (Appointment.objects.filter(type=AppointmentType.EMERGENCY, doctor__isnull=True,
                                          status=AppointmentStatus.REQUESTED, start__lte=now)
               .exclude(ladder_steps__number=LAST_STEP).values_list("pk", flat=True))
    return sum(emergency_escalate(appointment_id=pk, now=now) for pk in list(waiting))


# --- calendar feed ------------------------------------------------------------------------------------

@transaction.atomic
def calendar_feed_rotate(*, user: User) -> CalendarFeed:
    """Create the user's secret feed URL, or replace it (revoking the old one)."""
    feed, _created = CalendarFeed.objects.get_or_create(user=user, defaults={"token": secrets.token_urlsafe(32)})
    if not _created:
        feed.token = secrets.token_urlsafe(32)
        feed.save(update_fields=["token", "updated_at"])
    return feed


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> None:
    CalendarFeed.objects.filter(user=user).delete()


def calendar_feed_set_reasons(*, user: User, include: bool) -> CalendarFeed | None:
    """Choose whether the feed carries reasons for visit (off unless the owner opts in: a calendar
    app syncs them to wherever that calendar is shared)."""
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is not None and feed.include_reasons != include:
        feed.include_reasons = include
        feed.save(update_fields=["include_reasons", "updated_at"])
    return feed


def calendar_feed_read_record(*, feed: CalendarFeed, appointments, request=None) -> None:
    """Audit a fetch of a feed that listed other patients' appointments (a doctor's, a parent's):
    one event per such patient, in one INSERT. The actor is the feed's owner (the secret URL is
    their credential); the requesting address is kept."""
    by_patient = {}
    for appointment in appointments:
        if appointment.patient.user_id == feed.user_id:
            continue
        by_patient.setdefault(appointment.patient_id, (appointment.patient, []))[1].append(str(appointment.pk))
    entries = [(patient, {"via": "calendar", "appointments": ids, "reasons": feed.include_reasons})
               for patient, ids in by_patient.values()]
    if entries:
        audit_record_many(action="calendar.feed_read", actor=feed.user, entries=entries, request=request)


# --- audit of reads ---------------------------------------------------------------------------------
# An appointment's reason for visit and its doctor's notes are clinical data. As for chats, wellness
# and emotion data, a read by anyone but the patient's own account (family, doctors, staff who see
# an emergency's reason, admins) writes an audit event whose target is the patient: one per
# appointment whose reason or notes the response showed, a list page in one INSERT.

def appointments_read_record(*, actor: User, appointments, via: str, shown, request=None) -> None:
    """``shown(appointment)`` names the clinical fields the viewer was shown ("reason", "notes");
    empty ones are not a read."""
    entries = []
    for appointment in appointments:
        if appointment.patient.user_id is not None and appointment.patient.user_id == actor.pk:
            continue
        fields = [name for name in shown(appointment) if getattr(appointment, name)]
        if fields:
            entries.append((appointment.patient, {"appointment": str(appointment.pk), "via": via, "fields": fields}))
    if len(entries) == 1:
        patient, data = entries[0]
        audit_record(action="appointment.viewed", actor=actor, target=patient, request=request, **data)
    elif entries:
        audit_record_many(action="appointment.viewed", actor=actor, entries=entries, request=request)


# --- directory and records (API) -------------------------------------------------------------------

def _require_admin(actor: User, message: str):
    if not actor.is_admin:
        raise PermissionDenied(message)


def _clean_doctor_fields(data: dict) -> dict:
    """Validate the doctor-profile fields present in ``data``; errors name the field."""
    errors = {}
    if "specialty" in data and not (data["specialty"] or "").strip():
        errors["specialty"] = [_("Enter the specialty.")]
    if "years_experience" in data and not 0 <= int(data["years_experience"]) <= 70:
        errors["years_experience"] = [_("Enter years of experience between 0 and 70.")]
    if "consultation_modes" in data:
        unknown = [m for m in data["consultation_modes"] if m not in ConsultationMode.values]
        if unknown:
            errors["consultation_modes"] = [_("Consultation modes are remote and regular.")]
        data["consultation_modes"] = sorted(set(data["consultation_modes"]))
    if "languages" in data:
        data["languages"] = [lang.strip() for lang in data["languages"] if lang and lang.strip()]
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def doctor_create_by_admin(*, actor: User, name: str, email: str, password: str, specialty: str,
                           phone: str | None = None, years_experience: int = 0, designation: str = "",
                           details: str = "", languages: list[str] | None = None,
                           consultation_modes: list[str] | None = None, timezone_name: str = "UTC",
                           request=None) -> DoctorProfile:
    """An administrator adds a doctor directly (e.g. a hospital's existing clinician): the account,
    an approved application recording who vouched for it, and the profile."""
    from accounts.models import ApplicationStatus, DoctorApplication, Role
    from accounts.services import _new_user

    _require_admin(actor, _("Only administrators add doctors directly."))
    if not email:
        raise ValidationError({"email": [_("Doctors need an email address.")]})
    fields = _clean_doctor_fields({"specialty": specialty, "years_experience": years_experience,
                                   "languages": languages or [], "consultation_modes": consultation_modes or []})
    user = _new_user(role=Role.DOCTOR, name=name, email=email, phone=phone, password=password,
                     timezone=timezone_name)
    now = timezone.now()
    # No identity document was uploaded: the deciding administrator vouches for the doctor.
    DoctorApplication.objects.create(
        user=user, specialty=fields["specialty"].strip(), years_experience=fields["years_experience"],
        cv_text=details.strip() or _("Added by an administrator."), identity_proof="", identity_proof_type="",
        status=ApplicationStatus.APPROVED, decided_by=actor, decided_at=now, notified_status=ApplicationStatus.APPROVED)
    profile = DoctorProfile(user=user, specialty=fields["specialty"].strip(), years_experience=fields["years_experience"],
                            designation=designation.strip(), details=details.strip(), languages=fields["languages"],
                            consultation_modes=fields["consultation_modes"])
    profile.full_clean(exclude=["user"])
    profile.save()
    audit_record(action="doctor.created", actor=actor, target=profile, request=request)
    return profile


DOCTOR_PROFILE_FIELDS = ("designation", "specialty", "years_experience", "details", "languages",
                         "consultation_modes", "shift_start", "shift_end", "accepts_new_patients")


@transaction.atomic
def doctor_profile_update(*, actor: User, doctor: DoctorProfile, data: dict) -> DoctorProfile:
    """The doctor (or an administrator) edits the public profile."""
    own = selectors.doctor_profile_of(actor)
    if not (actor.is_admin or (own is not None and own.pk == doctor.pk)):
        raise PermissionDenied(_("Only the doctor or an administrator edits this profile."))
    data = _clean_doctor_fields({k: v for k, v in data.items() if k in DOCTOR_PROFILE_FIELDS})
    for text in ("designation", "specialty", "details"):
        if text in data:
            data[text] = (data[text] or "").strip()
    changed = [k for k, v in data.items() if getattr(doctor, k) != v]
    for key in changed:
        setattr(doctor, key, data[key])
    if (doctor.shift_start is None) != (doctor.shift_end is None) or (
            doctor.shift_start and doctor.shift_end and doctor.shift_end <= doctor.shift_start):
        raise ValidationError({"shift_end": [_("Give both shift times; the shift must end after it starts.")]})
    if not changed:
        return doctor
    doctor.full_clean(exclude=["user"])
    doctor.save(update_fields=[*changed, "updated_at"])
    audit_record(action="doctor.updated", actor=actor, target=doctor, fields=sorted(changed))
    return doctor


@transaction.atomic
def doctor_deactivate(*, actor: User, doctor: DoctorProfile) -> DoctorProfile:
    """Take a doctor out of the directory and sign them out; rows and history stay."""
    _require_admin(actor, _("Only administrators deactivate doctors."))
    user = doctor.user
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active", "updated_at"])
        audit_record(action="doctor.deactivated", actor=actor, target=doctor)
    return doctor


HOSPITAL_FIELDS = ("name", "address", "city", "state", "country", "pin_code", "contact", "email",
                   "specialities", "website", "link")


def _hospital_save(hospital: Hospital, fields: list[str] | None = None):
    hospital.email = (hospital.email or "").strip().lower() or None
    try:
        hospital.full_clean(exclude=["decided_by"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    try:
        with transaction.atomic():
            hospital.save(**({"update_fields": [*fields, "updated_at"]} if fields is not None else {}))
    except IntegrityError as exc:
        raise ValidationError({"email": [_("Another hospital uses this email address.")]}) from exc


@transaction.atomic
def hospital_create(*, actor: User, data: dict) -> Hospital:
    """An administrator adds an (approved) hospital to the directory."""
    from clinic.models import ApprovalStatus

    _require_admin(actor, _("Only administrators add hospitals."))
    hospital = Hospital(**{k: v for k, v in data.items() if k in HOSPITAL_FIELDS},
                        status=ApprovalStatus.APPROVED, decided_by=actor, decided_at=timezone.now(),
                        notified_status=ApprovalStatus.APPROVED)
    _hospital_save(hospital)
    audit_record(action="hospital.created", actor=actor, target=hospital)
    return hospital


@transaction.atomic
def hospital_update(*, actor: User, hospital: Hospital, data: dict) -> Hospital:
    if not selectors.can_manage_hospital(actor, hospital):
        raise PermissionDenied(_("Only administrators or this hospital's staff edit it."))
    data = {k: v for k, v in data.items() if k in HOSPITAL_FIELDS}
    changed = [k for k, v in data.items() if getattr(hospital, k) != v]
    for key in changed:
        setattr(hospital, key, data[key])
    if changed:
        _hospital_save(hospital, changed)
        audit_record(action="hospital.updated", actor=actor, target=hospital, fields=sorted(changed))
    return hospital


@transaction.atomic
def hospital_delete(*, actor: User, hospital: Hospital) -> None:
    """Remove a hospital that never had appointments (history is never deleted)."""
    from django.db.models import ProtectedError

    _require_admin(actor, _("Only administrators delete hospitals."))
    if hospital.appointments.exists():
        raise Conflict(_("This hospital has appointments and cannot be deleted."))
    if hospital.staff.exists():
        # Deleting would leave its staff accounts without a hospital (locked out of their pages).
        raise Conflict(_("This hospital still has staff accounts; deactivate or move them first."))
    audit_record(action="hospital.deleted", actor=actor, target=hospital)
    try:
        with transaction.atomic():
            hospital.delete()
    except ProtectedError as exc:
        raise Conflict(_("Records still refer to this hospital; it cannot be deleted.")) from exc


PATIENT_FIELDS = ("name", "date_of_birth", "gender", "contact", "emergency_contact")


@transaction.atomic
def patient_update(*, actor: User, patient: Patient, data: dict) -> Patient:
    """The accounts that act for a patient (or an administrator) edit the demographics."""
    if not (actor.is_admin or selectors.can_act_for_patient(actor, patient)):
        raise PermissionDenied(_("Only the patient, their family or an administrator edit these details."))
    data = {k: v for k, v in data.items() if k in PATIENT_FIELDS and v is not None}
    if "name" in data:
        data["name"] = data["name"].strip()
    if "date_of_birth" in data and data["date_of_birth"] > timezone.localdate():
        raise ValidationError({"date_of_birth": [_("The date of birth cannot be in the future.")]})
    changed = [k for k, v in data.items() if getattr(patient, k) != v]
    for key in changed:
        setattr(patient, key, data[key])
    if not changed:
        return patient
    try:
        patient.full_clean(exclude=["user", "photo"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    patient.save(update_fields=[*changed, "updated_at"])
    audit_record(action="patient.updated", actor=actor, target=patient, fields=sorted(changed))
    return patient


@transaction.atomic
def patient_delete(*, actor: User, patient: Patient) -> None:
    """Delete a patient record that has no appointments (clinical history is never deleted)."""
    from django.db.models import ProtectedError

    _require_admin(actor, _("Only administrators delete patient records."))
    if patient.appointments.exists():
        raise Conflict(_("This patient has appointments; the record cannot be deleted."))
    audit_record(action="patient.deleted", actor=actor, target=patient)
    try:
        with transaction.atomic():
            patient.delete()
    except ProtectedError as exc:
        raise Conflict(_("Records still refer to this patient; it cannot be deleted.")) from exc

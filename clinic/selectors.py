"""The clinic access policy — the one place that decides who may see which patient and appointment.

Who may see a patient:
- the patient's own account(s) and family members linked through UserPatientRelation;
- doctors in the patient's care team (CareTeamMember);
- staff of hospitals the patient is registered with — scheduling and demographics only, never
  clinical data (``clinical=True`` excludes them);
- administrators (callers audit clinical reads).
Everything else is 404: missing and not-yours look the same.

Each of these links grants access only once the patient (or the person who manages them) has
consented: the links' default managers return accepted links only, and joins go through the
subqueries below (``patient_ids_managed_by``, ``care_team_patient_ids``, ...), never through a
reverse relation such as ``care_links__doctor``, which a manager cannot filter.

Pages, the API, websocket consumers, downloads, tasks and exports all read through here.
"""

import datetime as dt

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone as dj_timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from accounts.models import ApplicationStatus, Role, User
from accounts.selectors import doctor_is_approved
from clinic import crisis_lines, scheduling
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    ApprovalStatus,
    AvailabilityException,
    CareTeamMember,
    Consent,
    DoctorProfile,
    EmergencyAlert,
    Hospital,
    HospitalDoctor,
    HospitalPatient,
    HospitalStaff,
    Patient,
    UserPatientRelation,
    WeeklyAvailability,
)
from core.errors import NotFound


# --- who is the viewer ---------------------------------------------------------------------------

def doctor_profile_of(user: User) -> DoctorProfile | None:
    """The approved doctor profile of a user, or None."""
    if not user.is_authenticated or user.role != Role.DOCTOR:
        return None
    profile = getattr(user, "doctor_profile", None)
    if profile is None:
        return None
    if not doctor_is_approved(user):
        return None
    return profile


def staff_hospital_of(user: User) -> Hospital | None:
    """The approved hospital a hospital-staff user works for, or None."""
    if not user.is_authenticated or user.role != Role.HOSPITAL:
        return None
    membership = HospitalStaff.objects.select_related("hospital").filter(user=user).first()
    if membership is None or membership.hospital.status != ApprovalStatus.APPROVED:
        return None
    return membership.hospital


# --- patients --------------------------------------------------------------------------------------

def patient_ids_managed_by(user: User) -> QuerySet:
    """Patients the user acts for: themself and family members linked to them (accepted links)."""
    return UserPatientRelation.objects.filter(user=user).values("patient_id")


def patients_visible_to(user: User, *, clinical: bool = True) -> QuerySet[Patient]:
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    if user.is_admin:
        return Patient.objects.all()
    condition = Q(pk__in=patient_ids_managed_by(user))
    doctor = doctor_profile_of(user)
    if doctor is not None:
        condition |= Q(pk__in=CareTeamMember.objects.filter(doctor=doctor).values("patient_id"))
    if not clinical:
        hospital = staff_hospital_of(user)
        if hospital is not None:
            condition |= Q(pk__in=HospitalPatient.objects.filter(hospital=hospital).values("patient_id"))
    return Patient.objects.filter(condition)


def patient_get(*, fetched_by: User, patient_id, clinical: bool = True) -> Patient:
    patient = patients_visible_to(fetched_by, clinical=clinical).filter(pk=patient_id).first()
    if patient is None:
        raise NotFound("Patient not found.")
    return patient


def patients_managed_by(user: User) -> QuerySet[Patient]:
    """Patients the user may book for and act on behalf of (own record and family)."""
    if not user.is_authenticated:
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=patient_ids_managed_by(user)).order_by("name")


def can_act_for_patient(user: User, patient: Patient) -> bool:
    return UserPatientRelation.objects.filter(user=user, patient=patient).exists()


def relation_of(user: User, patient_id) -> str | None:
    """How the user is linked to the patient (a ``Relation`` value: "self", "parent", ...), or None
    when the user does not act for that patient. Only links in force count."""
    if not user.is_authenticated:
        return None
    return (UserPatientRelation.objects.filter(user=user, patient_id=patient_id)
            .values_list("relation", flat=True).first())


def patient_account_ids(patient_id) -> set:
    """Ids of the accounts acting for a patient (the patient's own and linked family), links in
    force only: who takes part on the patient's side of a chat, call or notification."""
    return set(UserPatientRelation.objects.filter(patient_id=patient_id).values_list("user_id", flat=True))


# --- doctors and hospitals (directory data: any signed-in user) ---------------------------------------

def doctors_directory(*, specialty=None, language=None, hospital_id=None, mode=None, search=None) -> QuerySet[DoctorProfile]:
    """Approved doctors, for finding and booking. Not patient data, so not scoped per viewer."""
    qs = (DoctorProfile.objects.select_related("user")
          .filter(user__is_active=True,
                  user__doctor_applications__status=ApplicationStatus.APPROVED)
          .distinct())
    if specialty:
        qs = qs.filter(specialty__iexact=specialty)
    if language:
        # languages holds codes (["en", "es"]); match the quoted code, not a substring of a name.
        qs = qs.filter(Q(languages__icontains=f'"{language}"') | Q(user__preferred_language=language))
    if hospital_id:
        qs = qs.filter(hospital_links__hospital_id=hospital_id)
    if mode == "remote":
        # One filter call, one join: doctors without any availability must not match.
        qs = qs.filter(availability__isnull=False, availability__hospital__isnull=True)
    elif mode == "regular":
        qs = qs.filter(availability__hospital__isnull=False)
    if search:
        qs = qs.filter(Q(user__name__icontains=search) | Q(specialty__icontains=search))
    return qs.order_by("user__name")


def doctor_get(*, doctor_id) -> DoctorProfile:
    doctor = doctors_directory().filter(pk=doctor_id).first()
    if doctor is None:
        raise NotFound("Doctor not found.")
    return doctor


def hospitals_directory() -> QuerySet[Hospital]:
    return Hospital.objects.filter(status=ApprovalStatus.APPROVED).order_by("name")


def hospital_get(*, hospital_id) -> Hospital:
    hospital = hospitals_directory().filter(pk=hospital_id).first()
    if hospital is None:
        raise NotFound("Hospital not found.")
    return hospital


def doctors_of_hospital(hospital: Hospital) -> QuerySet[DoctorProfile]:
    return doctors_directory().filter(hospital_links__hospital=hospital)


def hospitals_of_doctor(doctor: DoctorProfile) -> QuerySet[Hospital]:
    return hospitals_directory().filter(doctor_links__doctor=doctor)


def can_manage_hospital(user: User, hospital: Hospital) -> bool:
    """Admins manage every hospital's mappings; staff manage their own hospital's."""
    if user.is_authenticated and user.is_admin:
        return True
    own = staff_hospital_of(user)
    return own is not None and own.pk == hospital.pk


# --- appointments ------------------------------------------------------------------------------------

def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    """Appointments of patients the viewer may see (scheduling data), plus, for doctors, their own
    appointments and the emergency requests waiting in their queue."""
    qs = Appointment.objects.select_related("patient", "doctor__user", "hospital")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_admin:
        return qs
    condition = Q(patient_id__in=patient_ids_managed_by(user))
    doctor = doctor_profile_of(user)
    if doctor is not None:
        condition |= Q(doctor=doctor)
        condition |= Q(patient_id__in=CareTeamMember.objects.filter(doctor=doctor).values("patient_id"))
        condition |= emergency_queue_condition(doctor)
    hospital = staff_hospital_of(user)
    if hospital is not None:
        condition |= Q(hospital=hospital)
        condition |= Q(pk__in=EmergencyAlert.objects.filter(recipient=user).values("appointment_id"))
        condition |= Q(patient_id__in=HospitalPatient.objects.filter(hospital=hospital).values("patient_id"))
    return qs.filter(condition)


def appointment_get(*, fetched_by: User, appointment_id) -> Appointment:
    appointment = appointments_visible_to(fetched_by).filter(pk=appointment_id).first()
    if appointment is None:
        raise NotFound("Appointment not found.")
    return appointment


def appointments_list(*, fetched_by: User, doctor_id=None, patient_id=None, hospital_id=None, date_from=None,
                      date_to=None, status=None, type=None) -> QuerySet[Appointment]:
    qs = appointments_visible_to(fetched_by)
    if doctor_id:
        qs = qs.filter(doctor_id=doctor_id)
    if patient_id:
        qs = qs.filter(patient_id=patient_id)
    if hospital_id:
        qs = qs.filter(hospital_id=hospital_id)
    if date_from:
        qs = qs.filter(end__gt=date_from)
    if date_to:
        qs = qs.filter(start__lt=date_to)
    if status:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    return qs.order_by("start")


def emergency_queue_condition(doctor: DoctorProfile) -> Q:
    """Unaccepted emergencies this doctor was alerted to (on request: on-duty doctors of the
    patient's care team and hospitals; on escalation: all on-duty doctors)."""
    alerted = EmergencyAlert.objects.filter(recipient_id=doctor.user_id).values("appointment_id")
    return Q(type=AppointmentType.EMERGENCY, doctor__isnull=True, status__in=ACTIVE_STATUSES, pk__in=alerted)


def emergency_queue(doctor: DoctorProfile) -> QuerySet[Appointment]:
    return (Appointment.objects.select_related("patient", "hospital")
            .filter(emergency_queue_condition(doctor)).order_by("start"))


def care_team_patient_ids(doctor: DoctorProfile) -> QuerySet:
    """Patients whose care team (accepted, current) this doctor is in, as a ``values("patient_id")``
    subquery. The one definition every surface (pages, API, chat, sockets, tasks) uses."""
    return CareTeamMember.objects.filter(doctor=doctor).values("patient_id")


def is_in_care_team(doctor: DoctorProfile, patient: Patient) -> bool:
    return CareTeamMember.objects.filter(doctor=doctor, patient=patient).exists()


def annotate_in_care_team(qs: QuerySet[Patient], doctor: DoctorProfile) -> QuerySet[Patient]:
    return qs.annotate(in_care_team=Exists(CareTeamMember.objects.filter(doctor=doctor, patient=OuterRef("pk"))))


# --- patient pages ---------------------------------------------------------------------------------

def doctor_specialties() -> list[str]:
    """Specialties of the doctors in the directory, for the search filter."""
    values = doctors_directory().order_by().values_list("specialty", flat=True)
    return sorted({v.strip() for v in values if v and v.strip()}, key=str.casefold)


def hospitals_of_managed_patients(user: User) -> QuerySet[HospitalPatient]:
    """(patient, hospital) links of the patients the user acts for — where an emergency may go."""
    return (HospitalPatient.objects.select_related("hospital")
            .filter(patient_id__in=patient_ids_managed_by(user), hospital__status=ApprovalStatus.APPROVED)
            .order_by("hospital__name"))


def appointments_of_managed_patients(user: User) -> QuerySet[Appointment]:
    """Appointments of the people the user acts for (own record and family), for the dashboard."""
    return appointments_visible_to(user).filter(patient_id__in=patient_ids_managed_by(user))


def first_free_slots(doctors, *, start, days: int = 28, mode: str | None = None, hospital_id=None,
                     now=None) -> dict:
    """{doctor pk: first free Slot or None} for a page of doctors, in three queries whatever the
    page size. Same rules as ``scheduling.free_slots`` (which costs three queries per doctor)."""
    import datetime as dt



    doctors = list(doctors)
    result = {d.pk: None for d in doctors}
    now = now or dj_timezone.now()
    start = max(start, now)
    end = start + dt.timedelta(days=days)
    if not doctors:
        return result
    ids = [d.pk for d in doctors]
    windows = WeeklyAvailability.objects.select_related("hospital").filter(doctor_id__in=ids)
    if mode == AppointmentType.REMOTE:
        windows = windows.filter(hospital__isnull=True)
    elif mode == AppointmentType.REGULAR:
        windows = windows.filter(hospital__isnull=False)
    if hospital_id:
        windows = windows.filter(hospital_id=hospital_id)
    by_doctor: dict = {}
    for window in windows:
        by_doctor.setdefault(window.doctor_id, {}).setdefault(window.weekday, []).append(window)
    if not by_doctor:
        return result
    busy: dict = {}
    for a in (Appointment.objects.filter(doctor_id__in=list(by_doctor), status__in=ACTIVE_STATUSES,
                                         start__lt=end, end__gt=start)
              .exclude(type=AppointmentType.EMERGENCY).only("doctor_id", "start", "end")):
        busy.setdefault(a.doctor_id, []).append((a.start, a.end))
    for e in AvailabilityException.objects.filter(doctor_id__in=list(by_doctor), start__lt=end,
                                                  end__gt=start).only("doctor_id", "start", "end"):
        busy.setdefault(e.doctor_id, []).append((e.start, e.end))
    for doctor in doctors:
        weekdays = by_doctor.get(doctor.pk)
        if not weekdays:
            continue
        zone = scheduling.doctor_zone(doctor)
        taken = busy.get(doctor.pk, [])
        day = start.astimezone(zone).date() - dt.timedelta(days=1)
        last_day = end.astimezone(zone).date() + dt.timedelta(days=1)
        while day <= last_day and result[doctor.pk] is None:
            found = []
            for window in weekdays.get(day.weekday(), []):
                for slot_start, slot_end in scheduling.window_slots(window, day, zone):
                    if start <= slot_start < end and not scheduling._overlaps(slot_start, slot_end, taken):
                        found.append(scheduling.Slot(slot_start, slot_end, window.hospital_id,
                                                     window.hospital.name if window.hospital_id else ""))
            if found:
                result[doctor.pk] = min(found, key=lambda s: (s.start, s.hospital_name))
            day += dt.timedelta(days=1)
    return result


# --- API helpers ---

def patients_of_hospital(*, fetched_by: User, hospital: Hospital) -> QuerySet[Patient]:
    """Patients registered with a hospital: for its staff and admins only (404 for everyone else,
    so the list's existence does not leak)."""
    if not can_manage_hospital(fetched_by, hospital):
        raise NotFound("Hospital not found.")
    return Patient.objects.filter(pk__in=HospitalPatient.objects.filter(hospital=hospital).values("patient_id")
                                  ).order_by("name")


def patients_of_doctor(*, fetched_by: User, doctor: DoctorProfile) -> QuerySet[Patient]:
    """A doctor's care-team patients: for the doctor and admins only (404 for everyone else)."""
    own = doctor_profile_of(fetched_by)
    if not (fetched_by.is_authenticated and (fetched_by.is_admin or (own is not None and own.pk == doctor.pk))):
        raise NotFound("Doctor not found.")
    return Patient.objects.filter(pk__in=care_team_patient_ids(doctor)).order_by("name")


def care_team_of(patient: Patient) -> QuerySet[DoctorProfile]:
    """Approved doctors in a patient's care team (call after ``patient_get``)."""
    return doctors_directory().filter(pk__in=CareTeamMember.objects.filter(patient=patient).values("doctor_id"))


def hospitals_of_patient(patient: Patient) -> QuerySet[Hospital]:
    """Approved hospitals a patient is registered with (call after ``patient_get``)."""
    return hospitals_directory().filter(pk__in=HospitalPatient.objects.filter(patient=patient).values("hospital_id"))


def hospital_doctor_link_get(*, fetched_by: User, mapping_id) -> HospitalDoctor:
    """Hospital–doctor links are directory data: visible when both sides are in the directory."""
    link = (HospitalDoctor.objects.select_related("hospital", "doctor__user")
            .filter(pk=mapping_id, hospital__in=hospitals_directory(), doctor__in=doctors_directory()).first())
    if link is None or not fetched_by.is_authenticated:
        raise NotFound("Mapping not found.")
    return link


def hospital_patient_link_get(*, fetched_by: User, mapping_id) -> HospitalPatient:
    """A registration of a patient the viewer sees, or one of the viewer's hospital's own
    invitations (so its staff can withdraw them)."""
    condition = Q(patient__in=patients_visible_to(fetched_by, clinical=False))
    own = staff_hospital_of(fetched_by)
    if own is not None:
        condition |= Q(hospital=own)
    link = (HospitalPatient.with_invitations.select_related("hospital", "patient")
            .filter(condition, pk=mapping_id).first())
    if link is None:
        raise NotFound("Mapping not found.")
    return link


def care_team_member_get(*, fetched_by: User, mapping_id) -> CareTeamMember:
    member = (CareTeamMember.objects.select_related("doctor__user", "patient")
              .filter(pk=mapping_id, patient__in=patients_visible_to(fetched_by, clinical=False)).first())
    if member is None:
        raise NotFound("Mapping not found.")
    return member


def user_patient_link_get(*, fetched_by: User, mapping_id) -> UserPatientRelation:
    link = (UserPatientRelation.objects.select_related("user", "patient")
            .filter(pk=mapping_id, patient__in=patients_visible_to(fetched_by, clinical=False)).first())
    if link is None:
        raise NotFound("Mapping not found.")
    return link


def user_patient_links(*, fetched_by: User, user_id) -> QuerySet[UserPatientRelation]:
    """The patients an account acts for: the account itself and admins only."""
    if not (fetched_by.is_authenticated and (fetched_by.is_admin or str(fetched_by.pk) == str(user_id))):
        raise NotFound("User not found.")
    return (UserPatientRelation.objects.select_related("patient").filter(user_id=user_id)
            .order_by("patient__name"))


def user_for_linking(*, fetched_by: User, user_id) -> User:
    """The account to link to a patient. Any active account may be named by its (unguessable) id;
    whether the actor may link it is decided by ``services.user_patient_relation_add``."""
    user = User.objects.filter(pk=user_id, is_active=True).first() if fetched_by.is_authenticated else None
    if user is None:
        raise NotFound("User not found.")
    return user


def emergency_for_responder(*, fetched_by: User, appointment_id) -> Appointment:
    """An emergency a doctor may try to accept: one in their queue, or one they were alerted to
    that someone else already accepted (so they learn who, instead of a 404)."""
    doctor = doctor_profile_of(fetched_by)
    if doctor is None:
        raise NotFound("Appointment not found.")
    alerted = EmergencyAlert.objects.filter(recipient=fetched_by, appointment_id=appointment_id)
    appointment = (Appointment.objects.select_related("patient", "doctor__user", "hospital")
                   .filter(pk=appointment_id, type=AppointmentType.EMERGENCY)
                   .filter(Q(pk__in=appointments_visible_to(fetched_by).values("pk")) | Q(Exists(alerted)))
                   .first())
    if appointment is None:
        raise NotFound("Appointment not found.")
    return appointment


def appointment_viewer(user: User) -> dict:
    """What the viewer may see of the appointments they list (a constant number of queries):
    doctor notes go to admins and the patient's care-team doctors; call rooms to the patient side
    and the appointment's doctor; hospital staff get scheduling data only."""
    doctor = doctor_profile_of(user)
    return {
        "is_admin": user.is_authenticated and user.is_admin,
        "doctor_id": doctor.pk if doctor else None,
        "care_team_patient_ids": set(CareTeamMember.objects.filter(doctor=doctor).values_list("patient_id", flat=True))
        if doctor else set(),
        "managed_patient_ids": set(patient_ids_managed_by(user).values_list("patient_id", flat=True))
        if user.is_authenticated else set(),
    }


# --- doctor and hospital pages ---------------------------------------------------------------------

from clinic.models import AppointmentStatus, AvailabilityException  # noqa: E402

def doctor_appointments_between(*, fetched_by: User, doctor: DoctorProfile, start, end) -> QuerySet[Appointment]:
    """The doctor's own appointments overlapping [start, end), cancelled ones left out (calendar)."""
    return (appointments_list(fetched_by=fetched_by, doctor_id=doctor.pk, date_from=start, date_to=end)
            .exclude(status=AppointmentStatus.CANCELLED))


def doctor_requests_to_confirm(*, fetched_by: User, doctor: DoctorProfile, now) -> QuerySet[Appointment]:
    """Requested, not yet confirmed appointments with this doctor that have not started yet."""
    return appointments_list(fetched_by=fetched_by, doctor_id=doctor.pk, status=AppointmentStatus.REQUESTED,
                             date_from=now).filter(start__gte=now)


def emergency_queue_count(doctor: DoctorProfile) -> int:
    return Appointment.objects.filter(emergency_queue_condition(doctor)).count()


def emergency_alerted_get(*, fetched_by: User, appointment_id) -> Appointment:
    """An emergency the user was alerted to, whether or not someone has accepted it since (so the
    page can say who did). 404 for emergencies the user was never alerted to."""
    appointment = (Appointment.objects.select_related("patient", "doctor__user")
                   .filter(pk=appointment_id, type=AppointmentType.EMERGENCY,
                           alerts__recipient_id=getattr(fetched_by, "pk", None)).first())
    if appointment is None or not fetched_by.is_active:
        raise NotFound("Appointment not found.")
    return appointment


def care_team_patients(*, fetched_by: User, doctor: DoctorProfile, search: str = "", now=None) -> QuerySet[Patient]:
    """The doctor's care-team patients (inside the access policy), each with ``next_start``: the
    start of their next active appointment with this doctor."""

    now = now or dj_timezone.now()
    upcoming = (Appointment.objects.filter(patient=OuterRef("pk"), doctor=doctor, status__in=ACTIVE_STATUSES,
                                           start__gte=now).order_by("start").values("start")[:1])
    qs = (patients_visible_to(fetched_by).filter(pk__in=care_team_patient_ids(doctor))
          .annotate(next_start=Subquery(upcoming)).order_by("name"))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(contact__icontains=search))
    return qs


def patient_appointment_history(*, fetched_by: User, patient: Patient) -> QuerySet[Appointment]:
    return appointments_list(fetched_by=fetched_by, patient_id=patient.pk).order_by("-start")


# What any time zone can show: rows saved before their range was bounded (a leave "until
# 9999-12-31 23:59") would overflow when shown in a zone ahead of UTC, and the page with them.
_SHOWABLE = (dt.datetime(1, 1, 2, tzinfo=dt.UTC), dt.datetime(9999, 12, 30, tzinfo=dt.UTC))


def availability_exceptions_upcoming(*, doctor: DoctorProfile, now) -> list[AvailabilityException]:
    rows = list(doctor.exceptions.filter(end__gt=now).order_by("start"))
    low, high = _SHOWABLE
    for row in rows:
        row.start, row.end = min(max(row.start, low), high), min(max(row.end, low), high)
    return rows


def availability_exception_get(*, fetched_by: User, exception_id) -> AvailabilityException:
    """One of the viewer's own exceptions (doctors), any doctor's for admins."""
    qs = AvailabilityException.objects.select_related("doctor__user").filter(pk=exception_id)
    if not fetched_by.is_authenticated or not fetched_by.is_admin:
        own = doctor_profile_of(fetched_by) if fetched_by.is_authenticated else None
        qs = qs.filter(doctor=own) if own is not None else qs.none()
    exception = qs.first()
    if exception is None:
        raise NotFound("Exception not found.")
    return exception


def hospital_appointments(*, fetched_by: User, hospital: Hospital, doctor_id=None, date_from=None, date_to=None,
                          status=None, type=None) -> QuerySet[Appointment]:
    """Appointments at the hospital, plus those of its registered patients with its doctors (online
    consultations have no hospital). Scheduling data only: reason and notes are not loaded."""
    if not can_manage_hospital(fetched_by, hospital):
        raise NotFound("Hospital not found.")
    qs = appointments_list(fetched_by=fetched_by, doctor_id=doctor_id, date_from=date_from, date_to=date_to,
                           status=status, type=type)
    return qs.filter(hospital_appointment_condition(hospital)).defer("reason", "notes", "extras", "cancellation_reason", "overbook_reason")


def hospital_appointment_condition(hospital: Hospital) -> Q:
    """The appointments that are the hospital's to manage: those at the hospital, and online ones
    (no hospital) with one of its doctors for one of its registered patients. The hospital page
    lists exactly these, and staff change exactly these (``services._side``)."""
    return Q(hospital=hospital) | (
        Q(hospital__isnull=True)
        & Q(patient_id__in=HospitalPatient.objects.filter(hospital=hospital).values("patient_id"))
        & Q(doctor_id__in=HospitalDoctor.objects.filter(hospital=hospital).values("doctor_id")))


def hospital_doctor_links(*, fetched_by: User, hospital: Hospital) -> QuerySet[HospitalDoctor]:
    if not can_manage_hospital(fetched_by, hospital):
        raise NotFound("Hospital not found.")
    return (HospitalDoctor.objects.select_related("doctor__user")
            .filter(hospital=hospital).order_by("doctor__user__name"))


def hospital_doctor_link_of(*, fetched_by: User, hospital: Hospital, link_id) -> HospitalDoctor:
    link = hospital_doctor_links(fetched_by=fetched_by, hospital=hospital).select_related("hospital") \
        .filter(pk=link_id).first()
    if link is None:
        raise NotFound("Mapping not found.")
    return link


def hospital_patient_links(*, fetched_by: User, hospital: Hospital, search: str = "",
                           with_invitations: bool = False) -> QuerySet[HospitalPatient]:
    """The hospital's registered patients (accepted); ``with_invitations`` adds the patients it has
    invited who have not answered yet (for its list page, which marks them)."""
    if not can_manage_hospital(fetched_by, hospital):
        raise NotFound("Hospital not found.")
    manager = HospitalPatient.with_invitations if with_invitations else HospitalPatient.objects
    qs = manager.select_related("patient").filter(hospital=hospital).order_by("patient__name")
    if search:
        qs = qs.filter(Q(patient__name__icontains=search) | Q(patient__contact__icontains=search))
    return qs


def hospital_patient_link_of(*, fetched_by: User, hospital: Hospital, link_id) -> HospitalPatient:
    link = hospital_patient_links(fetched_by=fetched_by, hospital=hospital, with_invitations=True) \
        .select_related("hospital").filter(pk=link_id).first()
    if link is None:
        raise NotFound("Mapping not found.")
    return link


def doctors_search(*, query: str) -> QuerySet[DoctorProfile]:
    """Directory doctors whose name or specialty contains ``query`` or whose email is exactly it
    (emails are matched whole, so the directory cannot be used to harvest them)."""
    query = (query or "").strip()
    if not query:
        return DoctorProfile.objects.none()
    return doctors_directory().filter(Q(user__name__icontains=query) | Q(specialty__icontains=query)
                                      | Q(user__email__iexact=query))


def patient_self_record_by_login(*, fetched_by: User, login: str) -> Patient | None:
    """The own patient record of the account signed in with this email or phone (exact match), for
    hospital staff registering an existing patient. None when there is no such patient account."""
    if not (fetched_by.is_authenticated and (fetched_by.is_admin or staff_hospital_of(fetched_by) is not None)):
        return None
    login = (login or "").strip()
    if not login:
        return None
    user = (User.objects.filter(email__iexact=login).first() if "@" in login
            else User.objects.filter(phone=login.replace(" ", "")).first())
    if user is None or not user.is_active or user.role != Role.PATIENT:
        return None
    relation = (UserPatientRelation.objects.select_related("patient")
                .filter(user=user, relation="self").first())
    return relation.patient if relation else getattr(user, "patient_record", None)


# --- consent: who has access, and the invitations ----------------------------------------------------

def patient_ids_access_managed_by(user: User) -> QuerySet:
    """Patients whose access the user decides (sees, accepts, removes): their own record, and
    dependants without an account of their own for whom the user is an accepted guardian. A family
    member of a patient with an account acts for them but does not decide who else does."""
    if not user.is_authenticated:
        return UserPatientRelation.objects.none().values("patient_id")
    return (UserPatientRelation.objects.filter(user=user)
            .filter(Q(relation="self", patient__user=user) | Q(patient__user__isnull=True))
            .values("patient_id"))


def patients_access_managed_by(user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(pk__in=patient_ids_access_managed_by(user)).order_by("name")


def manages_access_of(user: User, patient_id) -> bool:
    return patient_ids_access_managed_by(user).filter(patient_id=patient_id).exists()


def access_of_patients(*, fetched_by: User) -> list[dict]:
    """For each patient whose access the viewer manages: the hospitals, care-team doctors and
    accounts with access, and the invitations not answered yet. Four queries, whatever the numbers."""
    patients = list(patients_access_managed_by(fetched_by))
    ids = [p.pk for p in patients]
    rows = {p.pk: {"patient": p, "hospitals": [], "doctors": [], "family": []} for p in patients}
    if not ids:
        return []
    for link in (HospitalPatient.with_invitations.select_related("hospital", "invited_by")
                 .filter(patient_id__in=ids).order_by("hospital__name")):
        rows[link.patient_id]["hospitals"].append(link)
    for member in (CareTeamMember.with_invitations.select_related("doctor__user", "added_by")
                   .filter(patient_id__in=ids).order_by("doctor__user__name")):
        rows[member.patient_id]["doctors"].append(member)
    for link in (UserPatientRelation.with_invitations.select_related("user", "invited_by")
                 .filter(patient_id__in=ids).exclude(user=fetched_by).order_by("user__name")):
        rows[link.patient_id]["family"].append(link)
    return [rows[p.pk] for p in patients]


def family_invitations_for(user: User) -> QuerySet[UserPatientRelation]:
    """Invitations to act for a patient that wait for this account's answer."""
    if not user.is_authenticated:
        return UserPatientRelation.with_invitations.none()
    return (UserPatientRelation.with_invitations.select_related("patient", "invited_by")
            .filter(user=user, consent=Consent.PENDING).order_by("created_at"))


ACCESS_KINDS = {"hospital": HospitalPatient, "doctor": CareTeamMember, "family": UserPatientRelation}


def access_link_get(*, fetched_by: User, kind: str, link_id):
    """A link (accepted or pending) the viewer may answer or end: one for a patient whose access
    they manage, or a family link naming their own account. 404 otherwise."""
    model = ACCESS_KINDS.get(kind)
    if model is None or not fetched_by.is_authenticated:
        raise NotFound("Access not found.")
    condition = Q(patient_id__in=patient_ids_access_managed_by(fetched_by))
    if model is UserPatientRelation:
        condition |= Q(user=fetched_by)
    link = model.with_invitations.select_related("patient").filter(condition, pk=link_id).first()
    if link is None:
        raise NotFound("Access not found.")
    return link


def account_for_family_invite(*, fetched_by: User, login: str) -> User | None:
    """The patient account signing in with this email or phone (exact match), for a manager
    inviting it; None otherwise. Callers answer the same either way (no account probing)."""
    login = (login or "").strip()
    if not login or not patient_ids_access_managed_by(fetched_by).exists():
        return None
    user = (User.objects.filter(email__iexact=login).first() if "@" in login
            else User.objects.filter(phone=login.replace(" ", "")).first())
    if user is None or not user.is_active or user.role != Role.PATIENT or user.pk == fetched_by.pk:
        return None
    return user


# --- emergencies: where the ladder stands ------------------------------------------------------------

from dataclasses import dataclass, field  # noqa: E402

from clinic.models import EmergencyLadderStep, EmergencyStep  # noqa: E402


@dataclass
class LadderStepView:
    number: int
    at: object  # aware datetime
    doctors: int = 0
    staff: int = 0
    admins: int = 0

    @property
    def alerted(self) -> int:
        return self.doctors + self.staff + self.admins

    def describe(self) -> str:
        """One truthful sentence for the emergency's page, in the active language and zone."""
        time = time_format(dj_timezone.localtime(self.at), "H:i")
        if self.number == EmergencyStep.ON_DUTY:
            if self.doctors:
                return ngettext("Alerted %(n)d doctor on duty at %(time)s.",
                                "Alerted %(n)d doctors on duty at %(time)s.", self.doctors) % {
                    "n": self.doctors, "time": time}
            return _("No doctor of the care team or hospital was on duty at %(time)s.") % {"time": time}
        if self.number == EmergencyStep.TEAM:
            if self.doctors:
                return ngettext("Alerted %(n)d more doctor of the care team and hospitals at %(time)s.",
                                "Alerted %(n)d more doctors of the care team and hospitals at %(time)s.",
                                self.doctors) % {"n": self.doctors, "time": time}
            return _("No other doctor of the care team or hospitals to alert at %(time)s.") % {"time": time}
        parts = []
        if self.staff:
            parts.append(ngettext("%(n)d hospital staff member", "%(n)d hospital staff members", self.staff)
                         % {"n": self.staff})
        if self.admins:
            parts.append(ngettext("%(n)d administrator", "%(n)d administrators", self.admins) % {"n": self.admins})
        if self.doctors:
            parts.append(ngettext("%(n)d more doctor on duty", "%(n)d more doctors on duty", self.doctors)
                         % {"n": self.doctors})
        if parts:
            # The list separator is the language's (Arabic writes "، ").
            separator = pgettext("separator between the items of a list", ", ")
            return _("Alerted %(who)s at %(time)s.") % {"who": separator.join(parts), "time": time}
        return _("Nobody else could be alerted at %(time)s.") % {"time": time}


@dataclass
class EmergencyProgress:
    """What the emergency's page (and the API) says: who was alerted at which step and when, what
    comes next, who accepted, and whether the crisis lines are shown."""

    waiting: bool
    steps: list = field(default_factory=list)
    next_step: int | None = None
    next_step_at: object = None
    accepted_at: object = None
    accepted_by: str = ""
    crisis_lines_shown: bool = False
    crisis_lines: tuple = ()
    country: str | None = None

    @property
    def alerted(self) -> int:
        return sum(s.alerted for s in self.steps)

    @property
    def doctors(self) -> int:
        return sum(s.doctors for s in self.steps)


def emergency_progress(appointment: Appointment, *, viewer: User | None = None, now=None) -> EmergencyProgress:
    """Where an emergency the viewer may see stands (the caller fetched it through the policy)."""


    now = now or dj_timezone.now()
    waiting = (appointment.type == AppointmentType.EMERGENCY and appointment.doctor_id is None
               and appointment.status == AppointmentStatus.REQUESTED)
    steps = {s.number: LadderStepView(s.number, s.at)
             for s in EmergencyLadderStep.objects.filter(appointment=appointment).order_by("number")}
    counts = (EmergencyAlert.objects.filter(appointment=appointment)
              .order_by().values_list("step", "recipient__role").annotate(n=Count("pk")))
    for number, role, n in counts:
        view = steps.setdefault(number, LadderStepView(number, appointment.start))
        if role == Role.DOCTOR:
            view.doctors += n
        elif role == Role.HOSPITAL:
            view.staff += n
        else:
            view.admins += n
    progress = EmergencyProgress(waiting=waiting, steps=[steps[k] for k in sorted(steps)])
    last = progress.steps[-1] if progress.steps else None
    if waiting and last is not None and last.number < max(EmergencyStep.values):
        progress.next_step = last.number + 1
        progress.next_step_at = max(last.at + dt.timedelta(minutes=settings.EMERGENCY_ESCALATION_MINUTES), now) \
            if progress.alerted else now
    accepted = (AppointmentEvent.objects.filter(appointment=appointment, kind=AppointmentEvent.Kind.ACCEPTED)
                .select_related("actor").order_by("-created_at").first())
    if accepted is not None:
        progress.accepted_at = accepted.created_at
        progress.accepted_by = accepted.actor.name if accepted.actor_id else ""
    crisis_after = dt.timedelta(minutes=settings.EMERGENCY_CRISIS_LINES_MINUTES)
    if waiting and (now - appointment.start >= crisis_after or not progress.alerted):
        progress.crisis_lines_shown = True
        progress.country = crisis_lines.country_for(appointment.patient, viewer)
        progress.crisis_lines = crisis_lines.lines_for(progress.country)
    return progress


def hospital_emergencies(*, fetched_by: User, hospital: Hospital, now=None) -> list[Appointment]:
    """Emergencies of the hospital's registered patients (or raised at the hospital) that are
    waiting for a doctor or were accepted in the last day, oldest first, each with ``progress``.
    Scheduling data only (no reason). For the hospital's staff and admins; 404 otherwise."""

    now = now or dj_timezone.now()
    rows = list(_hospital_emergencies(fetched_by, hospital, now)[:50])
    for row in rows:
        row.progress = emergency_progress(row, viewer=fetched_by, now=now)
    return rows


def _hospital_emergencies(fetched_by: User, hospital: Hospital, now) -> QuerySet[Appointment]:
    if not can_manage_hospital(fetched_by, hospital):
        raise NotFound("Hospital not found.")
    registered = HospitalPatient.objects.filter(hospital=hospital).values("patient_id")
    return (appointments_visible_to(fetched_by)
            .filter(Q(hospital=hospital) | Q(patient_id__in=registered), type=AppointmentType.EMERGENCY,
                    status__in=ACTIVE_STATUSES)
            .filter(Q(doctor__isnull=True) | Q(start__gte=now - dt.timedelta(days=1)))
            .defer("reason", "notes", "extras", "cancellation_reason", "overbook_reason")
            .order_by("start"))


def hospital_emergencies_waiting_count(*, fetched_by: User, hospital: Hospital) -> int:

    return _hospital_emergencies(fetched_by, hospital, dj_timezone.now()).filter(doctor__isnull=True).count()

"""The clinic access policy — the one place that decides who may see which patient and appointment.

Who may see a patient:
- the patient's own account(s) and family members linked through UserPatientRelation;
- doctors in the patient's care team (CareTeamMember);
- staff of hospitals the patient is registered with — scheduling and demographics only, never
  clinical data (``clinical=True`` excludes them);
- administrators (callers audit clinical reads).
Everything else is 404: missing and not-yours look the same.

Pages, the API, websocket consumers, downloads, tasks and exports all read through here.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import ApplicationStatus, Role, User
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentType,
    ApprovalStatus,
    CareTeamMember,
    DoctorProfile,
    EmergencyAlert,
    Hospital,
    HospitalDoctor,
    HospitalPatient,
    HospitalStaff,
    Patient,
    UserPatientRelation,
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
    if not user.doctor_applications.filter(status=ApplicationStatus.APPROVED).exists():
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
    """Patients the user acts for: themself and family members linked to them."""
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
        qs = qs.filter(Q(languages__icontains=language) | Q(user__preferred_language=language))
    if hospital_id:
        qs = qs.filter(hospital_links__hospital_id=hospital_id)
    if mode == "remote":
        qs = qs.filter(availability__hospital__isnull=True)
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


def is_in_care_team(doctor: DoctorProfile, patient: Patient) -> bool:
    return CareTeamMember.objects.filter(doctor=doctor, patient=patient).exists()


def annotate_in_care_team(qs: QuerySet[Patient], doctor: DoctorProfile) -> QuerySet[Patient]:
    return qs.annotate(in_care_team=Exists(CareTeamMember.objects.filter(doctor=doctor, patient=OuterRef("pk"))))

"""/api/v1 for the clinic: hospitals, doctors, patients, their mappings and appointments.

Thin, like every entry point: parse, fetch through a selector (which applies the access policy:
404 for missing and not-yours alike), change through a service (403 for "visible but not yours to
change", 409 for conflicts, 422 for invalid input naming the field), shape the answer.
"""

import datetime as dt
import zoneinfo
from typing import Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate
from pydantic import ConfigDict, Field

from clinic import scheduling, selectors, services
from clinic.extras import extras_get
from clinic.models import AppointmentStatus, AppointmentType, Gender, Relation
from core.errors import NotFound
from core.emails import EmailAddress
from core.schemas import Labels, LimitOffsetPagination, Schema, date_in_range, date_range_message
from telehealth.calls import call_record

PAGE = {"max_limit": 100}
MAX_SLOT_RANGE = dt.timedelta(days=31)
Mode = Literal["remote", "regular"]


# --- helpers -----------------------------------------------------------------------------------

def _zone(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _parse_when(value: str | None, field: str, user, *, end: bool = False) -> dt.datetime | None:
    """An ISO datetime with offset, or a date (the whole day in the requester's time zone: its
    start for a lower bound, the start of the next day for an upper bound)."""
    if not value:
        return None
    value = value.strip().replace(" ", "+")  # a "+" in an unencoded query string arrives as a space
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            if not date_in_range(day):
                raise ValidationError({field: [date_range_message()]})
            return dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(0), tzinfo=_zone(user))
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError({field: [_("Give a date (YYYY-MM-DD) or a date and time with its offset.")]}) from exc
    if timezone.is_naive(when):
        raise ValidationError({field: [_("Give the time with its time zone.")]})
    if not (date_in_range(when.date()) and date_in_range(when.astimezone(dt.UTC).date())):
        raise ValidationError({field: [date_range_message()]})
    return when


def _slot_out(slot: scheduling.Slot | None) -> dict | None:
    if slot is None:
        return None
    return {"start": slot.start.astimezone(dt.UTC), "end": slot.end.astimezone(dt.UTC), "mode": slot.mode,
            "hospital_id": slot.hospital_id, "hospital_name": slot.hospital_name}


def _attach_free_slots(exc, *, doctor, when: dt.datetime, mode, hospital, user, not_before=None):
    """A taken slot: offer the slots still free that day (in the requester's time zone), none
    before ``not_before`` (a patient's move: the cut-off)."""
    zone = _zone(user)
    day = when.astimezone(zone).date()
    day_start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    if not_before is not None:
        day_start = max(day_start, not_before)
    slots = scheduling.free_slots(doctor, day_start, day_end, mode=mode, hospital=hospital)
    exc.extra = {**getattr(exc, "extra", {}), "free_slots": [_slot_out(s) for s in slots]}
    return exc


def _is_true(request, name) -> bool:
    return request.GET.get(name, "").lower() in ("1", "true", "yes")


def _viewer(context) -> dict:
    request = context["request"]
    if not hasattr(request, "_clinic_viewer"):
        request._clinic_viewer = selectors.appointment_viewer(request.auth)
    return request._clinic_viewer


def _clinical_fields_shown(appointment, viewer) -> tuple:
    """The clinical fields ``AppointmentOut`` shows this viewer (as its resolvers decide)."""
    doctor_id = viewer["doctor_id"]
    notes = viewer["is_admin"] or (doctor_id and (appointment.doctor_id == doctor_id
                                                  or appointment.patient_id in viewer["care_team_patient_ids"]))
    return (("reason",) if _sees_reason(appointment, viewer) else ()) + (("notes",) if notes else ())


def _audit_appointment_reads(request, appointments) -> None:
    if appointments:
        viewer = _viewer({"request": request})
        services.appointments_read_record(actor=request.auth, appointments=appointments, via="api", request=request,
                                          shown=lambda a: _clinical_fields_shown(a, viewer))


class AuditedAppointmentPages(LimitOffsetPagination):
    """Pages of appointments; the reasons and notes a page shows are audited (one INSERT)."""

    def paginate_queryset(self, queryset, pagination, request, **params):
        result = super().paginate_queryset(queryset, pagination, request, **params)
        result[self.items_attribute] = items = list(result[self.items_attribute])
        _audit_appointment_reads(request, items)
        return result


# --- schemas -----------------------------------------------------------------------------------

class Ref(Schema):
    id: UUID
    name: str


class SlotOut(Schema):
    start: dt.datetime
    end: dt.datetime
    mode: str
    hospital_id: UUID | None
    hospital_name: str


class HospitalOut(Schema):
    id: UUID
    name: str
    address: str
    city: str
    state: str
    country: str
    pin_code: str
    contact: str
    email: str | None
    specialities: list
    website: str
    link: str


class HospitalIn(Schema):
    name: str = Field(..., min_length=2, max_length=200)
    address: str = Field(..., min_length=2, max_length=300)
    city: str = Field("", max_length=100)
    state: str = Field("", max_length=100)
    country: str = Field("", max_length=100)
    pin_code: str = Field("", max_length=20)
    contact: str = Field(..., min_length=3, max_length=30)
    email: EmailAddress | None = None
    specialities: Labels = []
    website: str = ""
    link: str = ""


class HospitalUpdateIn(Schema):
    name: str | None = Field(None, min_length=2, max_length=200)
    address: str | None = Field(None, min_length=2, max_length=300)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=100)
    pin_code: str | None = Field(None, max_length=20)
    contact: str | None = Field(None, min_length=3, max_length=30)
    email: EmailAddress | None = None
    specialities: Labels | None = None
    website: str | None = None
    link: str | None = None


class DoctorOut(Schema):
    id: UUID
    user_id: UUID
    name: str
    designation: str
    specialty: str
    years_experience: int
    details: str
    languages: list
    consultation_modes: list
    shift_start: dt.time | None
    shift_end: dt.time | None
    accepts_new_patients: bool
    first_free: SlotOut | None = None

    @staticmethod
    def resolve_name(obj):
        return obj.user.name

    @staticmethod
    def resolve_first_free(obj, context):
        # Only when asked: three queries per doctor, and only for the doctors on this page.
        if not _is_true(context["request"], "with_first_free"):
            return None
        return _slot_out(scheduling.first_free_slot(obj))


class DoctorCreateIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    email: EmailAddress
    phone: str | None = Field(None, max_length=20)
    password: str
    specialty: str = Field(..., min_length=2, max_length=120)
    years_experience: int = Field(0, ge=0, le=70)
    designation: str = Field("", max_length=120)
    details: str = ""
    languages: Labels = []
    consultation_modes: list[Mode] = Field([], max_length=2)
    timezone: str = "UTC"


class DoctorUpdateIn(Schema):
    designation: str | None = Field(None, max_length=120)
    specialty: str | None = Field(None, min_length=2, max_length=120)
    years_experience: int | None = Field(None, ge=0, le=70)
    details: str | None = None
    languages: Labels | None = None
    consultation_modes: list[Mode] | None = Field(None, max_length=2)
    shift_start: dt.time | None = None
    shift_end: dt.time | None = None
    accepts_new_patients: bool | None = None


class PatientOut(Schema):
    id: UUID
    name: str
    date_of_birth: dt.date
    age: int
    gender: str
    contact: str
    emergency_contact: str
    has_account: bool
    has_photo: bool

    @staticmethod
    def resolve_age(obj):
        today = timezone.localdate()
        born = obj.date_of_birth
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @staticmethod
    def resolve_has_account(obj):
        return obj.user_id is not None

    @staticmethod
    def resolve_has_photo(obj):
        return bool(obj.photo)


class PatientCreateIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    date_of_birth: dt.date
    gender: Gender
    relation: Relation
    contact: str = Field("", max_length=30)
    emergency_contact: str = Field("", max_length=200)


class PatientUpdateIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    date_of_birth: dt.date | None = None
    gender: Gender | None = None
    contact: str | None = Field(None, max_length=30)
    emergency_contact: str | None = Field(None, max_length=200)


class HospitalDoctorIn(Schema):
    hospital_id: UUID
    doctor_id: UUID


class HospitalPatientIn(Schema):
    hospital_id: UUID
    patient_id: UUID


class DoctorPatientIn(Schema):
    doctor_id: UUID
    patient_id: UUID


class UserPatientIn(Schema):
    user_id: UUID
    patient_id: UUID
    relation: Relation


class RelationIn(Schema):
    relation: Relation


class HospitalDoctorOut(Schema):
    id: UUID
    hospital: Ref
    doctor: Ref
    created_at: dt.datetime

    @staticmethod
    def resolve_doctor(obj):
        return {"id": obj.doctor_id, "name": obj.doctor.user.name}


class HospitalPatientOut(Schema):
    id: UUID
    hospital: Ref
    patient: Ref
    consent: str
    created_at: dt.datetime


class DoctorPatientOut(Schema):
    id: UUID
    doctor: Ref
    patient: Ref
    consent: str
    created_at: dt.datetime

    @staticmethod
    def resolve_doctor(obj):
        return {"id": obj.doctor_id, "name": obj.doctor.user.name}


class UserPatientOut(Schema):
    id: UUID
    user_id: UUID
    patient: PatientOut
    relation: str
    consent: str
    created_at: dt.datetime


class AppointmentEventOut(Schema):
    kind: str
    actor: str | None
    reason: str
    created_at: dt.datetime

    @staticmethod
    def resolve_actor(obj):
        return obj.actor.name if obj.actor_id else None


class CallRecordOut(Schema):
    started_at: dt.datetime
    ended_at: dt.datetime | None = Field(None, description="None while the call is under way")
    duration_s: int | None
    in_progress: bool
    ended_by: Literal["participants", "timeout"] | None = Field(
        None, description='"timeout": the connection was lost and ended_at is the last time someone was seen')


class CallRequestLinkOut(Schema):
    id: str = Field(..., description="The chat call request (GET /call-requests/{id}) this appointment was booked for")
    audio_only: bool = False


class AppointmentExtrasOut(Schema):
    """What the server attached to the appointment (clinic.extras). Clients read it, never write it."""

    call: CallRecordOut | None = Field(None, description="The online call's log, once it has started (as ``call``)")
    call_request: CallRequestLinkOut | None = Field(None, description="The chat call request it was booked for")


class AppointmentOut(Schema):
    id: UUID
    patient: Ref
    doctor: Ref | None
    hospital: Ref | None
    type: str
    status: str
    start: dt.datetime
    end: dt.datetime
    reason: str | None
    notes: str | None
    room_id: str | None
    overbooked: bool
    cancelled_by: str | None
    cancellation_reason: str
    call: CallRecordOut | None = Field(None, description="the online call, once it has started")
    extras: AppointmentExtrasOut = Field(..., description="What the server attached: the call log, the call request")
    created_at: dt.datetime

    @staticmethod
    def resolve_call(obj):
        return call_record(obj)

    @staticmethod
    def resolve_extras(obj):
        return {"call": call_record(obj), "call_request": extras_get(obj, "call_request")}

    @staticmethod
    def resolve_doctor(obj):
        return {"id": obj.doctor_id, "name": obj.doctor.user.name} if obj.doctor_id else None

    @staticmethod
    def resolve_cancelled_by(obj):
        return obj.cancelled_by.name if obj.cancelled_by_id else None

    @staticmethod
    def resolve_notes(obj, context):
        # Doctor notes are clinical: admins, the appointment's doctor and the care team only.
        viewer = _viewer(context)
        doctor_id = viewer["doctor_id"]
        if viewer["is_admin"] or (doctor_id and (obj.doctor_id == doctor_id
                                                 or obj.patient_id in viewer["care_team_patient_ids"])):
            return obj.notes
        return None

    @staticmethod
    def resolve_room_id(obj, context):
        viewer = _viewer(context)
        if obj.patient_id in viewer["managed_patient_ids"] or (
                viewer["doctor_id"] and obj.doctor_id == viewer["doctor_id"]):
            return obj.room_id
        return None

    @staticmethod
    def resolve_reason(obj, context):
        return obj.reason if _sees_reason(obj, _viewer(context)) else None


def _sees_reason(appointment, viewer) -> bool:
    """Hospital staff get scheduling data only; an emergency's reason they see, to route it."""
    return (viewer["is_admin"] or viewer["doctor_id"] is not None
            or appointment.patient_id in viewer["managed_patient_ids"]
            or appointment.type == AppointmentType.EMERGENCY)


class EmergencyStepOut(Schema):
    step: int = Field(..., description="1 on-duty doctors of the care team and hospitals, 2 every care-team and "
                                       "hospital doctor, 3 hospital staff, administrators and every doctor on duty")
    at: dt.datetime
    doctors: int
    hospital_staff: int
    admins: int
    text: str = Field(..., description="the sentence the emergency's page shows, in the reader's language")


class CrisisLineOut(Schema):
    name: str
    number: str = Field("", description="what to dial (empty for a web directory)")
    url: str = ""
    note: str = ""


class EmergencyProgressOut(Schema):
    waiting: bool = Field(..., description="no doctor has accepted and the request was not withdrawn")
    alerted: int = Field(..., description="people alerted so far, all steps")
    steps: list[EmergencyStepOut]
    next_step: int | None
    next_step_at: dt.datetime | None
    accepted_at: dt.datetime | None
    accepted_by: str | None
    crisis_lines_shown: bool = Field(..., description="nobody accepted within EMERGENCY_CRISIS_LINES_MINUTES, "
                                                      "or nobody could be alerted")
    country: str | None = Field(None, description="ISO code the crisis lines are for (None: international)")
    crisis_lines: list[CrisisLineOut]


def emergency_progress_out(appointment, viewer) -> dict | None:
    if appointment.type != AppointmentType.EMERGENCY:
        return None
    p = selectors.emergency_progress(appointment, viewer=viewer)
    return {
        "waiting": p.waiting, "alerted": p.alerted, "next_step": p.next_step, "next_step_at": p.next_step_at,
        "accepted_at": p.accepted_at, "accepted_by": p.accepted_by or None,
        "crisis_lines_shown": p.crisis_lines_shown, "country": p.country,
        "steps": [{"step": s.number, "at": s.at, "doctors": s.doctors, "hospital_staff": s.staff, "admins": s.admins,
                   "text": s.describe()} for s in p.steps],
        "crisis_lines": [{"name": str(line.name), "number": line.number, "url": line.url, "note": str(line.note)}
                         for line in p.crisis_lines],
    }


class AppointmentDetailOut(AppointmentOut):
    events: list[AppointmentEventOut]
    emergency: EmergencyProgressOut | None = Field(
        None, description="for an emergency request: who was alerted at each step and when, and the crisis lines")

    @staticmethod
    def resolve_emergency(obj, context):
        return emergency_progress_out(obj, context["request"].auth)

    @staticmethod
    def resolve_events(obj, context):
        events = list(obj.events.select_related("actor"))
        if not _sees_reason(obj, _viewer(context)):
            for event in events:
                if event.kind in ("requested", "note"):
                    event.reason = ""
        return events


class AppointmentIn(Schema):
    # A field sent that is not one of these (``extras`` above all: the server's) is refused, not
    # silently dropped: a client must not believe it stored something it did not.
    model_config = ConfigDict(extra="forbid")

    patient_id: UUID
    doctor_id: UUID
    start: dt.datetime = Field(..., description="ISO 8601 with offset, e.g. 2030-01-07T09:00:00+00:00")
    type: Mode
    hospital_id: UUID | None = None
    reason: str = Field("", max_length=2000)
    overbook_reason: str = Field("", max_length=300)


class AppointmentUpdateIn(Schema):
    # Only these: extras (the call log, the call request) is the server's, and a field sent that is
    # not one of them is refused rather than silently dropped.
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000)
    notes: str | None = None


class StatusIn(Schema):
    status: str
    reason: str = ""


class CancelIn(Schema):
    reason: str = Field(..., max_length=2000)


class RescheduleIn(Schema):
    start: dt.datetime
    reason: str = Field("", max_length=2000)


class EmergencyIn(Schema):
    patient_id: UUID
    reason: str = Field(..., max_length=2000)
    hospital_id: UUID | None = None


# --- hospitals ---------------------------------------------------------------------------------

hospitals_router = Router(tags=["hospitals"])


@hospitals_router.get("", response=list[HospitalOut], summary="Approved hospitals (directory)")
@paginate(LimitOffsetPagination, **PAGE)
def hospitals_list(request, search: str | None = None, city: str | None = None):
    qs = selectors.hospitals_directory()
    if search:
        qs = qs.filter(name__icontains=search)
    if city:
        qs = qs.filter(city__iexact=city)
    return qs


@hospitals_router.post("", response={201: HospitalOut}, summary="Add an approved hospital (administrators)")
def hospital_create(request, payload: HospitalIn):
    return Status(201, services.hospital_create(actor=request.auth, data=payload.dict()))


@hospitals_router.get("/{uuid:hospital_id}", response=HospitalOut, summary="One hospital")
def hospital_detail(request, hospital_id: UUID):
    return selectors.hospital_get(hospital_id=hospital_id)


@hospitals_router.put("/{uuid:hospital_id}", response=HospitalOut,
                      summary="Update a hospital (administrators or its staff)")
def hospital_update(request, hospital_id: UUID, payload: HospitalUpdateIn):
    hospital = selectors.hospital_get(hospital_id=hospital_id)
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None or k == "email"}
    return services.hospital_update(actor=request.auth, hospital=hospital, data=data)


@hospitals_router.delete("/{uuid:hospital_id}", response={204: None},
                         summary="Delete a hospital without appointments (administrators)")
def hospital_delete(request, hospital_id: UUID):
    hospital = selectors.hospital_get(hospital_id=hospital_id)
    services.hospital_delete(actor=request.auth, hospital=hospital)
    return Status(204, None)


@hospitals_router.get("/{uuid:hospital_id}/doctors", response=list[DoctorOut], summary="Doctors at a hospital")
@paginate(LimitOffsetPagination, **PAGE)
def hospital_doctors(request, hospital_id: UUID):
    return selectors.doctors_of_hospital(selectors.hospital_get(hospital_id=hospital_id))


@hospitals_router.get("/{uuid:hospital_id}/patients", response=list[PatientOut],
                      summary="Patients registered with a hospital (its staff and administrators)")
@paginate(LimitOffsetPagination, **PAGE)
def hospital_patients(request, hospital_id: UUID, search: str | None = None):
    hospital = selectors.hospital_get(hospital_id=hospital_id)
    qs = selectors.patients_of_hospital(fetched_by=request.auth, hospital=hospital)
    return qs.filter(name__icontains=search) if search else qs


# --- doctors -----------------------------------------------------------------------------------

doctors_router = Router(tags=["doctors"])


@doctors_router.get("", response=list[DoctorOut],
                    summary="Approved doctors (directory); ?with_first_free=true adds each one's first free slot")
@paginate(LimitOffsetPagination, **PAGE)
def doctors_list(request, specialty: str | None = None, language: str | None = None, hospital: UUID | None = None,
                 mode: Mode | None = None, search: str | None = None, with_first_free: bool = False):
    return selectors.doctors_directory(specialty=specialty, language=language, hospital_id=hospital, mode=mode,
                                       search=search)


@doctors_router.post("", response={201: DoctorOut}, summary="Add an approved doctor (administrators)")
def doctor_create(request, payload: DoctorCreateIn):
    profile = services.doctor_create_by_admin(
        actor=request.auth, name=payload.name, email=payload.email, phone=payload.phone, password=payload.password,
        specialty=payload.specialty, years_experience=payload.years_experience, designation=payload.designation,
        details=payload.details, languages=payload.languages, consultation_modes=payload.consultation_modes,
        timezone_name=payload.timezone, request=request)
    return Status(201, profile)


@doctors_router.get("/{uuid:doctor_id}", response=DoctorOut, summary="One doctor")
def doctor_detail(request, doctor_id: UUID, with_first_free: bool = False):
    return selectors.doctor_get(doctor_id=doctor_id)


@doctors_router.put("/{uuid:doctor_id}", response=DoctorOut, summary="Update a doctor's profile (the doctor or administrators)")
def doctor_update(request, doctor_id: UUID, payload: DoctorUpdateIn):
    doctor = selectors.doctor_get(doctor_id=doctor_id)
    data = payload.dict(exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None or k in ("shift_start", "shift_end")}
    return services.doctor_profile_update(actor=request.auth, doctor=doctor, data=data)


@doctors_router.delete("/{uuid:doctor_id}", response={204: None}, summary="Deactivate a doctor (administrators)")
def doctor_delete(request, doctor_id: UUID):
    doctor = selectors.doctor_get(doctor_id=doctor_id)
    services.doctor_deactivate(actor=request.auth, doctor=doctor)
    return Status(204, None)


@doctors_router.get("/{uuid:doctor_id}/patients", response=list[PatientOut],
                    summary="A doctor's care-team patients (the doctor or administrators)")
@paginate(LimitOffsetPagination, **PAGE)
def doctor_patients(request, doctor_id: UUID):
    doctor = selectors.doctor_get(doctor_id=doctor_id)
    return selectors.patients_of_doctor(fetched_by=request.auth, doctor=doctor)


@doctors_router.get("/{uuid:doctor_id}/hospitals", response=list[HospitalOut], summary="Hospitals a doctor works at")
def doctor_hospitals(request, doctor_id: UUID):
    return selectors.hospitals_of_doctor(selectors.doctor_get(doctor_id=doctor_id))


@doctors_router.get("/{uuid:doctor_id}/appointments", response=list[AppointmentOut],
                    summary="A doctor's appointments that you may see")
@paginate(AuditedAppointmentPages, **PAGE)
def doctor_appointments(request, doctor_id: UUID):
    doctor = selectors.doctor_get(doctor_id=doctor_id)
    return selectors.appointments_list(fetched_by=request.auth, doctor_id=doctor.pk).select_related("cancelled_by")


class SlotsQuery(Schema):
    from_: str | None = Field(None, alias="from", description="ISO datetime with offset, or a date")
    to: str | None = Field(None, description="ISO datetime with offset, or a date (inclusive)")
    mode: Mode | None = None
    hospital: UUID | None = None


@doctors_router.get("/{uuid:doctor_id}/slots", response=list[SlotOut],
                    summary="Free slots: from/to as ISO datetimes with offset, or dates in your time zone (≤ 31 days)")
def doctor_slots(request, doctor_id: UUID, query: Query[SlotsQuery]):
    doctor = selectors.doctor_get(doctor_id=doctor_id)
    hospital = selectors.hospital_get(hospital_id=query.hospital) if query.hospital else None
    start = _parse_when(query.from_, "from", request.auth) or timezone.now()
    end = _parse_when(query.to, "to", request.auth, end=True) or start + dt.timedelta(days=7)
    if end <= start:
        raise ValidationError({"to": [_("The end of the range must be after its start.")]})
    if end - start > MAX_SLOT_RANGE:
        raise ValidationError({"to": [_("Ask for at most 31 days at a time.")]})
    return [_slot_out(s) for s in scheduling.free_slots(doctor, start, end, mode=query.mode, hospital=hospital)]


# --- patients ----------------------------------------------------------------------------------

patients_router = Router(tags=["patients"])


@patients_router.get("", response=list[PatientOut], summary="Patients you may see")
@paginate(LimitOffsetPagination, **PAGE)
def patients_list(request, search: str | None = None):
    qs = selectors.patients_visible_to(request.auth, clinical=False).order_by("name")
    return qs.filter(name__icontains=search) if search else qs


@patients_router.post("", response={201: PatientOut},
                      summary="Add a person you care for (a child, a spouse without an account)")
def patient_create(request, payload: PatientCreateIn):
    patient = services.dependent_patient_create(
        actor=request.auth, name=payload.name, date_of_birth=payload.date_of_birth, gender=payload.gender,
        relation=payload.relation, contact=payload.contact, emergency_contact=payload.emergency_contact)
    return Status(201, patient)


@patients_router.get("/{uuid:patient_id}", response=PatientOut, summary="One patient")
def patient_detail(request, patient_id: UUID):
    return selectors.patient_get(fetched_by=request.auth, patient_id=patient_id, clinical=False)


@patients_router.put("/{uuid:patient_id}", response=PatientOut,
                     summary="Update a patient's details (the patient, their family or administrators)")
def patient_update(request, patient_id: UUID, payload: PatientUpdateIn):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=patient_id, clinical=False)
    return services.patient_update(actor=request.auth, patient=patient, data=payload.dict(exclude_unset=True))


@patients_router.delete("/{uuid:patient_id}", response={204: None},
                        summary="Delete a patient record without appointments (administrators)")
def patient_delete(request, patient_id: UUID):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=patient_id, clinical=False)
    services.patient_delete(actor=request.auth, patient=patient)
    return Status(204, None)


@patients_router.get("/{uuid:patient_id}/doctors", response=list[DoctorOut], summary="A patient's care team")
def patient_doctors(request, patient_id: UUID):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=patient_id, clinical=False)
    return selectors.care_team_of(patient)


@patients_router.get("/{uuid:patient_id}/hospitals", response=list[HospitalOut],
                     summary="Hospitals a patient is registered with")
def patient_hospitals(request, patient_id: UUID):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=patient_id, clinical=False)
    return selectors.hospitals_of_patient(patient)


@patients_router.get("/{uuid:patient_id}/appointments", response=list[AppointmentOut],
                     summary="A patient's appointments that you may see")
@paginate(AuditedAppointmentPages, **PAGE)
def patient_appointments(request, patient_id: UUID):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=patient_id, clinical=False)
    return selectors.appointments_list(fetched_by=request.auth, patient_id=patient.pk).select_related("cancelled_by")


# --- mappings ----------------------------------------------------------------------------------

mappings_router = Router(tags=["mappings"])


@mappings_router.post("/hospital-doctor", response={201: HospitalDoctorOut},
                      summary="A doctor works at a hospital (administrators or its staff)")
def hospital_doctor_create(request, payload: HospitalDoctorIn):
    hospital = selectors.hospital_get(hospital_id=payload.hospital_id)
    doctor = selectors.doctor_get(doctor_id=payload.doctor_id)
    return Status(201, services.hospital_doctor_add(actor=request.auth, hospital=hospital, doctor=doctor))


@mappings_router.delete("/hospital-doctor/{uuid:mapping_id}", response={204: None})
def hospital_doctor_delete(request, mapping_id: UUID):
    link = selectors.hospital_doctor_link_get(fetched_by=request.auth, mapping_id=mapping_id)
    services.hospital_doctor_remove(actor=request.auth, link=link)
    return Status(204, None)


@mappings_router.post("/hospital-patient", response={201: HospitalPatientOut},
                      summary="Register a patient with a hospital (administrators or its staff)")
def hospital_patient_create(request, payload: HospitalPatientIn):
    hospital = selectors.hospital_get(hospital_id=payload.hospital_id)
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=payload.patient_id, clinical=False)
    return Status(201, services.hospital_patient_add(actor=request.auth, hospital=hospital, patient=patient))


@mappings_router.delete("/hospital-patient/{uuid:mapping_id}", response={204: None})
def hospital_patient_delete(request, mapping_id: UUID):
    link = selectors.hospital_patient_link_get(fetched_by=request.auth, mapping_id=mapping_id)
    services.hospital_patient_remove(actor=request.auth, link=link)
    return Status(204, None)


@mappings_router.post("/doctor-patient", response={201: DoctorPatientOut},
                      summary="Add a doctor to a patient's care team")
def doctor_patient_create(request, payload: DoctorPatientIn):
    doctor = selectors.doctor_get(doctor_id=payload.doctor_id)
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=payload.patient_id, clinical=False)
    return Status(201, services.care_team_add(actor=request.auth, doctor=doctor, patient=patient))


@mappings_router.delete("/doctor-patient/{uuid:mapping_id}", response={204: None})
def doctor_patient_delete(request, mapping_id: UUID):
    member = selectors.care_team_member_get(fetched_by=request.auth, mapping_id=mapping_id)
    services.care_team_remove(actor=request.auth, member=member)
    return Status(204, None)


@mappings_router.post("/user-patient", response={201: UserPatientOut},
                      summary="Let an account act for a patient (family link)")
def user_patient_create(request, payload: UserPatientIn):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=payload.patient_id, clinical=False)
    user = selectors.user_for_linking(fetched_by=request.auth, user_id=payload.user_id)
    link = services.user_patient_relation_add(actor=request.auth, user=user, patient=patient,
                                              relation=payload.relation)
    return Status(201, link)


@mappings_router.put("/user-patient/{uuid:mapping_id}", response=UserPatientOut)
def user_patient_update(request, mapping_id: UUID, payload: RelationIn):
    link = selectors.user_patient_link_get(fetched_by=request.auth, mapping_id=mapping_id)
    return services.user_patient_relation_update(actor=request.auth, link=link, relation=payload.relation)


@mappings_router.delete("/user-patient/{uuid:mapping_id}", response={204: None})
def user_patient_delete(request, mapping_id: UUID):
    link = selectors.user_patient_link_get(fetched_by=request.auth, mapping_id=mapping_id)
    services.user_patient_relation_remove(actor=request.auth, link=link)
    return Status(204, None)


@mappings_router.get("/user/{uuid:user_id}/patients", response=list[UserPatientOut],
                     summary="The patients an account acts for (the account itself or administrators)")
def user_patients(request, user_id: UUID):
    return selectors.user_patient_links(fetched_by=request.auth, user_id=user_id)


# --- appointments ------------------------------------------------------------------------------

appointments_router = Router(tags=["appointments"])


def _appointments(request, **filters):
    return selectors.appointments_list(fetched_by=request.auth, **filters).select_related("cancelled_by")



@appointments_router.post("", response={201: AppointmentOut}, summary="Book a free slot")
def appointment_create(request, payload: AppointmentIn):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=payload.patient_id, clinical=False)
    doctor = selectors.doctor_get(doctor_id=payload.doctor_id)
    hospital = selectors.hospital_get(hospital_id=payload.hospital_id) if payload.hospital_id else None
    try:
        appointment = services.appointment_book(
            booked_by=request.auth, patient=patient, doctor=doctor, start=payload.start, type=payload.type,
            hospital=hospital, reason=payload.reason, overbook_reason=payload.overbook_reason)
    except services.SlotTaken as exc:
        raise _attach_free_slots(exc, doctor=doctor, when=payload.start, mode=payload.type,
                                 hospital=hospital if payload.type == AppointmentType.REGULAR else None,
                                 user=request.auth) from None
    return Status(201, appointment)


@appointments_router.get("", response=list[AppointmentOut],
                         summary="Appointments you may see, by start; dates are days in your time zone")
@paginate(AuditedAppointmentPages, **PAGE)
def appointments_list(request, doctor: UUID | None = None, patient: UUID | None = None, hospital: UUID | None = None,
                      date_from: str | None = None, date_to: str | None = None,
                      status: AppointmentStatus | None = None, type: AppointmentType | None = None):
    return _appointments(request, doctor_id=doctor, patient_id=patient, hospital_id=hospital,
                         date_from=_parse_when(date_from, "date_from", request.auth),
                         date_to=_parse_when(date_to, "date_to", request.auth, end=True), status=status, type=type)


@appointments_router.post("/emergency", response={201: AppointmentDetailOut},
                          summary="Raise an emergency for a patient you act for")
def emergency_create(request, payload: EmergencyIn):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=payload.patient_id, clinical=False)
    hospital = selectors.hospital_get(hospital_id=payload.hospital_id) if payload.hospital_id else None
    appointment = services.emergency_request(requested_by=request.auth, patient=patient, reason=payload.reason,
                                             hospital=hospital)
    return Status(201, appointment)


@appointments_router.get("/doctor/{uuid:doctor_id}", response=list[AppointmentOut])
@paginate(AuditedAppointmentPages, **PAGE)
def appointments_of_doctor(request, doctor_id: UUID):
    return _appointments(request, doctor_id=selectors.doctor_get(doctor_id=doctor_id).pk)


@appointments_router.get("/patient/{uuid:patient_id}", response=list[AppointmentOut])
@paginate(AuditedAppointmentPages, **PAGE)
def appointments_of_patient(request, patient_id: UUID):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=patient_id, clinical=False)
    return _appointments(request, patient_id=patient.pk)


@appointments_router.get("/hospital/{uuid:hospital_id}", response=list[AppointmentOut])
@paginate(AuditedAppointmentPages, **PAGE)
def appointments_of_hospital(request, hospital_id: UUID):
    return _appointments(request, hospital_id=selectors.hospital_get(hospital_id=hospital_id).pk)


@appointments_router.get("/{uuid:appointment_id}", response=AppointmentDetailOut,
                         summary="One appointment with its history")
def appointment_detail(request, appointment_id: UUID):
    appointment = selectors.appointment_get(fetched_by=request.auth, appointment_id=appointment_id)
    _audit_appointment_reads(request, [appointment])
    return appointment


@appointments_router.put("/{uuid:appointment_id}", response=AppointmentDetailOut,
                         summary="Update the reason (patient side) or the notes (doctor)")
def appointment_update(request, appointment_id: UUID, payload: AppointmentUpdateIn):
    appointment = selectors.appointment_get(fetched_by=request.auth, appointment_id=appointment_id)
    data = payload.dict(exclude_unset=True)
    return services.appointment_update_details(actor=request.auth, appointment=appointment, **data)


@appointments_router.delete("/{uuid:appointment_id}", response=AppointmentDetailOut,
                            summary="Cancel an appointment (?reason= is required); the record stays")
def appointment_delete(request, appointment_id: UUID, reason: str = ""):
    appointment = selectors.appointment_get(fetched_by=request.auth, appointment_id=appointment_id)
    return services.appointment_cancel(actor=request.auth, appointment=appointment, reason=reason)


@appointments_router.put("/{uuid:appointment_id}/status", response=AppointmentDetailOut,
                         summary="Confirm, cancel, complete or mark a no-show")
def appointment_status(request, appointment_id: UUID, payload: StatusIn):
    appointment = selectors.appointment_get(fetched_by=request.auth, appointment_id=appointment_id)
    return services.appointment_set_status(actor=request.auth, appointment=appointment, status=payload.status,
                                           reason=payload.reason)


@appointments_router.put("/{uuid:appointment_id}/cancel", response=AppointmentDetailOut,
                         summary="Cancel with a reason")
def appointment_cancel(request, appointment_id: UUID, payload: CancelIn):
    appointment = selectors.appointment_get(fetched_by=request.auth, appointment_id=appointment_id)
    return services.appointment_cancel(actor=request.auth, appointment=appointment, reason=payload.reason)


@appointments_router.put("/{uuid:appointment_id}/reschedule", response=AppointmentDetailOut,
                         summary="Move to another free slot of the same doctor")
def appointment_reschedule(request, appointment_id: UUID, payload: RescheduleIn):
    appointment = selectors.appointment_get(fetched_by=request.auth, appointment_id=appointment_id)
    if timezone.is_naive(payload.start):
        raise ValidationError({"start": [_("Give the time with its time zone.")]})
    try:
        return services.appointment_reschedule(actor=request.auth, appointment=appointment, start=payload.start,
                                               reason=payload.reason)
    except services.SlotTaken as exc:
        if appointment.doctor_id is None:
            raise
        not_before = (scheduling.earliest_patient_slot()
                      if services.acts_as_patient(request.auth, appointment) else None)
        raise _attach_free_slots(exc, doctor=appointment.doctor, when=payload.start, mode=appointment.type,
                                 hospital=appointment.hospital, user=request.auth, not_before=not_before) from None


@appointments_router.post("/{uuid:appointment_id}/accept", response=AppointmentDetailOut,
                          summary="Accept an emergency (doctors alerted to it); the first doctor wins")
def appointment_accept(request, appointment_id: UUID):
    appointment = selectors.emergency_for_responder(fetched_by=request.auth, appointment_id=appointment_id)
    services.emergency_accept(actor=request.auth, appointment=appointment)
    return selectors.appointment_get(fetched_by=request.auth, appointment_id=appointment_id)


# --- who has access (the patient's side of consent) ------------------------------------------------

access_router = Router(tags=["access"])


class AccessHospitalOut(Schema):
    id: UUID
    hospital: Ref
    consent: str
    invited_by: Ref | None
    created_at: dt.datetime


class AccessDoctorOut(Schema):
    id: UUID
    doctor: Ref
    consent: str
    invited_by: Ref | None
    created_at: dt.datetime

    @staticmethod
    def resolve_doctor(obj):
        return {"id": obj.doctor_id, "name": obj.doctor.user.name}

    @staticmethod
    def resolve_invited_by(obj):
        return {"id": obj.added_by_id, "name": obj.added_by.name} if obj.added_by_id else None


class AccessFamilyOut(Schema):
    id: UUID
    user: Ref
    relation: str
    consent: str
    invited_by: Ref | None
    created_at: dt.datetime


class PatientAccessOut(Schema):
    patient: Ref
    hospitals: list[AccessHospitalOut]
    doctors: list[AccessDoctorOut]
    family: list[AccessFamilyOut]


class FamilyInvitationOut(Schema):
    id: UUID
    kind: str = "family"
    patient: Ref
    relation: str
    invited_by: Ref | None
    created_at: dt.datetime


class AccessOut(Schema):
    patients: list[PatientAccessOut]
    invitations: list[FamilyInvitationOut]


@access_router.get("", response=AccessOut,
                   summary="Who has access to the patients whose access you manage, and invitations waiting for you")
def access_list(request):
    return {"patients": selectors.access_of_patients(fetched_by=request.auth),
            "invitations": list(selectors.family_invitations_for(request.auth))}


class AccessAnswerOut(Schema):
    id: UUID
    kind: str
    consent: str


@access_router.post("/{kind}/{uuid:link_id}/accept", response=AccessAnswerOut,
                    summary="Accept an invitation (kind: hospital, doctor or family)")
def access_accept(request, kind: str, link_id: UUID):
    link = selectors.access_link_get(fetched_by=request.auth, kind=kind, link_id=link_id)
    link = services.access_accept(actor=request.auth, link=link)
    return {"id": link.pk, "kind": kind, "consent": link.consent}


@access_router.post("/{kind}/{uuid:link_id}/decline", response={204: None}, summary="Decline an invitation")
def access_decline(request, kind: str, link_id: UUID):
    link = selectors.access_link_get(fetched_by=request.auth, kind=kind, link_id=link_id)
    services.access_decline(actor=request.auth, link=link)
    return Status(204, None)


class FamilyInviteIn(Schema):
    patient_id: UUID = Field(..., description="A patient whose access you manage (your record, or a dependant's)")
    login: str = Field(..., min_length=1, max_length=254, description="The email or phone the account signs in with")
    relation: Relation = Field(..., description="What the patient is to that account (not self)")


class FamilyInviteOut(Schema):
    detail: str


@access_router.post("/invite", response={202: FamilyInviteOut},
                    summary="Invite an existing account to act for a patient (it accepts or declines); "
                            "the same answer whether or not the email or phone belongs to an account")
def access_invite(request, payload: FamilyInviteIn):
    patient = selectors.patient_get(fetched_by=request.auth, patient_id=payload.patient_id, clinical=False)
    services.family_invite(actor=request.auth, patient=patient, login=payload.login, relation=payload.relation)
    return Status(202, {"detail": services.family_invite_answer(patient)})


class AccessRelationOut(Schema):
    id: UUID
    kind: str
    relation: str
    consent: str


@access_router.put("/{kind}/{uuid:link_id}", response=AccessRelationOut,
                   summary="Change a family link's relation (kind: family; invitations too)")
def access_relation(request, kind: str, link_id: UUID, payload: RelationIn):
    if kind != "family":
        raise NotFound(_("Access not found."))
    link = selectors.access_link_get(fetched_by=request.auth, kind=kind, link_id=link_id)
    link = services.user_patient_relation_update(actor=request.auth, link=link, relation=payload.relation)
    return {"id": link.pk, "kind": kind, "relation": link.relation, "consent": link.consent}


@access_router.delete("/{kind}/{uuid:link_id}", response={204: None},
                      summary="End someone's access (or withdraw an invitation); effective at once")
def access_remove(request, kind: str, link_id: UUID):
    link = selectors.access_link_get(fetched_by=request.auth, kind=kind, link_id=link_id)
    services.access_remove(actor=request.auth, link=link)
    return Status(204, None)

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import ApplicationStatus, DoctorApplication, Role, User
from clinic.models import (
    ApprovalStatus,
    DoctorProfile,
    Hospital,
    HospitalStaff,
    Patient,
    Relation,
    UserPatientRelation,
)

PASSWORD = "Correct-horse-42!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    phone = factory.Sequence(lambda n: f"+1202555{3000 + n:04d}")
    role = Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PatientUserFactory(UserFactory):
    role = Role.PATIENT

    @factory.post_generation
    def patient_record(obj, create, extracted, **kwargs):
        if create:
            patient = Patient.objects.create(user=obj, name=obj.name, date_of_birth=dt.date(1990, 5, 17),
                                             gender="female")
            UserPatientRelation.objects.create(user=obj, patient=patient, relation=Relation.SELF)


class PatientFactory(factory.django.DjangoModelFactory):
    """A patient record with no login of its own (e.g. a child managed by a parent)."""

    class Meta:
        model = Patient

    name = factory.Faker("name")
    date_of_birth = dt.date(2015, 3, 1)
    gender = "male"


class UserPatientRelationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserPatientRelation

    user = factory.SubFactory(PatientUserFactory)
    patient = factory.SubFactory(PatientFactory)
    relation = Relation.CHILD


class AdminFactory(UserFactory):
    role = Role.ADMIN


class DoctorApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoctorApplication

    user = factory.SubFactory(UserFactory, role=Role.DOCTOR)
    specialty = "Psychiatry"
    years_experience = 7
    cv_text = "Residency in psychiatry; seven years in community mental health."
    identity_proof = factory.django.FileField(filename="id.pdf", data=b"%PDF-1.4 test identity")
    identity_proof_type = "application/pdf"
    proposed_timeslots = factory.LazyFunction(lambda: [{"weekday": 0, "start": "09:00", "end": "12:00"}])
    status = ApplicationStatus.PENDING


class DoctorFactory(UserFactory):
    """An approved doctor with a profile."""

    role = Role.DOCTOR

    @factory.post_generation
    def approved(obj, create, extracted, **kwargs):
        if create:
            DoctorApplicationFactory(user=obj, status=ApplicationStatus.APPROVED, decided_at=timezone.now())
            DoctorProfile.objects.create(user=obj, specialty="Psychiatry", years_experience=7)


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    name = factory.Sequence(lambda n: f"Riverside Hospital {n}")
    address = "1 River Road"
    contact = "+12025550100"
    email = factory.Sequence(lambda n: f"hospital{n}@example.com")
    status = ApprovalStatus.APPROVED


class HospitalStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HospitalStaff

    hospital = factory.SubFactory(HospitalFactory)
    user = factory.SubFactory(UserFactory, role=Role.HOSPITAL)
    is_owner = True


# --- clinic mappings and appointments (API tests) ---------------------------------------------------

class HospitalDoctorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "clinic.HospitalDoctor"

    hospital = factory.SubFactory(HospitalFactory)
    doctor = factory.LazyFunction(lambda: DoctorFactory().doctor_profile)


class HospitalPatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "clinic.HospitalPatient"

    hospital = factory.SubFactory(HospitalFactory)
    patient = factory.SubFactory(PatientFactory)


class CareTeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "clinic.CareTeamMember"

    doctor = factory.LazyFunction(lambda: DoctorFactory().doctor_profile)
    patient = factory.SubFactory(PatientFactory)


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment written straight to the table (for states booking cannot produce, e.g. in the
    past). Use ``services.appointment_book`` to test booking itself."""

    class Meta:
        model = "clinic.Appointment"

    patient = factory.SubFactory(PatientFactory)
    doctor = factory.LazyFunction(lambda: DoctorFactory().doctor_profile)
    hospital = None
    type = "remote"
    start = factory.LazyFunction(lambda: (timezone.now() + dt.timedelta(days=3)).replace(
        minute=0, second=0, microsecond=0))
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(minutes=30))
    status = "requested"
    reason = "Follow-up"
    room_id = factory.Sequence(lambda n: f"room{n}")

"""The world every access matrix runs in: the named people, their relationships, and one object of
each kind that belongs to Alice (or to her care), built once per matrix module.

Rows name objects by attribute (``world.appointment``) and URL/path parameters are filled from
``World.params`` unless a row says otherwise.
"""

import datetime as dt
import secrets
from types import SimpleNamespace

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Role, StaffInvitation
from clinic.models import (
    Appointment,
    AvailabilityException,
    CalendarFeed,
    CareTeamMember,
    EmergencyAlert,
    HospitalDoctor,
    HospitalPatient,
)
from telehealth import chat as chats
from telehealth.models import CallRequest, Message, Notification
from tests.factories import (
    AdminFactory,
    DoctorApplicationFactory,
    DoctorFactory,
    HospitalStaffFactory,
    PatientUserFactory,
    UserFactory,
    UserPatientRelationFactory,
)
from wellness.models import EmotionSnapshot, FollowUpTask, Habit, RiskFlag, TodoTask, WellnessEntry

# The columns of every matrix, in this order.
ROLES = ("anon", "alice", "alice_2fa_owed", "grace", "bob", "carol", "carol_2fa_owed", "dave", "hana", "ada", "pat")
ROLE_NAMES = {
    "anon": "anonymous",
    "alice": "patient Alice",
    "alice_2fa_owed": "Alice, password only, TOTP enrolled",
    "grace": "Grace, Alice's mother (family link)",
    "bob": "patient Bob",
    "carol": "Dr. Carol (Alice's care team, Riverside)",
    "carol_2fa_owed": "Carol, second factor not passed",
    "dave": "Dr. Dave (not Alice's doctor)",
    "hana": "Hana, staff of Riverside (where Alice is registered)",
    "ada": "admin Ada",
    "pat": "Dr. Pat, signed up, application pending (API: status only)",
}
# role -> (person, second factor passed in this session)
ROLE_PEOPLE = {
    "alice": ("alice", True), "alice_2fa_owed": ("alice", False), "grace": ("grace", True), "bob": ("bob", True),
    "carol": ("carol", True), "carol_2fa_owed": ("carol", False), "dave": ("dave", True), "hana": ("hana", True),
    "ada": ("ada", True), "pat": ("pat", True),
}


def build_world() -> SimpleNamespace:
    from conftest import totp_enrol

    w = SimpleNamespace()
    w.alice = PatientUserFactory(name="Alice Patient", email="alice@example.com", phone="+12025550111")
    w.grace = PatientUserFactory(name="Grace Family", email="grace@example.com", phone="+12025550112")
    UserPatientRelationFactory(user=w.grace, patient=w.alice.patient_record, relation="parent")
    w.bob = PatientUserFactory(name="Bob Other", email="bob@example.com", phone="+12025550113")
    w.carol = DoctorFactory(name="Carol Doctor", email="carol@example.com")
    w.dave = DoctorFactory(name="Dave Doctor", email="dave@example.com")
    w.hana = HospitalStaffFactory(user__name="Hana Staff", user__email="hana@example.com",
                                  hospital__name="Riverside").user
    w.pat = UserFactory(role=Role.DOCTOR, name="Pat Pending", email="pat@example.com")
    DoctorApplicationFactory(user=w.pat)  # pending: no profile, no approval yet
    w.ada = AdminFactory(name="Ada Admin", email="ada@example.com", is_staff=True, is_superuser=True)
    for person in (w.alice, w.carol, w.dave, w.ada):
        totp_enrol(person)

    w.patient = w.alice.patient_record
    w.riverside = w.hana.hospital_staff.hospital
    w.hospital_patient = HospitalPatient.objects.create(hospital=w.riverside, patient=w.patient)
    w.hospital_doctor = HospitalDoctor.objects.create(hospital=w.riverside, doctor=w.carol.doctor_profile)
    w.care_team_member = CareTeamMember.objects.create(doctor=w.carol.doctor_profile, patient=w.patient)
    w.family_link = w.patient.user_relations.get(user=w.grace)

    start = (timezone.now() + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    w.appointment = Appointment.objects.create(
        patient=w.patient, doctor=w.carol.doctor_profile, hospital=w.riverside, type="remote", start=start,
        end=start + dt.timedelta(minutes=30), status="confirmed", reason="Panic attacks at night",
        notes="Consider CBT referral", room_id="room-alice-carol", booked_by=w.alice)
    w.emergency = Appointment.objects.create(
        patient=w.patient, doctor=None, hospital=w.riverside, type="emergency", start=timezone.now(),
        end=timezone.now() + dt.timedelta(minutes=30), status="requested", reason="Cannot breathe",
        room_id="room-alice-emergency", booked_by=w.alice)
    EmergencyAlert.objects.create(appointment=w.emergency, recipient=w.carol)  # in Carol's queue
    w.exception = AvailabilityException.objects.create(
        doctor=w.carol.doctor_profile, start=start + dt.timedelta(days=20), end=start + dt.timedelta(days=21))

    w.chat = chats.chat_open(actor=None, patient=w.patient, doctor=w.carol.doctor_profile)
    w.message = Message.objects.create(chat=w.chat, seq=1, sender=w.alice, sender_role="patient",
                                       client_id="m1", body="I could not sleep again")
    w.file_message = Message(chat=w.chat, seq=2, sender=w.alice, sender_role="patient", client_id="m2",
                             kind="file", file_name="scan.pdf", file_type="application/pdf", file_size=9)
    w.file_message.file.save("scan.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    w.file_message.save()
    type(w.chat).objects.filter(pk=w.chat.pk).update(last_seq=2, last_message_at=timezone.now())
    # Dave treated Alice once and was removed from her care team: his old chat with her stays.
    former = CareTeamMember.objects.create(doctor=w.dave.doctor_profile, patient=w.patient)
    w.former_chat = chats.chat_open(actor=None, patient=w.patient, doctor=w.dave.doctor_profile)
    Message.objects.create(chat=w.former_chat, seq=1, sender=w.alice, sender_role="patient", client_id="f1",
                           body="Before the change of doctor")
    type(w.chat).objects.filter(pk=w.former_chat.pk).update(last_seq=1, last_message_at=timezone.now())
    former.delete()
    w.call_request = CallRequest.objects.create(chat=w.chat, requested_by=w.alice, reason="Feeling worse")

    today = timezone.localdate()
    w.wellness_entry = WellnessEntry.objects.create(patient=w.patient, date=today, mood=3, stress=8,
                                                    notes="Bad day", recorded_by=w.alice)
    w.habit = Habit.objects.create(patient=w.patient, name="Walk")
    w.task = TodoTask.objects.create(patient=w.patient, date=today, title="Call mum")
    w.risk_flag = RiskFlag.objects.create(patient=w.patient, doctor=w.carol.doctor_profile, source="doctor",
                                          status="open", reason="Said she feels hopeless", follow_up="call")
    w.follow_up = FollowUpTask.objects.create(flag=w.risk_flag, doctor=w.carol.doctor_profile, action="call",
                                              due_on=today)
    w.snapshot = EmotionSnapshot.objects.create(patient=w.patient, captured_by=w.alice, status="done",
                                                face_detected=True, dominant_emotion="sad", confidence=0.8)
    w.notification = Notification.objects.create(recipient=w.alice, kind="appointment.confirmed",
                                                 title="Appointment confirmed", body="With Dr. Carol")
    w.calendar_feed = CalendarFeed.objects.create(user=w.alice, token=secrets.token_urlsafe(32))
    w.carol_feed = CalendarFeed.objects.create(user=w.carol, token=secrets.token_urlsafe(32))
    w.invitation = StaffInvitation.objects.create(hospital=w.riverside, email="new@example.com",
                                                  token=secrets.token_urlsafe(32), invited_by=w.hana,
                                                  expires_at=timezone.now() + dt.timedelta(days=3))
    w.application = w.carol.doctor_applications.first()

    # Access waiting for an answer, made as the services make it: Carol refers a colleague (Erin)
    # to Alice's care team, Alice invites Bob to act for her. Neither grants anything until accepted.
    from clinic import services as clinic_services
    from conftest import png_upload
    from core.uploads import reencode_image

    w.erin = DoctorFactory(name="Erin Doctor", email="erin@example.com")
    w.referral = clinic_services.care_team_add(actor=w.carol, doctor=w.erin.doctor_profile, patient=w.patient)
    w.family_invitation = clinic_services.user_patient_relation_add(actor=w.alice, user=w.bob, patient=w.patient,
                                                                    relation="other")
    w.patient.photo.save("alice.png", reencode_image(png_upload(), max_side=800))
    from accounts.services import identity_undo_token

    w.identity_undo_token = identity_undo_token(user=w.alice, old_email="alice.old@example.com", old_phone=None)
    w.params = {
        "appointment_id": w.appointment.pk, "patient_id": w.patient.pk, "doctor_id": w.carol.doctor_profile.pk,
        "hospital_id": w.riverside.pk, "user_id": w.alice.pk, "chat_id": w.chat.pk, "message_id": w.message.pk,
        "request_id": w.call_request.pk, "notification_id": w.notification.pk, "flag_id": w.risk_flag.pk,
        "task_id": w.follow_up.pk, "habit_id": w.habit.pk, "snapshot_id": w.snapshot.pk,
        "exception_id": w.exception.pk, "token": w.calendar_feed.token, "room_id": w.appointment.room_id,
        "date": today.isoformat(), "day": today.isoformat(), "mapping_id": w.hospital_patient.pk,
        "link_id": w.hospital_patient.pk, "job_id": w.snapshot.pk,
    }
    return w


def person(world, role):
    return None if role == "anon" else getattr(world, ROLE_PEOPLE[role][0])


__all__ = ["ROLES", "ROLE_NAMES", "ROLE_PEOPLE", "Role", "build_world", "person"]
PASSWORD = "Correct-horse-42!"  # tests.factories.PASSWORD

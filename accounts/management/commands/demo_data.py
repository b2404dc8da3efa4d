"""Load demo data (idempotent): an admin, hospitals with staff, approved/pending/rejected doctors,
~20 patients including the Johnson family, and print how to sign in.

Everything is created through the same services the app uses, so demo data obeys every rule.
"""

import base64
import datetime as dt
import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image, ImageDraw

from accounts import services
from accounts.models import ApplicationStatus, DoctorApplication, User
from clinic.models import ApprovalStatus, Gender, Hospital, Patient, Relation, UserPatientRelation

DEMO_PASSWORD = "Haven-demo-2026!"
# A fixed authenticator key for the demo admin and doctors, so a tester can add it to an app once.
DEMO_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"  # RFC 6238 test key

HOSPITALS = [
    {"hospital_name": "Riverside General Hospital", "address": "12 River Road", "city": "Springfield",
     "country": "USA", "contact": "+12025550100", "specialities": ["Psychiatry", "General medicine", "Cardiology"],
     "owner": ("Hana Staff", "hana@riverside.test"), "staff": [("Omar Desk", "omar@riverside.test")],
     "approve": True},
    {"hospital_name": "Lakeside Mind & Wellness Clinic", "address": "4 Lake View", "city": "Shelbyville",
     "country": "USA", "contact": "+12025550101", "specialities": ["Clinical psychology", "Psychiatry"],
     "owner": ("Lena Lakeside", "lena@lakeside.test"), "staff": [], "approve": True},
    {"hospital_name": "Hillview Community Clinic", "address": "88 Hill Street", "city": "Ogdenville",
     "country": "USA", "contact": "+12025550102", "specialities": ["Family medicine"],
     "owner": ("Hugo Hill", "hugo@hillview.test"), "staff": [], "approve": False},
]

DOCTORS = [
    ("Carol Mendes", "carol@haven.test", "Psychiatry", 12, "approved"),
    ("Ravi Iyer", "ravi@haven.test", "General medicine", 8, "approved"),
    ("Sofia Alvarez", "sofia@haven.test", "Clinical psychology", 6, "approved"),
    ("Amira Haddad", "amira@haven.test", "Cardiology", 15, "approved"),
    ("Dave Pending", "dave@haven.test", "Neurology", 4, "pending"),
    ("Rita Redo", "rita@haven.test", "Dermatology", 2, "rejected"),
]

FIRST = ["Bob", "Chen", "Deepa", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Luis",
         "Maya", "Noor", "Olu", "Priya", "Quinn", "Rosa"]
LAST = ["Baker", "Wang", "Nair", "Petrova", "Rahimi", "Okafor", "Tanaka", "Silva", "Berg", "Reddy", "Moreno",
        "Cohen", "Aziz", "Adeyemi", "Shah", "Murphy", "Diaz"]
LANGS = ["en", "en", "hi", "es", "ar"]


def _document_png(text):
    image = Image.new("RGB", (480, 300), "#eef3f2")
    ImageDraw.Draw(image).text((24, 130), text, fill="#1d2a2e")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return SimpleUploadedFile("identity.png", buf.getvalue(), content_type="image/png")


def _phone(n):
    return f"+1202555{n:04d}"


class Command(BaseCommand):
    help = "Create demo accounts and data (safe to run again)."

    def handle(self, *args, **options):
        random.seed(7)
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"), transaction.atomic():
            admin = self._admin()
            self._hospitals(admin)
            self._doctors(admin)
            self._patients()
            self._clinic(admin)
            self._wellness()
            self._telehealth()
        self._print_logins()

    def _user(self, email):
        return User.objects.filter(email=email).first()

    def _enrol_demo_totp(self, user):
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name="Demo authenticator", key=DEMO_TOTP_KEY_HEX, confirmed=True)

    def _admin(self):
        admin = self._user("admin@haven.test") or services.admin_create(
            created_by=None, name="Ada Admin", email="admin@haven.test", password=DEMO_PASSWORD)
        self._enrol_demo_totp(admin)
        return admin

    def _hospitals(self, admin):
        for spec in HOSPITALS:
            owner_name, owner_email = spec["owner"]
            hospital = Hospital.objects.filter(name=spec["hospital_name"]).first()
            if hospital is None:
                hospital = services.hospital_signup(
                    hospital_name=spec["hospital_name"], address=spec["address"], city=spec["city"],
                    country=spec["country"], contact=spec["contact"], specialities=spec["specialities"],
                    name=owner_name, email=owner_email, password=DEMO_PASSWORD)
            if spec["approve"] and hospital.status == ApprovalStatus.PENDING:
                services.hospital_approve(hospital=hospital, decided_by=admin)
            for staff_name, staff_email in spec["staff"]:
                if not self._user(staff_email):
                    invitation = services.staff_invite(invited_by=self._user(owner_email), email=staff_email)
                    services.staff_invitation_accept(token=invitation.token, name=staff_name, password=DEMO_PASSWORD)

    def _doctors(self, admin):
        for i, (name, email, specialty, years, outcome) in enumerate(DOCTORS):
            user = self._user(email)
            if user is None:
                application = services.doctor_apply(
                    name=name, email=email, phone=_phone(200 + i), password=DEMO_PASSWORD, specialty=specialty,
                    years_experience=years, cv_text=f"{specialty} specialist with {years} years of practice.",
                    identity_proof=_document_png(f"Medical licence — {name}"),
                    proposed_timeslots=[{"weekday": d, "start": "09:00", "end": "13:00"} for d in range(5)]
                    + [{"weekday": 2, "start": "15:00", "end": "18:00"}],
                    timezone_name="America/New_York")
                user = application.user
            application = DoctorApplication.objects.filter(user=user).first()
            if application.status == ApplicationStatus.PENDING and outcome == "approved":
                services.application_approve(application=application, decided_by=admin)
            elif application.status == ApplicationStatus.PENDING and outcome == "rejected":
                services.application_reject(application=application, decided_by=admin,
                                            reason="The licence number on the identity proof is unreadable. "
                                                   "Please upload a clearer scan.")
            if outcome == "approved":
                self._enrol_demo_totp(user)

    def _patients(self):
        alice = self._user("alice@haven.test") or services.patient_signup(
            name="Alice Johnson", date_of_birth=dt.date(1988, 4, 12), gender=Gender.FEMALE, preferred_language="en",
            location="Springfield", phone=_phone(1), password=DEMO_PASSWORD, email="alice@haven.test",
            timezone_name="America/New_York")
        for name, dob, gender, relation in [("Ben Johnson", dt.date(1986, 9, 3), Gender.MALE, Relation.SPOUSE),
                                            ("Mia Johnson", dt.date(2016, 1, 20), Gender.FEMALE, Relation.CHILD)]:
            patient = Patient.objects.filter(
                name=name, pk__in=UserPatientRelation.objects.filter(user=alice).values("patient_id")).first()
            if patient is None:
                patient = Patient.objects.create(name=name, date_of_birth=dob, gender=gender,
                                                 emergency_contact="Alice Johnson " + _phone(1))
                UserPatientRelation.objects.create(user=alice, patient=patient, relation=relation)
        for i, (first, last) in enumerate(zip(FIRST, LAST)):
            email = f"{first.lower()}@haven.test"
            if self._user(email):
                continue
            services.patient_signup(
                name=f"{first} {last}", date_of_birth=dt.date(1950 + (i * 3) % 55, 1 + i % 12, 1 + (i * 5) % 28),
                gender=random.choice([Gender.FEMALE, Gender.MALE, Gender.NON_BINARY]),
                preferred_language=LANGS[i % len(LANGS)], location="Springfield", phone=_phone(10 + i),
                password=DEMO_PASSWORD, email=email, timezone_name="America/New_York")

    def _clinic(self, admin):
        """Hospitals' doctors and patients, in-person hours, care teams and a few appointments."""
        from clinic import scheduling
        from clinic import services as clinic_services
        from clinic.models import Appointment, AppointmentEvent, AppointmentType, WeeklyAvailability

        riverside = Hospital.objects.get(name="Riverside General Hospital")
        lakeside = Hospital.objects.get(name="Lakeside Mind & Wellness Clinic")
        doctors = {u.email: u.doctor_profile for u in User.objects.filter(
            email__in=["carol@haven.test", "ravi@haven.test", "sofia@haven.test", "amira@haven.test"])}
        links = [("carol@haven.test", riverside), ("ravi@haven.test", riverside), ("amira@haven.test", riverside),
                 ("sofia@haven.test", lakeside), ("carol@haven.test", lakeside)]
        for email, hospital in links:
            clinic_services.hospital_doctor_add(actor=admin, hospital=hospital, doctor=doctors[email])
        for email, hospital, weekdays in [("carol@haven.test", riverside, (1, 3)),
                                          ("ravi@haven.test", riverside, (0, 1, 2, 3, 4)),
                                          ("sofia@haven.test", lakeside, (0, 2, 4))]:
            for weekday in weekdays:
                WeeklyAvailability.objects.get_or_create(
                    doctor=doctors[email], hospital=hospital, weekday=weekday,
                    defaults={"start_time": dt.time(14, 0), "end_time": dt.time(17, 0), "slot_minutes": 30,
                              "buffer_minutes": 10})
        doctors["carol@haven.test"].languages = ["en", "es"]
        doctors["carol@haven.test"].save(update_fields=["languages"])
        patients = list(Patient.objects.filter(user__email__endswith="@haven.test").order_by("name"))
        family = list(Patient.objects.filter(name__in=["Ben Johnson", "Mia Johnson"]))
        bob = Patient.objects.get(user__email="bob@haven.test")
        for i, patient in enumerate(patients + family):
            hospital = riverside if i % 3 else lakeside
            if patient == bob:
                hospital = lakeside  # Riverside invites Bob below
            clinic_services.hospital_patient_add(actor=admin, hospital=hospital, patient=patient)
        # One invitation to try the consent flow: Riverside's staff invite Bob, who accepts or declines
        # it on "Who has access" (Alice's links to Ben and Mia are hers, in force).
        clinic_services.hospital_patient_add(actor=User.objects.get(email="hana@riverside.test"),
                                             hospital=riverside, patient=bob)
        if Appointment.objects.exists():
            return
        alice = User.objects.get(email="alice@haven.test")
        carol = doctors["carol@haven.test"]
        now = dt.datetime.now(dt.UTC)
        # History: completed visits, written directly (the past cannot be booked).
        for weeks_ago, patient in [(6, alice.patient_record), (3, alice.patient_record), (2, family[0])]:
            start = (now - dt.timedelta(weeks=weeks_ago)).replace(hour=14, minute=0, second=0, microsecond=0)
            past = Appointment.objects.create(patient=patient, doctor=carol, type=AppointmentType.REMOTE, start=start,
                                              end=start + dt.timedelta(minutes=30), status="completed",
                                              reason="Follow-up on sleep and mood", booked_by=alice,
                                              notes="Improving; continue sleep diary.")
            AppointmentEvent.objects.create(appointment=past, kind="requested", actor=alice)
            AppointmentEvent.objects.create(appointment=past, kind="completed", actor=carol.user)
            clinic_services.care_team_add(actor=None, doctor=carol, patient=patient)
        # Upcoming: booked through the real service on real free slots.
        plan = [(alice, alice.patient_record, "carol@haven.test", AppointmentType.REMOTE, None, "Monthly check-in"),
                (alice, family[1], "ravi@haven.test", AppointmentType.REGULAR, riverside, "School vaccination"),
                (User.objects.get(email="bob@haven.test"), None, "carol@haven.test", AppointmentType.REMOTE, None,
                 "Anxiety before exams"),
                (User.objects.get(email="chen@haven.test"), None, "sofia@haven.test", AppointmentType.REGULAR, lakeside,
                 "First consultation")]
        for booker, patient, email, kind, hospital, reason in plan:
            doctor = doctors[email]
            slots = scheduling.free_slots(doctor, now + dt.timedelta(days=1), now + dt.timedelta(days=14),
                                          mode=kind, hospital=hospital)
            if not slots:
                continue
            slot = slots[len(slots) // 3]
            appointment = clinic_services.appointment_book(
                booked_by=booker, patient=patient or booker.patient_record, doctor=doctor, start=slot.start,
                type=kind, hospital=hospital, reason=reason)
            if email != "sofia@haven.test":
                clinic_services.appointment_confirm(actor=doctor.user, appointment=appointment)

    def _wellness(self):
        """Six weeks of check-ins for a few patients (imported history, so written directly), habits,
        today's plan, and the nightly risk rules run once (Bob's low mood becomes a suggestion)."""
        from decimal import Decimal

        from wellness import risk
        from wellness.models import Habit, HabitLog, TodoTask, WellnessEntry

        if WellnessEntry.objects.exists():
            return
        today = dt.date.today()
        rng = random.Random(11)
        people = {p.name: p for p in Patient.objects.filter(
            name__in=["Alice Johnson", "Ben Johnson", "Bob Baker", "Chen Wang", "Deepa Nair"])}
        entries = []
        for name, patient in people.items():
            for back in range(1, 43):
                day = today - dt.timedelta(days=back)
                if rng.random() < 0.12:
                    continue  # a missed day now and then
                mood = max(1, min(10, round(rng.gauss(6.5, 1.3))))
                stress = max(1, min(10, round(rng.gauss(4.5, 1.4))))
                if name == "Bob Baker" and back <= 3:
                    mood, stress = rng.choice([2, 3]), rng.choice([7, 8])  # a hard few days
                if name == "Alice Johnson":
                    stress = max(1, min(10, round(3 + (42 - back) / 10 + rng.gauss(0, .8))))  # slowly rising
                entries.append(WellnessEntry(
                    patient=patient, date=day, mood=mood, stress=stress,
                    sleep_hours=Decimal(str(round(max(3.0, min(10.0, rng.gauss(7, 1))), 1))),
                    meditation_minutes=rng.choice([0, 0, 5, 10, 15, 20]), recorded_by=patient.user))
        WellnessEntry.objects.bulk_create(entries)
        alice = people["Alice Johnson"]
        walk = Habit.objects.create(patient=alice, name="Walk", kind=Habit.Kind.NUMBER, unit="min", target=30)
        screens = Habit.objects.create(patient=alice, name="No screens after 22:00")
        walked = [(today - dt.timedelta(days=b), Decimal(rng.choice([0, 15, 30, 40]))) for b in range(1, 21)]
        HabitLog.objects.bulk_create(
            [HabitLog(habit=walk, date=day, value=value, done=walk.counts_as_done(value=value)) for day, value in walked]
            + [HabitLog(habit=screens, date=today - dt.timedelta(days=b), done=rng.random() < .7) for b in range(1, 21)])
        for title, at in [("Morning walk", dt.time(7, 30)), ("Call Mum", None), ("Prepare questions for Dr. Mendes", None)]:
            TodoTask.objects.create(patient=alice, date=today, title=title, time=at)
        risk.evaluate_rules()

    def _telehealth(self):
        """A conversation between Alice and Dr. Mendes (read up to the doctor's last question) and
        Bob's unread conversation, marked urgent, at the top of the doctor's list."""
        from clinic import services as clinic_services
        from telehealth import chat as chats
        from telehealth.models import Message

        if Message.objects.exists():
            return
        carol = User.objects.get(email="carol@haven.test")
        alice = User.objects.get(email="alice@haven.test")
        bob = User.objects.get(email="bob@haven.test")
        chat = chats.chat_open(actor=None, patient=alice.patient_record, doctor=carol.doctor_profile)
        lines = [(alice, "Hello Dr. Mendes, the sleep diary is going better this week."),
                 (carol, "Good to hear. How many nights did you sleep more than six hours?"),
                 (alice, "Five out of seven. Two nights I woke up around 4 and could not fall asleep again."),
                 (carol, "Let's talk about those early wake-ups at our check-in. Keep the diary until then."),
                 (carol, "And please note what you ate and drank in the evening on those two nights.")]
        for n, (sender, body) in enumerate(lines, start=1):
            chats.message_send(sender=sender, chat=chat, client_id=f"demo-{n}", body=body)
        chats.chat_mark_read(user=carol, chat=chat, seq=3)
        chats.chat_mark_read(user=alice, chat=chat, seq=4)
        clinic_services.care_team_add(actor=None, doctor=carol.doctor_profile, patient=bob.patient_record)
        urgent = chats.chat_open(actor=None, patient=bob.patient_record, doctor=carol.doctor_profile)
        chats.message_send(sender=bob, chat=urgent, client_id="demo-1",
                           body="I haven't slept for two nights and my chest feels tight before the exam.")
        chats.chat_mark_urgent(actor=bob, chat=urgent)

    def _print_logins(self):
        secret = base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY_HEX)).decode()
        rows = [
            ("admin", "admin@haven.test", "2FA: demo authenticator"),
            ("doctor", "carol@haven.test", "2FA: demo authenticator"),
            ("doctor", "ravi@haven.test", "2FA: demo authenticator"),
            ("doctor (pending)", "dave@haven.test", "sees application status"),
            ("doctor (rejected)", "rita@haven.test", "can re-apply"),
            ("hospital owner", "hana@riverside.test", "Riverside General"),
            ("hospital staff", "omar@riverside.test", "Riverside General"),
            ("hospital (pending)", "hugo@hillview.test", "sees registration status"),
            ("patient + family", "alice@haven.test", "manages Ben (spouse) and Mia (child)"),
            ("patient", "bob@haven.test", "or phone +12025550010"),
        ]
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS("Haven demo data is ready. Open http://127.0.0.1:8000"))
        out.write(f"Password for every demo account: {DEMO_PASSWORD}")
        for role, login, note in rows:
            out.write(f"  {role:<20} {login:<24} {note}")
        out.write(f"Demo authenticator key (admin and doctors): {secret}")
        out.write("  add it to any authenticator app, or print the current code with:")
        out.write("  .venv/bin/python manage.py demo_totp")

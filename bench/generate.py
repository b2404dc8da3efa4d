"""Fill a bench database with doctors, patients and appointments.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench \
        .venv/bin/python bench/generate.py --patients 10000 --doctors 500 --appointments 100000

Creates the database if needed, migrates, and bulk-inserts in batches. Re-running with data
present stops unless --reset (which empties the bench database first).
"""

import argparse
import datetime as dt
import random
import sys
import time

from _setup import setup

BATCH = 5000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--doctors", type=int, default=50)
    parser.add_argument("--appointments", type=int, default=10000)
    parser.add_argument("--hospitals", type=int, default=10)
    parser.add_argument("--reset", action="store_true", help="empty the bench database first")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.doctors > args.patients:
        sys.exit("--patients must be at least --doctors (appointments at one time need distinct patients)")

    create_database()
    setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import User

    if User.objects.filter(email__startswith="bench-").exists():
        if not args.reset:
            sys.exit("The bench database already has data; pass --reset to regenerate it.")
        call_command("flush", interactive=False, verbosity=0)
    generate(args)


def create_database():
    """CREATE DATABASE for a postgres DATABASE_URL if it does not exist yet."""
    import os
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("DATABASE_URL", ""))
    if not url.scheme.startswith("postgres"):
        return
    import psycopg

    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def batched(model, rows):
    for i in range(0, len(rows), BATCH):
        model.objects.bulk_create(rows[i:i + BATCH], batch_size=BATCH)


def generate(args):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import ApplicationStatus, DoctorApplication, Role, User
    from clinic.models import (
        Appointment,
        AppointmentEvent,
        AppointmentStatus,
        CareTeamMember,
        DoctorProfile,
        Hospital,
        HospitalDoctor,
        HospitalPatient,
        Patient,
        UserPatientRelation,
        WeeklyAvailability,
    )

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    password = make_password("Bench-password-42!")  # hashed once, shared: login speed is not measured here
    now = timezone.now().replace(minute=0, second=0, microsecond=0)

    hospitals = [Hospital(name=f"Bench Hospital {i}", address=f"{i} Bench Road", city="Springfield",
                          contact="+12025550100", email=f"bench-hospital{i}@example.com", status="approved")
                 for i in range(args.hospitals)]
    batched(Hospital, hospitals)

    zones = ["UTC", "America/New_York", "Europe/Madrid", "Asia/Kolkata"]
    doctor_users = [User(email=f"bench-doctor{i}@example.com", name=f"Doctor {i:05d}", role=Role.DOCTOR,
                         password=password, timezone=rng.choice(zones)) for i in range(args.doctors)]
    batched(User, doctor_users)
    batched(DoctorApplication, [
        DoctorApplication(user=u, specialty="Psychiatry", years_experience=5, cv_text="bench",
                          identity_proof="identity/bench.pdf", identity_proof_type="application/pdf",
                          status=ApplicationStatus.APPROVED, decided_at=now) for u in doctor_users])
    doctors = [DoctorProfile(user=u, specialty=rng.choice(["Psychiatry", "Psychology", "Counselling"]),
                             years_experience=rng.randint(1, 30)) for u in doctor_users]
    batched(DoctorProfile, doctors)
    batched(HospitalDoctor, [HospitalDoctor(hospital=hospitals[i % len(hospitals)], doctor=d)
                             for i, d in enumerate(doctors)])
    # Online windows Monday–Friday 09:00–17:00 (30-minute slots) in each doctor's own zone.
    batched(WeeklyAvailability, [WeeklyAvailability(doctor=d, weekday=w, start_time=dt.time(9), end_time=dt.time(17))
                                 for d in doctors for w in range(5)])
    print(f"doctors: {len(doctors)} ({time.perf_counter() - t0:.1f}s)")

    patient_users = [User(email=f"bench-patient{i}@example.com", name=f"Patient {i:06d}", role=Role.PATIENT,
                          password=password) for i in range(args.patients)]
    batched(User, patient_users)
    patients = [Patient(user=u, name=u.name, date_of_birth=dt.date(1950 + i % 60, 1 + i % 12, 1 + i % 28),
                        gender="undisclosed") for i, u in enumerate(patient_users)]
    batched(Patient, patients)
    batched(UserPatientRelation, [UserPatientRelation(user=u, patient=p, relation="self")
                                  for u, p in zip(patient_users, patients, strict=True)])
    print(f"patients: {len(patients)} ({time.perf_counter() - t0:.1f}s)")

    # Appointment k of doctor d sits in the doctor's k-th half hour (16 per working day, going
    # back 30 days and forward); at any one time all doctors see distinct patients, so neither the
    # doctor nor the patient overlap constraints are touched.
    D, P = len(doctors), len(patients)
    per_doctor = -(-args.appointments // D)
    first_day = now - dt.timedelta(days=30)
    # Spread the working days over the 30 days past and 60 ahead, so dashboards have both.
    spacing = max(1, 90 // -(-per_doctor // 16))
    appointments, care, registered = [], set(), set()
    for k in range(per_doctor):
        day, half_hour = divmod(k, 16)
        start = first_day.replace(hour=9) + dt.timedelta(days=day * spacing, minutes=30 * half_hour)
        offset = rng.randrange(P)
        for d in range(D):
            if len(appointments) >= args.appointments:
                break
            p = (offset + d) % P
            if start < now:
                status = rng.choices([AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW,
                                      AppointmentStatus.CANCELLED], [85, 5, 10])[0]
            else:
                status = rng.choices([AppointmentStatus.CONFIRMED, AppointmentStatus.REQUESTED,
                                      AppointmentStatus.CANCELLED], [70, 20, 10])[0]
            appointments.append(Appointment(patient=patients[p], doctor=doctors[d], type="remote", start=start,
                                            end=start + dt.timedelta(minutes=30), status=status,
                                            reason="Follow-up", booked_by=patient_users[p]))
            care.add((d, p))
            registered.add((d % len(hospitals), p))
    batched(Appointment, appointments)
    batched(AppointmentEvent, [AppointmentEvent(appointment=a, kind="requested", actor_id=a.booked_by_id)
                               for a in appointments])
    batched(CareTeamMember, [CareTeamMember(doctor=doctors[d], patient=patients[p]) for d, p in care])
    batched(HospitalPatient, [HospitalPatient(hospital=hospitals[h], patient=patients[p]) for h, p in registered])
    print(f"appointments: {len(appointments)}, care links: {len(care)} ({time.perf_counter() - t0:.1f}s)")


if __name__ == "__main__":
    main()

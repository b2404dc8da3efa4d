"""Booking throughput and contention, through the real booking service.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench \
        .venv/bin/python bench/booking.py --threads 8 --bookings 400 --contenders 32

1. throughput: K threads book distinct free slots (many doctors) for distinct patients;
2. contention: N threads book the same slot at the same moment: exactly one must succeed.
The appointments it creates are deleted at the end, so it can be run again.
"""

import argparse
import datetime as dt
import queue
import threading
import time

from _setup import percentile, setup


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--contenders", type=int, default=32)
    args = parser.parse_args()
    # Measure what a web request costs: notifications are queued for a worker, not run inline
    # (without REDIS_URL they go to the in-memory broker and are dropped).
    import os

    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    setup()

    from django.db import connections
    from django.utils import timezone

    from clinic import scheduling, selectors, services
    from clinic.models import Appointment

    bookers = booking_patients(args.bookings + args.contenders)
    now = timezone.now()
    doctors = list(selectors.doctors_directory().filter(availability__isnull=False).distinct()[:200])
    if not doctors:
        raise SystemExit("No doctors with availability: run bench/generate.py first.")
    # Free slots a week or more ahead, round-robin over doctors, one booking per distinct slot.
    per_doctor = {d.pk: scheduling.free_slots(d, now + dt.timedelta(days=7), now + dt.timedelta(days=21))
                  for d in doctors}
    work, i = [], 0
    while len(work) < args.bookings and any(per_doctor.values()):
        d = doctors[i % len(doctors)]
        if per_doctor[d.pk]:
            work.append((d, per_doctor[d.pk].pop(0)))
        i += 1
    created, errors = [], []
    lock = threading.Lock()

    # --- throughput ----------------------------------------------------------------------------
    jobs = queue.Queue()
    for n, (doctor, slot) in enumerate(work):
        jobs.put((bookers[n], doctor, slot))
    latencies = []

    def worker():
        try:
            while True:
                try:
                    user, doctor, slot = jobs.get_nowait()
                except queue.Empty:
                    return
                t = time.perf_counter()
                try:
                    a = services.appointment_book(booked_by=user, patient=user.patient_record, doctor=doctor,
                                                  start=slot.start, type="remote")
                    with lock:
                        created.append(a.pk)
                        latencies.append(time.perf_counter() - t)
                except Exception as exc:  # noqa: BLE001 — reported below
                    with lock:
                        errors.append(repr(exc))
        finally:
            connections.close_all()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    print(f"throughput: {len(created)} bookings over {len({d.pk for d, _s in work})} doctors with {args.threads} "
          f"threads in {elapsed:.2f}s = {len(created) / elapsed:.1f} bookings/s; "
          f"latency p50 {percentile(latencies, 50) * 1000:.1f} ms, p95 {percentile(latencies, 95) * 1000:.1f} ms; "
          f"errors {len(errors)}")
    for e in errors[:5]:
        print("  error:", e)

    # --- contention ----------------------------------------------------------------------------
    doctor = next(d for d in doctors if per_doctor[d.pk])
    slot = per_doctor[doctor.pk][0]
    contenders = bookers[args.bookings:args.bookings + args.contenders]
    barrier = threading.Barrier(len(contenders))
    outcomes = []

    def contend(user):
        try:
            barrier.wait()
            a = services.appointment_book(booked_by=user, patient=user.patient_record, doctor=doctor,
                                          start=slot.start, type="remote")
            with lock:
                outcomes.append("won")
                created.append(a.pk)
        except services.SlotTaken:
            with lock:
                outcomes.append("slot taken")
        except Exception as exc:  # noqa: BLE001
            with lock:
                outcomes.append(repr(exc))
        finally:
            connections.close_all()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=contend, args=(u,)) for u in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    successes = outcomes.count("won")
    print(f"contention: {len(contenders)} threads on one slot in {elapsed:.2f}s -> successes {successes}, "
          f"slot taken {outcomes.count('slot taken')}, other {len(outcomes) - successes - outcomes.count('slot taken')}")
    Appointment.objects.filter(pk__in=created).delete()
    if successes != 1:
        raise SystemExit("FAIL: contention must have exactly one success")


def booking_patients(n):
    """n patient accounts used only by this script (created once, reused)."""
    from accounts.models import Role, User
    from clinic.models import Patient, UserPatientRelation

    existing = list(User.objects.filter(email__startswith="bench-booker").select_related("patient_record")
                    .order_by("email")[:n])
    for i in range(len(existing), n):
        user = User.objects.create(email=f"bench-booker{i:05d}@example.com", name=f"Booker {i}", role=Role.PATIENT)
        patient = Patient.objects.create(user=user, name=user.name, date_of_birth=dt.date(1990, 1, 1),
                                         gender="undisclosed")
        UserPatientRelation.objects.create(user=user, patient=patient, relation="self")
        existing.append(User.objects.select_related("patient_record").get(pk=user.pk))
    return existing


if __name__ == "__main__":
    main()

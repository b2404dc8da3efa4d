"""Server time and query count of the busiest pages and selectors, on bench data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench .venv/bin/python bench/pages.py --runs 30

Uses Django's test Client in-process (no network, no browser): the time is the server's time to
build the response. Measured for the doctor and the patient with the most appointments.
"""

import argparse
import datetime as dt
import time

from _setup import percentile, setup


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    setup()

    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from clinic import scheduling, selectors
    from clinic.models import DoctorProfile, Patient

    setup_test_environment()  # lets the test Client run against this (bench) database
    doctor = DoctorProfile.objects.annotate(n=Count("appointments")).order_by("-n").select_related("user").first()
    patient = Patient.objects.annotate(n=Count("appointments")).order_by("-n").select_related("user").first()
    if doctor is None or patient is None:
        raise SystemExit("No data: run bench/generate.py first.")
    print(f"doctor {doctor.user.email}: {doctor.n} appointments; patient {patient.user.email}: {patient.n}")

    def client_for(user: User) -> Client:
        client = Client()
        client.force_login(user)
        if user.requires_two_factor:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
                user=user, name="bench", confirmed=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    def measure(label, fn):
        times, queries = [], []
        fn()  # warm up
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - t)
            queries.append(len(ctx.captured_queries))
        status = getattr(result, "status_code", "")
        print(f"{label:<44} p50 {percentile(times, 50) * 1000:7.1f} ms  p95 {percentile(times, 95) * 1000:7.1f} ms"
              f"  queries {min(queries)}–{max(queries)}  {status}")

    def page(user, name, *args_):
        try:
            url = reverse(name, args=args_)
        except NoReverseMatch:
            print(f"{name}: not wired, skipped")
            return
        client = client_for(user)
        measure(f"GET {url} ({user.role})", lambda: client.get(url))

    page(doctor.user, "dashboard")
    page(patient.user, "dashboard")
    page(doctor.user, "appointment_list")
    page(patient.user, "appointment_list")
    page(doctor.user, "emergency_queue")
    page(patient.user, "doctor_search")
    page(patient.user, "notifications")
    now = timezone.now()
    measure("selector appointments_list (doctor, 30 d)", lambda: list(selectors.appointments_list(
        fetched_by=doctor.user, date_from=now, date_to=now + dt.timedelta(days=30))))
    measure("scheduling.free_slots (one doctor, 28 d)",
            lambda: scheduling.free_slots(doctor, now, now + dt.timedelta(days=28)))
    doctors = list(selectors.doctors_directory()[:20])
    measure("selectors.first_free_slots (20 doctors)" if hasattr(selectors, "first_free_slots")
            else "free_slots x 20 doctors", lambda: (
                selectors.first_free_slots(doctors, start=now) if hasattr(selectors, "first_free_slots")
                else [scheduling.first_free_slot(d) for d in doctors]))


if __name__ == "__main__":
    main()

"""The iCalendar writer (RFC 5545 folding, escaping, UTC) and the per-user feed."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic import ics, services
from clinic.models import Appointment, CalendarFeed, CareTeamMember, HospitalPatient
from telehealth.tests.helpers import URLS
from tests.factories import HospitalFactory

# --- writer ------------------------------------------------------------------------------------------


def test_it_escapes_text_values():
    assert ics.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    assert ics.unescape_text(ics.escape_text("a,b;c\\d\ne\\n")) == "a,b;c\\d\ne\\n"


def test_it_folds_long_lines_at_75_octets_without_splitting_characters():
    line = "SUMMARY:" + "Consulta con la Dra. Núñez — 心理カウンセリング " * 6
    folded = ics.fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 3
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join([parts[0], *(p[1:] for p in parts[1:])]) == line
    assert ics.unfold(folded + "\r\n") == [line]


def test_a_calendar_round_trips_with_crlf_and_utc_times():
    start = dt.datetime(2026, 3, 8, 1, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    event = ics.Event(uid="x@haven", start=start, end=start + dt.timedelta(minutes=30), sequence=2,
                      summary="Dr. Rao, cardiology; room 4\nbring reports", location="Online",
                      stamp=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    text = ics.calendar([event], method="REQUEST")
    assert text.endswith("END:VCALENDAR\r\n") and "\n" not in text.replace("\r\n", "")
    assert "DTSTART:20260308T063000Z" in text
    parsed = ics.parse(text)
    assert parsed["METHOD"] == "REQUEST" and parsed["VERSION"] == "2.0"
    [e] = parsed["events"]
    assert e["DTSTART"] == start and e["SUMMARY"] == "Dr. Rao, cardiology; room 4\nbring reports"
    assert e["SEQUENCE"] == 2 and e["UID"] == "x@haven"


def test_location_is_the_hospital_address_or_online(db):
    hospital = HospitalFactory(name="Riverside", address="1 River Road", city="Springfield", country="US")
    in_person = Appointment(type="regular", hospital=hospital)
    assert ics.location_of(in_person) == "Riverside, 1 River Road, Springfield, US"
    assert ics.location_of(Appointment(type="remote")) == "Online"


# --- feed --------------------------------------------------------------------------------------------



def make(patient_user, doctor_user, days, *, reason="Anxiety follow-up", status="confirmed", hospital=None):
    start = (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)
    return Appointment.objects.create(
        patient=patient_user.patient_record, doctor=doctor_user.doctor_profile, start=start,
        end=start + dt.timedelta(minutes=30), status=status, reason=reason, notes="Private clinical notes",
        type="regular" if hospital else "remote", hospital=hospital)


def fetch(client, user):
    feed = services.calendar_feed_rotate(user=user)
    response = client.get(reverse("calendar_feed_ics", args=[feed.token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return ics.parse(response.content.decode())


@pytest.mark.django_db
@pytest.mark.urls(URLS)
class TestFeed:
    def test_it_serves_the_users_appointments_in_range(self, client, alice, grace, bob, carol):
        mine = make(alice, carol, 3)
        recent = make(alice, carol, -10, status="completed")
        make(alice, carol, -40, status="completed")  # older than 30 days
        make(alice, carol, 400)  # more than a year ahead
        make(bob, carol, 4)  # someone else's
        parsed = fetch(client, alice)
        assert parsed["METHOD"] == "PUBLISH"
        assert {e["UID"] for e in parsed["events"]} == {f"{mine.pk}@haven", f"{recent.pk}@haven"}
        event = next(e for e in parsed["events"] if e["UID"] == f"{mine.pk}@haven")
        assert event["DTSTART"] == mine.start and event["DTEND"] == mine.end
        assert event["SUMMARY"] == "Appointment with Dr. Carol Doctor"
        # Issue 9: reasons for visit are left out unless the feed's owner opts in.
        assert "Anxiety follow-up" not in event["DESCRIPTION"]
        assert "Private clinical notes" not in event["DESCRIPTION"]
        # Grace (family) sees Alice's appointments too.
        assert {e["UID"] for e in fetch(client, grace)["events"]} == {f"{mine.pk}@haven", f"{recent.pk}@haven"}

    def test_reasons_appear_only_once_the_owner_opts_in(self, client, alice, carol):
        make(alice, carol, 3)
        services.calendar_feed_rotate(user=alice)
        services.calendar_feed_set_reasons(user=alice, include=True)
        token = alice.calendar_feed.token
        [event] = ics.parse(client.get(reverse("calendar_feed_ics", args=[token])).content.decode())["events"]
        assert "Anxiety follow-up" in event["DESCRIPTION"]  # the patient's own reason, as chosen
        assert "Private clinical notes" not in event["DESCRIPTION"]

    def test_the_feed_page_turns_reasons_on_and_off(self, client, alice):
        from conftest import login_verified

        services.calendar_feed_rotate(user=alice)
        login_verified(client, alice)
        assert "Include reasons for visit" in client.get(reverse("calendar_feed")).content.decode()
        client.post(reverse("calendar_feed"), {"action": "reasons_on"})
        alice.calendar_feed.refresh_from_db()
        assert alice.calendar_feed.include_reasons
        client.post(reverse("calendar_feed"), {"action": "reasons_off"})
        alice.calendar_feed.refresh_from_db()
        assert not alice.calendar_feed.include_reasons

    def test_a_fetch_listing_other_patients_is_audited(self, client, alice, bob, carol):
        from analytics.models import AuditEvent

        make(alice, carol, 3)
        make(bob, carol, 5)
        make(alice, carol, 7)
        token = services.calendar_feed_rotate(user=carol).token
        client.get(reverse("calendar_feed_ics", args=[token]))
        events = AuditEvent.objects.filter(action="calendar.feed_read", actor=carol)
        assert {e.target_id for e in events} == {str(alice.patient_record.pk), str(bob.patient_record.pk)}
        alice_event = events.get(target_id=str(alice.patient_record.pk))
        assert len(alice_event.data["appointments"]) == 2 and alice_event.data["reasons"] is False
        # The patient's own feed is not an audited read (as for her own pages).
        client.get(reverse("calendar_feed_ics", args=[services.calendar_feed_rotate(user=alice).token]))
        assert not AuditEvent.objects.filter(action="calendar.feed_read", actor=alice).exists()

    def test_the_doctors_feed_has_her_appointments(self, client, alice, bob, carol, dave):
        a = make(alice, carol, 3)
        b = make(bob, carol, 5)
        make(bob, dave, 6)
        parsed = fetch(client, carol)
        assert {e["UID"] for e in parsed["events"]} == {f"{a.pk}@haven", f"{b.pk}@haven"}
        assert {e["SUMMARY"] for e in parsed["events"]} == {"Appointment: Alice Patient", "Appointment: Bob Other"}

    def test_staff_feeds_leave_out_reason_and_notes(self, client, alice, carol, hana):
        hospital = hana.hospital_staff.hospital
        HospitalPatient.objects.create(hospital=hospital, patient=alice.patient_record)
        a = make(alice, carol, 3, hospital=hospital)
        text = client.get(reverse("calendar_feed_ics",
                                  args=[services.calendar_feed_rotate(user=hana).token])).content.decode()
        [event] = ics.parse(text)["events"]
        assert event["UID"] == f"{a.pk}@haven"
        assert event["LOCATION"].startswith(hospital.name)
        assert "Anxiety" not in text and "Private clinical notes" not in text

    def test_a_care_team_colleague_does_not_get_the_reason(self, client, alice, carol, dave):
        make(alice, carol, 3)
        CareTeamMember.objects.create(doctor=dave.doctor_profile, patient=alice.patient_record)
        text = client.get(reverse("calendar_feed_ics",
                                  args=[services.calendar_feed_rotate(user=dave).token])).content.decode()
        assert len(ics.parse(text)["events"]) == 1 and "Anxiety" not in text

    def test_a_rotated_token_stops_working(self, client, alice):
        old = services.calendar_feed_rotate(user=alice).token
        new = services.calendar_feed_rotate(user=alice).token
        assert old != new
        assert client.get(reverse("calendar_feed_ics", args=[old])).status_code == 404
        assert client.get(reverse("calendar_feed_ics", args=[new])).status_code == 200

    def test_a_revoked_or_unknown_token_is_404(self, client, alice):
        token = services.calendar_feed_rotate(user=alice).token
        services.calendar_feed_revoke(user=alice)
        assert client.get(reverse("calendar_feed_ics", args=[token])).status_code == 404
        assert client.get(reverse("calendar_feed_ics", args=["nope"])).status_code == 404

    def test_a_deactivated_users_feed_is_404(self, client, alice):
        token = services.calendar_feed_rotate(user=alice).token
        alice.is_active = False
        alice.save()
        assert client.get(reverse("calendar_feed_ics", args=[token])).status_code == 404

    def test_the_sequence_counts_schedule_changes(self, client, alice, carol):
        a = make(alice, carol, 3, status="requested")
        for kind in ("confirmed", "rescheduled"):
            a.events.create(kind=kind)
        a.events.create(kind="note")
        [event] = fetch(client, alice)["events"]
        assert event["SEQUENCE"] == 2

    def test_the_feed_takes_a_fixed_number_of_queries(self, client, alice, carol, django_assert_max_num_queries):
        for days in range(1, 8):
            make(alice, carol, days)
        token = services.calendar_feed_rotate(user=alice).token
        with django_assert_max_num_queries(8):
            response = client.get(reverse("calendar_feed_ics", args=[token]))
        assert len(ics.parse(response.content.decode())["events"]) == 7


@pytest.mark.django_db
@pytest.mark.urls(URLS)
class TestFeedPage:
    def test_it_requires_login(self, client):
        response = client.get(reverse("calendar_feed"))
        assert response.status_code == 302 and "login" in response["Location"]

    def test_it_creates_rotates_and_revokes(self, client, alice):
        client.force_login(alice)
        assert b"Create my calendar link" in client.get(reverse("calendar_feed")).content
        client.post(reverse("calendar_feed"), {"action": "rotate"})
        first = alice.calendar_feed.token
        page = client.get(reverse("calendar_feed")).content.decode()
        assert first in page
        client.post(reverse("calendar_feed"), {"action": "rotate"})
        alice.refresh_from_db()
        assert alice.calendar_feed.token != first
        client.post(reverse("calendar_feed"), {"action": "revoke"})
        assert not CalendarFeed.objects.filter(user=alice).exists()

    def test_it_only_touches_the_users_own_feed(self, client, alice, bob):
        bob_token = services.calendar_feed_rotate(user=bob).token
        client.force_login(alice)
        client.post(reverse("calendar_feed"), {"action": "revoke"})
        bob.refresh_from_db()
        assert bob.calendar_feed.token == bob_token

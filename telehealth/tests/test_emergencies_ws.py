"""/ws/emergencies/: a doctor's emergency queue and a hospital's dashboard hear at once when an
emergency they see is raised, escalated to them or taken — only a count, never patient data."""

import pytest
from channels.db import database_sync_to_async

from clinic import services
from clinic.models import CareTeamMember, HospitalPatient
from telehealth.tests.test_notifications_ws import ORIGIN, assert_closed_with, cookie_for, run, socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
PATH = "/ws/emergencies/"


def raise_emergency(alice):
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.emergency_request(requested_by=alice, patient=alice.patient_record, reason="Chest pain")


def accept(carol, emergency):
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.emergency_accept(actor=carol, appointment=emergency)


def test_the_queue_and_the_hospital_dashboard_update_live(layer, alice, carol, dave, hana):
    hospital = hana.hospital_staff.hospital
    HospitalPatient.objects.create(hospital=hospital, patient=alice.patient_record)
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)  # off duty
    carol_headers, dave_headers, hana_headers = ([ORIGIN, cookie_for(u)] for u in (carol, dave, hana))

    async def scenario():
        carol_socket, dave_socket, hana_socket = (socket(h, path=PATH) for h in (carol_headers, dave_headers,
                                                                                 hana_headers))
        for s in (carol_socket, dave_socket, hana_socket):
            assert (await s.connect())[0]
            assert await s.receive_json_from(timeout=2) == {"type": "emergencies", "count": 0, "changed": False}

        emergency = await database_sync_to_async(raise_emergency)(alice)
        # Nobody was on duty: Carol (care team) is alerted at once; Riverside's staff list it.
        assert await carol_socket.receive_json_from(timeout=2) == {"type": "emergencies", "count": 1, "changed": True}
        assert await hana_socket.receive_json_from(timeout=2) == {"type": "emergencies", "count": 1, "changed": True}
        assert await dave_socket.receive_nothing(timeout=0.3)  # not his patient

        await database_sync_to_async(accept)(carol, emergency)
        assert await carol_socket.receive_json_from(timeout=2) == {"type": "emergencies", "count": 0, "changed": True}
        assert await hana_socket.receive_json_from(timeout=2) == {"type": "emergencies", "count": 0, "changed": True}
        for s in (carol_socket, dave_socket, hana_socket):
            await s.disconnect()

    run(scenario)


def test_only_doctors_and_hospital_staff_may_listen(layer, alice):
    headers = [ORIGIN, cookie_for(alice)]

    async def scenario():
        await assert_closed_with(socket([ORIGIN], path=PATH), 4401)
        await assert_closed_with(socket(headers, path=PATH), 4403)

    run(scenario)

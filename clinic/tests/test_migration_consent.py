"""Links made before consent existed stay in force (migration 0004 marks them accepted)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("clinic", "0003_no_overlap_on_postgres")]
AFTER = [("clinic", "0004_consent_states")]


def test_existing_links_are_accepted(alice, carol, hana):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    patient = old.get_model("clinic", "Patient").objects.get(pk=alice.patient_record.pk)
    hospital = old.get_model("clinic", "Hospital").objects.get(pk=hana.hospital_staff.hospital_id)
    doctor = old.get_model("clinic", "DoctorProfile").objects.get(pk=carol.doctor_profile.pk)
    old.get_model("clinic", "HospitalPatient").objects.create(hospital=hospital, patient=patient)
    old.get_model("clinic", "CareTeamMember").objects.create(doctor=doctor, patient=patient)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    for name in ("HospitalPatient", "CareTeamMember", "UserPatientRelation"):
        states = set(new.get_model("clinic", name)._base_manager.values_list("consent", flat=True))
        assert states == {"accepted"}, name
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

"""Free-text clinical fields are Fernet tokens in their columns and plaintext everywhere they are read."""

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.tokens import issue_pair
from clinic.models import Appointment, AppointmentEvent
from conftest import login_verified
from core.crypto import decrypt_bytes
from tests.factories import AppointmentFactory, CareTeamMemberFactory
from wellness.models import DailyReview, EmotionSnapshot, RiskFlag, RiskFlagEvent, TodoTask, WellnessEntry

pytestmark = pytest.mark.django_db

SECRET = "Chest pain at night, worse lying down"

# (model, field) pairs that hold free clinical text.
ENCRYPTED = [
    (Appointment, "reason"), (Appointment, "notes"), (Appointment, "cancellation_reason"),
    (Appointment, "overbook_reason"), (AppointmentEvent, "reason"),
    (WellnessEntry, "notes"), (TodoTask, "title"), (DailyReview, "reflection"),
    (RiskFlag, "reason"), (RiskFlagEvent, "note"),
]


def raw(model, field, pk):
    quote = connection.ops.quote_name
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(column)} FROM {quote(model._meta.db_table)} WHERE id = %s",
                       [model._meta.pk.get_db_prep_value(pk, connection)])
        return cursor.fetchone()[0]


@pytest.fixture
def rows(alice, carol):
    """One row per encrypted field, each holding SECRET (plus a label so they differ)."""
    patient = alice.patient_record
    appointment = AppointmentFactory(patient=patient, doctor=carol.doctor_profile, reason=f"{SECRET} (reason)",
                                     notes=f"{SECRET} (notes)", cancellation_reason=f"{SECRET} (cancel)",
                                     overbook_reason=f"{SECRET} (overbook)")
    event = AppointmentEvent.objects.create(appointment=appointment, kind="note", actor=carol, reason=f"{SECRET} (event)")
    entry = WellnessEntry.objects.create(patient=patient, date=timezone.localdate(), mood=5, stress=5,
                                         notes=f"{SECRET} (entry)")
    task = TodoTask.objects.create(patient=patient, date=timezone.localdate(), title=f"{SECRET} (task)")
    review = DailyReview.objects.create(patient=patient, date=timezone.localdate(), reflection=f"{SECRET} (review)")
    flag = RiskFlag.objects.create(patient=patient, doctor=carol.doctor_profile, source="doctor", status="open",
                                   reason=f"{SECRET} (flag)")
    flag_event = RiskFlagEvent.objects.create(flag=flag, kind="raised", actor=carol, note=f"{SECRET} (flag note)")
    objects = {Appointment: appointment, AppointmentEvent: event, WellnessEntry: entry, TodoTask: task,
               DailyReview: review, RiskFlag: flag, RiskFlagEvent: flag_event}
    return {(model, field): objects[model] for model, field in ENCRYPTED}


def test_the_raw_columns_hold_ciphertext_and_the_models_read_plaintext(rows):
    for (model, field), obj in rows.items():
        stored = raw(model, field, obj.pk)
        assert SECRET not in stored and stored.startswith("gAAAAA"), (model, field)
        assert SECRET in decrypt_bytes(stored.encode()).decode()
        assert getattr(model.objects.get(pk=obj.pk), field).startswith(SECRET), (model, field)


def test_empty_text_stays_empty_and_is_still_filterable(alice, carol):
    appointment = AppointmentFactory(patient=alice.patient_record, doctor=carol.doctor_profile, reason="")
    assert raw(Appointment, "reason", appointment.pk) == ""
    assert list(Appointment.objects.filter(reason="")) == [appointment]
    assert not Appointment.objects.exclude(notes="").exists()


def test_content_cannot_be_searched_in_sql(rows):
    # A salted token never equals another encryption of the same text: refuse rather than find nothing.
    with pytest.raises(ValueError):
        list(Appointment.objects.filter(reason=f"{SECRET} (reason)"))
    with pytest.raises(FieldError):
        list(Appointment.objects.filter(notes__icontains="pain"))


def test_a_short_field_still_checks_its_length(alice):
    task = TodoTask(patient=alice.patient_record, date=timezone.localdate(), title="x" * 201)
    with pytest.raises(ValidationError) as caught:
        task.full_clean()
    assert "title" in caught.value.message_dict


def test_the_api_and_the_admin_show_plaintext(client, rows, carol, ada):
    appointment = rows[(Appointment, "reason")]
    CareTeamMemberFactory(doctor=carol.doctor_profile, patient=appointment.patient)
    response = client.get(f"/api/v1/appointments/{appointment.pk}",
                          HTTP_AUTHORIZATION=f"Bearer {issue_pair(carol)['access']}")
    assert response.status_code == 200
    body = response.json()
    assert body["reason"] == f"{SECRET} (reason)" and body["notes"] == f"{SECRET} (notes)"
    login_verified(client, ada)
    page = client.get(f"/admin/clinic/appointment/{appointment.pk}/change/").content.decode()
    assert f"{SECRET} (notes)" in page and f"{SECRET} (event)" in page


def test_the_patients_pages_show_their_own_plan_in_plaintext(client, alice, rows):
    client.force_login(alice)
    page = client.get("/wellness/plan/").content.decode()
    assert f"{SECRET} (task)" in page


@pytest.mark.django_db(transaction=True)
def test_the_migrations_encrypt_and_decrypt_existing_rows(rows):
    targets = {"clinic": ("clinic", "0005_encrypt_clinical_text_and_photos"),
               "wellness": ("wellness", "0002_encrypt_clinical_text_and_emotions")}
    before = {"clinic": ("clinic", "0004_consent_states"), "wellness": ("wellness", "0001_initial")}
    snapshot = EmotionSnapshot.objects.create(patient=rows[(Appointment, "reason")].patient, status="done",
                                              face_detected=True, dominant_emotion="happy", confidence=0.81,
                                              emotion_vector={"happy": 0.81})
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(list(before.values()))
        for (model, field), obj in rows.items():  # backwards: plaintext again
            assert raw(model, field, obj.pk).startswith(SECRET), (model, field)
        assert raw(EmotionSnapshot, "dominant_emotion", snapshot.pk) == "happy"
        assert float(raw(EmotionSnapshot, "confidence", snapshot.pk)) == 0.81  # a number column again
        executor = MigrationExecutor(connection)
        executor.migrate(list(targets.values()))
        for (model, field), obj in rows.items():  # forwards: encrypted, and readable
            assert SECRET not in raw(model, field, obj.pk), (model, field)
            assert getattr(model.objects.get(pk=obj.pk), field).startswith(SECRET)
        assert raw(EmotionSnapshot, "confidence", snapshot.pk).startswith("gAAAAA")
        snapshot.refresh_from_db()
        assert (snapshot.dominant_emotion, snapshot.confidence) == ("happy", 0.81)
        # running the data step twice changes nothing (already-encrypted values are left alone)
        from core.fields import encrypt_columns

        forwards, _backwards = encrypt_columns({"clinic.Appointment": ["reason"]})
        from django.apps import apps as global_apps

        with connection.schema_editor() as editor:
            forwards(global_apps, editor)
        appointment = rows[(Appointment, "reason")]
        assert Appointment.objects.get(pk=appointment.pk).reason == f"{SECRET} (reason)"
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())



def test_key_rotation_re_encrypts_columns_and_files_with_the_new_key(settings, rows, alice):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from accounts import services
    from conftest import png_upload

    services.user_update(actor=alice, user=alice, data={}, photo=png_upload())
    alice.refresh_from_db()
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything still reads
    for (model, field), obj in rows.items():
        assert getattr(model.objects.get(pk=obj.pk), field).startswith(SECRET), (model, field)
    alice.refresh_from_db()
    with alice.photo.open("rb") as fh:
        assert fh.read().startswith(b"\xff\xd8")

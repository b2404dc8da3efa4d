"""Overlapping appointments are refused by Postgres itself (exclusion constraints on time ranges),
so concurrent bookings cannot both win. Other databases rely on the same-start unique constraints
and on the booking service's row lock."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE clinic_appointment ADD CONSTRAINT appointment_doctor_no_overlap
    EXCLUDE USING gist (doctor_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN ('requested', 'confirmed') AND NOT overbooked AND type <> 'emergency'
           AND doctor_id IS NOT NULL);
ALTER TABLE clinic_appointment ADD CONSTRAINT appointment_patient_no_overlap
    EXCLUDE USING gist (patient_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN ('requested', 'confirmed') AND type <> 'emergency');
"""

DROP = """
ALTER TABLE clinic_appointment DROP CONSTRAINT IF EXISTS appointment_doctor_no_overlap;
ALTER TABLE clinic_appointment DROP CONSTRAINT IF EXISTS appointment_patient_no_overlap;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_care_and_appointments")]
    operations = [migrations.RunPython(forwards, backwards)]

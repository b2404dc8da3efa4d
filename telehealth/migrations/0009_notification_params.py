"""Notifications store their kind and params and are rendered when read
(telehealth.notification_texts). Rows written before have no params: they keep showing the text
they were stored with. Access invitations were filed under "appointment.requested" for want of a
kind of their own; they move to "access.invitation"."""

import core.fields
from django.db import migrations, models


def invitations_to_own_kind(apps, schema_editor):
    Notification = apps.get_model("telehealth", "Notification")
    Notification.objects.filter(kind="appointment.requested", source_key__startswith="invite:").update(
        kind="access.invitation")


def invitations_back(apps, schema_editor):
    Notification = apps.get_model("telehealth", "Notification")
    Notification.objects.filter(kind="access.invitation").update(kind="appointment.requested")


class Migration(migrations.Migration):

    dependencies = [
        ('telehealth', '0008_notification_text_encrypted'),
    ]

    operations = [
        migrations.AddField(
            model_name='notification',
            name='params',
            field=core.fields.EncryptedJSONField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('appointment.requested', 'Appointment requested'), ('appointment.confirmed', 'Appointment confirmed'), ('appointment.rescheduled', 'Appointment rescheduled'), ('appointment.cancelled', 'Appointment cancelled'), ('appointment.completed', 'Appointment completed'), ('appointment.reminder', 'Appointment reminder'), ('emergency.requested', 'Emergency request'), ('emergency.accepted', 'Emergency accepted'), ('emergency.escalated', 'Emergency escalated'), ('wellness.reminder', 'Wellness check-in reminder'), ('chat.message', 'New chat message'), ('chat.urgent', 'Urgent chat'), ('chat.escalated', 'Urgent chat escalated'), ('call.requested', 'Call requested'), ('call.accepted', 'Call request accepted'), ('call.declined', 'Call request declined'), ('access.invitation', 'Access invitation')], max_length=32, verbose_name='kind'),
        ),
        migrations.RunPython(invitations_to_own_kind, invitations_back),
    ]

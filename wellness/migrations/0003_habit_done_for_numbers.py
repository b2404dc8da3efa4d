"""Number habits: a logged 0 was saved as done by older code and the demo data. Recompute ``done``
for every number habit's log with the one definition (``Habit.counts_as_done``: a value above 0
that reaches the target, if there is one)."""

from django.db import migrations
from django.db.models import Q


def recompute(apps, schema_editor):
    Habit = apps.get_model("wellness", "Habit")
    HabitLog = apps.get_model("wellness", "HabitLog")
    for habit in Habit.objects.filter(kind="number").only("id", "target"):
        done = Q(value__gt=0) if habit.target is None else Q(value__gt=0, value__gte=habit.target)
        logs = HabitLog.objects.filter(habit_id=habit.pk)
        logs.filter(done).exclude(done=True).update(done=True)
        logs.exclude(done).exclude(done=False).update(done=False)


class Migration(migrations.Migration):
    dependencies = [("wellness", "0002_encrypt_clinical_text_and_emotions")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]

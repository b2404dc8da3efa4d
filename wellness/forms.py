"""Forms of the patient-side wellness pages. Ranges mirror the services' checks (the services
decide; the forms give the early, field-by-field answer)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import AccessibleErrorsMixin
from wellness.models import Habit

SCALE = [(i, str(i)) for i in range(1, 11)]


def _number(value: Decimal) -> str:
    """30.0 -> "30", 7.5 -> "7.5"."""
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def stepper_input(attrs):
    """A number input; the template puts − and + buttons around it (typing works without JS)."""
    return forms.NumberInput(attrs={"class": "stepper-input", **attrs})


def scale_field(label, low, high, *, required=True):
    """1–10 as radio buttons (the template shows them as a row of big tap targets; arrow keys
    move between them). ``low``/``high`` name the ends of the scale."""
    field = forms.TypedChoiceField(
        label=label, choices=SCALE, coerce=int, required=required,
        widget=forms.RadioSelect(attrs={"class": "scale-input"}),
        error_messages={"required": _("Choose a number from 1 to 10.")})
    field.low_label, field.high_label = low, high
    return field


class CheckInForm(AccessibleErrorsMixin, forms.Form):
    """One day's check-in: mood and stress (required), sleep, meditation, notes and a field per
    active habit (``habit_<id>``)."""

    mood = scale_field(_("Mood"), _("1 = very low"), _("10 = great"))
    stress = scale_field(_("Stress"), _("1 = calm"), _("10 = overwhelmed"))
    sleep_hours = forms.DecimalField(
        label=_("Sleep (hours)"), required=False, min_value=0, max_value=24, decimal_places=1,
        widget=stepper_input({"step": "0.5", "min": "0", "max": "24", "inputmode": "decimal"}),
        error_messages={"max_value": _("Sleep must be between 0 and 24 hours."),
                        "min_value": _("Sleep must be between 0 and 24 hours.")})
    meditation_minutes = forms.IntegerField(
        label=_("Meditation (minutes)"), required=False, min_value=0, max_value=1440,
        widget=stepper_input({"step": "5", "min": "0", "max": "1440", "inputmode": "numeric"}),
        error_messages={"max_value": _("Meditation must be a whole number of minutes from 0 to 1440."),
                        "min_value": _("Meditation must be a whole number of minutes from 0 to 1440.")})
    notes = forms.CharField(label=_("Notes (optional)"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, habits=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.habits = list(habits)
        for habit in self.habits:
            name = f"habit_{habit.pk}"
            if habit.kind == Habit.Kind.YES_NO:
                self.fields[name] = forms.BooleanField(label=habit.name, required=False)
            else:
                label = f"{habit.name} ({habit.unit})" if habit.unit else habit.name
                self.fields[name] = forms.DecimalField(
                    label=label, required=False, min_value=0, max_value=Decimal("99999.9"), decimal_places=1,
                    help_text=(_("Daily target: %(target)s") % {"target": _number(habit.target)})
                    if habit.target is not None else "",
                    widget=stepper_input({"step": "1", "min": "0", "inputmode": "decimal"}))

    @property
    def habit_fields(self):
        return [self[f"habit_{habit.pk}"] for habit in self.habits]

    def entry_data(self) -> dict:
        d = self.cleaned_data
        return {name: d.get(name) for name in ("mood", "stress", "sleep_hours", "meditation_minutes", "notes")}

    def habit_values(self) -> dict:
        values = {}
        for habit in self.habits:
            value = self.cleaned_data.get(f"habit_{habit.pk}")
            values[str(habit.pk)] = bool(value) if habit.kind == Habit.Kind.YES_NO else value
        return values

    @staticmethod
    def initial_for(entry, habits, logs: dict, day) -> dict:
        initial = {}
        if entry is not None:
            initial.update(mood=entry.mood, stress=entry.stress, sleep_hours=entry.sleep_hours,
                           meditation_minutes=entry.meditation_minutes, notes=entry.notes)
        for habit in habits:
            log = logs.get((habit.pk, day))
            if log is not None:
                initial[f"habit_{habit.pk}"] = log.done if habit.kind == Habit.Kind.YES_NO else log.value
        return initial


class QuickCheckInForm(AccessibleErrorsMixin, forms.Form):
    """The dashboard card: mood, stress and sleep in a few taps."""

    mood = scale_field(_("Mood"), _("1 = very low"), _("10 = great"))
    stress = scale_field(_("Stress"), _("1 = calm"), _("10 = overwhelmed"))
    sleep_hours = CheckInForm.base_fields["sleep_hours"]

    def entry_data(self) -> dict:
        data = {"mood": self.cleaned_data["mood"], "stress": self.cleaned_data["stress"]}
        if self.cleaned_data.get("sleep_hours") is not None:
            data["sleep_hours"] = self.cleaned_data["sleep_hours"]
        return data


class HabitForm(AccessibleErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Habit"), max_length=80,
                           help_text=_("For example “Walk”, “Drink water” or “Call a friend”."))
    kind = forms.ChoiceField(label=_("How do you track it?"), choices=Habit.Kind.choices,
                             initial=Habit.Kind.YES_NO, widget=forms.RadioSelect)
    unit = forms.CharField(label=_("Unit (for numbers)"), max_length=20, required=False,
                           help_text=_("For example “min”, “glasses”, “pages”."))
    target = forms.DecimalField(label=_("Daily target (optional)"), required=False, min_value=0,
                                max_value=Decimal("99999.9"), decimal_places=1,
                                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}))


class TaskForm(AccessibleErrorsMixin, forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. 20-minute walk")}))
    time = forms.TimeField(label=_("Time (optional)"), required=False,
                           widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


class ReviewForm(AccessibleErrorsMixin, forms.Form):
    reflection = forms.CharField(label=_("Reflection"), required=False, max_length=2000,
                                 help_text=_("What went well? What would you do differently tomorrow?"),
                                 widget=forms.Textarea(attrs={"rows": 3}))


class ReminderSettingsForm(AccessibleErrorsMixin, forms.Form):
    evening_reminder = forms.BooleanField(label=_("Remind me in the evening when nothing is logged"),
                                          required=False)
    reminder_time = forms.TimeField(label=_("Reminder time"),
                                    widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

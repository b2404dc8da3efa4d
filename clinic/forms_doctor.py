"""Forms of the doctor and hospital-staff pages. They parse and check input shapes; the services
own the rules (and their errors are attached back to these forms)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic.models import AppointmentStatus, AppointmentType, AvailabilityException
from core.forms import AccessibleErrorsMixin

WEEKDAY_CHOICES = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
                   (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday"))]
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
ONLINE = ""


class PlaceField(forms.ChoiceField):
    """Online ("") or a hospital id. Any approved hospital is accepted here, so the service can
    say "you do not work at that hospital" instead of a bare "invalid choice"."""

    def __init__(self, *, valid_ids=(), **kwargs):
        super().__init__(**kwargs)
        self.valid_ids = set(valid_ids)

    def valid_value(self, value):
        return value == ONLINE or value in self.valid_ids or super().valid_value(value)


# --- doctor: weekly schedule -------------------------------------------------------------------------

class WindowForm(AccessibleErrorsMixin, forms.Form):
    weekday = forms.TypedChoiceField(label=_("Day"), coerce=int, choices=[("", "—"), *WEEKDAY_CHOICES])
    start_time = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time", "step": 300},
                                                                         format="%H:%M"))
    end_time = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time", "step": 300},
                                                                     format="%H:%M"))
    place = PlaceField(label=_("Place"), required=False)
    slot_minutes = forms.IntegerField(label=_("Slot (min)"), min_value=5, max_value=240, initial=30,
                                      widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 5}))
    buffer_minutes = forms.IntegerField(label=_("Buffer (min)"), min_value=0, max_value=120, initial=0,
                                        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 5}))

    def __init__(self, *args, place_choices=(), valid_place_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [(ONLINE, _("Online")), *place_choices]
        self.fields["place"].valid_ids = set(valid_place_ids)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", _("The window must end after it starts."))
        return data

    def has_changed(self):
        # A blank extra row still carries the initial slot length and buffer: only the day and the
        # times say whether the doctor filled it in.
        return any(self.data.get(self.add_prefix(name)) for name in ("weekday", "start_time", "end_time"))


class BaseWindowFormSet(forms.BaseFormSet):
    def __init__(self, *args, place_choices=(), valid_place_ids=(), **kwargs):
        self.place_choices = list(place_choices)
        self.valid_place_ids = set(valid_place_ids)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = {"place_choices": self.place_choices, "valid_place_ids": self.valid_place_ids}
        if index is not None:
            # Every row may be left blank: emptying a row removes that window, like "Remove".
            kwargs["empty_permitted"] = True
        return kwargs

    def kept_forms(self):
        """Filled-in rows not marked for removal, in page order."""
        return [f for f in self.forms if f.has_changed() and not self._should_delete_form(f)]

    def windows(self, hospitals_by_id) -> list[dict]:
        return [{
            "weekday": f.cleaned_data["weekday"], "start_time": f.cleaned_data["start_time"],
            "end_time": f.cleaned_data["end_time"],
            "hospital": hospitals_by_id.get(f.cleaned_data["place"]) if f.cleaned_data["place"] else None,
            "slot_minutes": f.cleaned_data["slot_minutes"], "buffer_minutes": f.cleaned_data["buffer_minutes"],
        } for f in self.kept_forms()]

    def number_rows(self):
        """Number the kept rows 1, 2, … the way the service counts them in its messages."""
        n = 0
        for form in self.forms:
            if form.has_changed() and not self._should_delete_form(form):
                n += 1
                form.row_number = n
            else:
                form.row_number = None


WindowFormSet = forms.formset_factory(WindowForm, formset=BaseWindowFormSet, extra=3, can_delete=True,
                                      max_num=60, absolute_max=80, validate_max=True)


class ExceptionForm(AccessibleErrorsMixin, forms.Form):
    """Times are typed in the doctor's own zone; the view parses them with that zone active."""

    kind = forms.ChoiceField(label=_("Kind"), choices=AvailabilityException.Kind.choices)
    start = forms.DateTimeField(label=_("From"), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL))
    end = forms.DateTimeField(label=_("Until"), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL))
    reason = forms.CharField(label=_("Note (optional)"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end must be after the start."))
        return data


# --- search and filters -----------------------------------------------------------------------------

class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False,
                        widget=forms.TextInput(attrs={"type": "search"}))


class HospitalAppointmentFilterForm(AccessibleErrorsMixin, forms.Form):
    doctor = forms.ChoiceField(label=_("Doctor"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *AppointmentStatus.choices])
    type = forms.ChoiceField(label=_("Type"), required=False,
                             choices=[("", _("Any type")), *AppointmentType.choices])

    def __init__(self, *args, doctors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].choices = [("", _("All doctors")), *((str(d.pk), d.user.name) for d in doctors)]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date must not be before the start date."))
        return data


class PickForm(forms.Form):
    """A hidden id posted by an "Add" or "Remove" button."""

    id = forms.UUIDField()


class PatientRegisterForm(AccessibleErrorsMixin, forms.Form):
    login = forms.CharField(label=_("Patient's account email or phone"), max_length=254,
                            help_text=_("The email or phone number the patient signs in with."),
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))

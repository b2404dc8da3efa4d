"""Forms of the patient-side clinic pages. They parse input only; rules live in clinic.services."""

import datetime as dt

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic import selectors
from clinic.models import AppointmentStatus, AppointmentType, Gender, Relation
from core.forms import AccessibleErrorsMixin

MODE_CHOICES = [("", _("Any type")), (AppointmentType.REMOTE, _("Online")),
                (AppointmentType.REGULAR, _("In person"))]


class DoctorSearchForm(AccessibleErrorsMixin, forms.Form):
    specialty = forms.ChoiceField(label=_("Specialty"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False,
                                 choices=[("", _("Any language")), *settings.LANGUAGES])
    hospital = forms.ModelChoiceField(label=_("Hospital"), required=False, queryset=None,
                                      empty_label=_("Any hospital"))
    mode = forms.ChoiceField(label=_("Consultation"), required=False, choices=MODE_CHOICES)
    free_from = forms.DateField(label=_("Free from"), required=False,
                                help_text=_("Show each doctor's first free time on or after this date."),
                                widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = [("", _("Any specialty")),
                                            *[(s, s) for s in selectors.doctor_specialties()]]
        self.fields["hospital"].queryset = selectors.hospitals_directory()


class PatientChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, patient):
        return patient.name


class BookingForm(AccessibleErrorsMixin, forms.Form):
    patient = PatientChoiceField(label=_("Who is the appointment for?"), queryset=None, empty_label=None)
    reason = forms.CharField(label=_("Reason for visit"), required=False, max_length=2000,
                             help_text=_("Optional. A few words help the doctor prepare."),
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, patients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients


class CancelForm(AccessibleErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Give a reason for the cancellation.")})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "cancel")
        super().__init__(*args, **kwargs)


class RescheduleForm(AccessibleErrorsMixin, forms.Form):
    """The page offers free slots as radio buttons grouped by day; the posted time is parsed here
    and the service decides whether it is still free."""

    start = forms.CharField(label=_("New time"), error_messages={"required": _("Choose one of the free times.")})
    reason = forms.CharField(label=_("Reason for the change (optional)"), required=False, max_length=1000)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "reschedule")
        super().__init__(*args, **kwargs)

    def clean_start(self):
        try:
            value = dt.datetime.fromisoformat(self.cleaned_data["start"])
        except ValueError:
            value = None
        if value is None or timezone.is_naive(value):
            raise forms.ValidationError(_("Choose one of the free times."))
        return value


class CompleteForm(AccessibleErrorsMixin, forms.Form):
    notes = forms.CharField(label=_("Notes (only you and administrators see them)"), required=False,
                            max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "complete")
        super().__init__(*args, **kwargs)


class EmergencyForm(AccessibleErrorsMixin, forms.Form):
    patient = PatientChoiceField(label=_("Who needs help?"), queryset=None, empty_label=None)
    reason = forms.CharField(label=_("What is happening?"), max_length=1000,
                             help_text=_("One or two sentences are enough."),
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("Describe briefly what is happening.")})
    hospital = forms.ChoiceField(label=_("Hospital (optional)"), required=False)

    def __init__(self, *args, patients, hospital_links, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients
        self.hospital_links = list(hospital_links)
        hospitals = {str(link.hospital_id): link.hospital for link in self.hospital_links}
        self.fields["hospital"].choices = [("", _("Any of the patient's hospitals")),
                                           *[(pk, h.name) for pk, h in hospitals.items()]]
        self.hospitals = hospitals

    def clean(self):
        data = super().clean()
        patient, hospital_id = data.get("patient"), data.get("hospital")
        data["hospital"] = None
        if patient is not None and hospital_id:
            if not any(str(link.hospital_id) == hospital_id and link.patient_id == patient.pk
                       for link in self.hospital_links):
                self.add_error("hospital", _("%(name)s is not registered with that hospital.") % {"name": patient.name})
            else:
                data["hospital"] = self.hospitals[hospital_id]
        return data


class DependentForm(AccessibleErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=150)
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", _("Choose…")), *Gender.choices])
    relation = forms.ChoiceField(label=_("How are they related to you?"),
                                 choices=[("", _("Choose…")), *[(v, l) for v, l in Relation.choices
                                                                if v != Relation.SELF]])
    contact = forms.CharField(label=_("Contact phone (optional)"), max_length=30, required=False,
                              widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "dir": "ltr"}))
    emergency_contact = forms.CharField(label=_("Emergency contact (optional)"), max_length=200, required=False)


class RelationForm(AccessibleErrorsMixin, forms.Form):
    """Change a family link's relation (what the patient is to the linked account)."""

    relation = forms.ChoiceField(label=_("Relation"),
                                 choices=[(v, l) for v, l in Relation.choices if v != Relation.SELF])


class AppointmentFilterForm(forms.Form):
    when = forms.ChoiceField(label=_("Show"), required=False,
                             choices=[("upcoming", _("Upcoming")), ("past", _("Past"))])
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *AppointmentStatus.choices])


class FamilyInviteForm(AccessibleErrorsMixin, forms.Form):
    """A manager invites another account to act for one of the patients whose access they manage."""

    patient = forms.ChoiceField(label=_("For"))
    login = forms.CharField(label=_("Their account email or phone"), max_length=254,
                            help_text=_("The email or phone number they sign in to Haven with."),
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))
    relation = forms.ChoiceField(label=_("The patient is their"),
                                 choices=[c for c in Relation.choices if c[0] != Relation.SELF],
                                 help_text=_("For example “Child” when you invite the patient's parent."))

    def __init__(self, *args, patients, **kwargs):
        super().__init__(*args, **kwargs)
        self.patients = {str(p.pk): p for p in patients}
        self.fields["patient"].choices = [(pk, p.name) for pk, p in self.patients.items()]

    def clean_patient(self):
        return self.patients[self.cleaned_data["patient"]]

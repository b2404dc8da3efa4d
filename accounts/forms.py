import datetime as dt

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import human_check
from accounts.models import TIMEZONE_CHOICES, User
from clinic.models import Gender
from core.emails import EmailAddressField
from core.forms import AccessibleErrorsMixin
from core.phones import ltr_numbers_lazy

WEEKDAYS = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]


# Phone fields type left to right even on a right-to-left page ("+1202…" would show as "…2021+").
TEL_ATTRS = {"autocomplete": "tel", "inputmode": "tel", "dir": "ltr"}
PHONE_HELP = ltr_numbers_lazy(_("International format, e.g. +12025550123."))

class PasswordField(forms.CharField):
    widget = forms.PasswordInput(attrs={"autocomplete": "new-password"})

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Password"))
        kwargs.setdefault("help_text", _("At least 10 characters; not a common password."))
        super().__init__(strip=False, **kwargs)


class IdentityFieldsMixin(AccessibleErrorsMixin, forms.Form):
    """Fields every signup shares. Cross-field rules (uniqueness, password strength) are checked
    by the service, whose errors are attached to these fields by name."""

    name = forms.CharField(label=_("Full name"), max_length=150,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = EmailAddressField(label=_("Email"), required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Phone"), max_length=20,
                            help_text=PHONE_HELP,
                            widget=forms.TextInput(attrs=TEL_ATTRS))
    password = PasswordField()
    password_confirm = forms.CharField(label=_("Repeat password"), strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_confirm") and data["password"] != data["password_confirm"]:
            self.add_error("password_confirm", _("The two passwords differ."))
        return data


class HumanCheckMixin(forms.Form):
    """The public sign-up forms' human check (accounts.human_check): a solved ALTCHA proof of work,
    or else the answer to the short question shown when JavaScript cannot solve it. The page
    renders these fields with accounts/_human_check.html, not among the other fields."""

    altcha = forms.CharField(required=False, widget=forms.HiddenInput)
    human_token = forms.CharField(required=False, widget=forms.HiddenInput)
    human_answer = forms.CharField(required=False, max_length=10,
                                   widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A new challenge and question on every render (each works once).
        self.altcha_challenge = human_check.new_challenge()
        a, b, token = human_check.new_question()
        self.fields["human_answer"].label = _("What is %(a)d plus %(b)d? Answer with a number.") % {"a": a, "b": b}
        self.fields["human_answer"].help_text = _("This shows that a person, not a program, is signing up. "
                                                  "Your browser usually answers it for you.")
        self.initial["human_token"] = token
        self.initial["altcha"] = ""
        self.initial["human_answer"] = ""

    def visible_fields(self):
        return [f for f in super().visible_fields() if f.name != "human_answer"]

    def clean(self):
        cleaned = super().clean()
        if human_check.verify_solution(cleaned.get("altcha", "")):
            return cleaned
        if human_check.verify_answer(self.data.get(self.add_prefix("human_token"), ""), cleaned.get("human_answer", "")):
            return cleaned
        self.add_error("human_answer", _("Answer the question to show that you are not a program (or try again: "
                                         "the check may have expired)."))
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # A re-rendered form shows the new question and token, not the spent ones.
        self.data = self.data.copy()
        for name in ("altcha", "human_token", "human_answer"):
            self.data[self.add_prefix(name)] = self.initial[name]


class PatientSignupForm(HumanCheckMixin, IdentityFieldsMixin):
    date_of_birth = forms.DateField(label=_("Date of birth"),
                                    widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", _("Choose…")), *Gender.choices])
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=settings.LANGUAGES)
    location = forms.CharField(label=_("City or region"), max_length=200, required=False)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="UTC")
    photo = forms.ImageField(label=_("Profile photo (optional)"), required=False)

    field_order = ["name", "date_of_birth", "gender", "phone", "email", "preferred_language", "location",
                   "timezone", "photo", "password", "password_confirm"]

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        return value


class ApplicationFieldsMixin(AccessibleErrorsMixin, forms.Form):
    specialty = forms.CharField(label=_("Specialty"), max_length=120)
    years_experience = forms.IntegerField(label=_("Years of experience"), min_value=0, max_value=70)
    cv_text = forms.CharField(label=_("Training and experience"), widget=forms.Textarea(attrs={"rows": 5}))
    cv_file = forms.FileField(label=_("CV (PDF or image, optional)"), required=False)
    identity_proof = forms.FileField(label=_("Proof of identity (PDF or image)"),
                                     help_text=_("A medical licence, passport or national ID. Stored encrypted "
                                                 "and seen only by Haven administrators."))

    def timeslots_from(self, data):
        """Read the weekly table (day_N_start / day_N_end) into a list of slots."""
        slots, errors = [], []
        for weekday in range(7):
            start, end = data.get(f"day_{weekday}_start"), data.get(f"day_{weekday}_end")
            if not start and not end:
                continue
            try:
                start_t, end_t = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
            except (TypeError, ValueError):
                errors.append(_("%(day)s: give both a start and an end time.") % {"day": WEEKDAYS[weekday]})
                continue
            slots.append({"weekday": weekday, "start": start_t.strftime("%H:%M"), "end": end_t.strftime("%H:%M")})
        return slots, errors

    initial_timeslots: list = []

    def weekly_rows(self):
        if self.is_bound:
            data = self.data
        else:
            data = {f"day_{s['weekday']}_{k}": s[k] for s in self.initial_timeslots for k in ("start", "end")}
        return [{"weekday": i, "label": WEEKDAYS[i], "start": data.get(f"day_{i}_start", ""),
                 "end": data.get(f"day_{i}_end", "")} for i in range(7)]


class DoctorApplicationForm(HumanCheckMixin, IdentityFieldsMixin, ApplicationFieldsMixin):
    email = EmailAddressField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    photo = forms.ImageField(label=_("Profile photo"), required=False)
    timezone = forms.ChoiceField(label=_("Your time zone"), choices=TIMEZONE_CHOICES, initial="UTC")

    field_order = ["name", "email", "phone", "specialty", "years_experience", "cv_text", "cv_file",
                   "identity_proof", "photo", "timezone", "password", "password_confirm"]


class DoctorReapplyForm(ApplicationFieldsMixin):
    pass


class HospitalSignupForm(HumanCheckMixin, IdentityFieldsMixin):
    hospital_name = forms.CharField(label=_("Hospital name"), max_length=200)
    address = forms.CharField(label=_("Street address"), max_length=300)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    state = forms.CharField(label=_("State / region"), max_length=100, required=False)
    country = forms.CharField(label=_("Country"), max_length=100, required=False)
    pin_code = forms.CharField(label=_("PIN / postal code"), max_length=20, required=False)
    contact = forms.CharField(label=_("Hospital phone"), max_length=30, widget=forms.TextInput(attrs=TEL_ATTRS))
    specialities = forms.CharField(label=_("Specialities"), required=False,
                                   help_text=_("Comma-separated, e.g. Psychiatry, Cardiology"))
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    email = EmailAddressField(label=_("Your work email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Your phone (optional)"), max_length=20, required=False,
                            widget=forms.TextInput(attrs=TEL_ATTRS))
    name = forms.CharField(label=_("Your full name"), max_length=150)

    field_order = ["hospital_name", "address", "city", "state", "country", "pin_code", "contact",
                   "specialities", "website", "name", "email", "phone", "password", "password_confirm"]

    def clean_specialities(self):
        return [s.strip() for s in self.cleaned_data["specialities"].split(",") if s.strip()]


class StaffInviteForm(AccessibleErrorsMixin, forms.Form):
    email = EmailAddressField(label=_("Colleague's email"))


class StaffAcceptForm(AccessibleErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=150)
    phone = forms.CharField(label=_("Phone (optional)"), max_length=20, required=False,
                            widget=forms.TextInput(attrs=TEL_ATTRS))
    password = PasswordField()


class ProfileForm(AccessibleErrorsMixin, forms.ModelForm):
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)
    photo = forms.ImageField(label=_("Profile photo"), required=False)
    current_password = forms.CharField(
        label=_("Current password"), required=False, strip=False,
        help_text=_("Needed only to change your email or phone."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    class Meta:
        model = User
        fields = ["name", "email", "phone", "preferred_language", "location", "timezone"]
        widgets = {"phone": forms.TextInput(attrs=TEL_ATTRS)}
        help_texts = {"phone": PHONE_HELP}
        field_classes = {"email": EmailAddressField}


class OTPTokenForm(AccessibleErrorsMixin, forms.Form):
    token = forms.CharField(label=_("Code"), max_length=16,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                          "autofocus": True}))


class PasswordConfirmForm(AccessibleErrorsMixin, forms.Form):
    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TwoFactorRemoveForm(PasswordConfirmForm):
    token = forms.CharField(label=_("Code from your authenticator app, or a backup code"), max_length=16,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class LoginForm(AccessibleErrorsMixin, AllauthLoginForm):
    """allauth's email-or-phone login, with accessible errors and Haven's own (translated) labels."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        login = self.fields["login"]
        login.label = _("Email or phone")
        # dir=auto: an e-mail or a phone number types left to right on a right-to-left page too
        login.widget.attrs.update({"placeholder": _("you@example.com or +12025550123"), "autocomplete": "username",
                                   "dir": "auto"})
        self.fields["password"].label = _("Password")
        # allauth adds its own "Forgot your password?" link as help text; the page has one already.
        self.fields["password"].help_text = ""
        if "remember" in self.fields:
            self.fields["remember"].label = _("Keep me signed in on this device")

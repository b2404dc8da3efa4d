"""Forms of the doctor's risk controls (flag, confirm, dismiss, clear)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import AccessibleErrorsMixin
from wellness.models import RiskFlag


class RiskFlagRaiseForm(AccessibleErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("What you observed. The care team sees this with the flag."))
    follow_up = forms.ChoiceField(label=_("Follow-up"), choices=RiskFlag.FollowUp.choices, widget=forms.RadioSelect,
                                  help_text=_("Creates a task: a call is due tomorrow, an emergency consultation "
                                              "today, resources in 3 days."))


class RiskFlagConfirmForm(AccessibleErrorsMixin, forms.Form):
    follow_up = forms.ChoiceField(label=_("Follow-up"), choices=RiskFlag.FollowUp.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note (optional)"), max_length=1000, required=False)


class RiskFlagNoteForm(AccessibleErrorsMixin, forms.Form):
    note = forms.CharField(label=_("Note (optional)"), max_length=1000, required=False)

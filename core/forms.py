"""Form behaviour shared by every Haven form: values the database and date arithmetic can take,
and errors that screen readers announce."""

import datetime as dt
import decimal
import math

from django import forms
from django.utils.translation import gettext as _

from core.schemas import MAX_DATE, MAX_INT, MIN_DATE


class StorableValuesMixin:
    """After each field's own cleaning (and before the form's ``clean``), a field error for a value
    no field type refuses by itself but that would answer 500 further on: a NUL character, a date
    too close to year 1 or 9999 for date arithmetic (see core.schemas), a number too big for a
    bigint column, a time of day with an offset."""

    def _clean_fields(self):
        super()._clean_fields()
        for name, value in list(self.cleaned_data.items()):
            message = storable_value_error(value)
            if message:
                self.add_error(name, message)


def storable_value_error(value) -> str | None:
    if isinstance(value, str):
        return _("Text must not contain NUL (\\x00) characters.") if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _("This number is too big.") if abs(value) > MAX_INT else None
    if isinstance(value, decimal.Decimal):
        return None if value.is_finite() else _("Give a finite number.")
    if isinstance(value, float):
        return None if math.isfinite(value) else _("Give a finite number.")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if not MIN_DATE <= value <= MAX_DATE:
            return _("Give a date between %(min)s and %(max)s.") % {"min": MIN_DATE.isoformat(),
                                                                    "max": MAX_DATE.isoformat()}
        return None
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return _("Give a local time of day (HH:MM) without a UTC offset.")
    if isinstance(value, list | tuple):
        return next((m for m in map(storable_value_error, value) if m), None)
    return None


class AccessibleErrorsMixin(StorableValuesMixin):
    """Mark invalid inputs with aria-invalid and point them at their help text and error messages
    (ids rendered by templates/includes/form_fields.html). Errors added later by a view (from a
    service's validation) are marked too."""

    def full_clean(self):
        super().full_clean()
        self._mark_errors()

    def add_error(self, field, error):
        super().add_error(field, error)
        if hasattr(self, "cleaned_data"):
            self._mark_errors()

    def _mark_errors(self):
        for name, field in self.fields.items():
            bound = self[name]
            described = [f"{bound.id_for_label}_help"] if field.help_text else []
            if name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"
                described.append(f"{bound.id_for_label}_error")
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)


class LabelsField(forms.CharField):
    """A short list of labels (a JSON list in the database: a hospital's specialities, the languages
    a doctor speaks) edited as comma-separated text instead of raw JSON."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.setdefault("help_text", _("Comma-separated, e.g. Psychiatry, Cardiology"))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return [str(v).strip() for v in value if str(v).strip()]
        return [part.strip() for part in str(value or "").split(",") if part.strip()]

    def has_changed(self, initial, data):
        return self.to_python(initial) != self.to_python(data)

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for label in value:
            if len(label) > 100:
                raise forms.ValidationError(_("Each entry can be at most 100 characters."), code="max_length")

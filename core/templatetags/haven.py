import datetime as dt

from django import template
from django.utils import timezone

from core.timezones import short_datetime_for

register = template.Library()


@register.filter
def age(date_of_birth: dt.date | None) -> int | str:
    """Whole years between a date of birth and today."""
    if not date_of_birth:
        return ""
    today = timezone.localdate()
    return today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))


@register.filter
def language_names(codes) -> str:
    """["en", "es"] → "English, Spanish" in the viewer's language (unknown codes shown as given)."""
    from django.utils.translation import get_language_info

    names = []
    for code in codes or []:
        try:
            names.append(get_language_info(code)["name_translated"])
        except KeyError:
            names.append(code)
    return ", ".join(str(n) for n in names)


@register.filter
def datetime_for(value: dt.datetime | None, user) -> str:
    """``{{ when|datetime_for:user }}``: the account's zone and short format, exactly as its live
    (websocket) payloads say it (core.timezones.short_datetime_for)."""
    if not value:
        return ""
    return short_datetime_for(value, user)

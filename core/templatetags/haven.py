import datetime as dt
import re

from django import template
from django.utils import timezone
from django.utils.html import format_html

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


@register.filter
def phone(value) -> str:
    """A phone number isolated left to right: in Arabic (right-to-left) text "+12025550123" would
    otherwise read "12025550123+". ``{{ user.phone|phone|default:"—" }}``."""
    if not value:
        return ""
    return format_html('<bdi class="phone" dir="ltr">{}</bdi>', value)


@register.filter
def phone_link(value) -> str:
    """A phone number as a tel: link (digits and a leading + only), isolated left to right."""
    if not value:
        return ""
    number = re.sub(r"(?!^\+)[^\d]", "", str(value).strip())
    return format_html('<a class="phone" dir="ltr" href="tel:{}">{}</a>', number, value)

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext as _

LRI, PDI = "\u2066", "\u2069"  # Unicode "left-to-right isolate" ... "pop directional isolate"


def normalize_phone(raw: str) -> str:
    """Return the number in E.164 (+12025550123); raise ValidationError when it is not a number."""
    try:
        number = phonenumbers.parse(raw.strip(), settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(ltr_numbers(_("Enter a valid phone number, e.g. +12025550123.")), code="bad_phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(ltr_numbers(_("Enter a valid phone number, e.g. +12025550123.")), code="bad_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(value: str) -> bool:
    return "@" not in value


def ltr_numbers(text) -> str:
    """Phone numbers inside a sentence isolated left to right (LRI ... PDI), for text that cannot
    carry markup (help texts, placeholders): in an Arabic sentence "+12025550123" would read
    "12025550123+". Pages mark shown numbers up instead (the ``phone`` template filter)."""
    return re.sub(r"(?<!\u2066)\+\d[\d ()-]*\d", lambda m: LRI + m.group(0) + PDI, str(text))


ltr_numbers_lazy = lazy(ltr_numbers, str)

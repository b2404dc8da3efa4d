"""The one e-mail address rule of every web form and API schema (they used to differ: the forms took
``ana@clinic.test``, the API refused it).

An address must be syntactically valid (RFC 5321/5322 as the ``email-validator`` library reads it)
and its domain must not be a special-use or reserved name (``.test``, ``.invalid``, ``.local``,
``.localhost``, ``.onion``, ``.arpa``): mail to those never arrives, and every sign-up sends a
verification e-mail. Deliverability (DNS) is not checked: that is what the verification e-mail is for.
"""

from typing import Annotated

import email_validator
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pydantic import AfterValidator, Field


def validate_email_address(value: str) -> str:
    """Return the address normalised (domain lower-cased) or raise a ValidationError."""
    value = (value or "").strip()
    try:
        result = email_validator.validate_email(value, check_deliverability=False, test_environment=False,
                                                globally_deliverable=True)
    except email_validator.EmailNotValidError as exc:
        domain = value.rpartition("@")[2].lower().rstrip(".")
        if domain and any(domain == name or domain.endswith("." + name)
                          for name in email_validator.SPECIAL_USE_DOMAIN_NAMES):
            raise ValidationError(_("Mail to %(domain)s cannot be delivered (a reserved name). Enter an address "
                                    "you can receive e-mail at.") % {"domain": domain}, code="reserved_domain") from exc
        raise ValidationError(_("Enter a valid email address."), code="invalid") from exc
    return result.normalized


def _schema_check(value: str) -> str:
    from pydantic_core import PydanticCustomError

    try:
        return validate_email_address(value)
    except ValidationError as exc:
        raise PydanticCustomError("email", str(exc.messages[0])) from None


# For API schemas: the same rule as the forms' EmailAddressField.
EmailAddress = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"}), AfterValidator(_schema_check)]


class EmailAddressField(forms.EmailField):
    """For forms: the same rule as the API's ``EmailAddress``."""

    default_validators = []

    def clean(self, value):
        value = super().clean(value)
        return validate_email_address(value) if value else value

"""What every /api/v1 input is checked for, whatever the endpoint: the base of the API's schemas, its
JSON/query parser and its paginator.

Bad input must get a clear 4xx naming the field, never reach the database and come back as a 500.
The values that did (an audit's fuzzing): NUL characters (Postgres refuses them in text), times of
day with a UTC offset (a wall-clock time field cannot store one), dates so close to year 1 or 9999
that adding a day overflows, numbers too big for a 64-bit column, NaN and Infinity, huge page offsets.
"""

import datetime as dt
import json
import math
from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Field
from ninja.conf import settings as ninja_settings
from ninja import Schema as NinjaSchema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination as NinjaLimitOffsetPagination
from ninja.parser import Parser
from pydantic import AfterValidator, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# Dates and times the API accepts: wide enough for any date of birth or plan, far enough from the
# ends of the calendar that date arithmetic (a day later, a week earlier) cannot overflow.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
MAX_INT = 2**63 - 1  # a bigint column
MAX_OFFSET = 1_000_000


def nul_error():
    return PydanticCustomError("nul_character", _("Text must not contain NUL (\\x00) characters."))


def check_value(value, *, naive_datetimes_ok: bool = False):
    """Raise a PydanticCustomError if ``value`` (or anything inside it) is one that the database
    or date arithmetic cannot take; return it unchanged otherwise."""
    if isinstance(value, str):
        if "\x00" in value:
            raise nul_error()
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if abs(value) > MAX_INT:
            raise PydanticCustomError("number_too_big", _("This number is too big."))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("finite_number", _("Give a finite number."))
    elif isinstance(value, dt.datetime):
        if not MIN_DATE <= value.date() <= MAX_DATE:
            raise _date_range_error()
        if value.tzinfo is None and not naive_datetimes_ok:
            raise PydanticCustomError("naive_datetime", _("Give the time with its time zone."))
        if value.tzinfo is not None and not MIN_DATE <= value.astimezone(dt.UTC).date() <= MAX_DATE:
            raise _date_range_error()
    elif isinstance(value, dt.date):
        if not MIN_DATE <= value <= MAX_DATE:
            raise _date_range_error()
    elif isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise PydanticCustomError(
                "time_with_offset", _("Give a local time of day (HH:MM) without a UTC offset."))
    elif isinstance(value, dict):
        for key, item in value.items():
            check_value(key)
            check_value(item, naive_datetimes_ok=naive_datetimes_ok)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_value(item, naive_datetimes_ok=naive_datetimes_ok)
    return value


def _date_range_error():
    return PydanticCustomError(
        "date_out_of_range", _("Give a date between %(min)s and %(max)s.")
        % {"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()})


def date_in_range(day: dt.date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


def date_range_message() -> str:
    return str(_date_range_error().message())


# For path and query parameters declared one by one (a Schema checks its own fields).
Day = Annotated[dt.date, AfterValidator(check_value)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
# A JSON list of short labels stored as it is (a hospital's specialities, the languages a doctor
# speaks): bounded, so that a client cannot store megabytes or shapes the pages do not expect.
Labels = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50)]


class Schema(NinjaSchema):
    """The base of every /api/v1 schema. On input (not when shaping an answer) each field is
    checked with ``check_value``: no NUL characters, finite numbers that fit a bigint, dates in
    MIN_DATE..MAX_DATE, datetimes with their offset, times of day without one."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value, info: ValidationInfo):
        if info.context and "response_status" in info.context:
            return value  # an answer: what the database holds, already stored
        return check_value(value)


class HavenParser(Parser):
    """JSON as the standard defines it (no NaN or Infinity); no NUL characters in query strings
    and form fields, answered 422 naming the field (JSON bodies are checked field by field by
    Schema, with the field's own location)."""

    def parse_body(self, request):
        return json.loads(request.body, parse_constant=_reject_constant)

    def parse_querydict(self, data, list_fields, request):
        errors = [{"loc": ("query", key), "msg": str(nul_error().message()), "type": "nul_character"}
                  for key in data.keys() if "\x00" in key or any("\x00" in str(v) for v in data.getlist(key))]
        if errors:
            raise NinjaValidationError(errors)
        return super().parse_querydict(data, list_fields, request)


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


class LimitOffsetPagination(NinjaLimitOffsetPagination):
    """Ninja's limit/offset pages with an offset the database can take."""

    class Input(Schema):
        limit: int = Field(ninja_settings.PAGINATION_PER_PAGE, ge=1)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

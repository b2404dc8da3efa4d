"""``Appointment.extras``: what services attach to an appointment, never what a client sends.

- ``call``: the online call's log, written by telehealth.calls when both people are in the room
  and when the last one leaves;
- ``call_request``: the chat call request the appointment was booked for, written when the doctor
  accepts it (telehealth.call_requests).

Each key has a schema, checked when a service writes it (a wrong value is a bug: it raises) and
when anything reads it: a stored value that does not match (written by hand in the admin, or by an
API that let clients write extras) is ignored and logged, so it never makes a page or an answer 500.
"""

import logging
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = logging.getLogger(__name__)


class CallLog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    duration_s: int | None = Field(None, ge=0, le=10**7)
    ended_by: Literal["participants", "timeout"] | None = None

    @field_validator("started_at", "ended_at")
    @classmethod
    def _showable(cls, value):
        if value is not None and not 1900 <= value.year <= 2199:
            raise ValueError("outside the years a call can have happened")
        return value


class CallRequestLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., max_length=64)
    audio_only: bool = False


SCHEMAS: dict[str, type[BaseModel]] = {"call": CallLog, "call_request": CallRequestLink}


def _stored(appointment) -> dict:
    extras = appointment.extras if appointment is not None else None
    return extras if isinstance(extras, dict) else {}


def extras_get(appointment, key: str) -> dict | None:
    """The stored value of a server key as it was written, or None if missing or malformed."""
    value = _stored(appointment).get(key)
    if value is None:
        return None
    try:
        SCHEMAS[key].model_validate(value, strict=False)
    except ValidationError:
        logger.warning("appointment %s: ignoring malformed extras[%r]", appointment.pk, key)
        return None
    return value


def call_log(appointment) -> CallLog | None:
    value = extras_get(appointment, "call")
    return CallLog.model_validate(value) if value is not None else None


def extras_with(appointment, **values) -> dict:
    """The appointment's extras (None: a new appointment's) with these server keys set (checked against their schema; a
    malformed stored value of another server key is dropped, other keys are kept as they are)."""
    extras = {key: value for key, value in _stored(appointment).items()
              if key not in SCHEMAS or extras_get(appointment, key) is not None}
    for key, value in values.items():
        SCHEMAS[key].model_validate(value)  # a service writing a wrong value is a bug: raise
        extras[key] = value
    return extras

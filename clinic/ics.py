"""iCalendar (RFC 5545) for appointments: email invitations (RFC 5546 METHOD:REQUEST / CANCEL)
and the per-user feed.

Written by hand because we need a few properties only: CRLF line ends, lines folded at 75 octets
(never inside a UTF-8 character), TEXT values escaped, times in UTC. ``parse`` reads back what
``calendar`` writes (tests and round-trip checks); it is not a general iCalendar parser.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q

from clinic.models import Appointment, AppointmentEvent, AppointmentStatus, AppointmentType

PRODID = "-//Haven//Appointments//EN"
CRLF = "\r\n"

# Event kinds that change what a calendar shows: each bumps the appointment's SEQUENCE, so a
# client replaces its copy instead of ignoring an "older" update.
SEQUENCE_KINDS = (AppointmentEvent.Kind.CONFIRMED, AppointmentEvent.Kind.RESCHEDULED,
                  AppointmentEvent.Kind.CANCELLED, AppointmentEvent.Kind.ACCEPTED)


def uid(appointment: Appointment) -> str:
    return f"{appointment.pk}@haven"


def sequence_of(appointment: Appointment, upto: AppointmentEvent | None = None) -> int:
    """How many schedule-changing events the appointment has had (up to ``upto`` included)."""
    events = appointment.events.filter(kind__in=SEQUENCE_KINDS)
    if upto is not None:
        events = events.filter(created_at__lte=upto.created_at)
    return events.count()


def with_sequence(queryset):
    """Annotate ``ics_sequence`` for a list of appointments in the same query (feeds)."""
    return queryset.annotate(ics_sequence=Count("events", filter=Q(events__kind__in=SEQUENCE_KINDS)))


def location_of(appointment: Appointment) -> str:
    if appointment.type == AppointmentType.REMOTE or appointment.hospital_id is None:
        return "Online"
    hospital = appointment.hospital
    parts = [hospital.name, hospital.address, hospital.city, hospital.state, hospital.pin_code, hospital.country]
    return ", ".join(p for p in parts if p)


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks."""
    return (str(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets; continuation lines start with a
    space (which counts towards their 75). Never splits a multi-byte UTF-8 character."""
    out, current, size, limit = [], [], 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size, limit = [" "], 1, 75
        current.append(char)
        size += width
    out.append("".join(current))
    return CRLF.join(out)


def format_utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Event:
    uid: str
    start: dt.datetime
    end: dt.datetime
    summary: str
    location: str = ""
    description: str = ""
    status: str = "CONFIRMED"  # TENTATIVE, CONFIRMED, CANCELLED
    sequence: int = 0
    url: str = ""
    stamp: dt.datetime | None = None
    organizer: tuple[str, str] | None = None  # (name, email)
    attendees: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            "BEGIN:VEVENT",
            f"UID:{self.uid}",
            f"DTSTAMP:{format_utc(self.stamp or dt.datetime.now(dt.UTC))}",
            f"SEQUENCE:{self.sequence}",
            f"DTSTART:{format_utc(self.start)}",
            f"DTEND:{format_utc(self.end)}",
            f"SUMMARY:{escape_text(self.summary)}",
            f"STATUS:{self.status}",
        ]
        if self.location:
            out.append(f"LOCATION:{escape_text(self.location)}")
        if self.description:
            out.append(f"DESCRIPTION:{escape_text(self.description)}")
        if self.url:
            out.append(f"URL:{self.url}")
        if self.organizer:
            name, email = self.organizer
            out.append(f'ORGANIZER;CN="{_param(name)}":mailto:{email}')
        for name, email in self.attendees:
            out.append(f'ATTENDEE;CN="{_param(name)}";ROLE=REQ-PARTICIPANT:mailto:{email}')
        out.append("END:VEVENT")
        return out


def _param(value: str) -> str:
    # Quoted parameter values may not contain DQUOTE or control characters (RFC 5545 §3.1).
    return "".join(c for c in str(value) if c != '"' and (c == "\t" or ord(c) >= 0x20))


def calendar(events: list[Event], *, method: str | None = None, name: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if method:
        lines.append(f"METHOD:{method}")
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    for event in events:
        lines += event.lines()
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def status_of(appointment: Appointment) -> str:
    if appointment.status == AppointmentStatus.CONFIRMED:
        return "CONFIRMED"
    if appointment.status == AppointmentStatus.REQUESTED:
        return "TENTATIVE"
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        return "CANCELLED"
    return "CONFIRMED"  # completed: it took place


def appointment_event(appointment: Appointment, *, summary: str, description: str = "", sequence: int = 0,
                      status: str | None = None, url: str = "", stamp: dt.datetime | None = None,
                      organizer=None, attendees=()) -> Event:
    return Event(uid=uid(appointment), start=appointment.start, end=appointment.end, summary=summary,
                 location=location_of(appointment), description=description,
                 status=status or status_of(appointment), sequence=sequence, url=url, stamp=stamp,
                 organizer=organizer, attendees=list(attendees))


# --- reading back --------------------------------------------------------------------------------

def unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.split(CRLF):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def unescape_text(value: str) -> str:
    out, chars = [], iter(value)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in "nN" else nxt)
        else:
            out.append(c)
    return "".join(out)


def parse(text: str) -> dict:
    """{"METHOD": ..., "events": [{"UID": ..., "DTSTART": datetime, ...}]} from ``calendar``'s output."""
    result: dict = {"events": []}
    current = None
    for line in unfold(text):
        name_params, _sep, value = line.partition(":")
        name = name_params.split(";", 1)[0].upper()
        if name == "BEGIN" and value == "VEVENT":
            current = {}
        elif name == "END" and value == "VEVENT":
            result["events"].append(current)
            current = None
        elif current is not None:
            if name in ("DTSTART", "DTEND", "DTSTAMP"):
                current[name] = dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            elif name == "SEQUENCE":
                current[name] = int(value)
            elif name == "ATTENDEE":
                current.setdefault(name, []).append(value)
            elif name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
                current[name] = unescape_text(value)
            else:
                current[name] = value
        elif name not in ("BEGIN", "END"):
            result[name] = value
    return result

"""Crisis lines per country, shown on an emergency request nobody has accepted within
EMERGENCY_CRISIS_LINES_MINUTES (or that could reach nobody at all).

A small, hand-kept table of national emergency numbers and, where there is one, the national
crisis or suicide-prevention line. A country not in the table gets the international fallback:
the local emergency number (112 works from mobile phones in most countries) and a directory of
helplines. The patient's country comes from the phone numbers Haven holds (the patient's account,
the patient record, the person looking), then from the patient's hospitals; see ``country_for``.
"""

from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class CrisisLine:
    name: str
    number: str = ""  # what to dial; empty for a web directory
    url: str = ""
    note: str = ""

    @property
    def tel(self) -> str:
        return "".join(c for c in self.number if c.isdigit() or c == "+")


EMERGENCY = _("Emergency services")

# ISO 3166-1 alpha-2 -> lines, the emergency number first.
LINES: dict[str, tuple[CrisisLine, ...]] = {
    "US": (CrisisLine(EMERGENCY, "911"),
           CrisisLine(_("988 Suicide & Crisis Lifeline"), "988", note=_("Call or text, 24 hours"))),
    "CA": (CrisisLine(EMERGENCY, "911"),
           CrisisLine(_("988 Suicide Crisis Helpline"), "988", note=_("Call or text, 24 hours"))),
    "GB": (CrisisLine(EMERGENCY, "999"),
           CrisisLine(_("Samaritans"), "116 123", note=_("Free, 24 hours")),
           CrisisLine(_("NHS 111 (urgent, not life-threatening)"), "111")),
    "IE": (CrisisLine(EMERGENCY, "112"),
           CrisisLine(_("Samaritans"), "116 123", note=_("Free, 24 hours"))),
    "IN": (CrisisLine(EMERGENCY, "112"),
           CrisisLine(_("Tele-MANAS mental health helpline"), "14416", note=_("Free, 24 hours"))),
    "ES": (CrisisLine(EMERGENCY, "112"),
           CrisisLine(_("Línea 024 (suicidal behaviour)"), "024", note=_("Free, 24 hours"))),
    "MX": (CrisisLine(EMERGENCY, "911"),
           CrisisLine(_("Línea de la Vida"), "800 911 2000", note=_("Free, 24 hours"))),
    "AU": (CrisisLine(EMERGENCY, "000"),
           CrisisLine(_("Lifeline"), "13 11 14", note=_("24 hours"))),
    "NZ": (CrisisLine(EMERGENCY, "111"),
           CrisisLine(_("Need to talk? 1737"), "1737", note=_("Call or text, 24 hours"))),
    "DE": (CrisisLine(EMERGENCY, "112"),
           CrisisLine(_("TelefonSeelsorge"), "0800 111 0 111", note=_("Free, 24 hours"))),
    "FR": (CrisisLine(EMERGENCY, "112"),
           CrisisLine(_("3114 suicide prevention"), "3114", note=_("Free, 24 hours"))),
    "AE": (CrisisLine(_("Ambulance"), "998"), CrisisLine(_("Police"), "999")),
    "SA": (CrisisLine(EMERGENCY, "911"), CrisisLine(_("Ambulance"), "997")),
    "EG": (CrisisLine(_("Ambulance"), "123"), CrisisLine(_("Police"), "122")),
}

INTERNATIONAL: tuple[CrisisLine, ...] = (
    CrisisLine(_("Your local emergency number"), "112",
               note=_("112 works from mobile phones in most countries")),
    CrisisLine(_("Find a helpline near you"), url="https://findahelpline.com/",
               note=_("Free crisis lines in many countries")),
)

# Country names people type into a hospital's address, for the table's countries.
_NAMES = {
    "united states": "US", "united states of america": "US", "usa": "US", "us": "US", "canada": "CA",
    "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "ireland": "IE", "india": "IN", "spain": "ES", "españa": "ES", "mexico": "MX", "méxico": "MX",
    "australia": "AU", "new zealand": "NZ", "germany": "DE", "deutschland": "DE", "france": "FR",
    "united arab emirates": "AE", "uae": "AE", "saudi arabia": "SA", "egypt": "EG",
}


def _region_of_phone(raw: str) -> str | None:
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, None)  # only numbers with a country code say where they are
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(number) or None


def _region_of_name(name: str) -> str | None:
    name = (name or "").strip().casefold()
    if len(name) == 2 and name.upper() in LINES:
        return name.upper()
    return _NAMES.get(name)


def country_for(patient, viewer=None) -> str | None:
    """The patient's country as an ISO code, or None when nothing Haven holds says it."""
    from clinic.models import Hospital, HospitalPatient

    phones = [getattr(patient.user, "phone", "") if patient.user_id else "", patient.contact,
              getattr(viewer, "phone", "") or ""]
    for raw in phones:
        region = _region_of_phone(raw or "")
        if region:
            return region
    names = Hospital.objects.filter(
        pk__in=HospitalPatient.objects.filter(patient=patient).values("hospital_id")).values_list("country", flat=True)
    for name in names:
        region = _region_of_name(name)
        if region:
            return region
    return None


def lines_for(country: str | None) -> tuple[CrisisLine, ...]:
    """The country's lines, or the international fallback."""
    return LINES.get((country or "").upper(), INTERNATIONAL)

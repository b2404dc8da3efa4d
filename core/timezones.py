"""Times as an account reads them: in the account's time zone, in its language's format.

One function for every surface that shows the same moment to a person — the page a server renders
(accounts.middleware activates the same zone and language for a signed-in request) and the live
payloads a websocket pushes (no request there, so nothing is activated) — so they never disagree.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import formats, timezone, translation


def zone_of(user) -> zoneinfo.ZoneInfo:
    """The account's time zone; UTC for an anonymous reader or an unknown name."""
    try:
        return zoneinfo.ZoneInfo(getattr(user, "timezone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def language_of(user) -> str:
    return getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE


def short_datetime_for(value: dt.datetime, user) -> str:
    """``value`` in the account's zone, in its language's short date-and-time format."""
    with translation.override(language_of(user)):
        return formats.date_format(timezone.localtime(value, zone_of(user)), "SHORT_DATETIME_FORMAT")

"""The per-user calendar feed: a page to create, rotate or revoke the secret URL, and the feed.

The feed URL is its own credential (calendar apps cannot sign in), so it is long, random,
revocable, and serves scheduling data only: reasons for visit appear only when the feed's owner
opted in (``CalendarFeed.include_reasons``), and then solely in the feeds of the patient side and of
the appointment's own doctor; clinical notes never. A fetch that lists other patients'
appointments is audited (``services.calendar_feed_read_record``).
"""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from clinic import ics, selectors, services
from clinic.models import AppointmentType, CalendarFeed, doctor_display_name

PAST = dt.timedelta(days=30)
FUTURE = dt.timedelta(days=365)


@require_http_methods(["GET", "POST"])
@login_required
def calendar_feed(request):
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rotate":
            services.calendar_feed_rotate(user=request.user)
            messages.success(request, _("Your calendar link is ready. Any previous link stopped working."))
        elif action == "revoke":
            services.calendar_feed_revoke(user=request.user)
            messages.success(request, _("Your calendar link was turned off."))
        elif action in ("reasons_on", "reasons_off"):
            services.calendar_feed_set_reasons(user=request.user, include=action == "reasons_on")
        return redirect("calendar_feed")
    feed = CalendarFeed.objects.filter(user=request.user).first()
    feed_url = request.build_absolute_uri(reverse("calendar_feed_ics", args=[feed.token])) if feed else None
    return render(request, "clinic/calendar/feed.html", {"feed": feed, "feed_url": feed_url})


def feed_appointments(user, now=None):
    """What a user's feed shows: their visible appointments from 30 days ago to a year ahead.
    Admins see their own family's only (their wider access is for audited, one-off reads), and
    emergencies still waiting for a doctor are a queue, not a calendar entry."""
    now = now or timezone.now()
    qs = selectors.appointments_visible_to(user)
    if user.is_admin:
        qs = qs.filter(patient_id__in=selectors.patient_ids_managed_by(user))
    qs = qs.filter(start__gte=now - PAST, start__lte=now + FUTURE).exclude(
        type=AppointmentType.EMERGENCY, doctor__isnull=True)
    return ics.with_sequence(qs).order_by("start")


def feed_document(user, now=None, *, include_reasons=False, appointments=None) -> str:
    now = now or timezone.now()
    own_patients = set(selectors.patient_ids_managed_by(user).values_list("patient_id", flat=True))
    own_doctor = selectors.doctor_profile_of(user)
    events = []
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        for a in (appointments if appointments is not None else feed_appointments(user, now)):
            doctor_name = doctor_display_name(a.doctor.user.name) if a.doctor_id else _("a doctor")
            mine_as_doctor = own_doctor is not None and a.doctor_id == own_doctor.pk
            if a.patient_id in own_patients:
                summary = _("Appointment with %(doctor)s") % {"doctor": doctor_name}
                if len(own_patients) > 1:
                    summary = f"{summary} ({a.patient.name})"
            elif mine_as_doctor:
                summary = _("Appointment: %(patient)s") % {"patient": a.patient.name}
            else:
                summary = f"{a.patient.name} · {doctor_name}"
            url = settings.SITE_URL + reverse("dashboard")
            lines = [a.get_type_display(), a.get_status_display()]
            if include_reasons and a.reason and (a.patient_id in own_patients or mine_as_doctor):
                lines.append(_("Reason: %(reason)s") % {"reason": a.reason})
            lines.append(url)
            events.append(ics.appointment_event(a, summary=summary, description="\n".join(lines),
                                                sequence=a.ics_sequence, url=url, stamp=now))
        return ics.calendar(events, method="PUBLISH", name=_("Haven appointments"))


@require_GET
def calendar_feed_ics(request, token):
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if feed is None or not feed.user.is_active:
        raise Http404
    appointments = list(feed_appointments(feed.user).select_related("patient", "doctor__user"))
    document = feed_document(feed.user, include_reasons=feed.include_reasons, appointments=appointments)
    services.calendar_feed_read_record(feed=feed, appointments=appointments, request=request)
    response = HttpResponse(document, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="haven.ics"'
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


urlpatterns = [
    path("calendar/", calendar_feed, name="calendar_feed"),
    path("calendar/<str:token>.ics", calendar_feed_ics, name="calendar_feed_ics"),
]

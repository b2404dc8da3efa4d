from django import template
from django.urls import NoReverseMatch, reverse

from telehealth import calls

register = template.Library()


@register.simple_tag(takes_context=True)
def call_join_info(context, appointment):
    """For the appointment page: None unless the viewer is one of the call's two participants;
    else whether the room is open now and when it opens and closes."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if appointment is None or user is None or calls.call_side_of(user, appointment) is None:
        return None
    try:
        url = reverse("call_room", args=[appointment.room_id])
    except NoReverseMatch:  # the call pages are not routed in this deployment
        return None
    opens, closes = calls.call_window(appointment)
    return {"open": calls.call_is_open(appointment), "opens": opens, "closes": closes, "url": url,
            "confirmed": appointment.status == "confirmed"}


@register.simple_tag
def call_record_info(appointment):
    """For the appointment page (everyone who may see the appointment): when its call started and
    ended and how long it lasted, or None if no call started."""
    record = calls.call_record(appointment) if appointment is not None else None
    if record is None:
        return None
    minutes = None if record["duration_s"] is None else round(record["duration_s"] / 60)
    return {**record, "minutes": minutes, "lost": record["ended_by"] == "timeout"}

"""``{% message_buttons doctor=... patient=... %}``: "Message" buttons that open (or create) the
conversation between a patient and a doctor — on the appointment page, the doctor's profile and
the doctor's patient page. A button shows only where ``telehealth.chat.chat_start_allowed`` allows a
chat (inside a care team); it posts to ``chat_start``, which asks the same policy again."""

from django import template
from django.urls import NoReverseMatch, reverse

from clinic import selectors
from telehealth import chat as chats

register = template.Library()


@register.inclusion_tag("telehealth/chat/_message_buttons.html", takes_context=True)
def message_buttons(context, doctor=None, patient=None):
    """Without ``doctor``: the viewer's own doctor profile (the doctor's patient page). Without
    ``patient``: everyone the viewer acts for (the doctor's profile, seen by a patient or family)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    empty = {"options": []}
    if user is None or not user.is_authenticated:
        return empty
    try:
        action = reverse("chat_start")
    except NoReverseMatch:  # the chat pages are not routed in this deployment
        return empty
    as_doctor = doctor is None
    if as_doctor:
        doctor = selectors.doctor_profile_of(user)
    if doctor is None:
        return empty
    as_doctor = as_doctor or doctor.user_id == user.pk
    patients = [patient] if patient is not None else list(selectors.patients_managed_by(user))
    options = [p for p in patients if chats.chat_start_allowed(user, p, doctor)]
    return {"options": options, "doctor": doctor, "as_doctor": as_doctor, "action": action,
            "several": len(options) > 1, "user": user, "csrf_token": context.get("csrf_token")}

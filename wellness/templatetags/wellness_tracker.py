from django import template

register = template.Library()


@register.inclusion_tag("wellness/_quick_entry_card.html", takes_context=True)
def wellness_quick_entry(context):
    """The dashboard's quick check-in card for the user's own record (else the first person they
    care for). Renders nothing for users who keep no tracker."""
    from django.urls import NoReverseMatch, reverse

    from core.errors import NotFound
    from wellness import selectors
    from wellness.views import quick_entry_context

    try:
        reverse("wellness_quick_entry")
    except NoReverseMatch:  # wellness.urls not mounted: no card rather than a broken dashboard
        return {"qe_patient": None}
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"qe_patient": None}
    try:
        patient = selectors.wellness_managed_patient_get(fetched_by=user)
    except NotFound:
        return {"qe_patient": None}
    return {"request": request, "csrf_token": context.get("csrf_token"), "user": user,
            **quick_entry_context(user, patient)}

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def navigation(request):
    """The role navigation shown in the shared layout. Only pages that exist are listed."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from accounts.selectors import doctor_is_approved, hospital_of_staff

    # Accounts still under review see only their status page (the access gate allows nothing else).
    if user.is_doctor and not doctor_is_approved(user):
        return {"nav_items": [{"label": _("Application"), "url": reverse("application_status"), "current": True}]}
    if user.is_hospital_staff and getattr(hospital_of_staff(user), "status", None) != "approved":
        return {"nav_items": [{"label": _("Registration"), "url": reverse("hospital_application_status"),
                               "current": True}]}
    items = [(_("Dashboard"), reverse("dashboard"))]
    if user.is_admin:
        items += [(_("Appointments"), reverse("appointment_list")), (_("Django admin"), reverse("admin:index"))]
    elif user.is_doctor:
        items += [(_("Appointments"), reverse("appointment_list")), (_("Messages"), reverse("chat_list")),
                  (_("Patients"), reverse("doctor_patients")), (_("Risk"), reverse("doctor_risk")),
                  (_("Schedule"), reverse("doctor_schedule"))]
    elif user.is_hospital_staff:
        items += [(_("Appointments"), reverse("hospital_appointments")), (_("Doctors"), reverse("hospital_doctors")),
                  (_("Patients"), reverse("hospital_patients")), (_("Staff"), reverse("hospital_staff"))]
    else:
        items += [(_("Wellness"), reverse("wellness_today")), (_("Find a doctor"), reverse("doctor_search")),
                  (_("Appointments"), reverse("appointment_list")), (_("Messages"), reverse("chat_list")),
                  (_("Family"), reverse("family")), (_("Who has access"), reverse("patient_access"))]
    current = request.path
    # The "Messages" item carries the unread chat count (one COUNT query); notifications.js keeps it
    # current over /ws/notifications/.
    messages_url = reverse("chat_list")
    chat_unread = None
    if any(url == messages_url for _label, url in items):
        from telehealth.chat import chat_unread_total

        chat_unread = chat_unread_total(user)
    nav = [{"label": label, "url": url, "current": current == url or (url != "/dashboard/" and current.startswith(url)),
            "chat_unread": chat_unread if url == messages_url else None}
           for label, url in items]
    # The emergency count polls only for verified doctors (a doctor still on the 2FA page would
    # otherwise have the verify page pasted into the badge).
    from telehealth.selectors import unread_count

    verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
    return {"nav_items": nav, "emergency_badge": user.is_doctor and verified is not None and verified(),
            "unread_notifications": unread_count(user)}

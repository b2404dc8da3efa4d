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
        items.append((_("Django admin"), reverse("admin:index")))
    if user.is_hospital_staff:
        items.append((_("Staff"), reverse("hospital_staff")))
    items += [(_("Profile"), reverse("profile")), (_("Security"), reverse("two_factor_manage"))]
    current = request.path
    return {"nav_items": [{"label": label, "url": url, "current": current == url} for label, url in items]}

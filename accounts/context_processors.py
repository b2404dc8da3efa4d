from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def navigation(request):
    """The role navigation shown in the shared layout. Only pages that exist are listed."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [(_("Dashboard"), reverse("dashboard"))]
    if user.is_admin:
        items.append((_("Django admin"), reverse("admin:index")))
    if user.is_hospital_staff:
        items.append((_("Staff"), reverse("hospital_staff")))
    if user.is_doctor:
        items.append((_("Application"), reverse("application_status")))
    items += [(_("Profile"), reverse("profile")), (_("Security"), reverse("two_factor_manage"))]
    current = request.path
    return {"nav_items": [{"label": label, "url": url, "current": current == url} for label, url in items]}

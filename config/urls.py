from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from config import health
from config.api import api, api_not_found

urlpatterns = [
    path("health", health.health, name="health"),
    # Browsers ask for /favicon.ico on pages without an icon link (Django admin, error pages).
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}img/favicon.svg", permanent=True)),
    path("admin/login/", RedirectView.as_view(pattern_name="account_login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/", api_not_found),
    path("accounts/signup/", RedirectView.as_view(pattern_name="signup")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("clinic.urls")),
    path("", include("telehealth.urls")),
    path("", include("telehealth.urls_calls")),
    path("", include("telehealth.urls_chat")),
    path("", include("wellness.urls")),
    path("", include("wellness.urls_emotion")),
    path("", include("wellness.urls_doctor")),
]

admin.site.site_header = _("Haven administration")
admin.site.site_title = _("Haven admin")
admin.site.index_title = _("Approvals, people and audit")


def _admin_requires_verified_admin(request):
    """Django admin is for administrators who passed their second factor (belt and braces: the
    access gate middleware already redirects them to verify)."""
    user = request.user
    return user.is_active and user.is_staff and user.is_admin and user.is_verified()


admin.site.has_permission = _admin_requires_verified_admin

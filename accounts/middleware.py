import zoneinfo

from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode

from accounts.policy import second_factor_owed

# Pages reachable by a signed-in user who still owes a second factor. Of the 2FA pages only the
# verify step and first enrolment: managing, replacing or removing a factor needs it passed.
TWO_FACTOR_EXEMPT_PREFIXES = (
    "/account/2fa/verify/", "/account/2fa/setup/", "/accounts/logout/", "/account/identity/undo/", "/account/language/",
    "/static/", "/health", "/api/", "/i18n/", "/ws/",
)
# The application pages come before approval, so before doctors must enrol a factor; a session
# that owes a factor already confirmed still passes it first.
APPLICATION_PREFIX = "/account/application/"


class UserPreferencesMiddleware:
    """A signed-in user's saved language wins over the browser's Accept-Language, and dates and
    times are shown in the user's own time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.preferred_language:
                translation.activate(user.preferred_language)
                request.LANGUAGE_CODE = translation.get_language()
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class AccessGateMiddleware:
    """Gates every page a signed-in user opens, before any view runs:

    1. a doctor whose application is not approved, or staff of a hospital not yet approved, sees
       only the application status pages (and may sign out);
    2. a user with a confirmed second factor must verify it after signing in; doctors and admins
       must enrol one first (their dashboards and Django admin included).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated
                and not request.path.startswith(TWO_FACTOR_EXEMPT_PREFIXES)
                and not self._own_photo(request, user)):
            response = self._gate(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    @staticmethod
    def _own_photo(request, user) -> bool:
        """The person's own avatar, shown in the header of the pages they are held at (2FA set-up
        and check, application status): nobody else's photo, nothing they did not upload."""
        return request.path == reverse("user_photo", args=[user.pk])

    def _gate(self, request, user):
        from accounts.selectors import doctor_is_approved, hospital_of_staff

        if request.path.startswith(APPLICATION_PREFIX):
            # An applicant need not enrol before approval, but one who has a factor must pass it.
            if second_factor_owed(user, request.session) == "verify":
                return redirect(reverse("two_factor_verify") + "?" + urlencode({"next": request.get_full_path()}))
            return None
        if user.is_doctor and not doctor_is_approved(user):
            return redirect("application_status")
        if user.is_hospital_staff:
            hospital = hospital_of_staff(user)
            if hospital is None or hospital.status != "approved":
                return redirect("hospital_application_status")
        owed = second_factor_owed(user, request.session)
        if owed is not None:
            query = "?" + urlencode({"next": request.get_full_path()})
            return redirect(reverse("two_factor_verify" if owed == "verify" else "two_factor_setup") + query)
        return None

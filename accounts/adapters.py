from contextlib import nullcontext

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from core.phones import normalize_phone


class AccountAdapter(DefaultAccountAdapter):
    """Phone numbers live on our User model; signup happens in Haven's own role-specific forms."""

    def is_open_for_signup(self, request):
        # allauth's generic signup is replaced by /signup/ (patient, doctor, hospital flows).
        return False

    def get_login_redirect_url(self, request):
        return reverse("dashboard")

    def add_message(self, request, level, message_template=None, message_context=None, extra_tags="",
                    message=None):
        """allauth's flash messages (templates/account/messages/, through gettext) in the language
        of the page that shows them: a message added as someone signs in is rendered while the
        request is still the anonymous one (the browser's language), but every page after it is in
        the account's saved language (accounts.middleware.UserPreferencesMiddleware)."""
        user = getattr(request, "user", None)
        language = getattr(user, "preferred_language", "") if getattr(user, "is_authenticated", False) else ""
        with translation.override(language) if language in dict(settings.LANGUAGES) else nullcontext():
            super().add_message(request, level, message_template, message_context, extra_tags=extra_tags,
                                message=message)

    def clean_phone(self, phone):
        return normalize_phone(phone)

    def get_phone(self, user):
        return (user.phone, True) if user.phone else None

    def set_phone(self, user, phone, verified):
        user.phone = phone
        user.save(update_fields=["phone", "updated_at"])

    def set_phone_verified(self, user, phone):
        pass  # phone verification by SMS is not enabled (ACCOUNT_PHONE_VERIFICATION_ENABLED)

    def get_user_by_phone(self, phone):
        from accounts.models import User

        try:
            phone = normalize_phone(phone)
        except ValidationError:
            return None
        return User.objects.filter(phone=phone).first()

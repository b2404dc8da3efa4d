from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.phones import normalize_phone


class AccountAdapter(DefaultAccountAdapter):
    """Phone numbers live on our User model; signup happens in Haven's own role-specific forms."""

    def is_open_for_signup(self, request):
        # allauth's generic signup is replaced by /signup/ (patient, doctor, hospital flows).
        return False

    def get_login_redirect_url(self, request):
        return reverse("dashboard")

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

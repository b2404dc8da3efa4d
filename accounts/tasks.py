"""Notification tasks. Each takes ids, is idempotent (a retry or a second delivery sends nothing
new) and retries with backoff when the mail server is unreachable."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "retry_kwargs": {"max_retries": 8},
         "acks_late": True}


def _send(to, template, context, language):
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {"site_url": settings.SITE_URL, **context}
        subject = render_to_string(f"email/{template}.subject.txt", context).strip()
        body = render_to_string(f"email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


@shared_task(**RETRY)
def send_application_status_email(application_id: str) -> bool:
    from accounts.models import DoctorApplication

    with transaction.atomic():
        application = (DoctorApplication.objects.select_for_update().select_related("user")
                       .filter(pk=application_id).first())
        if application is None or application.notified_status == application.status:
            return False
        user = application.user
        if user.email:
            _send(user.email, "application_status",
                  {"user": user, "application": application, "status_url": settings.SITE_URL + reverse("application_status")},
                  user.preferred_language)
        # Marked inside the same transaction: if the worker dies before commit, the retry sends.
        application.notified_status = application.status
        application.save(update_fields=["notified_status"])
    return True


@shared_task(**RETRY)
def send_hospital_status_email(hospital_id: str) -> bool:
    from clinic.models import Hospital

    with transaction.atomic():
        hospital = Hospital.objects.select_for_update().filter(pk=hospital_id).first()
        if hospital is None or hospital.notified_status == hospital.status:
            return False
        owner = hospital.staff.filter(is_owner=True).select_related("user").first()
        to = hospital.email or (owner.user.email if owner else None)
        if to:
            _send(to, "hospital_status", {"hospital": hospital, "user": owner.user if owner else None},
                  owner.user.preferred_language if owner else None)
        hospital.notified_status = hospital.status
        hospital.save(update_fields=["notified_status"])
    return True


@shared_task(**RETRY)
def send_staff_invitation_email(invitation_id: str) -> bool:
    from accounts.models import StaffInvitation

    with transaction.atomic():
        invitation = (StaffInvitation.objects.select_for_update().select_related("hospital", "invited_by")
                      .filter(pk=invitation_id).first())
        if invitation is None or invitation.emailed_at or not invitation.is_open:
            return False
        _send(invitation.email, "staff_invitation",
              {"invitation": invitation,
               "accept_url": settings.SITE_URL + reverse("staff_invitation_accept", args=[invitation.token])},
              invitation.invited_by.preferred_language)
        invitation.emailed_at = timezone.now()
        invitation.save(update_fields=["emailed_at"])
    return True



@shared_task(**RETRY)
def send_security_email(user_id: str, template: str, to: str | None = None, **context) -> bool:
    """A security notice to an account's owner (a factor removed, an address changed, a sign-up
    tried with their address). ``to`` overrides the address (the *old* one after a change).
    Sent at most once per event: the caller queues it on commit of the event it reports."""
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    to = to or (user.email if user else None)
    if user is None or not to:
        return False
    _send(to, template, {"user": user, **context}, user.preferred_language)
    return True


@shared_task(**RETRY)
def send_identity_change_notice(user_id: str, old_email: str | None, old_phone: str | None, token: str) -> bool:
    """Tell the *old* e-mail (and the old phone, by SMS, when the phone changed) that the
    account's address changed, with the signed link that undoes it."""
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    undo_url = settings.SITE_URL + reverse("identity_change_undo", args=[token])
    days = settings.IDENTITY_UNDO_MAX_AGE // 86400
    if old_email:
        _send(old_email, "identity_changed", {"user": user, "undo_url": undo_url, "days": days,
                                              "new_email": user.email, "new_phone": user.phone},
              user.preferred_language)
    if old_phone:
        from django.utils.translation import gettext

        from telehealth.sms import SmsRejected, sms_send

        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            body = gettext("Haven: the phone number of your account was changed. Not you? Undo it: %(url)s") % {
                "url": undo_url}
        try:
            sms_send(to=old_phone, body=body)
        except SmsRejected:
            logger.warning("identity change SMS refused by the provider")
    return True


@shared_task(**RETRY)
def send_signup_attempt_notice(user_id: str, channel: str) -> bool:
    """Someone tried to sign up with this account's e-mail or phone: tell the owner (the sign-up
    page answered as if it were new, so nobody can probe which addresses have accounts)."""
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    login_url = settings.SITE_URL + reverse("account_login")
    reset_url = settings.SITE_URL + reverse("account_reset_password")
    if channel == "email" and user.email:
        _send(user.email, "signup_attempt", {"user": user, "login_url": login_url, "reset_url": reset_url},
              user.preferred_language)
        return True
    if channel == "phone" and user.phone:
        from django.utils.translation import gettext

        from telehealth.sms import SmsRejected, sms_enabled, sms_send

        if not sms_enabled() and user.email:
            _send(user.email, "signup_attempt", {"user": user, "login_url": login_url, "reset_url": reset_url},
                  user.preferred_language)
            return True
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            body = gettext("Haven: someone tried to sign up with your phone number. You already have an account: "
                           "sign in at %(url)s") % {"url": login_url}
        try:
            sms_send(to=user.phone, body=body)
        except SmsRejected:
            logger.warning("sign-up attempt SMS refused by the provider")
        return True
    return False


@shared_task(acks_late=True)
def token_families_prune() -> int:
    """Delete API sign-ins whose last refresh token has expired (a week after, so a replay of an
    old token is still recognised as reuse for a while). Idempotent."""
    import datetime as dt

    from accounts.models import ApiTokenFamily

    cutoff = timezone.now() - dt.timedelta(days=7)
    deleted, _ = ApiTokenFamily.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


@shared_task(**RETRY)
def send_email_verification(email_address_id: int) -> bool:
    """The verification e-mail after a sign-up: one link to allauth's confirmation page. Sent once
    per address (the stored confirmation is the mark); nothing for an address already verified."""
    from allauth.account.models import EmailAddress, EmailConfirmation

    with transaction.atomic():
        address = (EmailAddress.objects.select_for_update().select_related("user")
                   .filter(pk=email_address_id).first())
        if address is None or address.verified or EmailConfirmation.objects.filter(email_address=address).exists():
            return False
        confirmation = EmailConfirmation.create(address)
        confirmation.sent = timezone.now()
        confirmation.save(update_fields=["sent"])
        _send(address.email, "verify_email",
              {"user": address.user,
               "confirm_url": settings.SITE_URL + reverse("account_confirm_email", args=[confirmation.key]),
               "days": settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS},
              address.user.preferred_language)
    return True

import base64
import io

import qrcode
import qrcode.image.svg
from allauth.account.utils import perform_login
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import selectors, services
from accounts.forms import (
    DoctorApplicationForm,
    DoctorReapplyForm,
    HospitalSignupForm,
    OTPTokenForm,
    PatientSignupForm,
    ProfileForm,
    StaffAcceptForm,
    StaffInviteForm,
    TwoFactorRemoveForm,
)
from accounts.models import ApplicationStatus, StaffInvitation, User
from accounts.throttles import web_signup_throttled
from core.errors import DomainError, NotFound
from core.storage import stored_image_response


def attach_errors(form, exc: ValidationError):
    """Show a service's validation errors on the form fields they name (or on the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _safe_next(request, default="dashboard"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return redirect(default).url


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


def signup_choice(request):
    return render(request, "accounts/signup_choice.html")


@require_http_methods(["GET", "POST"])
def patient_signup(request):
    if (throttled := web_signup_throttled(request)) is not None:
        return throttled
    form = PatientSignupForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.patient_signup(
                name=d["name"], date_of_birth=d["date_of_birth"], gender=d["gender"],
                preferred_language=d["preferred_language"], location=d["location"], phone=d["phone"],
                password=d["password"], email=d["email"] or None, photo=d.get("photo"),
                timezone_name=d["timezone"], request=request)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return redirect("signup_done")
    return render(request, "accounts/signup_patient.html", {"form": form})


def signup_done(request):
    """Where every sign-up lands, whether the e-mail or phone was new or already had an account
    (then its owner was told): the same page, so sign-up cannot be used to probe for accounts."""
    return render(request, "accounts/signup_done.html")


@require_http_methods(["GET", "POST"])
def doctor_apply(request):
    if (throttled := web_signup_throttled(request)) is not None:
        return throttled
    form = DoctorApplicationForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        slots, slot_errors = form.timeslots_from(request.POST)
        if form.is_valid() and not slot_errors:
            d = form.cleaned_data
            try:
                services.doctor_apply(
                    name=d["name"], email=d["email"], phone=d["phone"], password=d["password"],
                    specialty=d["specialty"], years_experience=d["years_experience"], cv_text=d["cv_text"],
                    cv_file=d.get("cv_file"), identity_proof=d["identity_proof"], photo=d.get("photo"),
                    proposed_timeslots=slots, preferred_language=request.LANGUAGE_CODE,
                    timezone_name=d["timezone"], request=request)
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                return redirect("signup_done")
        for error in slot_errors:
            form.add_error(None, error)
    return render(request, "accounts/signup_doctor.html", {"form": form})


@require_http_methods(["GET", "POST"])
def hospital_signup(request):
    if (throttled := web_signup_throttled(request)) is not None:
        return throttled
    form = HospitalSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.hospital_signup(
                hospital_name=d["hospital_name"], address=d["address"], city=d["city"], state=d["state"],
                country=d["country"], pin_code=d["pin_code"], contact=d["contact"],
                specialities=d["specialities"], website=d["website"], name=d["name"], email=d["email"],
                phone=d["phone"] or None, password=d["password"], request=request)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return redirect("signup_done")
    return render(request, "accounts/signup_hospital.html", {"form": form})


@login_required
def dashboard(request):
    user = request.user
    context = {"two_factor_enabled": services.has_two_factor(user)}
    if user.is_admin:
        context["pending"] = selectors.pending_approval_counts()
        return render(request, "dashboards/admin.html", context)
    if user.is_doctor:
        from clinic.views.doctor import doctor_dashboard_context

        context.update(doctor_dashboard_context(user))
        return render(request, "dashboards/doctor.html", context)
    if user.is_hospital_staff:
        from clinic.views.hospital import hospital_dashboard_context

        membership = user.hospital_staff
        context.update(membership=membership, hospital=membership.hospital,
                       staff=membership.hospital.staff.select_related("user"))
        context.update(hospital_dashboard_context(user))
        return render(request, "dashboards/hospital.html", context)
    from clinic.views.patient import patient_dashboard_context

    context["relations"] = user.patient_relations.select_related("patient").order_by("patient__name")
    context.update(patient_dashboard_context(user))
    return render(request, "dashboards/patient.html", context)


@login_required
def application_status(request):
    if not request.user.is_doctor:
        raise Http404
    applications = list(request.user.doctor_applications.all()[:10])
    return render(request, "accounts/application_status.html", {
        "application": applications[0] if applications else None,
        "history": applications[1:],
    })


@login_required
@require_http_methods(["GET", "POST"])
def doctor_reapply(request):
    current = selectors.doctor_application_current(user=request.user) if request.user.is_doctor else None
    if current is None or current.status != ApplicationStatus.REJECTED:
        raise Http404
    initial = {"specialty": current.specialty, "years_experience": current.years_experience, "cv_text": current.cv_text}
    form = DoctorReapplyForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST":
        slots, slot_errors = form.timeslots_from(request.POST)
        if form.is_valid() and not slot_errors:
            d = form.cleaned_data
            try:
                services.doctor_reapply(user=request.user, specialty=d["specialty"],
                                        years_experience=d["years_experience"], cv_text=d["cv_text"],
                                        cv_file=d.get("cv_file"), identity_proof=d["identity_proof"],
                                        proposed_timeslots=slots, request=request)
            except ValidationError as exc:
                attach_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Your application was sent again. We will email you the decision."))
                return redirect("application_status")
        for error in slot_errors:
            form.add_error(None, error)
    form.initial_timeslots = current.proposed_timeslots
    return render(request, "accounts/reapply.html", {"form": form, "previous": current})


@login_required
def hospital_application_status(request):
    hospital = selectors.hospital_of_staff(request.user)
    if hospital is None:
        raise Http404
    return render(request, "accounts/hospital_status.html", {"hospital": hospital})


@login_required
@require_http_methods(["GET", "POST"])
def hospital_staff(request):
    hospital = selectors.hospital_of_staff(request.user)
    if hospital is None:
        raise Http404
    is_owner = request.user.hospital_staff.is_owner
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                invitation = services.staff_invite(invited_by=request.user, email=form.cleaned_data["email"],
                                                   request=request)
            except ValidationError as exc:
                attach_errors(form, exc)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
                return redirect("hospital_staff")
    return render(request, "accounts/hospital_staff.html", {
        "hospital": hospital, "is_owner": is_owner, "form": form,
        "staff": hospital.staff.select_related("user").order_by("-is_owner", "user__name"),
        "invitations": hospital.invitations.filter(accepted_at__isnull=True).order_by("-created_at"),
    })


@require_http_methods(["GET", "POST"])
def staff_invitation_accept(request, token):
    invitation = StaffInvitation.objects.select_related("hospital").filter(token=token).first()
    if invitation is None or not invitation.is_open:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = StaffAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = services.staff_invitation_accept(token=token, name=d["name"], phone=d["phone"] or None,
                                                    password=d["password"], request=request)
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return perform_login(request, user, redirect_url="/dashboard/")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    # The form validates a copy, so a rejected change never touches the signed-in user object.
    form = ProfileForm(request.POST or None, request.FILES or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.user_update(actor=request.user, user=request.user, data=d, photo=d.get("photo"),
                                 password=d.get("current_password"), request=request)
        except ValidationError as exc:
            request.user.refresh_from_db()
            if hasattr(exc, "error_dict") and "password" in exc.error_dict:
                exc.error_dict["current_password"] = exc.error_dict.pop("password")
            attach_errors(form, exc)
        else:
            messages.success(request, _("Your profile was saved."))
            return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@require_http_methods(["GET", "POST"])
def identity_change_undo(request, token):
    """The link sent to the old address: GET shows what will be restored (link scanners open
    links), the button POSTs."""
    try:
        claims = services.identity_undo_read(token)
        if request.method == "POST":
            services.identity_change_undo(token=token, request=request)
            return render(request, "accounts/identity_undo.html", {"done": True, "claims": claims})
    except DomainError as exc:
        return render(request, "accounts/identity_undo.html", {"error": exc.message}, status=400)
    return render(request, "accounts/identity_undo.html", {"claims": claims})


@login_required
def user_photo(request, user_id):
    try:
        user = selectors.user_photo_get(fetched_by=request.user, user_id=user_id)
    except NotFound as exc:
        raise Http404 from exc
    if not user.photo:
        raise Http404
    return stored_image_response(user.photo)


@require_POST
def set_language(request):
    from django.conf import settings
    from django.utils import translation

    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)
    translation.activate(language)
    response = redirect(_safe_next(request, default="home"))
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
                        samesite="Lax", secure=request.is_secure())
    return response


# --- two-factor ---------------------------------------------------------------------------------

@login_required
def two_factor_manage(request):
    from django_otp.plugins.otp_static.models import StaticToken

    return render(request, "accounts/2fa_manage.html", {
        "enabled": services.has_two_factor(request.user),
        "backup_left": StaticToken.objects.filter(device__user=request.user).count(),
        "required": request.user.requires_two_factor,
        "remove_form": TwoFactorRemoveForm(),
    })


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    image.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    if services.has_two_factor(request.user):
        return redirect("two_factor_manage")
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_device_confirm(user=request.user, token=form.cleaned_data["token"], request=request)
        except ValidationError as exc:
            attach_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            from django_otp.plugins.otp_totp.models import TOTPDevice

            otp_login(request, TOTPDevice.objects.get(user=request.user, confirmed=True))
            request.session["fresh_backup_codes"] = codes
            return redirect(reverse_with_next("two_factor_backup_codes", request))
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = services.totp_device_start(user=request.user)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "accounts/2fa_setup.html", {
        "form": form, "qr": _qr_svg(device.config_url), "secret": secret,
        "secret_groups": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "required": request.user.requires_two_factor, "next": request.GET.get("next", ""),
    })


def reverse_with_next(name, request):
    from django.urls import reverse
    from django.utils.http import urlencode

    target = request.POST.get("next") or request.GET.get("next")
    return reverse(name) + ("?" + urlencode({"next": target}) if target else "")


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_backup_codes(request):
    if not services.has_two_factor(request.user) or not request.user.is_verified():
        return redirect("two_factor_manage")
    if request.method == "POST":
        request.session["fresh_backup_codes"] = services.backup_codes_generate(user=request.user, request=request)
        return redirect("two_factor_backup_codes")
    codes = request.session.pop("fresh_backup_codes", None)
    return render(request, "accounts/2fa_backup_codes.html", {"codes": codes, "next": _safe_next(request)})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    if request.user.is_verified():
        return redirect(_safe_next(request))
    if not services.has_two_factor(request.user):
        return redirect("two_factor_setup")
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.otp_verify(user=request.user, token=form.cleaned_data["token"], request=request)
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error("token", services.otp_failure_message(request.user))
    return render(request, "accounts/2fa_verify.html", {"form": form, "next": request.GET.get("next", "")})


@login_required
@require_POST
def two_factor_remove(request):
    if not request.user.is_verified():  # the access gate sends such a session to verify first
        return redirect("two_factor_verify")
    form = TwoFactorRemoveForm(request.POST)
    if form.is_valid():
        try:
            services.two_factor_remove(user=request.user, password=form.cleaned_data["password"],
                                       token=form.cleaned_data["token"], request=request)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Two-factor authentication was removed."))
            return redirect("two_factor_manage")
    from django_otp.plugins.otp_static.models import StaticToken

    return render(request, "accounts/2fa_manage.html", {
        "enabled": True, "remove_form": form, "required": request.user.requires_two_factor,
        "backup_left": StaticToken.objects.filter(device__user=request.user).count(),
    }, status=400)


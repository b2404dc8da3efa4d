"""/api/v1/auth and /api/v1/users. Thin: parse, call a selector or service, shape the answer."""

import datetime as dt
import json
from uuid import UUID

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.pagination import paginate
from ninja.security import HttpBearer
from pydantic import Field

from accounts import selectors, services
from accounts.models import Role, User
from accounts.throttles import login_throttle, refresh_throttle, signup_throttle
from accounts.tokens import TokenError, issue_pair, revoke_family_of, rotate, user_for_token
from clinic.models import Gender
from core.api_bodies import body_openapi, json_or_form
from core.emails import EmailAddress
from core.errors import DomainError, NotFound, PermissionDenied
from core.schemas import Labels, LimitOffsetPagination, Schema


# What a doctor or hospital staff account awaiting approval (or rejected) may call.
STATUS_ONLY_ROUTES = {("GET", "/users/me"), ("GET", "/users/me/application")}


class JWTAuth(HttpBearer):
    def authenticate(self, request, token):
        try:
            user = user_for_token(token, kind="access")
        except TokenError:
            return None
        if not user.api_approved:
            route = request.path.removeprefix("/api/v1").rstrip("/") or "/"
            if (request.method, route) not in STATUS_ONLY_ROUTES:
                raise PermissionDenied(_("Your account is not approved yet: until it is, the API answers only "
                                         "/users/me and /users/me/application."))
        request.user = user
        return user


class APIError(DomainError):
    """An error with an HTTP status chosen by the endpoint (e.g. 401 for a missing OTP)."""

    def __init__(self, message, status_code, **extra):
        super().__init__(message)
        self.status_code = status_code
        self.extra = extra


# --- schemas -----------------------------------------------------------------------------------

class UserOut(Schema):
    id: UUID
    name: str
    email: str | None
    phone: str | None
    role: str
    preferred_language: str
    location: str
    timezone: str
    has_photo: bool
    two_factor_enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_has_photo(obj):
        return bool(obj.photo)

    @staticmethod
    def resolve_two_factor_enabled(obj):
        return services.has_two_factor(obj)


class UserUpdateIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    email: EmailAddress | None = None
    phone: str | None = Field(None, max_length=20)
    preferred_language: str | None = None
    location: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, max_length=64)
    password: str | None = Field(None, description="Your current password: needed to change email or phone")


class TokensOut(Schema):
    access: str
    refresh: str
    token_type: str
    expires_in: int


class LoginIn(Schema):
    login: str | None = Field(None, min_length=3, description="Email address or phone number (or send email or phone)")
    email: str | None = Field(None, min_length=3, max_length=254, description="Instead of login")
    phone: str | None = Field(None, min_length=3, max_length=30, description="Instead of login")
    password: str = Field(..., min_length=1)
    otp: str | None = Field(None, description="Authenticator or backup code, when two-factor is on")

    def credentials(self) -> dict:
        """The authenticate() keyword for the one identifier sent (422 on ``login`` otherwise)."""
        if len([name for name in ("login", "email", "phone") if getattr(self, name)]) != 1:
            raise ValidationError({"login": [_("Send one of login, email or phone.")]})
        if self.email:
            return {"email": self.email.strip()}
        if self.phone:
            return {"phone": self.phone.strip()}
        return {"email" if "@" in self.login else "phone": self.login.strip()}


class RefreshIn(Schema):
    refresh: str


class SignupAcceptedOut(Schema):
    detail: str


def _signup_accepted():
    """The one answer of every sign-up, new e-mail/phone or not (an existing owner is told)."""
    return Status(202, {"detail": _("Thank you. If this email or phone is new to Haven, the account is ready: sign "
                                    "in with it and your password. If it already has an account, we have sent a "
                                    "message to it instead.")})


class PatientSignupIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    date_of_birth: dt.date
    gender: Gender
    preferred_language: str = "en"
    location: str = Field("", max_length=200)
    phone: str = Field(..., min_length=5, max_length=20)
    password: str
    email: EmailAddress | None = None
    timezone: str = "UTC"


class DoctorSignupIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    email: EmailAddress
    phone: str = Field(..., min_length=5, max_length=20)
    password: str
    specialty: str = Field(..., min_length=2, max_length=120)
    years_experience: int = Field(..., ge=0, le=70)
    cv_text: str = Field(..., min_length=1)
    proposed_timeslots: str = Field(
        ..., description='JSON list, e.g. [{"weekday": 0, "start": "09:00", "end": "13:00"}] (Monday=0)')
    preferred_language: str = "en"
    timezone: str = "UTC"


class ApplicationOut(Schema):
    id: UUID
    status: str
    specialty: str
    years_experience: int
    proposed_timeslots: list
    rejection_reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class HospitalSignupIn(Schema):
    hospital_name: str = Field(..., min_length=2, max_length=200)
    address: str = Field(..., min_length=2, max_length=300)
    city: str = ""
    state: str = ""
    country: str = ""
    pin_code: str = ""
    contact: str = Field(..., min_length=3, max_length=30)
    specialities: Labels = []
    website: str = ""
    name: str = Field(..., min_length=1, max_length=150, description="Name of the first staff user")
    email: EmailAddress
    phone: str | None = None
    password: str


class AdminSignupIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    email: EmailAddress
    phone: str | None = None
    password: str


# --- auth -------------------------------------------------------------------------------------

auth_router = Router(tags=["auth"])


@auth_router.post("/login", auth=None, response=TokensOut, throttle=[login_throttle],
                  summary="Sign in with email or phone + password (+ two-factor code)")
def login(request, payload: LoginIn):
    user = authenticate(request, password=payload.password, **payload.credentials())
    if getattr(request, "axes_locked_out", False):
        from accounts.lockout import lockout_message

        raise APIError(lockout_message(), 429, code="locked_out")
    if user is None or not user.is_active:
        raise APIError(_("The login or password is not correct."), 401)
    if services.has_two_factor(user):
        if not payload.otp:
            raise APIError(_("Two-factor code required."), 401, otp_required=True)
        if services.otp_verify(user=user, token=payload.otp, request=request) is None:
            raise APIError(services.otp_failure_message(user), 401, otp_required=True)
    elif user.requires_two_factor:
        raise APIError(_("Set up two-factor authentication in the web app before using the API."), 403)
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.send(sender=User, request=request, user=user)
    return issue_pair(user)


@auth_router.post("/refresh", auth=None, response=TokensOut, throttle=[refresh_throttle],
                  summary="Exchange a refresh token for new tokens (the old refresh token is spent)")
def refresh(request, payload: RefreshIn):
    try:
        return rotate(payload.refresh, request=request)
    except TokenError as exc:
        raise APIError(str(exc), 401) from exc


class LogoutIn(Schema):
    refresh: str | None = Field(None, description="The refresh token, when no Bearer access token is sent")


@auth_router.post("/logout", auth=None, response={204: None},
                  summary="Sign out: revoke every token of this sign-in (Bearer access token or refresh token)")
def logout(request, payload: LogoutIn = None):
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else (payload.refresh if payload else None)
    if not token:
        raise APIError(_("Send the Bearer access token or the refresh token of the sign-in to end."), 401)
    try:
        revoke_family_of(token, request=request)
    except TokenError as exc:
        raise APIError(str(exc), 401) from exc
    return Status(204, None)


def _timeslots(raw: str):
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError({"proposed_timeslots": [_("Send the timeslots as a JSON list.")]}) from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValidationError({"proposed_timeslots": [_("Send the timeslots as a JSON list of objects.")]})
    return value


class DoctorSignupJSONIn(DoctorSignupIn):
    proposed_timeslots: list[dict] | str = Field(
        ..., description='A list (or its JSON text), e.g. [{"weekday": 0, "start": "09:00", "end": "13:00"}] (Monday=0)')


# Sign-ups take a JSON body (files as base64 objects, core.api_bodies) or multipart, alike.
PATIENT_FILES, DOCTOR_FILES = ("photo",), ("identity_proof", "cv_file", "photo")
SIGNUP_SCHEMAS = (PatientSignupIn, DoctorSignupIn, DoctorSignupJSONIn, HospitalSignupIn)


@auth_router.post("/patient-signup", auth=None, response={202: SignupAcceptedOut}, throttle=[signup_throttle],
                  summary="Create a patient account (then sign in with /auth/login); JSON or multipart",
                  openapi_extra=body_openapi(PatientSignupIn, PatientSignupIn, files=PATIENT_FILES))
def patient_signup(request):
    data, files = json_or_form(request, PatientSignupIn, PatientSignupIn, files=PATIENT_FILES)
    services.patient_signup(
        name=data.name, date_of_birth=data.date_of_birth, gender=data.gender,
        preferred_language=data.preferred_language, location=data.location, phone=data.phone,
        password=data.password, email=data.email, photo=files["photo"], timezone_name=data.timezone,
        request=request)
    return _signup_accepted()


@auth_router.post("/doctor-signup", auth=None, response={202: SignupAcceptedOut}, throttle=[signup_throttle],
                  summary="Apply as a doctor (with identity proof; JSON or multipart); pending until approved",
                  openapi_extra=body_openapi(DoctorSignupIn, DoctorSignupJSONIn, files=DOCTOR_FILES,
                                             required_files=("identity_proof",)))
def doctor_signup(request):
    data, files = json_or_form(request, DoctorSignupIn, DoctorSignupJSONIn, files=DOCTOR_FILES)
    timeslots = data.proposed_timeslots
    services.doctor_apply(
        name=data.name, email=data.email, phone=data.phone, password=data.password,
        specialty=data.specialty, years_experience=data.years_experience, cv_text=data.cv_text,
        identity_proof=files["identity_proof"], cv_file=files["cv_file"], photo=files["photo"],
        proposed_timeslots=timeslots if isinstance(timeslots, list) else _timeslots(timeslots),
        preferred_language=data.preferred_language, timezone_name=data.timezone, request=request)
    return _signup_accepted()


@auth_router.post("/hospital-signup", auth=None, response={202: SignupAcceptedOut}, throttle=[signup_throttle],
                  summary="Register a hospital and its first staff user (JSON or form); pending until approved",
                  openapi_extra=body_openapi(HospitalSignupIn, HospitalSignupIn))
def hospital_signup(request):
    data, _files = json_or_form(request, HospitalSignupIn, HospitalSignupIn, lists=("specialities",))
    services.hospital_signup(
        hospital_name=data.hospital_name, address=data.address, city=data.city, state=data.state,
        country=data.country, pin_code=data.pin_code, contact=data.contact,
        specialities=data.specialities, website=data.website, name=data.name, email=data.email,
        phone=data.phone, password=data.password, request=request)
    return _signup_accepted()


@auth_router.post("/signup", response={201: UserOut}, summary="Create an administrator (administrators only)")
def admin_signup(request, data: AdminSignupIn):
    if not request.auth.is_admin:
        raise PermissionDenied(_("Only administrators can create administrators."))
    user = services.admin_create(created_by=request.auth, name=data.name, email=data.email,
                                 phone=data.phone, password=data.password, request=request)
    return Status(201, user)


# --- users ------------------------------------------------------------------------------------

users_router = Router(tags=["users"])


@users_router.get("/me", response=UserOut, summary="The signed-in user")
def me(request):
    return request.auth


class ApplicationStatusOut(Schema):
    kind: str = Field(..., description="doctor_application or hospital")
    status: str
    rejection_reason: str
    decided_at: dt.datetime | None
    application: ApplicationOut | None = None
    hospital_id: UUID | None = None


@users_router.get("/me/application", response=ApplicationStatusOut,
                  summary="The status of my doctor application or of my hospital's registration")
def my_application(request):
    user = request.auth
    if user.is_doctor:
        application = selectors.doctor_application_current(user=user)
        if application is not None:
            return {"kind": "doctor_application", "status": application.status, "application": application,
                    "rejection_reason": application.rejection_reason, "decided_at": application.decided_at}
    hospital = selectors.hospital_of_staff(user) if user.is_hospital_staff else None
    if hospital is not None:
        return {"kind": "hospital", "status": hospital.status, "hospital_id": hospital.id,
                "rejection_reason": hospital.rejection_reason, "decided_at": hospital.decided_at}
    raise NotFound(_("You have no application."))


@users_router.put("/me", response=UserOut, summary="Update the signed-in user's profile")
def me_update(request, payload: UserUpdateIn):
    return services.user_update(actor=request.auth, user=request.auth, password=payload.password,
                                data=payload.dict(exclude_unset=True, exclude={"password"}), request=request)


@users_router.get("", response=list[UserOut], summary="All users (administrators only)")
@paginate(LimitOffsetPagination)
def users_list(request, role: Role | None = None, search: str | None = None):
    if not request.auth.is_admin:
        raise PermissionDenied(_("Only administrators can list users."))
    return selectors.users_list(fetched_by=request.auth, role=role, search=search)


@users_router.get("/{user_id}", response=UserOut, summary="One user (self or administrators)")
def user_detail(request, user_id: UUID):
    return selectors.user_get(fetched_by=request.auth, user_id=user_id)


@users_router.put("/{user_id}", response=UserOut, summary="Update a user (self or administrators)")
def user_update(request, user_id: UUID, payload: UserUpdateIn):
    user = selectors.user_get(fetched_by=request.auth, user_id=user_id)
    return services.user_update(actor=request.auth, user=user, password=payload.password,
                                data=payload.dict(exclude_unset=True, exclude={"password"}), request=request)

"""/api/v1/auth and /api/v1/users. Thin: parse, call a selector or service, shape the answer."""

import datetime as dt
import json
from uuid import UUID

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.security import HttpBearer
from pydantic import EmailStr, Field

from accounts import selectors, services
from accounts.models import Role, User
from accounts.tokens import TokenError, issue_pair, user_for_token
from clinic.models import Gender
from core.errors import DomainError, PermissionDenied
from core.schemas import Labels, LimitOffsetPagination, Schema


class JWTAuth(HttpBearer):
    def authenticate(self, request, token):
        try:
            user = user_for_token(token, kind="access")
        except TokenError:
            return None
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
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=20)
    preferred_language: str | None = None
    location: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, max_length=64)


class TokensOut(Schema):
    access: str
    refresh: str
    token_type: str
    expires_in: int


class LoginIn(Schema):
    login: str = Field(..., min_length=3, description="Email address or phone number")
    password: str = Field(..., min_length=1)
    otp: str | None = Field(None, description="Authenticator or backup code, when two-factor is on")


class RefreshIn(Schema):
    refresh: str


class SignupOut(Schema):
    user: UserOut
    tokens: TokensOut | None = None


class PatientSignupIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    date_of_birth: dt.date
    gender: Gender
    preferred_language: str = "en"
    location: str = Field("", max_length=200)
    phone: str = Field(..., min_length=5, max_length=20)
    password: str
    email: EmailStr | None = None
    timezone: str = "UTC"


class DoctorSignupIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    email: EmailStr
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


class DoctorSignupOut(Schema):
    user: UserOut
    application: ApplicationOut


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
    email: EmailStr
    phone: str | None = None
    password: str


class HospitalSignupOut(Schema):
    user: UserOut
    hospital_id: UUID
    hospital_status: str


class AdminSignupIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    email: EmailStr
    phone: str | None = None
    password: str


# --- auth -------------------------------------------------------------------------------------

auth_router = Router(tags=["auth"])


@auth_router.post("/login", auth=None, response=TokensOut,
                  summary="Sign in with email or phone + password (+ two-factor code)")
def login(request, payload: LoginIn):
    key = "email" if "@" in payload.login else "phone"
    user = authenticate(request, **{key: payload.login.strip(), "password": payload.password})
    if getattr(request, "axes_locked_out", False):
        from accounts.lockout import lockout_message

        raise APIError(lockout_message(), 429, code="locked_out")
    if user is None or not user.is_active:
        raise APIError(_("The login or password is not correct."), 401)
    if services.has_two_factor(user):
        if not payload.otp:
            raise APIError(_("Two-factor code required."), 401, otp_required=True)
        if services.otp_verify(user=user, token=payload.otp, request=request) is None:
            raise APIError(_("The two-factor code is not right or was already used."), 401, otp_required=True)
    elif user.requires_two_factor:
        raise APIError(_("Set up two-factor authentication in the web app before using the API."), 403)
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.send(sender=User, request=request, user=user)
    return issue_pair(user)


@auth_router.post("/refresh", auth=None, response=TokensOut, summary="Exchange a refresh token for new tokens")
def refresh(request, payload: RefreshIn):
    try:
        user = user_for_token(payload.refresh, kind="refresh")
    except TokenError as exc:
        raise APIError(str(exc), 401) from exc
    return issue_pair(user)


def _timeslots(raw: str):
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError({"proposed_timeslots": [_("Send the timeslots as a JSON list.")]}) from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValidationError({"proposed_timeslots": [_("Send the timeslots as a JSON list of objects.")]})
    return value


@auth_router.post("/patient-signup", auth=None, response={201: SignupOut},
                  summary="Create a patient account (active at once)")
def patient_signup(request, data: Form[PatientSignupIn], photo: File[UploadedFile] = None):
    user = services.patient_signup(
        name=data.name, date_of_birth=data.date_of_birth, gender=data.gender,
        preferred_language=data.preferred_language, location=data.location, phone=data.phone,
        password=data.password, email=data.email, photo=photo, timezone_name=data.timezone, request=request)
    tokens = issue_pair(user) if not services.has_two_factor(user) else None
    return Status(201, {"user": user, "tokens": tokens})


@auth_router.post("/doctor-signup", auth=None, response={201: DoctorSignupOut},
                  summary="Apply as a doctor (multipart, with identity proof); pending until approved")
def doctor_signup(request, data: Form[DoctorSignupIn], identity_proof: File[UploadedFile],
                  cv_file: File[UploadedFile] = None, photo: File[UploadedFile] = None):
    application = services.doctor_apply(
        name=data.name, email=data.email, phone=data.phone, password=data.password,
        specialty=data.specialty, years_experience=data.years_experience, cv_text=data.cv_text,
        identity_proof=identity_proof, cv_file=cv_file, photo=photo,
        proposed_timeslots=_timeslots(data.proposed_timeslots),
        preferred_language=data.preferred_language, timezone_name=data.timezone, request=request)
    return Status(201, {"user": application.user, "application": application})


@auth_router.post("/hospital-signup", auth=None, response={201: HospitalSignupOut},
                  summary="Register a hospital and its first staff user; pending until approved")
def hospital_signup(request, data: HospitalSignupIn):
    hospital = services.hospital_signup(
        hospital_name=data.hospital_name, address=data.address, city=data.city, state=data.state,
        country=data.country, pin_code=data.pin_code, contact=data.contact,
        specialities=data.specialities, website=data.website, name=data.name, email=data.email,
        phone=data.phone, password=data.password, request=request)
    owner = hospital.staff.get(is_owner=True).user
    return Status(201, {"user": owner, "hospital_id": hospital.id, "hospital_status": hospital.status})


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


@users_router.put("/me", response=UserOut, summary="Update the signed-in user's profile")
def me_update(request, payload: UserUpdateIn):
    return services.user_update(actor=request.auth, user=request.auth,
                                data=payload.dict(exclude_unset=True), request=request)


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
    return services.user_update(actor=request.auth, user=user, data=payload.dict(exclude_unset=True),
                                request=request)

"""Reads for accounts, always scoped to the acting user. 404 for missing and not-yours alike."""

import time

from django.db.models import QuerySet

from accounts.models import ApplicationStatus, DoctorApplication, Role, User
from clinic.models import ApprovalStatus, Hospital
from core.errors import NotFound


def users_visible_to(viewer: User) -> QuerySet[User]:
    """Accounts whose profile the viewer may read: admins see all, everyone else themselves.
    (Care-team visibility of patients is the clinic policy's business, not account profiles.)"""
    if not viewer.is_authenticated:
        return User.objects.none()
    if viewer.is_admin:
        return User.objects.all()
    return User.objects.filter(pk=viewer.pk)


def user_get(*, fetched_by: User, user_id) -> User:
    user = users_visible_to(fetched_by).filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    return user


def user_photo_get(*, fetched_by: User, user_id) -> User:
    """The account whose photo the viewer may see, 404 otherwise: the person themselves and admins;
    for a patient, whoever may see that patient (family, care-team doctors, staff of a hospital
    the patient is registered with: a photo is identification, not clinical data); for an
    approved doctor, any signed-in person (the directory shows them to everyone)."""
    from clinic import selectors as clinic_selectors

    if not (fetched_by.is_authenticated and fetched_by.is_active):
        raise NotFound("User not found.")
    user = User.objects.filter(pk=user_id, is_active=True).first() if not fetched_by.is_admin else (
        User.objects.filter(pk=user_id).first())
    if user is None:
        raise NotFound("User not found.")
    if user.pk == fetched_by.pk or fetched_by.is_admin:
        return user
    if user.role == Role.PATIENT and clinic_selectors.patients_visible_to(fetched_by, clinical=False).filter(
            user=user).exists():
        return user
    if user.role == Role.DOCTOR and clinic_selectors.doctors_directory().filter(user=user).exists():
        return user
    raise NotFound("User not found.")


def users_list(*, fetched_by: User, role: str | None = None, search: str | None = None) -> QuerySet[User]:
    qs = users_visible_to(fetched_by)
    if role:
        qs = qs.filter(role=role)
    if search:
        from django.db.models import Q

        qs = qs.filter(Q(name__icontains=search) | Q(email__icontains=search) | Q(phone__icontains=search))
    return qs.order_by("name")


def doctor_application_current(*, user: User) -> DoctorApplication | None:
    return user.doctor_applications.first()


APPROVAL_MEMO_SECONDS = 5.0


def doctor_is_approved(user: User) -> bool:
    """Whether this doctor account is approved. A page asks several times (navigation, access
    gate, policy checks): the answer is remembered on the user object for a few seconds, which
    covers one request, while a long-lived websocket still sees a revoked approval promptly."""
    if not (user.is_authenticated and user.role == Role.DOCTOR):
        return False
    now = time.monotonic()
    memo = getattr(user, "_haven_doctor_approved", None)
    if memo is not None and now - memo[0] < APPROVAL_MEMO_SECONDS:
        return memo[1]
    approved = user.doctor_applications.filter(status=ApplicationStatus.APPROVED).exists()
    user._haven_doctor_approved = (now, approved)
    return approved


def application_for_admin(*, fetched_by: User, application_id) -> DoctorApplication:
    """Identity proofs and CVs are for administrators only."""
    if not (fetched_by.is_authenticated and fetched_by.is_admin):
        raise NotFound("Application not found.")
    application = DoctorApplication.objects.select_related("user").filter(pk=application_id).first()
    if application is None:
        raise NotFound("Application not found.")
    return application


def hospital_of_staff(user: User) -> Hospital | None:
    membership = getattr(user, "hospital_staff", None) if user.is_authenticated else None
    return membership.hospital if membership else None


def pending_approval_counts() -> dict[str, int]:
    return {
        "doctors": DoctorApplication.objects.filter(status=ApplicationStatus.PENDING).count(),
        "hospitals": Hospital.objects.filter(status=ApprovalStatus.PENDING).count(),
    }

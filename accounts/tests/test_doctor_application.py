import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ApplicationStatus, DoctorApplication, Role, User
from accounts.tests.human import solved
from analytics.models import AuditAction, AuditEvent
from clinic.models import DoctorProfile, WeeklyAvailability
from conftest import login_verified, pdf_upload, png_upload
from tests.factories import DoctorApplicationFactory

pytestmark = pytest.mark.django_db


def application_form(**overrides):
    data = {
        "name": "Nadia Rao", "email": "nadia@example.com", "phone": "+12025550160", "specialty": "Psychiatry",
        "years_experience": "9", "cv_text": "MD, residency in psychiatry.", "timezone": "Europe/Madrid",
        "password": "Lantern-river-93", "password_confirm": "Lantern-river-93",
        "day_0_start": "09:00", "day_0_end": "12:30", "day_3_start": "14:00", "day_3_end": "18:00",
        "identity_proof": pdf_upload(),
    }
    data.update(solved())  # the human check, solved as altcha.js does
    data.update(overrides)
    return data


def sign_in(client, login="nadia@example.com"):
    response = client.post(reverse("account_login"), {"login": login, "password": "Lantern-river-93"})
    assert response.status_code == 302
    return response


def test_it_creates_a_pending_application_with_encrypted_identity_proof(client):
    response = client.post(reverse("doctor_apply"), application_form())
    # issue 9: the same answer whether the e-mail was new or taken; the doctor then signs in
    assert response.status_code == 302 and response.url == "/signup/done/"
    assert client.get("/dashboard/").status_code == 302
    sign_in(client)
    assert client.get("/dashboard/").url == "/account/application/"
    user = User.objects.get(email="nadia@example.com")
    assert user.role == Role.DOCTOR
    application = DoctorApplication.objects.get(user=user)
    assert application.status == ApplicationStatus.PENDING
    assert application.proposed_timeslots == [
        {"weekday": 0, "start": "09:00", "end": "12:30"}, {"weekday": 3, "start": "14:00", "end": "18:00"}]
    raw = application.identity_proof.storage.read_raw(application.identity_proof.name)
    assert b"%PDF" not in raw  # encrypted at rest
    assert application.identity_proof.read().startswith(b"%PDF")  # and readable through the app
    assert application.identity_proof_type == "application/pdf"
    with pytest.raises(NotImplementedError):
        application.identity_proof.url  # noqa: B018 - never under a public URL
    status = client.get("/account/application/")
    assert "Pending review" in status.content.decode()


@pytest.mark.parametrize("overrides, field", [
    ({"identity_proof": SimpleUploadedFile("id.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")},
     "identity_proof"),
    ({"identity_proof": ""}, "identity_proof"),
    ({"years_experience": "120"}, "years_experience"),
    ({"email": ""}, "email"),
])
def test_it_rejects_bad_input_with_field_errors(client, overrides, field):
    response = client.post(reverse("doctor_apply"), application_form(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not User.objects.exists() and not DoctorApplication.objects.exists()


def test_it_caps_upload_size(client, settings):
    settings.MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("id.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10), content_type="application/pdf")
    response = client.post(reverse("doctor_apply"), application_form(identity_proof=big))
    assert "too large" in response.context["form"].errors["identity_proof"][0]
    assert not User.objects.exists()


def test_it_rejects_overlapping_or_inverted_timeslots(client):
    response = client.post(reverse("doctor_apply"), application_form(day_0_start="12:00", day_0_end="09:00"))
    assert "proposed_timeslots" not in response.context["form"].fields
    assert "end after it starts" in str(response.context["form"].non_field_errors())
    response = client.post(reverse("doctor_apply"), application_form(day_1_start="09:00", day_1_end=""))
    assert "start and an end" in str(response.context["form"].non_field_errors())
    assert not User.objects.exists()


def test_pending_doctor_sees_only_the_application_status(client):
    client.post(reverse("doctor_apply"), application_form())
    sign_in(client)
    for path in ["/dashboard/", "/account/profile/", "/admin/", "/hospital/staff/"]:
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/account/application/"), path


# --- decisions in Django admin ----------------------------------------------------------------

@pytest.fixture
def pending():
    return DoctorApplicationFactory(
        user__name="Nadia Rao", user__email="nadia@example.com",
        proposed_timeslots=[{"weekday": 1, "start": "10:00", "end": "12:00"}])


def test_admin_list_opens_on_pending_applications(client, ada, pending):
    login_verified(client, ada)
    response = client.get("/admin/accounts/doctorapplication/")
    assert response.status_code == 302 and "status__exact=pending" in response.url
    listing = client.get(response.url)
    assert "Nadia Rao" in listing.content.decode()


def test_admin_approves_creates_profile_and_availability_and_emails(client, ada, pending,
                                                                   django_capture_on_commit_callbacks):
    login_verified(client, ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/accounts/doctorapplication/{pending.pk}/approve/")
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.APPROVED and pending.decided_by == ada
    profile = DoctorProfile.objects.get(user=pending.user)
    assert profile.specialty == pending.specialty
    slots = list(WeeklyAvailability.objects.filter(doctor=profile).values_list("weekday", "start_time", "end_time"))
    assert [(w, s.strftime("%H:%M"), e.strftime("%H:%M")) for w, s, e in slots] == [(1, "10:00", "12:00")]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nadia@example.com"]
    assert "approved" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_APPROVED, actor=ada).exists()
    # a second click does not approve twice nor email twice
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/accounts/doctorapplication/{pending.pk}/approve/")
    assert len(mail.outbox) == 1


def test_admin_reject_requires_a_reason_and_emails_it(client, ada, pending, django_capture_on_commit_callbacks):
    login_verified(client, ada)
    url = f"/admin/accounts/doctorapplication/{pending.pk}/reject/"
    response = client.post(url, {"rejection_reason": "  "})
    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.PENDING and not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"rejection_reason": "Licence scan unreadable."})
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.REJECTED
    assert "Licence scan unreadable." in mail.outbox[0].body
    assert not DoctorProfile.objects.filter(user=pending.user).exists()


def test_approve_get_only_asks_for_confirmation(client, ada, pending):
    login_verified(client, ada)
    page = client.get(f"/admin/accounts/doctorapplication/{pending.pk}/approve/")
    assert page.status_code == 200 and "Approve the application of Nadia Rao" in page.content.decode()
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.PENDING


def test_non_admins_cannot_decide(client, carol, pending):
    login_verified(client, carol)
    response = client.post(f"/admin/accounts/doctorapplication/{pending.pk}/approve/")
    assert response.status_code == 302 and "/admin/login/" in response.url
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.PENDING


def test_rejected_doctor_sees_reason_and_can_reapply(client, pending, ada):
    from accounts import services

    services.application_reject(application=pending, decided_by=ada, reason="Licence expired.")
    client.force_login(pending.user)
    status = client.get("/account/application/").content.decode()
    assert "Licence expired." in status
    form = client.get("/account/application/reapply/")
    assert form.status_code == 200
    assert 'value="10:00"' in form.content.decode()  # previous timeslots prefilled
    response = client.post("/account/application/reapply/", {
        "specialty": "Psychiatry", "years_experience": "8", "cv_text": "Renewed licence attached.",
        "identity_proof": png_upload("licence.png"), "day_2_start": "08:00", "day_2_end": "10:00"})
    assert response.status_code == 302
    assert list(pending.user.doctor_applications.values_list("status", flat=True)) == ["pending", "rejected"]
    assert client.get("/account/application/reapply/").status_code == 404  # only after a rejection

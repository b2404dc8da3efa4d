"""Identity proofs and CVs: encrypted at rest, never under a URL, streamed only to admins (audited)."""

import pytest

from analytics.models import AuditAction, AuditEvent
from conftest import login_verified
from tests.factories import DoctorApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def application():
    return DoctorApplicationFactory(user__name="Nadia Rao")


def url(application, kind="identity"):
    return f"/admin/accounts/doctorapplication/{application.pk}/document/{kind}/"


def test_admin_can_view_and_the_view_is_audited(client, ada, application):
    login_verified(client, ada)
    response = client.get(url(application))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=AuditAction.IDENTITY_PROOF_VIEWED)
    assert event.actor == ada and event.target_id == str(application.pk)


@pytest.mark.parametrize("who", ["alice", "grace", "bob", "carol", "dave", "hana"])
def test_nobody_else_can_reach_it(client, request, application, who):
    login_verified(client, request.getfixturevalue(who))
    response = client.get(url(application))
    assert response.status_code == 302 and "/login/" in response.url
    assert not AuditEvent.objects.filter(action=AuditAction.IDENTITY_PROOF_VIEWED).exists()


def test_the_applicant_cannot_fetch_it_back(client, application):
    client.force_login(application.user)
    assert client.get(url(application)).status_code == 302


def test_anonymous_is_sent_to_login(client, application):
    response = client.get(url(application))
    assert response.status_code == 302 and "/login/" in response.url


def test_admin_without_second_factor_is_stopped(client, ada, application):
    from conftest import totp_enrol

    totp_enrol(ada)
    client.force_login(ada)
    assert client.get(url(application)).url.startswith("/account/2fa/verify/")


def test_file_on_disk_is_ciphertext(application):
    raw = application.identity_proof.storage.read_raw(application.identity_proof.name)
    assert b"test identity" not in raw and raw.startswith(b"gAAAA")  # a Fernet token
    assert application.identity_proof.read() == b"%PDF-1.4 test identity"

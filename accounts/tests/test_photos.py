"""Profile photos: encrypted at rest, re-encoded, served decrypted only to who may see that person."""

import io
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from PIL import Image

from accounts import services
from accounts.models import User
from conftest import login_verified, png_upload
from core.storage import encrypt_stored_images, encrypted_storage
from tests.factories import (
    CareTeamMemberFactory,
    DoctorApplicationFactory,
    HospitalPatientFactory,
    HospitalStaffFactory,
    PatientFactory,
    UserFactory,
    UserPatientRelationFactory,
)

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG"


@pytest.fixture
def people(alice, grace, bob, carol, dave, hana, ada):
    """Alice's circle: Grace (family), Carol (care team), Hana (staff of Alice's hospital); Dave
    and a second hospital's staff member are strangers to her."""
    CareTeamMemberFactory(doctor=carol.doctor_profile, patient=alice.patient_record)
    HospitalPatientFactory(hospital=hana.hospital_staff.hospital, patient=alice.patient_record)
    other_staff = HospitalStaffFactory(user__name="Olga Staff", user__email="olga@example.com").user
    return {"alice": alice, "grace": grace, "bob": bob, "carol": carol, "dave": dave, "hana": hana,
            "olga": other_staff, "ada": ada, "anonymous": None}


def fetch(client, viewer, url):
    client.logout()
    if viewer is not None:
        login_verified(client, viewer)
    return client.get(url)


def test_an_uploaded_photo_is_ciphertext_on_disk_and_plain_through_the_model(alice):
    services.user_update(actor=alice, user=alice, data={}, photo=png_upload())
    alice.refresh_from_db()
    stored = encrypted_storage.read_raw(alice.photo.name)
    assert stored.startswith(b"gAAAAA") and PNG_MAGIC not in stored
    with alice.photo.open("rb") as fh:
        assert fh.read().startswith(b"\xff\xd8")  # re-encoded as JPEG


# Who sees Alice's profile photo (a patient).
ALICE_PHOTO = {"alice": 200, "grace": 200, "carol": 200, "hana": 200, "ada": 200,
               "bob": 404, "dave": 404, "olga": 404, "anonymous": 302}


@pytest.mark.parametrize("viewer, expected", ALICE_PHOTO.items())
def test_who_sees_a_patients_photo(client, people, viewer, expected):
    alice = people["alice"]
    services.user_update(actor=alice, user=alice, data={}, photo=png_upload())
    response = fetch(client, people[viewer], f"/account/photo/{alice.pk}/")
    assert response.status_code == expected
    if expected == 200:
        body = b"".join(response.streaming_content)
        assert body.startswith(b"\xff\xd8") and response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"].startswith("private")


@pytest.mark.parametrize("viewer, expected", {"alice": 200, "bob": 200, "carol": 200, "dave": 200, "hana": 200,
                                              "ada": 200, "anonymous": 302}.items())
def test_an_approved_doctors_photo_is_seen_by_signed_in_people(client, people, viewer, expected):
    carol = people["carol"]
    services.user_update(actor=carol, user=carol, data={}, photo=png_upload())
    assert fetch(client, people[viewer], f"/account/photo/{carol.pk}/").status_code == expected


def test_a_pending_doctors_and_a_staff_members_photo_are_their_own(client, people):
    pending = UserFactory(role="doctor", name="Pat Pending", email="pat@example.com")
    DoctorApplicationFactory(user=pending)
    for owner in (pending, people["hana"]):
        services.user_update(actor=owner, user=owner, data={}, photo=png_upload())
        assert fetch(client, people["alice"], f"/account/photo/{owner.pk}/").status_code == 404
        assert fetch(client, people["carol"], f"/account/photo/{owner.pk}/").status_code == 404
        assert fetch(client, people["ada"], f"/account/photo/{owner.pk}/").status_code == 200
    # (a pending doctor's own pages are held at the application page by the access gate)
    assert fetch(client, people["hana"], f"/account/photo/{people['hana'].pk}/").status_code == 200


@pytest.fixture
def dependant(people):
    """Alice's son, managed by Alice, with a photo on his patient record."""
    son = PatientFactory(name="Sam Son")
    UserPatientRelationFactory(user=people["alice"], patient=son, relation="parent")
    CareTeamMemberFactory(doctor=people["carol"].doctor_profile, patient=son)
    son.photo.save("sam.png", ContentFile(png_upload().read()))
    return son


@pytest.mark.parametrize("viewer, expected", {"alice": 200, "carol": 200, "ada": 200, "grace": 404, "bob": 404,
                                              "dave": 404, "hana": 404, "anonymous": 302}.items())
def test_who_sees_a_patient_records_photo(client, people, dependant, viewer, expected):
    assert encrypted_storage.read_raw(dependant.photo.name).startswith(b"gAAAAA")
    response = fetch(client, people[viewer], f"/patients/{dependant.pk}/photo/")
    assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content).startswith(PNG_MAGIC)




def test_a_missing_photo_is_404(client, people):
    assert fetch(client, people["alice"], f"/account/photo/{people['alice'].pk}/").status_code == 404
    assert fetch(client, people["alice"], f"/patients/{people['alice'].patient_record.pk}/photo/").status_code == 404


def test_the_admin_links_to_the_checked_view(client, people, dependant):
    alice = people["alice"]
    services.user_update(actor=alice, user=alice, data={}, photo=png_upload())
    login_verified(client, people["ada"])
    page = client.get(f"/admin/accounts/user/{alice.pk}/change/").content.decode()
    assert f"/account/photo/{alice.pk}/" in page
    page = client.get(f"/admin/clinic/patient/{dependant.pk}/change/").content.decode()
    assert f"/patients/{dependant.pk}/photo/" in page


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "#a37").save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def test_the_migration_re_encodes_and_encrypts_photos_uploaded_before_and_reverses(alice):
    from django.apps import apps

    inner = storages["default"]
    old = inner.save("photos/2026/01/old.jpg", ContentFile(_jpeg_with_gps()))
    User.objects.filter(pk=alice.pk).update(photo=old)
    forwards, backwards = encrypt_stored_images({"accounts.User": ["photo"]})
    editor = SimpleNamespace(connection=connection)  # all the data step uses of a schema editor
    forwards(apps, editor)
    alice.refresh_from_db()
    raw = encrypted_storage.read_raw(alice.photo.name)
    assert raw.startswith(b"gAAAAA")
    with alice.photo.open("rb") as fh:
        plain = fh.read()
    assert b"SpyCam" not in plain and plain.startswith(b"\xff\xd8")
    forwards(apps, editor)  # idempotent
    alice.refresh_from_db()
    with alice.photo.open("rb") as fh:
        assert fh.read() == plain
    backwards(apps, editor)
    alice.refresh_from_db()
    with inner.open(alice.photo.name, "rb") as fh:
        assert fh.read() == plain


@pytest.mark.parametrize("who", ["enrolling doctor", "pending doctor"])
def test_the_own_avatar_loads_on_the_pages_a_session_is_held_at(client, people, who):
    """The header shows the person's avatar on the 2FA set-up page (and the application status
    page): the image must load there, not redirect to the page itself (a broken image)."""
    if who == "enrolling doctor":
        user, held_at = people["carol"], "/account/2fa/setup/"
    else:
        user, held_at = UserFactory(role="doctor", name="Pat Pending", email="pat@example.com"), "/account/application/"
        DoctorApplicationFactory(user=user)
    services.user_update(actor=user, user=user, data={}, photo=png_upload())
    client.force_login(user)  # password only: a doctor still owes the second factor
    page = client.get(held_at)
    assert page.status_code == 200
    photo_url = f"/account/photo/{user.pk}/"
    assert photo_url in page.content.decode()
    response = client.get(photo_url)
    assert response.status_code == 200 and response["Content-Type"].startswith("image/")
    # someone else's photo stays behind the gate
    carol = people["carol"] if user != people["carol"] else people["dave"]
    services.user_update(actor=carol, user=carol, data={}, photo=png_upload())
    assert client.get(f"/account/photo/{carol.pk}/").status_code == 302

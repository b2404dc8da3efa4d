"""/api/v1 chats and messages: the access matrix, pagination, duplicates, files, receipts,
archive and urgent; plus the services behind them (chat opened by the care-team mapping)."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.tokens import issue_pair
from analytics.models import AuditEvent
from clinic import services as clinic_services
from clinic.models import CareTeamMember
from conftest import login_verified, pdf_upload, png_upload
from telehealth import chat as chats
from telehealth.models import Chat, ChatReadState, Message, Notification

pytestmark = pytest.mark.django_db


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")


def send(user, chat, client_id, body="hello"):
    return api(user).post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": client_id, "body": body},
                          content_type="application/json")


# --- opening chats ---------------------------------------------------------------------------------

def test_it_opens_a_chat_when_a_doctor_joins_the_care_team(alice, carol, ada, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        clinic_services.care_team_add(actor=ada, doctor=carol.doctor_profile, patient=alice.patient_record)
    assert Chat.objects.filter(patient=alice.patient_record, doctor=carol.doctor_profile).count() == 1


def test_it_opens_a_chat_from_an_appointment(alice, carol):
    from telehealth.tests.helpers import book, days_ahead, open_all_week

    open_all_week(carol)
    appointment = book(alice, carol, days_ahead(3))
    response = api(alice).post("/api/v1/chats", {"appointment_id": str(appointment.pk)},
                               content_type="application/json")
    assert response.status_code == 200
    assert response.json()["doctor_id"] == str(carol.doctor_profile.pk)
    # Opening again returns the same chat.
    again = api(carol).post("/api/v1/chats", {"appointment_id": str(appointment.pk)}, content_type="application/json")
    assert again.json()["id"] == response.json()["id"]


def test_it_opens_a_chat_for_a_mapping_but_not_for_strangers(alice, grace, carol, dave, bob):
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    body = {"patient_id": str(alice.patient_record.pk), "doctor_id": str(carol.doctor_profile.pk)}
    assert api(grace).post("/api/v1/chats", body, content_type="application/json").status_code == 200
    assert api(bob).post("/api/v1/chats", body, content_type="application/json").status_code == 404
    dave_body = {"patient_id": str(alice.patient_record.pk), "doctor_id": str(dave.doctor_profile.pk)}
    assert api(dave).post("/api/v1/chats", dave_body, content_type="application/json").status_code == 404
    assert Chat.objects.count() == 1


def test_a_patient_cannot_open_a_chat_with_a_doctor_outside_the_care_team(alice, grace, carol, dave):
    """Any doctor of the directory was reachable before: the patient's side got a chat with Dave."""
    CareTeamMember.objects.create(doctor=carol.doctor_profile, patient=alice.patient_record)
    body = {"patient_id": str(alice.patient_record.pk), "doctor_id": str(dave.doctor_profile.pk)}
    for who in (alice, grace):
        response = api(who).post("/api/v1/chats", body, content_type="application/json")
        assert response.status_code == 403, response.content
        assert "care team" in response.json()["detail"]
    assert not Chat.objects.filter(doctor=dave.doctor_profile).exists()
    with pytest.raises(chats.PermissionDenied):
        chats.chat_open(actor=alice, patient=alice.patient_record, doctor=dave.doctor_profile)


def test_an_appointment_opens_the_chat_only_while_its_doctor_is_in_the_care_team(alice, carol):
    from telehealth.tests.helpers import book, days_ahead, open_all_week

    open_all_week(carol)
    appointment = book(alice, carol, days_ahead(3))
    CareTeamMember.objects.filter(doctor=carol.doctor_profile, patient=alice.patient_record).delete()
    body = {"appointment_id": str(appointment.pk)}
    assert api(alice).post("/api/v1/chats", body, content_type="application/json").status_code == 403
    assert api(carol).post("/api/v1/chats", body, content_type="application/json").status_code == 404
    # The page says why and goes back to the appointment.
    page = login_verified(Client(), alice).post(f"/appointments/{appointment.pk}/chat/", follow=True)
    assert page.redirect_chain[-1][0] == f"/appointments/{appointment.pk}/"
    assert "care team" in page.content.decode()
    assert not Chat.objects.exists()


# --- access matrix ----------------------------------------------------------------------------------

@pytest.mark.parametrize("who,status", [("alice", 200), ("grace", 200), ("carol", 200), ("bob", 404),
                                        ("dave", 404), ("hana", 404), ("ada", 404)])
def test_it_checks_membership(request, chat, alice, who, status):
    user = request.getfixturevalue(who)
    message, _ = chats.message_send(sender=alice, chat=chat, client_id="x", body="private")
    client = api(user)
    assert client.get(f"/api/v1/chats/{chat.pk}").status_code == status
    assert client.get(f"/api/v1/chats/{chat.pk}/messages").status_code == status
    assert client.put(f"/api/v1/messages/{message.pk}/read").status_code == status
    assert send(user, chat, f"from-{who}").status_code == (201 if status == 200 else 404)
    listed = [c["id"] for c in client.get("/api/v1/chats").json()]
    assert (str(chat.pk) in listed) == (status == 200)


def test_it_requires_authentication(chat):
    assert Client().get("/api/v1/chats").status_code == 401
    assert Client().post("/api/v1/messages", {}, content_type="application/json").status_code == 401


def test_family_messages_are_labelled_on_behalf(chat, grace, alice, carol):
    send(grace, chat, "g1", "I am writing for my daughter")
    send(alice, chat, "a1", "Me too")
    send(carol, chat, "c1", "Noted")
    roles = [(m["sender_role"], m["on_behalf"]) for m in
             api(carol).get(f"/api/v1/chats/{chat.pk}/messages").json()["messages"]]
    assert roles == [("family", True), ("patient", False), ("doctor", False)]


def test_the_session_can_use_the_api_with_csrf(chat, alice):
    client = login_verified(Client(enforce_csrf_checks=True), alice)
    assert client.get(f"/api/v1/chats/{chat.pk}/messages").status_code == 200
    refused = client.post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": "s1", "body": "hi"},
                          content_type="application/json")
    assert refused.status_code in (401, 403)
    client.get("/chats/")  # sets the CSRF cookie
    ok = client.post("/api/v1/messages", {"chat_id": str(chat.pk), "client_id": "s1", "body": "hi"},
                     content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert ok.status_code == 201


# --- messages ------------------------------------------------------------------------------------------

def test_a_duplicate_client_id_is_stored_once(chat, alice, grace):
    first = send(alice, chat, "dup", "once")
    second = send(alice, chat, "dup", "once")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    # The client id is per sender: Grace may use the same one.
    assert send(grace, chat, "dup", "mine").status_code == 201
    assert Message.objects.filter(chat=chat).count() == 2


def test_it_validates_messages(chat, alice):
    assert send(alice, chat, "e1", "").status_code == 422
    assert send(alice, chat, "e2", "x" * (chats.MAX_BODY + 1)).status_code == 422
    assert send(alice, chat, "", "hi").status_code == 422
    assert Message.objects.count() == 0


def test_history_pages_upward_and_resyncs_forward(chat, alice):
    for i in range(1, 8):
        chats.message_send(sender=alice, chat=chat, client_id=f"m{i}", body=f"message {i}")
    client = api(alice)
    newest = client.get(f"/api/v1/chats/{chat.pk}/messages?limit=3").json()
    assert [m["seq"] for m in newest["messages"]] == [5, 6, 7] and newest["has_more"]
    older = client.get(f"/api/v1/chats/{chat.pk}/messages?limit=3&before=5").json()
    assert [m["seq"] for m in older["messages"]] == [2, 3, 4] and older["has_more"]
    oldest = client.get(f"/api/v1/chats/{chat.pk}/messages?limit=3&before=2").json()
    assert [m["seq"] for m in oldest["messages"]] == [1] and not oldest["has_more"]
    after = client.get(f"/api/v1/chats/{chat.pk}/messages?after=4").json()
    assert [m["seq"] for m in after["messages"]] == [5, 6, 7] and not after["has_more"]


def test_search_within_a_chat(chat, alice, carol):
    chats.message_send(sender=alice, chat=chat, client_id="1", body="My headache is back")
    chats.message_send(sender=carol, chat=chat, client_id="2", body="Since when?")
    found = api(carol).get(f"/api/v1/chats/{chat.pk}/messages?q=HEADACHE").json()["messages"]
    assert [m["body"] for m in found] == ["My headache is back"]


def test_unread_counts_and_read_receipts(chat, alice, grace, carol):
    for i in range(3):
        chats.message_send(sender=alice, chat=chat, client_id=f"a{i}", body="hi")
    carol_list = api(carol).get("/api/v1/chats").json()
    assert carol_list[0]["unread"] == 3 and carol_list[0]["last_body"] == "hi"
    # Grace did not write these: they are unread for her too; Alice's own are not.
    assert api(grace).get("/api/v1/chats").json()[0]["unread"] == 3
    assert api(alice).get("/api/v1/chats").json()[0]["unread"] == 0
    second = Message.objects.get(chat=chat, seq=2)
    assert api(carol).put(f"/api/v1/messages/{second.pk}/read").json() == {"last_read_seq": 2}
    assert api(carol).get("/api/v1/chats").json()[0]["unread"] == 1
    # Never backwards.
    first = Message.objects.get(chat=chat, seq=1)
    assert api(carol).put(f"/api/v1/messages/{first.pk}/read").json() == {"last_read_seq": 2}
    receipts = api(alice).get(f"/api/v1/chats/{chat.pk}/messages").json()["receipts"]
    assert receipts[str(carol.pk)] == 2
    assert chats.chat_unread_total(carol) == 1
    assert api(carol).get("/api/v1/chats/unread").json() == {"unread": 1}


def test_new_messages_notify_members_in_app(chat, alice, grace, carol, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        chats.message_send(sender=alice, chat=chat, client_id="n1", body="Are you there?")
    recipients = set(Notification.objects.filter(kind=Notification.Kind.CHAT_MESSAGE).values_list("recipient", flat=True))
    assert recipients == {carol.pk, grace.pk}


# --- files ---------------------------------------------------------------------------------------------

def upload(user, chat, file, kind="file", client_id="f1"):
    return api(user).post("/api/v1/messages/upload", {"chat_id": str(chat.pk), "client_id": client_id,
                                                      "kind": kind, "file": file})


def test_it_accepts_images_and_pdfs_and_serves_them_to_members_only(chat, alice, carol, bob):
    response = upload(alice, chat, png_upload(exif=True))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "file" and data["file_type"] == "image/jpeg"
    got = api(carol).get(data["file_url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert b"SpyCam" not in b"".join(got.streaming_content)
    assert api(bob).get(data["file_url"]).status_code == 404
    pdf = pdf_upload("report.pdf")  # a real PDF: one that does not parse is refused (issue 9)
    response = upload(carol, chat, pdf, client_id="f2")
    assert response.status_code == 201 and response.json()["file_type"] == "application/pdf"
    download = api(alice).get(response.json()["file_url"])
    assert download["Content-Disposition"].startswith("attachment")


def test_it_refuses_wrong_types_and_oversize_files(chat, alice, settings):
    fake = SimpleUploadedFile("x.pdf", b"#!/bin/sh\necho hi\n", content_type="application/pdf")
    assert upload(alice, chat, fake).status_code == 422
    settings.MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10), content_type="application/pdf")
    assert upload(alice, chat, big, client_id="f2").status_code == 422
    assert upload(alice, chat, SimpleUploadedFile("a.webm", b"not audio"), kind="audio", client_id="f3").status_code == 422
    assert Message.objects.count() == 0


def test_it_accepts_a_browser_recording(chat, alice):
    # The EBML header MediaRecorder writes at the start of a WebM file.
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm" + b"\x00" * 64
    response = upload(alice, chat, SimpleUploadedFile("voice.webm", webm, content_type="audio/webm"), kind="audio")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "audio"


# --- archive and urgent --------------------------------------------------------------------------------------

def test_archive_is_per_side_and_a_new_message_restores(chat, alice, carol):
    assert api(carol).post(f"/api/v1/chats/{chat.pk}/archive", {"value": True},
                           content_type="application/json").status_code == 200
    assert api(carol).get("/api/v1/chats").json() == []
    assert [c["id"] for c in api(carol).get("/api/v1/chats?archived=true").json()] == [str(chat.pk)]
    assert len(api(alice).get("/api/v1/chats").json()) == 1
    chats.message_send(sender=alice, chat=chat, client_id="back", body="hello again")
    assert len(api(carol).get("/api/v1/chats").json()) == 1


def test_urgent_chat_goes_to_the_top_and_alerts_the_doctor(chat, alice, carol, django_capture_on_commit_callbacks):
    other_patient_chat = _second_chat(carol)
    chats.message_send(sender=other_patient_chat.patient.user, chat=other_patient_chat, client_id="1", body="newer")
    assert api(carol).get("/api/v1/chats").json()[0]["id"] == str(other_patient_chat.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(alice).post(f"/api/v1/chats/{chat.pk}/urgent", {"value": True}, content_type="application/json")
    assert response.status_code == 200 and response.json()["is_urgent"]
    assert api(carol).get("/api/v1/chats").json()[0]["id"] == str(chat.pk)
    assert Notification.objects.filter(recipient=carol, kind=Notification.Kind.CHAT_URGENT).count() == 1
    assert [m.to for m in mail.outbox] == [[carol.email]]
    assert api(carol).post(f"/api/v1/chats/{chat.pk}/urgent", {"value": True},
                           content_type="application/json").status_code == 403


def _second_chat(doctor):
    from tests.factories import PatientUserFactory

    other = PatientUserFactory(name="Zed Patient")
    CareTeamMember.objects.create(doctor=doctor.doctor_profile, patient=other.patient_record)
    return chats.chat_open(actor=None, patient=other.patient_record, doctor=doctor.doctor_profile)


def test_chat_list_has_no_n_plus_one(chat, carol, django_assert_max_num_queries):
    for index in range(4):
        other = _second_chat(carol)
        chats.message_send(sender=other.patient.user, chat=other, client_id=f"m{index}", body="hello")
    client = api(carol)
    with django_assert_max_num_queries(8):  # the previews' audit events are one INSERT
        assert len(client.get("/api/v1/chats").json()) == 5
    assert AuditEvent.objects.filter(action="chat.viewed", actor=carol).count() == 4


def test_read_state_is_per_user(chat, alice, carol):
    chats.message_send(sender=alice, chat=chat, client_id="1", body="x")
    assert ChatReadState.objects.get(chat=chat, user=alice).last_read_seq == 1
    assert not ChatReadState.objects.filter(chat=chat, user=carol).exists()


def test_a_voice_message_is_served_as_audio_with_its_length_and_byte_ranges(chat, alice, carol):
    """Voice notes were served as video/webm without ranges: players drew a video and showed 0:00."""
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm" + bytes(range(64))
    data = upload(alice, chat, SimpleUploadedFile("voice.webm", webm, content_type="audio/webm"), kind="audio").json()
    assert data["file_type"] == "audio/webm"
    whole = api(carol).get(data["file_url"])
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/webm"
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Length"] == str(len(webm))
    assert whole.content == webm
    part = api(carol).get(data["file_url"], HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part.content == webm[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(webm)}" and part["Content-Length"] == "10"
    assert api(carol).get(data["file_url"], HTTP_RANGE="bytes=-4").content == webm[-4:]
    assert api(carol).get(data["file_url"], HTTP_RANGE=f"bytes={len(webm)}-").status_code == 416
    # a recording stored before as video/webm is served as audio too
    Message.objects.filter(kind="audio").update(file_type="video/webm")
    assert api(carol).get(data["file_url"])["Content-Type"] == "audio/webm"

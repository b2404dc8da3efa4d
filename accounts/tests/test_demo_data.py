"""`manage.py demo_data` (what `make run` loads): it builds a usable demo through the real services
and running it again changes nothing."""

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from clinic.models import Appointment
from telehealth.models import Chat, ChatReadState, Message
from wellness.models import WellnessEntry

pytestmark = pytest.mark.django_db


def _counts():
    return {model.__name__: model.objects.count() for model in (User, Appointment, Chat, Message, WellnessEntry)}


def test_demo_data_is_complete_and_idempotent(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo_data", stdout=io.StringIO())
    first = _counts()
    assert all(first.values()), first

    carol = User.objects.get(email="carol@haven.test")
    alice_chat = Chat.objects.get(patient__user__email="alice@haven.test", doctor__user=carol)
    assert alice_chat.messages.count() == alice_chat.last_seq >= 2
    # Alice has one unread message from her doctor; Bob's conversation is urgent and on top.
    alice_read = ChatReadState.objects.get(chat=alice_chat, user__email="alice@haven.test").last_read_seq
    assert alice_chat.last_seq - alice_read == 1
    from telehealth.chat import chats_list
    assert chats_list(fetched_by=carol).first().patient.name == "Bob Baker"
    assert Chat.objects.get(patient__name="Bob Baker", doctor__user=carol).is_urgent

    # Consent (issue 9): Alice's family links are in force; Bob has one invitation to answer.
    from clinic.models import HospitalPatient, UserPatientRelation
    alice = User.objects.get(email="alice@haven.test")
    assert set(UserPatientRelation.with_invitations.filter(user=alice).values_list("consent", flat=True)) == {
        "accepted"}
    assert UserPatientRelation.objects.filter(user=alice, patient__name__in=["Ben Johnson", "Mia Johnson"]).count() == 2
    (pending,) = HospitalPatient.with_invitations.filter(consent="pending")
    assert pending.patient.user.email == "bob@haven.test"
    assert pending.hospital.name == "Riverside General Hospital"

    call_command("demo_data", stdout=io.StringIO())
    assert _counts() == first

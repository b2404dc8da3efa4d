"""In-app notifications: sending (once per source), the list page, marking read, the unread count."""

import pytest
from django.core import mail
from django.urls import reverse

from telehealth import selectors, services
from telehealth.models import Notification
from telehealth.tasks import notification_email_send
from telehealth.tests.helpers import URLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]
K = Notification.Kind


def send(user, title="Hello", *, source_key="", email=False, **kwargs):
    return services.notification_send(recipient=user, kind=K.APPOINTMENT_CONFIRMED, title=title, body="Body",
                                      url="/dashboard/", email=email, source_key=source_key, **kwargs)


class TestSend:
    def test_it_stores_the_row_and_emails_on_commit(self, alice, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            n = send(alice, email=True)
        assert len(callbacks) == 1
        n.refresh_from_db()
        assert n.emailed_at is not None
        [message] = mail.outbox
        assert message.to == ["alice@example.com"] and message.subject == "Hello"
        assert "Body" in message.body and "/dashboard/" in message.body

    def test_nothing_is_emailed_if_the_transaction_rolls_back(self, alice, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            send(alice, email=True)
        assert len(callbacks) == 1 and mail.outbox == []  # queued only on commit

    def test_one_notification_per_source(self, alice, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            first = send(alice, source_key="event:1", email=True)
            second = send(alice, "Other title", source_key="event:1", email=True)
        assert first.pk == second.pk and len(callbacks) == 1 and len(mail.outbox) == 1
        assert Notification.objects.count() == 1

    def test_without_a_source_every_call_is_a_notification(self, alice):
        send(alice)
        send(alice)
        assert Notification.objects.count() == 2

    def test_the_email_task_is_idempotent(self, alice):
        n = send(alice, email=True)
        assert notification_email_send(str(n.pk)) is True
        assert notification_email_send(str(n.pk)) is False
        assert len(mail.outbox) == 1

    def test_no_email_without_an_address_or_request(self, alice, bob):
        bob.email = None
        bob.save()
        assert notification_email_send(str(send(bob, email=True).pk)) is False
        assert notification_email_send(str(send(alice, email=False).pk)) is False
        assert mail.outbox == []

    def test_it_attaches_the_calendar_with_its_method(self, alice):
        ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n"
        n = send(alice, email=True, ics=ics)
        notification_email_send(str(n.pk))
        raw = mail.outbox[0].message()
        [part] = [p for p in raw.walk() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "CANCEL"
        assert part.get_filename() == "invite.ics"
        assert part.get_payload(decode=True).decode() == ics

    def test_unknown_kinds_are_refused(self, alice):
        with pytest.raises(ValueError):
            services.notification_send(recipient=alice, kind="nope", title="x", body="", url="", email=False)


class TestReadState:
    def test_unread_count_and_mark_read(self, alice, bob):
        a1, a2 = send(alice), send(alice)
        b1 = send(bob)
        assert selectors.unread_count(alice) == 2
        assert services.notifications_mark_read(user=alice, ids=[a1.pk, b1.pk]) == 1  # Bob's id is ignored
        assert selectors.unread_count(alice) == 1 and selectors.unread_count(bob) == 1
        assert services.notifications_mark_read(user=alice) == 1
        assert selectors.unread_count(alice) == 0
        a2.refresh_from_db()
        assert a2.read_at is not None

    def test_unread_count_is_one_query(self, alice, django_assert_num_queries):
        send(alice)
        with django_assert_num_queries(1):
            assert selectors.unread_count(alice) == 1

    def test_anonymous_has_none(self):
        from django.contrib.auth.models import AnonymousUser

        assert selectors.unread_count(AnonymousUser()) == 0
        assert list(selectors.notifications_for(AnonymousUser())) == []


class TestPage:
    def test_it_requires_login(self, client):
        assert client.get(reverse("notifications")).status_code == 302

    def test_it_lists_only_the_users_own_unread_first(self, client, alice, bob):
        old = send(alice, "Old but unread")
        read = send(alice, "Read one")
        services.notifications_mark_read(user=alice, ids=[read.pk])
        send(alice, "Newest unread")
        send(bob, "Bob's secret")
        client.force_login(alice)
        page = client.get(reverse("notifications")).content.decode()
        assert "Bob&#x27;s secret" not in page and "Bob's secret" not in page
        assert page.index("Newest unread") < page.index("Old but unread") < page.index("Read one")
        assert "2 unread notifications" in page
        assert old.title in page

    def test_it_paginates(self, client, alice, django_assert_max_num_queries):
        for i in range(45):
            send(alice, f"Note {i:02d}")
        client.force_login(alice)
        with django_assert_max_num_queries(12):
            first = client.get(reverse("notifications")).content.decode()
        assert "Note 44" in first and "Note 24" not in first and "Page 1 of 3" in first
        third = client.get(reverse("notifications") + "?page=3").content.decode()
        assert "Note 00" in third and "Note 05" not in third

    def test_mark_all_read(self, client, alice, bob):
        send(alice)
        send(bob)
        client.force_login(alice)
        response = client.post(reverse("notifications_mark_all_read"))
        assert response.status_code == 302 and response["Location"] == reverse("notifications")
        assert selectors.unread_count(alice) == 0 and selectors.unread_count(bob) == 1

    def test_it_rejects_get_for_mark_all_read(self, client, alice):
        send(alice)
        client.force_login(alice)
        assert client.get(reverse("notifications_mark_all_read")).status_code == 405
        assert selectors.unread_count(alice) == 1

    def test_open_marks_read_and_follows_the_link(self, client, alice):
        n = send(alice)
        client.force_login(alice)
        response = client.post(reverse("notification_open", args=[n.pk]))
        assert response.status_code == 302 and response["Location"] == "/dashboard/"
        n.refresh_from_db()
        assert n.read_at is not None

    def test_open_checks_ownership(self, client, alice, bob):
        n = send(bob)
        client.force_login(alice)
        response = client.post(reverse("notification_open", args=[n.pk]))
        assert response["Location"] == reverse("notifications")
        n.refresh_from_db()
        assert n.read_at is None

    def test_open_never_redirects_off_site(self, client, alice):
        n = services.notification_send(recipient=alice, kind=K.APPOINTMENT_CONFIRMED, title="x", body="",
                                       url="https://evil.example/", email=False)
        client.force_login(alice)
        assert client.post(reverse("notification_open", args=[n.pk]))["Location"] == reverse("notifications")

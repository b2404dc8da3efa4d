"""Morning plan, night review and carrying unfinished tasks over."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from analytics.models import AuditEvent
from clinic.tests.conftest import care, riverside  # noqa: F401 - fixtures
from core.errors import NotFound, PermissionDenied
from wellness import selectors, services
from wellness.models import DailyReview, TodoTask

pytestmark = pytest.mark.django_db


def today_of(patient):
    return selectors.patient_today(patient)


def past_task(patient, days_ago, title, done=False):
    from django.utils import timezone

    return TodoTask.objects.create(patient=patient, date=today_of(patient) - dt.timedelta(days=days_ago), title=title,
                                   done_at=timezone.now() if done else None)


class TestPlan:
    def test_it_adds_tasks_for_today_with_an_optional_time(self, alice):
        patient = alice.patient_record
        services.task_add(actor=alice, patient=patient, date=today_of(patient), title="Call Mum")
        services.task_add(actor=alice, patient=patient, date=today_of(patient), title=" Walk ", time=dt.time(8, 0))
        assert [t.title for t in selectors.tasks_of_day(patient=patient, date=today_of(patient))] == ["Walk", "Call Mum"]

    def test_it_refuses_past_days_and_empty_titles(self, alice):
        patient = alice.patient_record
        with pytest.raises(ValidationError) as exc:
            services.task_add(actor=alice, patient=patient, date=today_of(patient) - dt.timedelta(days=1), title="x")
        assert "date" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            services.task_add(actor=alice, patient=patient, date=today_of(patient), title="  ")
        assert "title" in exc.value.message_dict

    def test_done_and_undo(self, alice):
        patient = alice.patient_record
        task = services.task_add(actor=alice, patient=patient, date=today_of(patient), title="Walk")
        services.task_done(actor=alice, task=task)
        assert TodoTask.objects.get().done_at is not None
        services.task_undo(actor=alice, task=task)
        assert TodoTask.objects.get().done_at is None
        assert [a for a in AuditEvent.objects.order_by("created_at").values_list("action", flat=True)
                if a.startswith("wellness.task")] == ["wellness.task.added", "wellness.task.done", "wellness.task.undone"]

    def test_tasks_of_locked_days_cannot_be_ticked(self, alice):
        task = past_task(alice.patient_record, 3, "Old")
        with pytest.raises(ValidationError):
            services.task_done(actor=alice, task=task)

    def test_only_the_patient_side_changes_tasks(self, alice, grace, carol, bob, care):
        patient = alice.patient_record
        task = services.task_add(actor=grace, patient=patient, date=today_of(patient), title="Walk")
        with pytest.raises(PermissionDenied):
            services.task_done(actor=carol, task=task)
        with pytest.raises(NotFound):
            services.task_done(actor=bob, task=task)


class TestCarryOver:
    def test_unfinished_tasks_move_to_today_linked_to_the_original(self, alice):
        patient = alice.patient_record
        open_task = past_task(patient, 1, "Pay bills")
        past_task(patient, 1, "Walk", done=True)
        carried = services.task_carry_over(actor=alice, patient=patient, from_date=today_of(patient) - dt.timedelta(days=1))
        assert [(t.title, t.date, t.carried_from_id) for t in carried] == [("Pay bills", today_of(patient), open_task.pk)]

    def test_it_is_idempotent(self, alice):
        patient = alice.patient_record
        past_task(patient, 1, "Pay bills")
        past_task(patient, 2, "Read")
        assert len(services.task_carry_over(actor=alice, patient=patient)) == 2
        assert services.task_carry_over(actor=alice, patient=patient) == []
        assert services.task_carry_over(actor=alice, patient=patient,
                                        from_date=today_of(patient) - dt.timedelta(days=1)) == []
        assert TodoTask.objects.filter(date=today_of(patient)).count() == 2

    def test_a_carried_task_left_undone_carries_on_once_more(self, alice):
        patient = alice.patient_record
        original = past_task(patient, 2, "Pay bills")
        copy = TodoTask.objects.create(patient=patient, date=today_of(patient) - dt.timedelta(days=1),
                                       title="Pay bills", carried_from=original)
        carried = services.task_carry_over(actor=alice, patient=patient)
        assert [t.carried_from_id for t in carried] == [copy.pk]

    def test_it_refuses_today_or_later_as_the_source(self, alice):
        with pytest.raises(ValidationError) as exc:
            services.task_carry_over(actor=alice, patient=alice.patient_record, from_date=today_of(alice.patient_record))
        assert "from_date" in exc.value.message_dict


class TestReview:
    def test_it_saves_one_review_per_day(self, alice):
        patient = alice.patient_record
        services.review_save(actor=alice, patient=patient, date=today_of(patient), reflection="Good walk.")
        services.review_save(actor=alice, patient=patient, date=today_of(patient), reflection="Good walk, tired.")
        assert DailyReview.objects.get().reflection == "Good walk, tired."

    def test_yesterday_is_editable_older_days_are_locked(self, alice):
        patient = alice.patient_record
        services.review_save(actor=alice, patient=patient, date=today_of(patient) - dt.timedelta(days=1), reflection="")
        with pytest.raises(ValidationError) as exc:
            services.review_save(actor=alice, patient=patient, date=today_of(patient) - dt.timedelta(days=2),
                                 reflection="late")
        assert "date" in exc.value.message_dict

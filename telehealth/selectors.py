"""Reads for telehealth: always scoped to the person asking."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from accounts.models import User
from telehealth.models import Notification


def notifications_for(user: User) -> QuerySet[Notification]:
    """The user's own notifications, unread first, newest first within each group."""
    if not user.is_authenticated:
        return Notification.objects.none()
    # The recipient comes along: rendering reads their time zone (telehealth.notification_texts).
    return (Notification.objects.filter(recipient=user).select_related("recipient")
            .annotate(unread_rank=Case(When(read_at__isnull=True, then=Value(0)), default=Value(1),
                                       output_field=IntegerField()))
            .order_by("unread_rank", "-created_at")
            .defer("email_text", "ics"))


def unread_count(user: User) -> int:
    """For the navigation badge: one indexed COUNT on (recipient, read_at)."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()

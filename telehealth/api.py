"""/api/v1/notifications: the signed-in person's own notifications. Thin: selectors and services.

Someone else's notification id answers 404, the same as an id that does not exist.
"""

import datetime as dt
from uuid import UUID

from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Router
from ninja.pagination import paginate

from core.errors import NotFound
from core.schemas import LimitOffsetPagination, Schema
from telehealth import selectors, services
from telehealth.notification_texts import render

notifications_router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: UUID
    kind: str
    title: str
    body: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None
    unread: bool

    # Rendered in the reader's own language (the account's, as on the web), whenever they ask.
    @staticmethod
    def resolve_title(obj, context):
        return _rendered(obj, context).title

    @staticmethod
    def resolve_body(obj, context):
        return _rendered(obj, context).body

    @staticmethod
    def resolve_unread(obj):
        return obj.read_at is None


def _rendered(notification, context):
    request = (context or {}).get("request")
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    return render(notification, language=getattr(user, "preferred_language", None) or translation.get_language())


class MarkedOut(Schema):
    marked: int
    unread: int


@notifications_router.get("", response=list[NotificationOut],
                          summary="Your notifications, unread first, newest first; ?unread=true for unread only")
@paginate(LimitOffsetPagination, max_limit=100)
def notifications_list(request, unread: bool = False):
    qs = selectors.notifications_for(request.auth)
    return qs.filter(read_at__isnull=True) if unread else qs


@notifications_router.post("/read-all", response=MarkedOut, summary="Mark all your notifications read")
def notifications_read_all(request):
    marked = services.notifications_mark_read(user=request.auth)
    return {"marked": marked, "unread": selectors.unread_count(request.auth)}


@notifications_router.post("/{uuid:notification_id}/read", response=MarkedOut,
                           summary="Mark one of your notifications read")
def notification_read(request, notification_id: UUID):
    if not selectors.notifications_for(request.auth).filter(pk=notification_id).exists():
        raise NotFound(_("Notification not found."))
    marked = services.notifications_mark_read(user=request.auth, ids=[notification_id])
    return {"marked": marked, "unread": selectors.unread_count(request.auth)}

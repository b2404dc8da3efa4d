from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from telehealth import selectors, services

PAGE_SIZE = 20


@require_GET
@login_required
def notifications(request):
    page = Paginator(selectors.notifications_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "telehealth/notifications.html", {
        "page": page, "unread": selectors.unread_count(request.user)})


@require_POST
@login_required
def notifications_mark_all_read(request):
    services.notifications_mark_read(user=request.user)
    return redirect("notifications")


@require_POST
@login_required
def notification_open(request, notification_id):
    """Mark one notification read and follow its link (404-free: someone else's id just lands on
    the list, as if it did not exist)."""
    notification = selectors.notifications_for(request.user).filter(pk=notification_id).first()
    if notification is None:
        return redirect("notifications")
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    url = notification.url
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return redirect(url)
    return redirect("notifications")

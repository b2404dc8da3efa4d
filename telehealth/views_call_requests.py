"""The call-request panel of the conversation page: ask for a call now, accept, decline, cancel.

Plain POST forms that redirect back to the conversation (they work without JavaScript); with htmx
the panel is swapped in place instead, and an accepted request sends the browser to the call room.
The page's script (static/js/chat.js) reloads the panel when a ``call_request`` event arrives on
the chat's websocket, so both sides see every change without reloading.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.errors import DomainError, NotFound, PermissionDenied
from telehealth import call_requests, calls
from telehealth import chat as chats
from telehealth.models import CallRequest


class CallRequestForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("What is it about? (optional)"), required=False,
                             max_length=call_requests.MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 2, "maxlength": call_requests.MAX_REASON}))
    audio_only = forms.BooleanField(label=gettext_lazy("Audio only (no video)"), required=False)


class DeclineForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason (optional, shown to the patient)"), required=False,
                             max_length=call_requests.MAX_REASON,
                             widget=forms.TextInput(attrs={"maxlength": call_requests.MAX_REASON}))


FLASH_TAG = "call-request"


def panel_context(request, chat, *, form=None, decline_form=None, error="") -> dict:
    """What the panel shows to this viewer (also used by the conversation page itself)."""
    current = call_requests.call_request_current(fetched_by=request.user, chat=chat)
    payload = call_requests.call_request_payload(current, viewer=request.user) if current is not None else None
    if current is not None:
        call_requests.call_requests_read_record(actor=request.user, rows=[current], via="page", request=request)
    return {
        "chat": chat,
        "side": chats.chat_side(request.user, chat),
        "call_request": current,
        "call_request_data": payload,
        "call_request_form": form or CallRequestForm(),
        "decline_form": decline_form or DeclineForm(),
        "call_request_error": error,
        "expires_at": call_requests.expires_at(current) if current is not None else None,
        "call_open": bool(current is not None and current.appointment is not None
                          and calls.call_is_open(current.appointment)),
        "expiry_minutes": int(call_requests.expiry().total_seconds() // 60),
    }


def _panel(request, chat, status=200, **kwargs):
    response = render(request, "telehealth/partials/call_request.html", panel_context(request, chat, **kwargs),
                      status=status)
    response["Cache-Control"] = "no-store"
    return response


def _done(request, chat, *, success: str = "", error: str = "", **panel_kwargs):
    """Back to the conversation (a plain form) or the panel swapped in place (htmx)."""
    if request.htmx:
        return _panel(request, chat, error=error, **panel_kwargs)
    if error:
        messages.error(request, error, extra_tags=FLASH_TAG)
    elif success:
        messages.success(request, success, extra_tags=FLASH_TAG)
    return redirect(reverse("chat_detail", args=[chat.pk]) + "#call-request")


def _error_text(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return exc.message


@require_GET
@login_required
def call_request_panel(request, chat_id):
    chat = chats.chat_get(fetched_by=request.user, chat_id=chat_id)
    return _panel(request, chat)


@require_POST
@login_required
def call_request_create(request, chat_id):
    chat = chats.chat_get(fetched_by=request.user, chat_id=chat_id)
    form = CallRequestForm(request.POST)
    if not form.is_valid():
        return _done(request, chat, error=" ".join(e for errors in form.errors.values() for e in errors), form=form)
    try:
        call_requests.call_request_create(actor=request.user, chat=chat, reason=form.cleaned_data["reason"],
                                          audio_only=form.cleaned_data["audio_only"])
    except (NotFound, PermissionDenied):
        raise  # 404 / 403 pages (core.middleware)
    except (ValidationError, DomainError) as exc:
        return _done(request, chat, error=_error_text(exc), form=form)
    return _done(request, chat, success=_("Your call request was sent. This page shows the doctor's answer."))


def _answer(request, request_id, action, success: str):
    call_request = call_requests.call_request_get(fetched_by=request.user, request_id=request_id)
    chat = call_request.chat
    try:
        call_request = action(call_request)
    except (NotFound, PermissionDenied):
        raise  # 404 / 403 pages (core.middleware)
    except (ValidationError, DomainError) as exc:
        return _done(request, chat, error=_error_text(exc))
    if call_request.status == CallRequest.Status.ACCEPTED:
        payload = call_requests.call_request_payload(call_request, viewer=request.user)
        if payload["can_join"]:
            return HttpResponseClientRedirect(payload["call_url"]) if request.htmx else redirect(payload["call_url"])
    return _done(request, chat, success=success)


@require_POST
@login_required
def call_request_accept(request, request_id):
    return _answer(request, request_id,
                   lambda cr: call_requests.call_request_accept(actor=request.user, call_request=cr),
                   _("You accepted the call request."))


@require_POST
@login_required
def call_request_decline(request, request_id):
    reason = request.POST.get("reason", "")  # the service checks it (length) and says what is wrong
    return _answer(request, request_id,
                   lambda cr: call_requests.call_request_decline(actor=request.user, call_request=cr, reason=reason),
                   _("You declined the call request."))


@require_POST
@login_required
def call_request_cancel(request, request_id):
    return _answer(request, request_id,
                   lambda cr: call_requests.call_request_cancel(actor=request.user, call_request=cr),
                   _("Your call request was cancelled."))

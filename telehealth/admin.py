"""Django admin for telehealth: notifications, and moderation of chats.

Administrators moderate chats; they are not members of them. Lists show metadata only (who, when,
how many, what kind): a message's content appears only on that message's own page, and opening
the page or its file writes an audit event. Nothing here writes as a participant: chats, messages,
read pointers and call requests are read-only, and the one change, removing an abusive message's
content, goes through ``telehealth.chat.message_redact`` (audited, pushed to open pages).
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, NotFound
from telehealth import chat as chats
from telehealth.models import CallRequest, Chat, ChatReadState, Message, Notification

# Notifications about chat messages carry a preview of the message: clinical content.
CHAT_PREVIEW_KINDS = {Notification.Kind.CHAT_MESSAGE}


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["recipient__email", "title"]
    autocomplete_fields = ["recipient"]  # the person by name and e-mail, not a UUID to paste
    readonly_fields = ["source_key", "email_requested", "emailed_at"]
    exclude = ["email_text", "ics"]

    def get_exclude(self, request, obj=None):
        if obj is not None and obj.kind in CHAT_PREVIEW_KINDS:
            return [*self.exclude, "body"]
        return self.exclude


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EscalatedFilter(admin.SimpleListFilter):
    title = _("escalated to hospital staff")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(urgent_escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(urgent_escalated_at__isnull=True)
        return queryset


class ChatReadStateInline(admin.TabularInline):
    """How far each member has read (the read receipts): seq numbers, no content."""

    model = ChatReadState
    fields = ["user", "last_read_seq", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = _("read pointer")
    verbose_name_plural = _("read pointers")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Chat)
class ChatAdmin(ReadOnlyAdmin):
    list_display = ["patient", "doctor", "is_urgent", "escalated", "last_message_at", "message_count"]
    list_filter = ["is_urgent", EscalatedFilter, "last_message_at"]
    search_fields = ["patient__name", "doctor__user__name"]
    search_help_text = _("Patient or doctor name")
    ordering = ["-last_message_at"]
    fields = ["patient", "doctor", "is_urgent", "urgent_at", "urgent_escalated_at", "is_active_for_doctor",
              "is_active_for_patient", "last_message_at", "message_count", "messages_link", "created_at"]
    readonly_fields = fields
    inlines = [ChatReadStateInline]

    def get_queryset(self, request):
        return chats.chats_for_admin(fetched_by=request.user).annotate(message_count=Count("messages"))

    @admin.display(description=_("escalated"), boolean=True, ordering="urgent_escalated_at")
    def escalated(self, obj):
        return obj.urgent_escalated_at is not None

    @admin.display(description=_("messages"), ordering="message_count")
    def message_count(self, obj):
        return obj.message_count

    @admin.display(description=_("Messages (metadata)"))
    def messages_link(self, obj):
        url = reverse("admin:telehealth_message_changelist") + f"?chat__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("List this conversation's messages"))


class RedactForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=chats.REDACT_REASON_MAX, strip=True,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text=_("Kept in the audit log. The people in the conversation see only that a "
                                         "moderator removed the message."))


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """Metadata in the list; the content only on a message's own page, audited when opened."""

    list_display = ["chat", "seq", "sender_role", "kind", "created_at", "redacted"]
    list_filter = ["kind", "sender_role", "created_at"]
    search_fields = ["chat__patient__name", "chat__doctor__user__name"]
    search_help_text = _("Patient or doctor name (message content is not searchable here)")
    ordering = ["-created_at"]
    actions = ["redact_selected"]
    metadata_fields = ["chat", "seq", "sender", "sender_role", "kind", "created_at", "redacted"]

    def get_queryset(self, request):
        return chats.messages_for_admin(fetched_by=request.user)

    def get_fields(self, request, obj=None):
        if obj is not None and getattr(request.user, "is_admin", False):
            return [*self.metadata_fields, "content", "attachment", "moderation"]
        return self.metadata_fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("removed by a moderator"), boolean=True)
    def redacted(self, obj):
        return chats.message_is_redacted(obj)

    @admin.display(description=_("content"))
    def content(self, obj):
        if chats.message_is_redacted(obj):
            return _("Removed by a moderator (see the audit log for who and why).")
        return mark_safe(linebreaks(obj.body, autoescape=True)) if obj.body else "—"  # noqa: S308 (escaped)

    @admin.display(description=_("file"))
    def attachment(self, obj):
        if not obj.file:
            return "—"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a> ({}, {} bytes) · {}',
                           reverse("admin:telehealth_message_file", args=[obj.pk]), obj.file_name, obj.file_type,
                           obj.file_size, _("opening it is audited"))

    @admin.display(description=_("moderation"))
    def moderation(self, obj):
        if chats.message_is_redacted(obj):
            return "—"
        return format_html('<a class="deletelink" href="{}?ids={}">{}</a>',
                           reverse("admin:telehealth_message_redact"), obj.pk, _("Remove this message's content…"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The content is shown on this page: opening it is a read of the patient's clinical data.
        if request.method == "GET":
            try:
                message = chats.message_for_admin(fetched_by=request.user, message_id=uuid.UUID(str(object_id)))
            except (ValueError, NotFound):
                pass  # Django answers with its "does not exist" redirect
            else:
                chats.message_admin_view_record(actor=request.user, message=message, request=request)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path("redact/", self.admin_site.admin_view(self.redact_view), name="telehealth_message_redact"),
            path("<uuid:pk>/file/", self.admin_site.admin_view(self.file_view), name="telehealth_message_file"),
        ] + super().get_urls()

    @admin.action(description=_("Remove the content of selected messages…"))
    def redact_selected(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:telehealth_message_redact')}?ids={ids}")

    def file_view(self, request, pk):
        from telehealth.api_chat import chats_file_response

        try:
            message = chats.message_for_admin(fetched_by=request.user, message_id=pk)
        except NotFound:
            return redirect("admin:telehealth_message_changelist")
        if not message.file:
            return redirect("admin:telehealth_message_change", pk)
        chats.chat_file_read_record(actor=request.user, message=message, via="admin", request=request)
        return chats_file_response(message, request)

    def redact_view(self, request):
        raw = (request.POST.get("ids") or request.GET.get("ids") or "").split(",")
        try:
            ids = [uuid.UUID(value.strip()) for value in raw if value.strip()]
        except ValueError:
            ids = []
        selected = list(chats.messages_for_admin(fetched_by=request.user).filter(pk__in=ids).order_by("chat", "seq"))
        if not selected:
            messages.error(request, _("Choose the messages to remove first."))
            return redirect("admin:telehealth_message_changelist")
        form = RedactForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                for message in selected:
                    chats.message_redact(actor=request.user, message=message, reason=form.cleaned_data["reason"],
                                         request=request)
            except ValidationError as exc:
                form.add_error("reason", exc.messages)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("admin:telehealth_message_changelist")
            else:
                messages.success(request, _("The content was removed; open conversations show it as removed."))
                if len(selected) == 1:
                    return redirect("admin:telehealth_message_change", selected[0].pk)
                return redirect("admin:telehealth_message_changelist")
        return TemplateResponse(request, "telehealth/admin/message_redact.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "selected": selected,
            "ids": ",".join(str(m.pk) for m in selected), "title": _("Remove message content"),
        }, status=400 if request.method == "POST" else 200)


@admin.register(CallRequest)
class CallRequestAdmin(ReadOnlyAdmin):
    """Who asked for a call from which chat, and what became of it. The free-text reasons are the
    patient's words and stay out of the admin."""

    list_display = ["chat", "requested_by", "audio_only", "status", "created_at", "responded_by", "responded_at"]
    list_filter = ["status", "audio_only", "created_at"]
    search_fields = ["chat__patient__name", "chat__doctor__user__name"]
    search_help_text = _("Patient or doctor name")
    ordering = ["-created_at"]
    fields = ["chat", "requested_by", "audio_only", "status", "created_at", "responded_by", "responded_at",
              "appointment"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (CallRequest.objects.filter(chat__in=chats.chats_for_admin(fetched_by=request.user))
                .select_related("chat__patient", "chat__doctor__user", "requested_by", "responded_by"))

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import selectors, services
from accounts.admin_decisions import DecisionAdminMixin
from accounts.models import ApplicationStatus, DoctorApplication, StaffInvitation, User
from analytics.models import AuditAction
from analytics.services import audit_record


class AdminCreationForm(forms.ModelForm):
    """Django admin creates administrators; patients, doctors and hospitals sign up themselves."""

    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    class Meta:
        model = User
        fields = ["name", "email", "phone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def _post_clean(self):
        pass  # the service validates the whole account, with field-named errors

    def save(self, commit=True):
        return self.instance


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active", "preferred_language"]
    search_fields = ["name", "email", "phone"]
    ordering = ["-created_at"]
    readonly_fields = ["id", "role", "created_at", "updated_at", "last_login", "photo_link"]
    fields = ["id", "name", "email", "phone", "role", "preferred_language", "location", "timezone", "photo_link",
              "is_active", "last_login", "created_at", "updated_at"]

    @admin.display(description=_("profile photo"))
    def photo_link(self, obj):
        # The photo is encrypted and has no storage URL: link to the view that checks access.
        if not obj.photo:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("user_photo", args=[obj.pk]), _("View photo"))

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            return AdminCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "email", "phone", "password"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "title": _("Add administrator")}
        return super().add_view(request, form_url, extra_context)

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        return form.instance

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        d = form.cleaned_data
        created = services.admin_create(created_by=request.user, name=d["name"], email=d["email"],
                                        phone=d.get("phone") or None, password=d["password"], request=request)
        form.instance = created

    def _changeform_view(self, request, object_id, form_url, extra_context):
        try:
            return super()._changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            # Service errors (taken email, weak password) go back to the form instead of a 500.
            for message in exc.messages:
                messages.error(request, message)
            return HttpResponseRedirect(request.get_full_path())

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: clinical records keep their authors


@admin.register(DoctorApplication)
class DoctorApplicationAdmin(DecisionAdminMixin, admin.ModelAdmin):
    list_display = ["user", "specialty", "years_experience", "status", "created_at", "decided_at"]
    list_filter = ["status", "specialty"]
    search_fields = ["user__name", "user__email", "specialty"]
    list_select_related = ["user", "decided_by"]
    ordering = ["created_at"]
    approve_template = "admin/accounts/doctorapplication/approve.html"
    approve_heading = _("Approve the application of %(name)s?")
    reject_heading = _("Reject the application of %(name)s")
    approve_title = _("Approve application")
    approve_help = _("Approval creates the doctor's profile and weekly availability from the proposed timeslots, "
                     "and emails the doctor.")
    approved_message = _("%(name)s is approved; the doctor was emailed.")
    reject_title = _("Reject application")
    reject_reason_label = _("Reason (sent to the doctor)")
    reject_submit = _("Reject and email the doctor")
    rejected_message = _("%(name)s was rejected; the doctor was emailed the reason.")
    decision_help = _("Check the identity proof above before deciding. The doctor is emailed either way.")
    readonly_fields = ["user", "specialty", "years_experience", "cv_text", "documents", "timeslots", "status",
                       "rejection_reason", "decided_by", "decided_at", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # The list opens on what needs a decision; "All" in the filter shows the rest.
        if not request.GET and request.method == "GET":
            return redirect(f"{request.path}?status__exact={ApplicationStatus.PENDING}")
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("Documents"))
    def documents(self, obj):
        links = [format_html('<a href="{}" target="_blank" rel="noopener">{}</a>',
                             reverse("admin:accounts_doctorapplication_document", args=[obj.pk, "identity"]),
                             _("Identity proof"))]
        if obj.cv_file:
            links.append(format_html('<a href="{}" target="_blank" rel="noopener">{}</a>',
                                     reverse("admin:accounts_doctorapplication_document", args=[obj.pk, "cv"]),
                                     _("CV file")))
        return format_html(" · ".join(["{}"] * len(links)), *links)

    @admin.display(description=_("Proposed weekly timeslots"))
    def timeslots(self, obj):
        from accounts.forms import WEEKDAYS

        return ", ".join(f"{WEEKDAYS[s['weekday']]} {s['start']}–{s['end']}" for s in obj.proposed_timeslots)

    def get_urls(self):
        return [
            path("<uuid:pk>/document/<str:kind>/", self.admin_site.admin_view(self.document_view),
                 name="accounts_doctorapplication_document"),
        ] + super().get_urls()

    def document_view(self, request, pk, kind):
        application = selectors.application_for_admin(fetched_by=request.user, application_id=pk)
        field, mime = ((application.identity_proof, application.identity_proof_type) if kind == "identity"
                       else (application.cv_file, application.cv_file_type))
        if not field:
            return redirect("admin:accounts_doctorapplication_change", pk)
        audit_record(action=AuditAction.IDENTITY_PROOF_VIEWED, actor=request.user, target=application,
                     request=request, document=kind)
        ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(mime, "bin")
        response = FileResponse(field.open("rb"), content_type=mime or "application/octet-stream",
                                filename=f"{kind}-{application.user.name}.{ext}", as_attachment=False)
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        return response

    def decision_name(self, obj) -> str:
        return obj.user.name

    def decide_approve(self, request, obj):
        services.application_approve(application=obj, decided_by=request.user, request=request)

    def decide_reject(self, request, obj, reason):
        services.application_reject(application=obj, decided_by=request.user, reason=reason, request=request)


@admin.register(StaffInvitation)
class StaffInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "hospital", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["hospital"]
    search_fields = ["email", "hospital__name"]
    readonly_fields = ["hospital", "email", "invited_by", "expires_at", "accepted_by", "accepted_at", "emailed_at"]
    exclude = ["token"]

    def has_add_permission(self, request):
        return False


from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.admin_decisions import DecisionAdminMixin
from analytics.admin_audit import ClinicalAdminAuditMixin
from clinic import services as clinic_services
from clinic.models import (
    Appointment,
    AppointmentEvent,
    ApprovalStatus,
    CareTeamMember,
    DoctorProfile,
    Hospital,
    HospitalDoctor,
    HospitalPatient,
    HospitalStaff,
    Patient,
    UserPatientRelation,
    WeeklyAvailability,
)
from core.errors import DomainError
from core.forms import LabelsField


class HospitalStaffInline(admin.TabularInline):
    model = HospitalStaff
    extra = 0
    autocomplete_fields = ["user"]  # the person by name and e-mail, not a UUID to paste


@admin.register(Hospital)
class HospitalAdmin(DecisionAdminMixin, admin.ModelAdmin):
    list_display = ["name", "city", "country", "status", "created_at"]
    list_filter = ["status", "country"]
    search_fields = ["name", "city", "email"]
    inlines = [HospitalStaffInline]
    readonly_fields = ["status", "decided_by", "decided_at", "rejection_reason"]
    actions = ["approve_selected"]
    formfield_overrides = {models.JSONField: {"form_class": LabelsField}}
    approve_heading = _("Approve the registration of %(name)s?")
    reject_heading = _("Reject the registration of %(name)s")
    approve_title = _("Approve hospital")
    approve_help = _("Approval lets the hospital's staff sign in and emails the hospital.")
    approved_message = _("%(name)s is approved; the hospital was emailed.")
    reject_title = _("Reject registration")
    reject_reason_label = _("Reason (sent to the hospital)")
    reject_submit = _("Reject and email the hospital")
    rejected_message = _("%(name)s was rejected; the hospital was emailed the reason.")
    decision_help = _("Check the hospital's details above before deciding. The hospital is emailed either way.")

    def changelist_view(self, request, extra_context=None):
        if not request.GET and request.method == "GET" and Hospital.objects.filter(status=ApprovalStatus.PENDING).exists():
            return redirect(f"{request.path}?status__exact={ApprovalStatus.PENDING}")
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Approve selected hospitals"))
    def approve_selected(self, request, queryset):
        approved = 0
        for hospital in queryset.filter(status=ApprovalStatus.PENDING):
            try:
                services.hospital_approve(hospital=hospital, decided_by=request.user, request=request)
                approved += 1
            except DomainError as exc:
                messages.error(request, f"{hospital}: {exc.message}")
        messages.success(request, _("%(n)d hospital(s) approved.") % {"n": approved})

    def decide_approve(self, request, obj):
        services.hospital_approve(hospital=obj, decided_by=request.user, request=request)

    def decide_reject(self, request, obj, reason):
        services.hospital_reject(hospital=obj, decided_by=request.user, reason=reason, request=request)


@admin.register(DoctorProfile)
class DoctorProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "specialty", "years_experience"]
    formfield_overrides = {models.JSONField: {"form_class": LabelsField}}
    list_filter = ["specialty"]
    search_fields = ["user__name", "user__email", "specialty"]
    autocomplete_fields = ["user"]  # the person by name and e-mail, not a UUID to paste


class ReadOnlyInline(admin.TabularInline):
    """Shown for context; changes go through the services (the doctor's schedule page, the mapping
    admins below), which validate and audit them."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WeeklyAvailabilityInline(ReadOnlyInline):
    model = WeeklyAvailability
    fields = ["weekday", "start_time", "end_time", "hospital", "slot_minutes", "buffer_minutes"]
    show_change_link = False


DoctorProfileAdmin.inlines = [WeeklyAvailabilityInline]


class UserPatientRelationInline(ReadOnlyInline):
    model = UserPatientRelation
    fields = ["user", "relation"]


@admin.register(Patient)
class PatientAdmin(ClinicalAdminAuditMixin, admin.ModelAdmin):
    audit_patient_path = ""
    list_display = ["name", "date_of_birth", "gender", "user"]
    search_fields = ["name", "user__email", "user__phone"]
    autocomplete_fields = ["user"]  # the person by name and e-mail, not a UUID to paste
    inlines = [UserPatientRelationInline]
    # The photo is encrypted and has no storage URL (and uploads go through the re-encoding services).
    exclude = ["photo"]
    readonly_fields = ["photo_link"]

    @admin.display(description=_("photo"))
    def photo_link(self, obj):
        if not obj.photo:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("patient_photo", args=[obj.pk]), _("View photo"))


# --- appointments (read-only: changes go through the services, which write events and audit) ------

class AppointmentEventInline(ReadOnlyInline):
    model = AppointmentEvent
    fields = ["created_at", "kind", "actor", "reason", "data"]
    readonly_fields = fields
    ordering = ["created_at"]
    show_change_link = False


@admin.register(Appointment)
class AppointmentAdmin(ClinicalAdminAuditMixin, admin.ModelAdmin):
    list_display = ["start", "patient", "doctor", "hospital", "type", "status"]
    list_filter = [
        ("doctor", admin.RelatedOnlyFieldListFilter),
        ("patient", admin.RelatedOnlyFieldListFilter),
        ("hospital", admin.RelatedOnlyFieldListFilter),
        "status", "type", ("start", admin.DateFieldListFilter),
    ]
    date_hierarchy = "start"
    search_fields = ["patient__name", "doctor__user__name", "hospital__name"]
    list_select_related = ["patient", "doctor__user", "hospital"]
    ordering = ["-start"]
    inlines = [AppointmentEventInline]
    readonly_fields = ["id", "patient", "doctor", "hospital", "type", "start", "end", "status", "reason", "notes",
                       "extras", "room_id", "booked_by", "overbooked", "overbook_reason", "cancelled_by",
                       "cancellation_reason", "escalated_at", "rescheduled_from", "created_at", "updated_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- mappings: created and removed through the services (validation, audit, signals) --------------

class MappingAdmin(admin.ModelAdmin):
    """Add and delete through ``add_through_service`` / ``remove_through_service``; a service's
    refusal is shown as a message instead of an error page."""

    def has_change_permission(self, request, obj=None):
        return False  # a mapping is added or removed, not edited

    def get_queryset(self, request):
        # Administrators see invitations too (the consent column says which is which).
        manager = getattr(self.model, "with_invitations", self.model._default_manager)
        return manager.get_queryset()

    def add_through_service(self, request, obj):
        raise NotImplementedError

    def remove_through_service(self, request, obj):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        created = self.add_through_service(request, obj)
        # The admin's success message and change log refer to the row the service wrote.
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db

    def delete_model(self, request, obj):
        self.remove_through_service(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.remove_through_service(request, obj)

    def _changeform_view(self, request, object_id, form_url, extra_context):
        try:
            return super()._changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, DomainError) as exc:
            self._report(request, exc)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except (ValidationError, DomainError) as exc:
            self._report(request, exc)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except (ValidationError, DomainError) as exc:
            self._report(request, exc)
            return HttpResponseRedirect(request.get_full_path())

    @staticmethod
    def _report(request, exc):
        for message in ([exc.message] if isinstance(exc, DomainError) else exc.messages):
            messages.error(request, message)


@admin.register(HospitalDoctor)
class HospitalDoctorAdmin(MappingAdmin):
    list_display = ["doctor", "hospital", "created_at"]
    list_filter = [("hospital", admin.RelatedOnlyFieldListFilter), ("doctor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["doctor__user__name", "doctor__user__email", "hospital__name"]
    list_select_related = ["doctor__user", "hospital"]
    autocomplete_fields = ["hospital", "doctor"]

    def add_through_service(self, request, obj):
        return clinic_services.hospital_doctor_add(actor=request.user, hospital=obj.hospital, doctor=obj.doctor)

    def remove_through_service(self, request, obj):
        clinic_services.hospital_doctor_remove(actor=request.user, link=obj)


@admin.register(HospitalPatient)
class HospitalPatientAdmin(MappingAdmin):
    list_display = ["patient", "hospital", "consent", "created_at"]
    list_filter = ["consent", ("hospital", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["patient__name", "hospital__name"]
    list_select_related = ["patient", "hospital"]
    autocomplete_fields = ["hospital", "patient"]
    fields = ["hospital", "patient"]

    def add_through_service(self, request, obj):
        return clinic_services.hospital_patient_add(actor=request.user, hospital=obj.hospital, patient=obj.patient)

    def remove_through_service(self, request, obj):
        clinic_services.hospital_patient_remove(actor=request.user, link=obj)


@admin.register(CareTeamMember)
class CareTeamMemberAdmin(MappingAdmin):
    list_display = ["patient", "doctor", "added_by", "consent", "created_at"]
    list_filter = ["consent", ("doctor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["patient__name", "doctor__user__name"]
    list_select_related = ["patient", "doctor__user", "added_by"]
    autocomplete_fields = ["doctor", "patient"]
    fields = ["doctor", "patient"]

    def add_through_service(self, request, obj):
        return clinic_services.care_team_add(actor=request.user, doctor=obj.doctor, patient=obj.patient)

    def remove_through_service(self, request, obj):
        clinic_services.care_team_remove(actor=request.user, member=obj)


@admin.register(UserPatientRelation)
class UserPatientRelationAdmin(MappingAdmin):
    list_display = ["user", "patient", "relation", "consent", "created_at"]
    list_filter = ["consent", "relation"]
    search_fields = ["user__name", "user__email", "user__phone", "patient__name"]
    list_select_related = ["user", "patient"]
    autocomplete_fields = ["user", "patient"]
    fields = ["user", "patient", "relation"]

    def has_change_permission(self, request, obj=None):
        return admin.ModelAdmin.has_change_permission(self, request, obj)  # the relation may change

    def get_readonly_fields(self, request, obj=None):
        return ["user", "patient"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            clinic_services.user_patient_relation_update(actor=request.user, link=obj, relation=obj.relation)
            return
        super().save_model(request, obj, form, change)

    def add_through_service(self, request, obj):
        return clinic_services.user_patient_relation_add(actor=request.user, user=obj.user, patient=obj.patient,
                                                         relation=obj.relation)

    def remove_through_service(self, request, obj):
        clinic_services.user_patient_relation_remove(actor=request.user, link=obj)

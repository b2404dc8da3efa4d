from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from accounts import services
from clinic.models import (
    ApprovalStatus,
    DoctorProfile,
    Hospital,
    HospitalStaff,
    Patient,
    UserPatientRelation,
    WeeklyAvailability,
)
from core.errors import DomainError


class HospitalStaffInline(admin.TabularInline):
    model = HospitalStaff
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "country", "status", "created_at"]
    list_filter = ["status", "country"]
    search_fields = ["name", "city", "email"]
    inlines = [HospitalStaffInline]
    readonly_fields = ["status", "decided_by", "decided_at", "rejection_reason"]
    actions = ["approve_selected"]

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

    def response_change(self, request, obj):
        reason = request.POST.get("_reject_reason", "")
        if "_reject" in request.POST:
            try:
                services.hospital_reject(hospital=obj, decided_by=request.user, reason=reason, request=request)
            except (ValidationError, DomainError) as exc:
                messages.error(request, getattr(exc, "message", None) or " ".join(exc.messages))
                return redirect(request.path)
            messages.success(request, _("%(name)s was rejected.") % {"name": obj})
            return redirect("admin:clinic_hospital_changelist")
        return super().response_change(request, obj)


@admin.register(DoctorProfile)
class DoctorProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "specialty", "years_experience"]
    list_filter = ["specialty"]
    search_fields = ["user__name", "user__email", "specialty"]
    raw_id_fields = ["user"]


class WeeklyAvailabilityInline(admin.TabularInline):
    model = WeeklyAvailability
    extra = 0


DoctorProfileAdmin.inlines = [WeeklyAvailabilityInline]


class UserPatientRelationInline(admin.TabularInline):
    model = UserPatientRelation
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["name", "date_of_birth", "gender", "user"]
    search_fields = ["name", "user__email", "user__phone"]
    raw_id_fields = ["user"]
    inlines = [UserPatientRelationInline]

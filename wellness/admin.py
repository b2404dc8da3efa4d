"""Django admin for the tracker: read-only support views.

Check-ins, to-dos and reviews are clinical data and are not listed here: administrators read them
through the audited API, and every change goes through wellness.services (which audits it)."""

from django.contrib import admin

from analytics.admin_audit import ClinicalAdminAuditMixin
from wellness.models import Habit, WellnessSettings


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WellnessSettings)
class WellnessSettingsAdmin(ReadOnlyAdmin):
    list_display = ["patient", "evening_reminder", "reminder_time", "last_reminded_on"]
    list_filter = ["evening_reminder"]
    search_fields = ["patient__name"]
    list_select_related = ["patient"]


@admin.register(Habit)
class HabitAdmin(ClinicalAdminAuditMixin, ReadOnlyAdmin):
    list_display = ["name", "patient", "kind", "unit", "target", "suggested_by", "archived_at"]
    list_filter = ["kind"]
    search_fields = ["name", "patient__name"]
    list_select_related = ["patient", "suggested_by__user"]


from wellness import admin_emotion  # noqa: E402,F401  (aggregate-only emotion admin)

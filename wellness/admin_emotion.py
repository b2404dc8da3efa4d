"""Emotion snapshots in Django admin: aggregates only. Administrators see how many snapshots were
taken per month and dominant emotion and how often a face was found — never a patient, a single
snapshot or its emotion vector. Imported by wellness/admin.py."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from wellness import snapshots
from wellness.models import EmotionSnapshot


@admin.register(EmotionSnapshot)
class EmotionSnapshotAdmin(admin.ModelAdmin):
    def get_urls(self):
        # only the (aggregate) changelist: no object pages, no history, no delete confirmation
        info = self.opts.app_label, self.opts.model_name
        return [path("", self.admin_site.admin_view(self.changelist_view), name="%s_%s_changelist" % info)]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "title": "Emotion snapshots — aggregates",
            "stats": snapshots.emotion_aggregates(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "wellness/emotion/admin_aggregates.html", context)

    def has_view_permission(self, request, obj=None):
        return obj is None and super().has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

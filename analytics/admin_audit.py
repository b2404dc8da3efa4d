"""Django admin pages that show a patient's clinical data audit who opened them.

An administrator's read of clinical data is always audited (their access is for one-off,
accountable reads). ``ClinicalAdminAuditMixin`` writes one ``admin.clinical_viewed`` event per
patient on a list page that was shown (one INSERT per request, ``audit_record_many``) and one for
an object page; the event's target is the patient, as for every other clinical read.
"""

from analytics.services import audit_record_many


class ClinicalAdminAuditMixin:
    """Put before ``admin.ModelAdmin``; set ``audit_patient_path`` to the patient of an object
    ("patient", "chat__patient", or "" for a Patient itself)."""

    audit_patient_path = "patient"

    def audit_patient_of(self, obj):
        patient = obj
        for part in filter(None, self.audit_patient_path.split("__")):
            patient = getattr(patient, part)
        return patient

    def _audit(self, request, objects, view):
        entries = []
        for obj in objects:
            patient = self.audit_patient_of(obj)
            if patient is not None:
                entries.append((patient, {"via": "admin", "view": view, "model": obj._meta.label_lower,
                                          "object": str(obj.pk)}))
        if entries:
            audit_record_many(action="admin.clinical_viewed", actor=request.user, entries=entries, request=request)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if request.method == "GET" else None
        if changelist is not None and getattr(response, "status_code", 200) == 200:
            self._audit(request, changelist.result_list, "list")
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original") if request.method == "GET" else None
        if original is not None and getattr(response, "status_code", 200) == 200:
            self._audit(request, [original], "change")
        return response

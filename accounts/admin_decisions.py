"""Approve… / Reject with a reason… on the Django admin change page of something that waits for an
administrator's decision (a doctor's application, a hospital's registration): one implementation,
so both get the same buttons, confirmation page, reason form and messages.

A ModelAdmin using ``DecisionAdminMixin`` names the status field value that means "pending" and
implements ``decide_approve`` / ``decide_reject`` by calling its service (which validates, audits
and e-mails); the URLs are ``admin:<app>_<model>_approve`` and ``..._reject``.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.forms import AccessibleErrorsMixin


class RejectForm(AccessibleErrorsMixin, forms.Form):
    rejection_reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rejection_reason"].label = label


class DecisionAdminMixin:
    change_form_template = "admin/decision/change_form.html"
    approve_template = "admin/decision/approve.html"
    decision_pending = "pending"
    # Texts (lazy); %(name)s is ``decision_name(obj)``.
    approve_heading = _("Approve %(name)s?")
    reject_heading = _("Reject %(name)s")
    approve_title = _("Approve")
    approve_help = ""
    approved_message = _("%(name)s is approved.")
    reject_title = _("Reject")
    reject_reason_label = _("Reason (sent to the applicant)")
    reject_submit = _("Reject and send the reason")
    rejected_message = _("%(name)s was rejected.")
    decision_help = ""

    def decision_name(self, obj) -> str:
        return str(obj)

    def decide_approve(self, request, obj):
        raise NotImplementedError

    def decide_reject(self, request, obj, reason):
        raise NotImplementedError

    def decision_object(self, request, pk):
        obj = self.get_object(request, unquote(pk))  # None for a malformed or unknown id
        if obj is None:
            raise Http404
        return obj

    def _decision_url(self, action, obj=None):
        meta = self.model._meta
        name = f"admin:{meta.app_label}_{meta.model_name}_{action}"
        return reverse(name, args=[obj.pk]) if obj is not None else reverse(name)

    def get_urls(self):
        meta = self.model._meta
        return [
            path("<path:pk>/approve/", self.admin_site.admin_view(self.approve_view),
                 name=f"{meta.app_label}_{meta.model_name}_approve"),
            path("<path:pk>/reject/", self.admin_site.admin_view(self.reject_view),
                 name=f"{meta.app_label}_{meta.model_name}_reject"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and obj.status == self.decision_pending and self.has_change_permission(request, obj):
            extra_context = {**(extra_context or {}), "decision": {
                "approve_url": self._decision_url("approve", obj), "reject_url": self._decision_url("reject", obj),
                "help": self.decision_help}}
        return super().change_view(request, object_id, form_url, extra_context)

    def _page(self, request, template, obj, title, status=200, **context):
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": obj, "title": title,
            "change_url": self._decision_url("change", obj), "changelist_url": self._decision_url("changelist"),
            **context}, status=status)

    def approve_view(self, request, pk):
        obj = self.decision_object(request, pk)
        if not self.has_change_permission(request, obj):
            return redirect(self._decision_url("changelist"))
        if request.method != "POST":
            return self._page(request, self.approve_template, obj, self.approve_title, help=self.approve_help,
                              heading=self.approve_heading % {"name": self.decision_name(obj)})
        try:
            self.decide_approve(request, obj)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, self.approved_message % {"name": self.decision_name(obj)})
        return redirect(self._decision_url("changelist"))

    def reject_view(self, request, pk):
        obj = self.decision_object(request, pk)
        if not self.has_change_permission(request, obj):
            return redirect(self._decision_url("changelist"))
        form = RejectForm(request.POST or None, label=self.reject_reason_label)
        if request.method == "POST" and form.is_valid():
            try:
                self.decide_reject(request, obj, form.cleaned_data["rejection_reason"])
            except ValidationError as exc:
                form.add_error("rejection_reason", exc.messages)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect(self._decision_url("changelist"))
            else:
                messages.success(request, self.rejected_message % {"name": self.decision_name(obj)})
                return redirect(self._decision_url("changelist"))
        return self._page(request, "admin/decision/reject.html", obj, self.reject_title, form=form,
                          submit=self.reject_submit, heading=self.reject_heading % {"name": self.decision_name(obj)},
                          status=400 if request.method == "POST" else 200)

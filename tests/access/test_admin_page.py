"""Django admin × the named people. Rows are generated from the admin site's registry (every
model's list, add, change, delete and history pages) plus the custom admin views; the admin is for
administrators who passed their second factor, so every cell but Ada's is the same gate."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, row

# anon   alice  alice_2fa_owed  grace  bob    carol  carol_2fa_owed  dave   hana   (ada, pat: per row;
# pat, a doctor awaiting approval, is sent to his application status page: GONE)
GATE = (LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN)

# Admin pages that show a patient's clinical data (opening them is audited). Chats, call requests
# and message lists show metadata only (telehealth/admin.py); emotion snapshots only aggregates.
CLINICAL = {("clinic.appointment", "changelist"), ("clinic.appointment", "change"), ("clinic.patient", "changelist"),
            ("clinic.patient", "change"), ("wellness.habit", "changelist"), ("wellness.habit", "change"),
            ("telehealth.message", "change")}

# (model label, view) whose admin page answers Ada differently from 200: the world has no such
# object (Django redirects to the list with "does not exist"), or the list redirects to its default
# filter.
ADA = {(label, "change"): GONE for label in ("auth.group", "otp_static.staticdevice", "account.emailaddress",
                                           "account.emailconfirmation",  # stored confirmations (no HMAC keys)
                                           "axes.accessattempt", "axes.accessfailurelog",
                                           "wellness.wellnesssettings")}
ADA[("accounts.doctorapplication", "changelist")] = GONE


def _object_of(model):
    def pick(world):
        obj = model._default_manager.order_by("pk").first()
        return obj.pk if obj is not None else "00000000-0000-0000-0000-000000000000"
    return pick


def _model_rows():
    """The list and change page of every registered model. Their add, delete and history pages sit
    behind the same gate (``admin.site.has_permission``) and the same ModelAdmin permissions;
    test_coverage.py counts them as covered by the model's rows."""
    rows = []
    for model in admin.site._registry:
        label = model._meta.label_lower
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        for view in ("changelist", "change"):
            name = f"admin:{info}_{view}"
            try:
                reverse(name, kwargs=None if view in ("changelist", "add") else {"object_id": "x"})
            except NoReverseMatch:  # a view the ModelAdmin does not offer (e.g. no add page)
                continue
            params = {} if view in ("changelist", "add") else {"object_id": _object_of(model)}
            ada = ADA.get((label, view), 200)
            rows.append(row("admin", "GET", name, *GATE, ada, GONE, params=params,
                            clinical=(label, view) in CLINICAL))
    return rows


def _application(world):
    return world.application.pk


def _device(world):
    return world.ada.totpdevice_set.first().pk


ROWS = [
    row("admin", "GET", "admin:index", *GATE, 200, GONE),
    row("admin", "GET", "admin:app_list", *GATE, 200, GONE, params={"app_label": lambda w: "clinic"}),
    row("admin", "GET", "admin:login", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, GONE),
    row("admin", "GET", "admin:logout", GONE, GONE, VERIFY, GONE, GONE, GONE, VERIFY, GONE, GONE, 405, GONE),
    row("admin", "GET", "admin:autocomplete", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 403, GONE),
    row("admin", "GET", "admin:password_change", *GATE, 200, GONE),
    row("admin", "GET", "admin:password_change_done", *GATE, 200, GONE),
    row("admin", "GET", "admin:jsi18n", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 200, GONE),
    row("admin", "GET", "admin:view_on_site", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 404, GONE, params={"content_type_id": lambda w: 0, "object_id": lambda w: 0}),
    row("admin", "GET", "admin:accounts_doctorapplication_document", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 200, GONE, clinical=True,
        params={"pk": _application, "kind": lambda w: "identity"}),
    row("admin", "POST", "admin:accounts_doctorapplication_approve", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, GONE, GONE, params={"pk": _application}),
    row("admin", "POST", "admin:accounts_doctorapplication_reject", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 400, GONE, params={"pk": _application}),
    # hospitals have the same decision views (accounts.admin_decisions); Riverside is approved already
    row("admin", "POST", "admin:clinic_hospital_approve", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, GONE, GONE, params={"pk": lambda w: w.riverside.pk}),
    row("admin", "POST", "admin:clinic_hospital_reject", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 400, GONE, params={"pk": lambda w: w.riverside.pk}),
    row("admin", "POST", "admin:telehealth_message_redact", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, GONE, GONE),
    row("admin", "GET", "admin:telehealth_message_file", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 200, GONE, clinical=True,
        params={"pk": lambda w: w.file_message.pk}),
    row("admin", "GET", "admin:otp_totp_totpdevice_config", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 200, GONE, params={"pk": _device}),
    row("admin", "GET", "admin:otp_totp_totpdevice_qrcode", LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, LOGIN, VERIFY, LOGIN, LOGIN, 200, GONE, params={"pk": _device}),
    *_model_rows(),
]

test_access = matrix_test(ROWS)

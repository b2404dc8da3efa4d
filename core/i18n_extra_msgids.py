"""Optional companion to templates/i18n/allauth_strings.html (never imported, never called).

Two Django password-validator messages use %d / %(min_length)d with plurals, which a Django
template cannot reproduce as a msgid ({% blocktranslate %} always writes %(name)s and escapes %).
If this file lives anywhere makemessages scans (e.g. core/i18n_extra_msgids.py), their Hindi/Spanish/Arabic
entries in locale/*/django.po survive `makemessages --no-obsolete`.
"""
from django.utils.translation import ngettext


def _msgids():  # pragma: no cover - only read by xgettext
    # Translators: django.contrib.auth password validators
    ngettext("This password is too short. It must contain at least %d character.",
             "This password is too short. It must contain at least %d characters.", 0)
    # Translators: django.contrib.auth password validators
    ngettext("Your password must contain at least %(min_length)d character.",
             "Your password must contain at least %(min_length)d characters.", 0)

from django import template

from clinic.models import doctor_display_name

register = template.Library()


@register.filter
def doctor_name(name) -> str:
    """``{{ doctor.user.name|doctor_name }}`` → "Dr. Nina New" (see clinic.models.doctor_display_name)."""
    return doctor_display_name(name)

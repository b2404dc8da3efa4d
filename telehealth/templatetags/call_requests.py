"""``{% call_request_panel chat %}``: the conversation page's call-request panel, rendered with
the page (so a reload shows the current state) from the same context as its live refreshes."""

from django import template

from telehealth.views_call_requests import panel_context

register = template.Library()


@register.inclusion_tag("telehealth/partials/call_request_panel.html", takes_context=True)
def call_request_panel(context, chat):
    request = context["request"]
    return {**panel_context(request, chat), "request": request, "user": request.user,
            "csrf_token": context.get("csrf_token")}

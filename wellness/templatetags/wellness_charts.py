"""``{% load wellness_charts %}{% wellness_chart_panel patient "weekly" %}`` — the chart panel for a
patient the page has already fetched through the access policy (this tag does not check access)."""

from django import template

from wellness import charts

register = template.Library()


@register.inclusion_tag("wellness/charts/_panel.html", takes_context=True)
def wellness_chart_panel(context, patient, period="daily", days=30, query=""):
    """``query``: what the period links keep in front of ``period=`` (e.g. "patient=<id>&")."""
    user = getattr(context.get("request"), "user", None)
    today = charts.local_today(patient, getattr(user, "timezone", None))
    return {"panel": charts.chart_panel(patient, period=period, days=int(days), today=today),
            "panel_query": query, "request": context.get("request")}

"""Wellness charts: mood, stress, sleep, meditation and habit completion, as server-rendered SVG.

The rendering half is pure (data series in, SVG text out) so it can be tested without a database;
``chart_panel`` at the bottom loads one patient's days (three queries) and builds every chart of a
panel. Callers fetch the patient through ``clinic.selectors.patient_get`` first: this module does
not apply the access policy.

No charting library: five small line/bar charts need ~150 lines of SVG, and hand-written SVG keeps
full control of what matters here — a ``viewBox`` that scales to the card, a <title>/<desc> for
screen readers, real gaps for days with nothing recorded — with no JS and no extra dependency.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass, field
from html import escape

from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PERIODS = ("daily", "weekly", "monthly")
DAILY_SPANS = (14, 30)
WEEKS = 12
MONTHS = 12
# A trend is "rising"/"falling" when the least-squares line moves by at least this share of the
# metric's scale over the period shown (10% of 1–10 is 0.9 points); smaller moves are "steady".
TREND_THRESHOLD = 0.10

# SVG geometry (user units). Narrow on purpose: on a 390 px phone the chart is drawn ~1:1, so the
# 12-unit labels stay ~12 px; on a desktop card it scales up.
WIDTH, HEIGHT = 360, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 34, 14, 14, 30
INK, MUTED, GRID, LINE, AVG, BAR = "#1d2a2e", "#5b6b70", "#dfe4e1", "#2f6f6a", "#b5542f", "#7fb3ad"


# --- metrics ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    lo: float
    hi: float
    kind: str = "line"  # "line" or "bar"
    decimals: int = 1
    grow: float = 0  # when values exceed hi, round the axis up to a multiple of this

    def scale_for(self, values) -> tuple[float, float]:
        top = max([v for v in values if v is not None], default=self.hi)
        hi = self.hi
        if self.grow and top > hi:
            hi = math.ceil(top / self.grow) * self.grow
        return self.lo, hi

    def format(self, value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:.{self.decimals}f}"


METRICS = {
    "mood": Metric("mood", gettext_lazy("Mood"), gettext_lazy("out of 10"), 1, 10),
    "stress": Metric("stress", gettext_lazy("Stress"), gettext_lazy("out of 10"), 1, 10),
    "sleep": Metric("sleep", gettext_lazy("Sleep"), gettext_lazy("hours"), 0, 12, grow=4),
    "meditation": Metric("meditation", gettext_lazy("Meditation"), gettext_lazy("minutes"), 0, 30, kind="bar",
                         decimals=0, grow=30),
    "habits": Metric("habits", gettext_lazy("Habits done"), "%", 0, 100, kind="bar", decimals=0),
}


# --- periods ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    start: dt.date
    end: dt.date  # inclusive
    short: str  # axis label
    long: str  # table label


def daily_buckets(today: dt.date, days: int) -> list[Bucket]:
    out = []
    for i in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=i)
        out.append(Bucket(day, day, date_format(day, "j M"), date_format(day, "D j M")))
    return out


def weekly_buckets(today: dt.date, weeks: int = WEEKS) -> list[Bucket]:
    """ISO weeks (Monday–Sunday), the current one last (partial)."""
    monday = today - dt.timedelta(days=today.weekday())
    out = []
    for i in range(weeks - 1, -1, -1):
        start = monday - dt.timedelta(weeks=i)
        end = start + dt.timedelta(days=6)
        week = start.isocalendar().week
        out.append(Bucket(start, end, date_format(start, "j M"),
                          _("Week %(n)s (%(start)s – %(end)s)") % {
                              "n": week, "start": date_format(start, "j M"), "end": date_format(end, "j M")}))
    return out


def monthly_buckets(today: dt.date, months: int = MONTHS) -> list[Bucket]:
    out = []
    year, month = today.year, today.month
    for _i in range(months):
        start = dt.date(year, month, 1)
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        out.append(Bucket(start, following - dt.timedelta(days=1), date_format(start, "M"),
                          date_format(start, "F Y")))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def buckets_for(period: str, today: dt.date, days: int = 30) -> list[Bucket]:
    if period == "weekly":
        return weekly_buckets(today)
    if period == "monthly":
        return monthly_buckets(today)
    return daily_buckets(today, days)


def mean(values) -> float | None:
    values = [float(v) for v in values if v is not None]
    return sum(values) / len(values) if values else None


def bucket_means(daily: dict[dt.date, float], buckets: list[Bucket]) -> list[float | None]:
    """The mean of the recorded days inside each bucket (None when none was recorded)."""
    return [mean(v for day, v in daily.items() if b.start <= day <= b.end) for b in buckets]


# --- trend -----------------------------------------------------------------------------------------

def least_squares_slope(values) -> float | None:
    """Slope per step of the least-squares line through (index, value), skipping gaps."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _v in points) / n
    my = sum(y for _x, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _v in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


@dataclass(frozen=True)
class Trend:
    direction: str  # "rising", "falling", "steady" or "unknown"
    arrow: str
    word: str
    change: float | None  # change of the fitted line over the points shown


def trend_of(values, *, lo: float, hi: float, threshold: float = TREND_THRESHOLD) -> Trend:
    points = [i for i, v in enumerate(values) if v is not None]
    slope = least_squares_slope(values)
    if slope is None or len(points) < 3:
        return Trend("unknown", "–", _("not enough data"), None)
    change = slope * (points[-1] - points[0])
    if abs(change) < threshold * (hi - lo):
        return Trend("steady", "→", _("steady"), change)
    if change > 0:
        return Trend("rising", "↑", _("rising"), change)
    return Trend("falling", "↓", _("falling"), change)


# --- SVG -------------------------------------------------------------------------------------------

def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    for parts in (3, 4, 2):
        if span % parts == 0:
            return [lo + span * k / parts for k in range(parts + 1)]
    return [lo, lo + span / 2, hi]


def render_svg(*, chart_id: str, title: str, desc: str, labels: list[str], values: list[float | None],
               lo: float, hi: float, kind: str = "line", average: float | None = None) -> str:
    """A line or bar chart as a standalone, well-formed SVG element that scales to its container."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(len(values), 1)
    band = plot_w / n

    def x_at(i):
        return PAD_LEFT + band * (i + 0.5)

    def y_at(v):
        v = min(max(v, lo), hi)
        return PAD_TOP + plot_h * (1 - (v - lo) / (hi - lo or 1))

    t_id, d_id = f"{chart_id}-title", f"{chart_id}-desc"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="{t_id} {d_id}" '
           f'font-family="system-ui, sans-serif" font-size="12">',
           f'<title id="{t_id}">{escape(title)}</title>',
           f'<desc id="{d_id}">{escape(desc)}</desc>']
    # Grid and y-axis labels.
    out.append('<g class="chart-grid">')
    for tick in _ticks(lo, hi):
        y = y_at(tick)
        out.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{_num(y)}" y2="{_num(y)}" '
                   f'stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{PAD_LEFT - 5}" y="{_num(y + 4)}" text-anchor="end" fill="{MUTED}">{_num(tick)}</text>')
    out.append("</g>")
    # X-axis labels: at most ~7, always including the most recent bucket.
    step = max(1, math.ceil(len(labels) / 7))
    out.append('<g class="chart-x">')
    for i, label in enumerate(labels):
        if (len(labels) - 1 - i) % step == 0:
            out.append(f'<text x="{_num(x_at(i))}" y="{HEIGHT - 10}" text-anchor="middle" fill="{MUTED}">'
                       f'{escape(label)}</text>')
    out.append("</g>")
    # Data.
    if kind == "bar":
        width = max(band * 0.64, 1)
        out.append(f'<g class="chart-bars" fill="{BAR}">')
        for i, v in enumerate(values):
            if v is None:
                continue
            y = y_at(v)
            height = max(PAD_TOP + plot_h - y, 1.5)  # a zero still shows as a sliver
            out.append(f'<rect x="{_num(x_at(i) - width / 2)}" y="{_num(PAD_TOP + plot_h - height)}" '
                       f'width="{_num(width)}" height="{_num(height)}" rx="1.5"/>')
        out.append("</g>")
    else:
        # Missing buckets break the line, so a gap is never drawn as a slope.
        segments, current = [], []
        for i, v in enumerate(values):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append((x_at(i), y_at(v)))
        if current:
            segments.append(current)
        path = " ".join("M" + " L".join(f"{_num(x)} {_num(y)}" for x, y in seg) for seg in segments if len(seg) > 1)
        if path:
            out.append(f'<path class="chart-line" d="{path}" fill="none" stroke="{LINE}" stroke-width="2.2" '
                       f'stroke-linejoin="round" stroke-linecap="round"/>')
        out.append(f'<g class="chart-points" fill="{LINE}">')
        radius = 2.6 if n <= 31 else 1.8
        for seg in segments:
            for x, y in seg:
                out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{radius}"/>')
        out.append("</g>")
    if average is not None:
        y = y_at(average)
        out.append(f'<line class="chart-average" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{_num(y)}" '
                   f'y2="{_num(y)}" stroke="{AVG}" stroke-width="1.4" stroke-dasharray="5 4"/>')
    if all(v is None for v in values):
        nothing = escape(_("Nothing recorded yet"))
        out.append(f'<text x="{_num(PAD_LEFT + plot_w / 2)}" y="{_num(PAD_TOP + plot_h / 2)}" text-anchor="middle" '
                   f'fill="{INK}" font-size="13">{nothing}</text>')
    out.append("</svg>")
    return "".join(out)


# --- charts ----------------------------------------------------------------------------------------

PERIOD_TITLES = {
    "daily": gettext_lazy("last %(n)s days"),
    "weekly": gettext_lazy("weekly averages, last 12 weeks"),
    "monthly": gettext_lazy("monthly averages, last 12 months"),
}


@dataclass
class Chart:
    metric: Metric
    period: str
    buckets: list[Bucket]
    values: list[float | None]
    average: float | None
    trend: Trend
    recorded_days: int
    total_days: int
    svg: str = ""
    summary: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.metric.label} — {self.period_title}"

    @property
    def period_title(self) -> str:
        return str(PERIOD_TITLES[self.period]) % {"n": len(self.buckets)}

    @property
    def average_text(self) -> str:
        return self.metric.format(self.average)


def build_chart(metric: Metric, daily: dict[dt.date, float], *, period: str, today: dt.date, days: int = 30,
                chart_id: str = "chart") -> Chart:
    """One chart from a metric's daily values ({date: value}, missing days absent)."""
    buckets = buckets_for(period, today, days)
    first, last = buckets[0].start, buckets[-1].end
    in_range = {d: float(v) for d, v in daily.items() if first <= d <= last and v is not None}
    values = bucket_means(in_range, buckets)
    average = mean(in_range.values())
    lo, hi = metric.scale_for(values)
    trend = trend_of(values, lo=metric.lo, hi=metric.hi)
    total_days = (min(last, today) - first).days + 1
    chart = Chart(metric, period, buckets, values, average, trend, len(in_range), total_days)
    unit = f" {metric.unit}" if metric.unit != "%" else "%"
    if average is None:
        summary = _("Nothing recorded in this period.")
    else:
        summary = _("Average %(avg)s%(unit)s; trend %(trend)s. Recorded on %(rec)s of %(days)s days.") % {
            "avg": metric.format(average), "unit": unit, "trend": trend.word, "rec": len(in_range),
            "days": total_days}
    chart.svg = mark_safe(render_svg(chart_id=chart_id, title=chart.title, desc=summary,
                                     labels=[b.short for b in buckets], values=values, lo=lo, hi=hi,
                                     kind=metric.kind, average=average))
    chart.rows = [(b.long, metric.format(v)) for b, v in zip(buckets, values, strict=True)]
    chart.summary = summary
    return chart


# --- data ------------------------------------------------------------------------------------------

def _zone_of(patient, fallback_zone: str | None = None):
    name = getattr(getattr(patient, "user", None), "timezone", None) or fallback_zone or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def local_today(patient, fallback_zone: str | None = None) -> dt.date:
    """Today in the patient's own time zone (their account's), else the viewer's, else UTC."""
    from django.utils import timezone

    return timezone.now().astimezone(_zone_of(patient, fallback_zone)).date()


def daily_values(patient, start: dt.date, end: dt.date) -> dict[str, dict[dt.date, float]]:
    """{metric key: {date: value}} for [start, end], in three queries."""
    from wellness.models import Habit, HabitLog, WellnessEntry

    out = {key: {} for key in METRICS}
    for day, mood, stress, sleep, meditation in (
            WellnessEntry.objects.filter(patient=patient, date__range=(start, end))
            .values_list("date", "mood", "stress", "sleep_hours", "meditation_minutes")):
        out["mood"][day] = float(mood)
        out["stress"][day] = float(stress)
        if sleep is not None:
            out["sleep"][day] = float(sleep)
        if meditation is not None:
            out["meditation"][day] = float(meditation)
    # The share of the habits in use that day that were done (``Habit.counts_as_done``). A habit is in use on a day it has a log for — a habit added today
    # may be logged for yesterday, and imported history predates the habit — or, without a log,
    # from the local day it was added until the day it was archived.
    zone = _zone_of(patient)
    habits = {h.pk: h for h in Habit.objects.filter(patient=patient).only("id", "kind", "target", "created_at",
                                                                          "archived_at")}
    if habits:
        logged: dict[dt.date, dict] = {}
        for habit_id, day, done, value in (HabitLog.objects.filter(habit__patient=patient, date__range=(start, end))
                                           .values_list("habit_id", "date", "done", "value")):
            logged.setdefault(day, {})[habit_id] = habits[habit_id].counts_as_done(done=done, value=value)
        for day, logs in logged.items():
            in_use = set(logs) | {pk for pk, h in habits.items()
                                  if h.created_at.astimezone(zone).date() <= day
                                  and (h.archived_at is None or h.archived_at.astimezone(zone).date() > day)}
            out["habits"][day] = 100.0 * sum(logs.values()) / len(in_use)
    return out


def chart_panel(patient, *, period: str = "daily", days: int = 30, today: dt.date | None = None,
                id_prefix: str = "wc") -> dict:
    """Everything templates/wellness/charts/_panel.html shows for one patient and period."""
    period = period if period in PERIODS else "daily"
    days = days if days in DAILY_SPANS else 30
    today = today or local_today(patient)
    buckets = buckets_for(period, today, days)
    data = daily_values(patient, buckets[0].start, today)
    charts = [build_chart(metric, data[key], period=period, today=today, days=days,
                          chart_id=f"{id_prefix}-{key}") for key, metric in METRICS.items()]
    return {
        "patient": patient, "period": period, "days": days, "today": today, "charts": charts,
        "has_data": any(c.average is not None for c in charts),
        "choices": [("daily", 14, _("14 days")), ("daily", 30, _("30 days")), ("weekly", 30, _("12 weeks")),
                    ("monthly", 30, _("12 months"))],
    }

"""wellness.charts: SVG well-formed for empty / one day / a full month, gaps, averages, trends, and the
companion table's numbers checked against averages computed here independently."""

import datetime as dt
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from wellness import charts
from wellness.models import Habit, HabitLog, WellnessEntry

SVG = "{http://www.w3.org/2000/svg}"
TODAY = dt.date(2025, 6, 18)  # a Wednesday


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {charts.HEIGHT}"
    assert root.get("width") == "100%"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id
    return root


def table_cells(html: str, chart_title_fragment: str) -> dict[str, str]:
    """{row label: value} of the companion table of the chart whose caption contains the fragment."""
    for table in re.findall(r"<table class=\"chart-table\">.*?</table>", html, flags=re.S):
        if chart_title_fragment in table:
            rows = re.findall(r"<tr[^>]*><th scope=\"row\">(.*?)</th><td>(.*?)</td></tr>", table, flags=re.S)
            return {label.strip(): value.strip() for label, value in rows}
    raise AssertionError(f"no table for {chart_title_fragment}")


# --- pure rendering ---------------------------------------------------------------------------------

def test_it_renders_an_empty_chart():
    chart = charts.build_chart(charts.METRICS["mood"], {}, period="daily", today=TODAY, days=14)
    root = parse(chart.svg)
    assert root.find(f"{SVG}path") is None
    assert "Nothing recorded" in chart.svg
    assert chart.average is None and chart.trend.direction == "unknown"
    assert len(chart.rows) == 14 and all(value == "—" for _label, value in chart.rows)


def test_it_renders_one_day():
    chart = charts.build_chart(charts.METRICS["mood"], {TODAY: 6}, period="daily", today=TODAY, days=30)
    root = parse(chart.svg)
    assert len(root.findall(f".//{SVG}circle")) == 1
    assert root.find(f".//{SVG}path") is None  # a single point is a dot, not a line
    assert chart.average == 6 and chart.average_text == "6.0"
    assert chart.rows[-1][1] == "6.0"
    assert chart.recorded_days == 1 and chart.total_days == 30


def test_it_renders_a_full_month_with_a_gap_as_two_segments():
    daily = {TODAY - dt.timedelta(days=i): 1 + i % 10 for i in range(30) if i != 10}
    chart = charts.build_chart(charts.METRICS["stress"], daily, period="daily", today=TODAY, days=30)
    root = parse(chart.svg)
    path = root.find(f".//{SVG}path").get("d")
    assert path.count("M") == 2  # the missing day breaks the line
    assert len(root.findall(f".//{SVG}circle")) == 29
    assert root.find(f".//{SVG}line[@class='chart-average']") is not None


@pytest.mark.parametrize("kind", ["line", "bar"])
def test_it_escapes_labels_and_stays_well_formed(kind):
    svg = charts.render_svg(chart_id="x", title='Mood <script> & "quotes"', desc="a < b", labels=["<1>", "2"],
                            values=[3, None], lo=0, hi=10, kind=kind, average=3)
    root = parse(svg)
    assert root.find(f"{SVG}title").text == 'Mood <script> & "quotes"'


def test_bars_show_zero_as_a_sliver():
    chart = charts.build_chart(charts.METRICS["habits"], {TODAY: 0.0}, period="daily", today=TODAY, days=14)
    root = parse(chart.svg)
    assert len(root.findall(f".//{SVG}rect")) == 1


def test_sleep_axis_grows_for_long_nights():
    chart = charts.build_chart(charts.METRICS["sleep"], {TODAY: 14}, period="daily", today=TODAY, days=14)
    labels = [t.text for t in parse(chart.svg).findall(f".//{SVG}g[@class='chart-grid']/{SVG}text")]
    assert labels[-1] == "16"


# --- periods ----------------------------------------------------------------------------------------

def test_weekly_buckets_are_twelve_iso_weeks_ending_with_this_one():
    buckets = charts.weekly_buckets(TODAY)
    assert len(buckets) == 12
    assert all(b.start.weekday() == 0 and (b.end - b.start).days == 6 for b in buckets)
    assert buckets[-1].start == dt.date(2025, 6, 16)
    assert f"Week {dt.date(2025, 6, 16).isocalendar().week}" in buckets[-1].long


def test_monthly_buckets_are_twelve_months_ending_with_this_one():
    buckets = charts.monthly_buckets(TODAY)
    assert [b.start for b in buckets][:2] == [dt.date(2024, 7, 1), dt.date(2024, 8, 1)]
    assert buckets[-1].start == dt.date(2025, 6, 1) and buckets[-1].end == dt.date(2025, 6, 30)
    assert buckets[5].end == dt.date(2024, 12, 31)


def test_weekly_table_numbers_are_the_weekly_means():
    daily = {TODAY - dt.timedelta(days=i): (i * 7) % 10 + 1 for i in range(84)}
    chart = charts.build_chart(charts.METRICS["mood"], daily, period="weekly", today=TODAY)
    for bucket, (_label, shown) in zip(chart.buckets, chart.rows, strict=True):
        values = [v for d, v in daily.items() if bucket.start <= d <= bucket.end]
        expected = sum(values) / len(values) if values else None
        assert shown == ("—" if expected is None else f"{expected:.1f}")
    overall = [v for d, v in daily.items() if d >= chart.buckets[0].start]
    assert chart.average_text == f"{sum(overall) / len(overall):.1f}"


# --- trend ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, direction, arrow", [
    ([2, 3, 4, 5, 6, 7], "rising", "↑"),
    ([9, 8, 7, 6, 5, 4], "falling", "↓"),
    ([5, 5, 6, 5, 5, 5], "steady", "→"),
    ([5, None, None, 5.1, None, 4.9], "steady", "→"),
    ([5, 6], "unknown", "–"),
    ([], "unknown", "–"),
])
def test_trend_arrows(values, direction, arrow):
    trend = charts.trend_of(values, lo=1, hi=10)
    assert (trend.direction, trend.arrow) == (direction, arrow)
    assert trend.word in ("rising", "falling", "steady", "not enough data")


def test_trend_ignores_gaps_when_fitting():
    # x positions keep their place: 1 at day 0 and 10 at day 9 is a steep rise even with gaps.
    assert charts.least_squares_slope([1, None, None, None, None, None, None, None, None, 10]) == 1.0


# --- with the database ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_panel_renders_empty(alice):
    panel = charts.chart_panel(alice.patient_record, period="daily", days=14, today=TODAY)
    assert panel["has_data"] is False
    html = render_to_string("wellness/charts/_panel.html", {"panel": panel})
    assert html.count("<svg") == 5
    assert "No check-ins in this period yet" in html
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        parse(svg)


@pytest.mark.django_db
@pytest.mark.parametrize("period", ["daily", "weekly", "monthly"])
def test_panel_full_month_tables_match_independent_averages(alice, period):
    patient = alice.patient_record
    rows = []
    for i in range(30):
        day = TODAY - dt.timedelta(days=i)
        if i % 6 == 5:
            continue  # gaps
        rows.append(WellnessEntry(patient=patient, date=day, mood=(i % 9) + 1, stress=10 - (i % 9),
                                  sleep_hours=Decimal("6.5") + (i % 3), meditation_minutes=(i % 4) * 10))
    WellnessEntry.objects.bulk_create(rows)
    panel = charts.chart_panel(patient, period=period, days=30, today=TODAY)
    html = render_to_string("wellness/charts/_panel.html", {"panel": panel})
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        parse(svg)
    moods = [r.mood for r in rows]
    sleeps = [float(r.sleep_hours) for r in rows]
    assert table_cells(html, "Mood —")["Average"] == f"{sum(moods) / len(moods):.1f}"
    assert table_cells(html, "Sleep —")["Average"] == f"{sum(sleeps) / len(sleeps):.1f}"
    assert table_cells(html, "Meditation —")["Average"] == f"{sum(r.meditation_minutes for r in rows) / len(rows):.0f}"
    assert table_cells(html, "Mood —")["Days recorded"] == f"{len(rows)} / {panel['charts'][0].total_days}"
    if period == "monthly":
        this_month = [r.mood for r in rows if r.date.month == TODAY.month]
        assert table_cells(html, "Mood —")["June 2025"] == f"{sum(this_month) / len(this_month):.1f}"


@pytest.mark.django_db
def test_habit_completion_is_the_share_of_active_habits_done(alice):
    patient = alice.patient_record
    walk = Habit.objects.create(patient=patient, name="Walk")
    water = Habit.objects.create(patient=patient, name="Water", kind=Habit.Kind.NUMBER, unit="glasses", target=6)
    Habit.objects.filter(pk__in=[walk.pk, water.pk]).update(created_at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    HabitLog.objects.create(habit=walk, date=TODAY, done=True)
    HabitLog.objects.create(habit=water, date=TODAY, value=7)  # reached the target
    HabitLog.objects.create(habit=walk, date=TODAY - dt.timedelta(days=1), done=True)
    HabitLog.objects.create(habit=water, date=TODAY - dt.timedelta(days=1), value=2)
    data = charts.daily_values(patient, TODAY - dt.timedelta(days=13), TODAY)
    assert data["habits"] == {TODAY: 100.0, TODAY - dt.timedelta(days=1): 50.0}
    chart = charts.build_chart(charts.METRICS["habits"], data["habits"], period="daily", today=TODAY, days=14)
    assert chart.average_text == "75"


@pytest.mark.django_db
def test_chart_panel_tag_renders(alice):
    from django.template import Context, Template

    html = Template("{% load wellness_charts %}{% wellness_chart_panel patient 'weekly' %}").render(
        Context({"patient": alice.patient_record}))
    assert html.count("<svg") == 5 and "last 12 weeks" in html


@pytest.mark.django_db
def test_habits_done_counts_days_logged_before_the_habit_was_added(alice):
    """The demo's history (and yesterday's check-in saved today) logs days before the habit's
    created_at: those days count, they were left out and the chart stayed empty."""
    patient = alice.patient_record
    walk = Habit.objects.create(patient=patient, name="Walk")  # created now, long after TODAY
    screens = Habit.objects.create(patient=patient, name="No screens")
    HabitLog.objects.create(habit=walk, date=TODAY - dt.timedelta(days=2), done=True)
    HabitLog.objects.create(habit=screens, date=TODAY - dt.timedelta(days=2), done=False)
    HabitLog.objects.create(habit=walk, date=TODAY - dt.timedelta(days=1), done=True)
    data = charts.daily_values(patient, TODAY - dt.timedelta(days=13), TODAY)
    assert data["habits"] == {TODAY - dt.timedelta(days=2): 50.0, TODAY - dt.timedelta(days=1): 100.0}
    chart = charts.build_chart(charts.METRICS["habits"], data["habits"], period="daily", today=TODAY, days=14)
    assert chart.average_text == "75" and "Nothing recorded" not in chart.svg


@pytest.mark.django_db
def test_habit_in_use_from_the_local_day_it_was_added(alice):
    """Added on the 18th at 19:00 in Los Angeles (the 19th in UTC): in use, not done, on the 18th."""
    alice.timezone = "America/Los_Angeles"
    alice.save(update_fields=["timezone"])
    patient = alice.patient_record
    old = Habit.objects.create(patient=patient, name="Old")
    new = Habit.objects.create(patient=patient, name="New")
    Habit.objects.filter(pk=old.pk).update(created_at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    Habit.objects.filter(pk=new.pk).update(created_at=dt.datetime(2025, 6, 19, 2, 0, tzinfo=dt.UTC))
    HabitLog.objects.create(habit=old, date=TODAY, done=True)
    assert charts.daily_values(patient, TODAY, TODAY)["habits"] == {TODAY: 50.0}


@pytest.mark.django_db
def test_a_number_habit_at_zero_is_not_done_anywhere(alice):
    """0 is never done — without a target, with a target of 0, and in a log saved as done by old
    code: the check-in, the streaks, the history, the API and the chart agree."""
    from wellness import selectors, services

    patient = alice.patient_record
    walk = Habit.objects.create(patient=patient, name="Walk", kind=Habit.Kind.NUMBER, unit="min")
    steps = Habit.objects.create(patient=patient, name="Steps", kind=Habit.Kind.NUMBER, target=0)
    pages = Habit.objects.create(patient=patient, name="Pages", kind=Habit.Kind.NUMBER, target=10)
    today = selectors.patient_today(patient, alice)
    services.wellness_entry_save(actor=alice, patient=patient, date=today, data={"mood": 5, "stress": 5},
                                 habit_values={str(walk.pk): 0, str(steps.pk): 0, str(pages.pk): 12})
    logs = {log.habit_id: log for log in HabitLog.objects.filter(date=today)}
    assert (logs[walk.pk].done, logs[steps.pk].done, logs[pages.pk].done) == (False, False, True)
    # A log written as done with 0 (the old demo data): still not done.
    yesterday = today - dt.timedelta(days=1)
    HabitLog.objects.create(habit=walk, date=yesterday, value=Decimal("0"), done=True)
    streaks = selectors.streaks(patient, today=today)
    assert streaks.habits[walk.pk] == 0 and streaks.habits[steps.pk] == 0 and streaks.habits[pages.pk] == 1
    data = charts.daily_values(patient, yesterday, today)
    assert data["habits"][yesterday] == 0.0
    assert round(data["habits"][today]) == 33

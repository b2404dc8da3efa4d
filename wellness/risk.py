"""High-risk flags: the rules that suggest them, the monthly stress ranking, and the flag services.

Rules assist, clinicians decide: a rule only ever creates a ``suggested`` flag ("Suggested by rule —
confirm or dismiss"); a care-team doctor confirms it (→ ``open``, with a follow-up task) or dismisses
it. A doctor may also mark a patient high-risk directly (``open`` at once) and clear it later. Every
change writes a typed RiskFlagEvent and an audit event.

Who sees flags and the ranking: the doctors of the patient's care team, and administrators (read
only, audited by the callers). Patients and their family do not: triage is the clinicians' working
data. Everyone else gets 404.

Thresholds come from ``settings.WELLNESS_RISK`` (a dict; missing keys fall back to ``DEFAULTS``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.services import audit_record
from clinic import scheduling
from clinic.models import DoctorProfile, Patient
from clinic.selectors import care_team_patient_ids, doctor_profile_of, patients_visible_to
from core.errors import Conflict, NotFound, PermissionDenied
from wellness.charts import least_squares_slope, local_today
from wellness.models import EmotionSnapshot, FollowUpTask, RiskFlag, RiskFlagEvent, WellnessEntry

Status = RiskFlag.Status
LIVE = (Status.SUGGESTED, Status.OPEN)

DEFAULTS = {
    "low_mood_max": 3,              # mood at or below this ...
    "low_mood_days": 3,             # ... on this many consecutive days suggests a flag,
    "low_mood_recent_days": 7,      # if the run ended within this many days.
    "stress_window_days": 14,       # stress rising: least-squares slope over this window ...
    "stress_min_entries": 5,        # ... with at least this many entries ...
    "stress_rising_per_day": 0.15,  # ... of at least this many points per day (≈ +2 in two weeks).
    "silence_days": 7,              # no entry this many days after a high-risk flag.
    "due_days": {"call": 1, "emergency_consult": 0, "send_resources": 3},
}

RULE_LOW_MOOD = "low_mood"
RULE_STRESS_RISING = "stress_rising"
RULE_SILENCE = "silence_after_flag"
RULE_LABELS = {
    RULE_LOW_MOOD: gettext_lazy("Low mood on consecutive days"),
    RULE_STRESS_RISING: gettext_lazy("Stress rising"),
    RULE_SILENCE: gettext_lazy("No check-in after a high-risk flag"),
}


def risk_settings() -> dict:
    configured = getattr(settings, "WELLNESS_RISK", None) or {}
    merged = {**DEFAULTS, **configured}
    merged["due_days"] = {**DEFAULTS["due_days"], **configured.get("due_days", {})}
    return merged


# --- rules (pure) -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleHit:
    rule: str
    reason: str
    since: dt.date  # start of the episode: a flag closed on or after it is not suggested again


def rule_low_mood(moods: dict[dt.date, int], today: dt.date, cfg: dict) -> RuleHit | None:
    """Mood ≤ low_mood_max on low_mood_days consecutive calendar days, ending recently."""
    need, limit = cfg["low_mood_days"], cfg["low_mood_max"]
    recent_from = today - dt.timedelta(days=cfg["low_mood_recent_days"] - 1)
    best = None
    run: list[dt.date] = []
    for day in sorted(moods):
        if moods[day] <= limit and run and day - run[-1] == dt.timedelta(days=1):
            run.append(day)
        elif moods[day] <= limit:
            run = [day]
        else:
            run = []
        if len(run) >= need and run[-1] >= recent_from:
            best = list(run)
    if best is None:
        return None
    values = ", ".join(str(moods[d]) for d in best)
    return RuleHit(RULE_LOW_MOOD, _("Mood %(limit)s or lower on %(n)s consecutive days (%(start)s – %(end)s: "
                                    "%(values)s).") % {"limit": limit, "n": len(best), "start": best[0].isoformat(),
                                                       "end": best[-1].isoformat(), "values": values}, best[0])


def rule_stress_rising(stress: dict[dt.date, int], today: dt.date, cfg: dict) -> RuleHit | None:
    """A least-squares slope of at least stress_rising_per_day over the last stress_window_days."""
    window = cfg["stress_window_days"]
    start = today - dt.timedelta(days=window - 1)
    series = [stress.get(start + dt.timedelta(days=i)) for i in range(window)]
    if sum(v is not None for v in series) < cfg["stress_min_entries"]:
        return None
    slope = least_squares_slope(series)
    if slope is None or slope < cfg["stress_rising_per_day"]:
        return None
    half = window // 2
    first = [v for v in series[:half] if v is not None]
    second = [v for v in series[half:] if v is not None]
    if first and second:
        reason = _("Stress rising over %(n)s days (about +%(slope).1f a week): average %(a).1f in the first half, "
                   "%(b).1f in the second.") % {"n": window, "slope": slope * 7, "a": sum(first) / len(first),
                                                 "b": sum(second) / len(second)}
    else:
        reason = _("Stress rising over %(n)s days (about +%(slope).1f a week).") % {"n": window, "slope": slope * 7}
    return RuleHit(RULE_STRESS_RISING, reason, start)


def rule_silence(flagged_on: dt.date | None, last_entry: dt.date | None, today: dt.date, cfg: dict) -> RuleHit | None:
    """No check-in for silence_days after a patient was marked high-risk (flag open)."""
    if flagged_on is None:
        return None
    since = max(flagged_on, last_entry) if last_entry else flagged_on
    silent = (today - since).days
    if silent < cfg["silence_days"]:
        return None
    return RuleHit(RULE_SILENCE, _("No check-in for %(n)s days since %(since)s, after being marked high-risk.") % {
        "n": silent, "since": since.isoformat()}, since)


# --- rule evaluation ------------------------------------------------------------------------------------

def _zone_of(patient):
    import zoneinfo

    name = getattr(patient.user, "timezone", None) if patient.user_id else None
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def evaluate_rules(patient_ids=None, *, now: dt.datetime | None = None) -> list[RiskFlag]:
    """Run every rule for the given patients (default: everyone with recent entries or an open
    flag) and create the ``suggested`` flags that are due. Idempotent: one live flag per (patient,
    rule) — a DB constraint — and a flag closed during an episode is not suggested again for it.
    Five queries plus two inserts per new flag."""
    cfg = risk_settings()
    now = now or timezone.now()
    span = max(cfg["stress_window_days"], cfg["low_mood_recent_days"] + cfg["low_mood_days"]) + 2
    horizon = now.date() - dt.timedelta(days=span)
    last_entry = WellnessEntry.objects.filter(patient=OuterRef("pk")).order_by("-date").values("date")[:1]
    patients = Patient.objects.select_related("user").annotate(last_entry=Subquery(last_entry))
    if patient_ids is not None:
        patients = patients.filter(pk__in=list(patient_ids))
    else:
        patients = patients.filter(
            Q(pk__in=WellnessEntry.objects.filter(date__gte=horizon).values("patient_id"))
            | Q(pk__in=RiskFlag.objects.filter(status=Status.OPEN).values("patient_id")))
    patients = list(patients)
    if not patients:
        return []
    ids = [p.pk for p in patients]
    entries: dict = {pk: {} for pk in ids}
    for patient_id, day, mood, stress in (WellnessEntry.objects.filter(patient_id__in=ids, date__gte=horizon)
                                          .values_list("patient_id", "date", "mood", "stress")):
        entries[patient_id][day] = (mood, stress)
    flags: dict = {pk: [] for pk in ids}
    for flag in RiskFlag.objects.filter(patient_id__in=ids).only("patient_id", "rule", "source", "status",
                                                                 "created_at", "updated_at"):
        flags[flag.patient_id].append(flag)

    created = []
    for patient in patients:
        zone = _zone_of(patient)
        today = now.astimezone(zone).date()
        days = entries[patient.pk]
        own = flags[patient.pk]
        # A confirmed suggestion counts from its confirmation (its last change while open).
        opened = [(f.updated_at if f.source == RiskFlag.Source.RULE else f.created_at).astimezone(zone).date()
                  for f in own if f.status == Status.OPEN and f.rule != RULE_SILENCE]
        hits = [
            rule_low_mood({d: v[0] for d, v in days.items()}, today, cfg),
            rule_stress_rising({d: v[1] for d, v in days.items()}, today, cfg),
            rule_silence(min(opened) if opened else None, patient.last_entry, today, cfg),
        ]
        for hit in filter(None, hits):
            same = [f for f in own if f.rule == hit.rule]
            if any(f.status in LIVE for f in same):
                continue
            if any(f.updated_at.astimezone(zone).date() >= hit.since for f in same):
                continue  # a clinician already decided on this episode
            flag = _suggest(patient, hit)
            if flag is not None:
                created.append(flag)
    return created


def _suggest(patient: Patient, hit: RuleHit) -> RiskFlag | None:
    try:
        with transaction.atomic():
            flag = RiskFlag.objects.create(patient=patient, source=RiskFlag.Source.RULE, rule=hit.rule,
                                           status=Status.SUGGESTED, reason=hit.reason)
            RiskFlagEvent.objects.create(flag=flag, kind=RiskFlagEvent.Kind.SUGGESTED, note=hit.reason)
    except IntegrityError:
        return None  # another run suggested it a moment ago
    audit_record(action="risk_flag.suggested", target=patient, label="rules", rule=hit.rule, flag=str(flag.pk))
    return flag


# --- selectors ---------------------------------------------------------------------------------------------

def triage_patients(user) -> QuerySet[Patient]:
    """Patients whose triage data (flags, follow-ups, ranking) the user sees: admins all; doctors their
    care team (inside the clinical access policy); nobody else."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    if user.is_admin:
        return Patient.objects.all()
    doctor = doctor_profile_of(user)
    if doctor is None:
        return Patient.objects.none()
    return patients_visible_to(user, clinical=True).filter(pk__in=care_team_patient_ids(doctor))


def triage_patient_get(*, fetched_by, patient_id) -> Patient:
    patient = triage_patients(fetched_by).filter(pk=patient_id).first()
    if patient is None:
        raise NotFound("Patient not found.")
    return patient


def risk_flags_of(*, fetched_by, patient: Patient) -> QuerySet[RiskFlag]:
    """All flags of a patient, newest first, with their events and follow-up tasks."""
    if not triage_patients(fetched_by).filter(pk=patient.pk).exists():
        raise NotFound("Patient not found.")
    return (RiskFlag.objects.filter(patient=patient).select_related("doctor__user")
            .prefetch_related("events__actor", "tasks"))


def risk_flag_get(*, fetched_by, flag_id) -> RiskFlag:
    flag = (RiskFlag.objects.select_related("patient", "doctor__user")
            .filter(pk=flag_id, patient__in=triage_patients(fetched_by)).first())
    if flag is None:
        raise NotFound("Flag not found.")
    return flag


def follow_up_task_get(*, fetched_by, task_id) -> FollowUpTask:
    task = (FollowUpTask.objects.select_related("flag__patient", "doctor__user")
            .filter(pk=task_id, flag__patient__in=triage_patients(fetched_by)).first())
    if task is None:
        raise NotFound("Task not found.")
    return task


def live_flags(*, doctor: DoctorProfile) -> QuerySet[RiskFlag]:
    """Open and suggested flags of the doctor's care-team patients: open first, newest first."""
    return (RiskFlag.objects.filter(status__in=LIVE, patient_id__in=care_team_patient_ids(doctor))
            .select_related("patient", "doctor__user").order_by("status", "-created_at"))


def high_risk_patient_ids(*, doctor: DoctorProfile) -> set:
    """Care-team patients with an open flag (the "High risk" badge)."""
    return set(RiskFlag.objects.filter(status=Status.OPEN, patient_id__in=care_team_patient_ids(doctor))
               .values_list("patient_id", flat=True))


def annotate_high_risk(qs: QuerySet[Patient]) -> QuerySet[Patient]:
    return qs.annotate(high_risk=Exists(RiskFlag.objects.filter(patient=OuterRef("pk"), status=Status.OPEN)))


def follow_ups_open(*, doctor: DoctorProfile, due_by: dt.date | None = None) -> QuerySet[FollowUpTask]:
    """The doctor's follow-ups not yet done, of flags still open, soonest first."""
    qs = (FollowUpTask.objects.filter(doctor=doctor, done_at__isnull=True, flag__status=Status.OPEN)
          .select_related("flag__patient").order_by("due_on", "created_at"))
    if due_by is not None:
        qs = qs.filter(due_on__lte=due_by)
    return qs


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def next_month(start: dt.date) -> dt.date:
    return dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def previous_month(start: dt.date) -> dt.date:
    return dt.date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)


def doctor_for_ranking(*, fetched_by, doctor: DoctorProfile) -> DoctorProfile:
    own = doctor_profile_of(fetched_by)
    if not (fetched_by.is_authenticated and fetched_by.is_active
            and (fetched_by.is_admin or (own is not None and own.pk == doctor.pk))):
        raise NotFound("Doctor not found.")
    return doctor


def stress_ranking(*, fetched_by, doctor: DoctorProfile, month: dt.date) -> list[Patient]:
    """The doctor's care-team patients ranked by average stress in ``month`` (highest first; those
    without entries last), each with ``avg_stress``, ``prev_avg_stress``, ``change``, ``entries``
    and ``high_risk``. One query whatever the number of patients. The doctor themself or admins."""
    doctor_for_ranking(fetched_by=fetched_by, doctor=doctor)
    return ranking_rows(doctor=doctor, month=month)


def ranking_rows(*, doctor: DoctorProfile, month: dt.date) -> list[Patient]:
    """``stress_ranking`` without the access check, for callers that already resolved the viewer's
    own approved doctor profile (the dashboard)."""
    start = month_start(month)
    end, prev = next_month(start), previous_month(start)
    this_month = Q(wellness_entries__date__gte=start, wellness_entries__date__lt=end)
    last_month = Q(wellness_entries__date__gte=prev, wellness_entries__date__lt=start)
    rows = list(
        Patient.objects.filter(pk__in=care_team_patient_ids(doctor))
        .annotate(avg_stress=Avg("wellness_entries__stress", filter=this_month),
                  prev_avg_stress=Avg("wellness_entries__stress", filter=last_month),
                  entries=Count("wellness_entries", filter=this_month),
                  high_risk=Exists(RiskFlag.objects.filter(patient=OuterRef("pk"), status=Status.OPEN)))
        .order_by(F("avg_stress").desc(nulls_last=True), "name"))
    for row in rows:
        row.change = (row.avg_stress - row.prev_avg_stress
                      if row.avg_stress is not None and row.prev_avg_stress is not None else None)
    return rows


def emotion_snapshots_of(*, patient: Patient, limit: int = 10) -> list[EmotionSnapshot]:
    """The latest analysed snapshots (call after the access check). The encrypted vector and frame
    names are not loaded: the page shows the dominant emotion and confidence only."""
    return list(EmotionSnapshot.objects.filter(patient=patient, status=EmotionSnapshot.Status.DONE)
                .exclude(keep=EmotionSnapshot.Keep.NONE)  # shown once to the patient, not kept
                .defer("emotion_vector", "frames").order_by("-created_at")[:limit])


def wellness_history(*, patient: Patient, days: int = 30, today: dt.date | None = None) -> list[WellnessEntry]:
    today = today or local_today(patient)
    return list(WellnessEntry.objects.filter(patient=patient, date__gt=today - dt.timedelta(days=days))
                .order_by("-date"))


# --- services -----------------------------------------------------------------------------------------------

def _care_team_doctor(actor, patient: Patient) -> DoctorProfile:
    """Only a doctor of the patient's care team acts on flags; others who may see them get 403."""
    doctor = doctor_profile_of(actor)
    if doctor is not None and doctor.care_links.filter(patient=patient).exists():
        return doctor
    if triage_patients(actor).filter(pk=patient.pk).exists():
        raise PermissionDenied(_("Only a doctor in the patient's care team can change high-risk flags."))
    raise NotFound("Patient not found.")


def follow_up_due_on(action: str, doctor: DoctorProfile, *, now: dt.datetime | None = None) -> dt.date:
    """call → tomorrow, emergency consult → today, send resources → in 3 days (the doctor's dates)."""
    today = (now or timezone.now()).astimezone(scheduling.doctor_zone(doctor)).date()
    return today + dt.timedelta(days=risk_settings()["due_days"][action])


def _add_task(flag: RiskFlag, doctor: DoctorProfile, action: str) -> FollowUpTask:
    return FollowUpTask.objects.create(flag=flag, doctor=doctor, action=action, due_on=follow_up_due_on(action, doctor))


def _check_follow_up(follow_up: str) -> None:
    if follow_up not in RiskFlag.FollowUp.values:
        from django.core.exceptions import ValidationError

        raise ValidationError({"follow_up": [_("Choose a follow-up action.")]})


def risk_flag_raise(*, actor, patient: Patient, reason: str, follow_up: str, request=None) -> RiskFlag:
    """A doctor marks a patient high-risk: open at once, with a follow-up task."""
    doctor = _care_team_doctor(actor, patient)
    reason = (reason or "").strip()
    if not reason:
        from django.core.exceptions import ValidationError

        raise ValidationError({"reason": [_("Say why the patient is high-risk.")]})
    _check_follow_up(follow_up)
    try:
        with transaction.atomic():
            flag = RiskFlag.objects.create(patient=patient, doctor=doctor, source=RiskFlag.Source.DOCTOR, rule="",
                                           status=Status.OPEN, reason=reason, follow_up=follow_up)
            RiskFlagEvent.objects.create(flag=flag, kind=RiskFlagEvent.Kind.RAISED, actor=actor, note=reason)
            _add_task(flag, doctor, follow_up)
    except IntegrityError as exc:
        raise Conflict(_("This patient is already marked high-risk. Clear that flag before raising a new one.")) from exc
    audit_record(action="risk_flag.raised", actor=actor, target=patient, request=request, flag=str(flag.pk),
                 follow_up=follow_up)
    return flag


def _transition(*, actor, flag: RiskFlag, expect: str, to: str, kind: str, note: str, request=None,
                follow_up: str = "") -> RiskFlag:
    doctor = _care_team_doctor(actor, flag.patient)
    with transaction.atomic():
        locked = RiskFlag.objects.select_for_update().get(pk=flag.pk)
        if locked.status != expect:
            raise Conflict(_("This flag is %(status)s already.") % {"status": locked.get_status_display().lower()})
        locked.status = to
        fields = ["status", "updated_at"]
        if follow_up:
            locked.follow_up, locked.doctor = follow_up, doctor
            fields += ["follow_up", "doctor"]
        locked.save(update_fields=fields)
        RiskFlagEvent.objects.create(flag=locked, kind=kind, actor=actor, note=(note or "").strip())
        if follow_up:
            _add_task(locked, doctor, follow_up)
    audit_record(action=f"risk_flag.{kind}", actor=actor, target=flag.patient, request=request, flag=str(flag.pk))
    flag.refresh_from_db()
    return flag


def risk_flag_confirm(*, actor, flag: RiskFlag, follow_up: str, note: str = "", request=None) -> RiskFlag:
    """A clinician confirms a rule's suggestion: the flag opens and a follow-up task is created."""
    _check_follow_up(follow_up)
    return _transition(actor=actor, flag=flag, expect=Status.SUGGESTED, to=Status.OPEN,
                       kind=RiskFlagEvent.Kind.CONFIRMED, note=note, follow_up=follow_up, request=request)


def risk_flag_dismiss(*, actor, flag: RiskFlag, note: str = "", request=None) -> RiskFlag:
    return _transition(actor=actor, flag=flag, expect=Status.SUGGESTED, to=Status.DISMISSED,
                       kind=RiskFlagEvent.Kind.DISMISSED, note=note, request=request)


def risk_flag_clear(*, actor, flag: RiskFlag, note: str = "", request=None) -> RiskFlag:
    return _transition(actor=actor, flag=flag, expect=Status.OPEN, to=Status.CLEARED,
                       kind=RiskFlagEvent.Kind.CLEARED, note=note, request=request)


def follow_up_done(*, actor, task: FollowUpTask, request=None) -> FollowUpTask:
    _care_team_doctor(actor, task.flag.patient)
    with transaction.atomic():
        updated = FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=True).update(
            done_at=timezone.now(), done_by=actor, updated_at=timezone.now())
        if not updated:
            raise Conflict(_("This follow-up is already done."))
        RiskFlagEvent.objects.create(flag=task.flag, kind=RiskFlagEvent.Kind.FOLLOW_UP_DONE, actor=actor,
                                     note=task.get_action_display())
    audit_record(action="risk_flag.follow_up_done", actor=actor, target=task.flag.patient, request=request,
                 flag=str(task.flag_id), task=str(task.pk))
    task.refresh_from_db()
    return task

"""Wellness tracker, plan, charts, emotion snapshots and the doctor's risk pages × pages."""

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, page

task = {"task_id": lambda w: w.task.pk}

# These pages show the reader's own tracker (Grace's and Bob's own records): reads that are audited
# only when someone else's record is shown.
OWN_TRACKER = set()

ROWS = [
    page("GET", "wellness_today", LOGIN, 200, VERIFY, 200, 200, 404, VERIFY, 404, 404, 404, GONE, clinical=OWN_TRACKER),
    page("POST", "wellness_day_save", LOGIN, 422, VERIFY, 422, 422, 404, VERIFY, 404, 404, 404, GONE, data={"mood": "5", "stress": "5"}),
    page("POST", "wellness_quick_entry", LOGIN, 422, VERIFY, 422, 422, 404, VERIFY, 404, 404, 404, GONE, data={"mood": "5", "stress": "5"}),
    page("POST", "wellness_settings", LOGIN, GONE, VERIFY, GONE, GONE, 404, VERIFY, 404, 404, 404, GONE),
    page("GET", "wellness_habits", LOGIN, 200, VERIFY, 200, 200, 404, VERIFY, 404, 404, 404, GONE),
    page("POST", "wellness_habit_archive", LOGIN, GONE, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, GONE),
    page("GET", "wellness_plan", LOGIN, 200, VERIFY, 200, 200, 404, VERIFY, 404, 404, 404, GONE, clinical=OWN_TRACKER),
    page("POST", "wellness_task_add", LOGIN, GONE, VERIFY, GONE, GONE, 404, VERIFY, 404, 404, 404, GONE, data={"title": "Walk"}),
    page("POST", "wellness_task_toggle", LOGIN, GONE, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, GONE, params=task),
    page("POST", "wellness_carry_over", LOGIN, GONE, VERIFY, GONE, GONE, 404, VERIFY, 404, 404, 404, GONE),
    page("POST", "wellness_review_save", LOGIN, GONE, VERIFY, GONE, GONE, 404, VERIFY, 404, 404, 404, GONE, data={"went_well": "ok"}),
    page("GET", "wellness_charts", LOGIN, 200, VERIFY, 200, 200, 404, VERIFY, 404, 404, 404, GONE, clinical=OWN_TRACKER),
    page("GET", "emotion_snapshots", LOGIN, 200, VERIFY, 200, 200, 404, VERIFY, 404, 404, 404, GONE),
    page("POST", "emotion_consent", LOGIN, GONE, VERIFY, GONE, GONE, 404, VERIFY, 404, 404, 404, GONE),
    page("POST", "emotion_consent_withdraw", LOGIN, GONE, VERIFY, GONE, GONE, 404, VERIFY, 404, 404, 404, GONE),
    page("POST", "emotion_capture", LOGIN, 403, VERIFY, 403, 403, 404, VERIFY, 404, 404, 404, GONE),
    page("GET", "emotion_history", LOGIN, 200, VERIFY, 200, 200, 404, VERIFY, 404, 404, 404, GONE, clinical=OWN_TRACKER),
    page("POST", "emotion_erase", LOGIN, GONE, VERIFY, GONE, GONE, 404, VERIFY, 404, 404, 404, GONE),
    page("GET", "emotion_card", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE),
    page("GET", "emotion_snapshot_status", LOGIN, 200, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, GONE, clinical=True),
    page("GET", "doctor_risk", LOGIN, 404, VERIFY, 404, 404, 200, VERIFY, 200, 404, 404, GONE, clinical=True),
    page("POST", "doctor_risk_flag_raise", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE, data={"reason": "Worried", "follow_up": "call"}),
    page("POST", "doctor_risk_flag_confirm", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "doctor_risk_flag_dismiss", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "doctor_risk_flag_clear", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "doctor_follow_up_done", LOGIN, 404, VERIFY, 404, 404, GONE, VERIFY, 404, 404, 404, GONE),
]

test_access = matrix_test(ROWS)

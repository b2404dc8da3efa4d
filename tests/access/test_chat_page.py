"""Chats, their call requests × pages."""

from tests.access.matrix import GONE, LOGIN, VERIFY, matrix_test, page

former = {"chat_id": lambda w: w.former_chat.pk}  # Dave's chat with Alice, from before he left her care team


ROWS = [
    page("GET", "chat_list", LOGIN, 200, VERIFY, 200, 200, 200, VERIFY, 200, 200, 200, GONE, clinical={"grace"}),  # a text preview: the last message of Carol's chat is a file,
    page("GET", "chat_detail", LOGIN, 200, VERIFY, 200, 404, 200, VERIFY, 404, 404, 404, GONE, clinical=True),
    page("POST", "chat_archive", LOGIN, GONE, VERIFY, GONE, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "chat_urgent", LOGIN, GONE, VERIFY, GONE, 404, 403, VERIFY, 404, 404, 404, GONE),
    page("POST", "chat_urgent_resolve", LOGIN, 403, VERIFY, 403, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "chat_open_for_appointment", LOGIN, GONE, VERIFY, GONE, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "chat_start", LOGIN, GONE, VERIFY, GONE, 404, GONE, VERIFY, 404, 404, 404, GONE, data=lambda w: {"patient": str(w.patient.pk), "doctor": str(w.carol.doctor_profile.pk)}),
    page("POST", "chat_start", LOGIN, 404, VERIFY, 404, 404, 404, VERIFY, 404, 404, 404, GONE, data=lambda w: {"patient": str(w.patient.pk), "doctor": str(w.dave.doctor_profile.pk)}, note="outside the care team"),
    page("GET", "call_request_panel", LOGIN, 200, VERIFY, 200, 404, 200, VERIFY, 404, 404, 404, GONE),
    page("POST", "call_request_create", LOGIN, GONE, VERIFY, GONE, 404, 403, VERIFY, 404, 404, 404, GONE),
    page("POST", "call_request_accept", LOGIN, 403, VERIFY, 403, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "call_request_decline", LOGIN, 403, VERIFY, 403, 404, GONE, VERIFY, 404, 404, 404, GONE),
    page("POST", "call_request_cancel", LOGIN, GONE, VERIFY, GONE, 404, 403, VERIFY, 404, 404, 404, GONE),
    page("GET", "chat_detail", LOGIN, 200, VERIFY, 200, 404, 404, VERIFY, 404, 404, 404, GONE, params=former, clinical=True, note="care team left"),
    page("GET", "call_room", LOGIN, 200, VERIFY, 404, 404, 200, VERIFY, 404, 404, 404, GONE),
]

test_access = matrix_test(ROWS)

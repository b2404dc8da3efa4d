"""Chat × API (/api/v1, JWT)."""

from tests.access.matrix import api, matrix_test, row

former = {"chat_id": lambda w: w.former_chat.pk}  # Dave's chat with Alice, from before he left her care team


ROWS = [
    api("POST", "/api/v1/chats", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403, data=lambda w: {"appointment_id": str(w.appointment.pk)}),
    api("POST", "/api/v1/chats", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403, note="care-team doctor",
        data=lambda w: {"patient_id": str(w.patient.pk), "doctor_id": str(w.carol.doctor_profile.pk)}),
    # A chat is the care team's channel: the patient's side is told so (403), others learn nothing (404).
    api("POST", "/api/v1/chats", 401, 403, 401, 403, 404, 404, 401, 404, 404, 404, 403, note="doctor outside the care team",
        data=lambda w: {"patient_id": str(w.patient.pk), "doctor_id": str(w.dave.doctor_profile.pk)}),
    api("GET", "/api/v1/chats", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403, clinical={"grace"}),  # a text preview: the last message of Carol's chat is a file,
    api("GET", "/api/v1/chats/unread", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
    api("GET", "/api/v1/chats/{chat_id}", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403),
    api("GET", "/api/v1/chats/{chat_id}/messages", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403, clinical=True),
    api("GET", "/api/v1/chats/{chat_id}/messages", 401, 200, 401, 200, 404, 404, 401, 404, 404, 404, 403, params=former, clinical=True, note="care team left"),
    api("POST", "/api/v1/messages", 401, 201, 401, 201, 404, 404, 401, 404, 404, 404, 403, params=former, note="care team left",
        data=lambda w: {"chat_id": str(w.former_chat.pk), "client_id": "matrix-2", "body": "Still there?"}),
    api("POST", "/api/v1/chats/{chat_id}/archive", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403),
    api("POST", "/api/v1/chats/{chat_id}/urgent", 401, 200, 401, 200, 404, 403, 401, 404, 404, 404, 403, data={"value": True}),
    api("POST", "/api/v1/chats/{chat_id}/urgent/resolve", 401, 403, 401, 403, 404, 200, 401, 404, 404, 404, 403),
    api("GET", "/api/v1/hospitals/{hospital_id}/urgent-chats", 401, 404, 401, 404, 404, 404, 401, 404, 200, 200, 403),  # who and since when: no message content
    api("POST", "/api/v1/messages", 401, 201, 401, 201, 404, 201, 401, 404, 404, 404, 403, data=lambda w: {"chat_id": str(w.chat.pk), "client_id": "matrix-1", "body": "Hello"}),
    api("POST", "/api/v1/messages/upload", 401, 422, 401, 422, 422, 422, 401, 422, 422, 422, 403),
    api("PUT", "/api/v1/messages/{message_id}/read", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403),
    row("download", "GET", "/api/v1/messages/{message_id}/file", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403, params={"message_id": lambda w: w.file_message.pk}, clinical=True),
    api("POST", "/api/v1/chats/{chat_id}/call-requests", 401, 409, 401, 409, 404, 403, 401, 404, 404, 404, 403),
    api("GET", "/api/v1/chats/{chat_id}/call-requests", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403, clinical=True),
    api("GET", "/api/v1/call-requests/{request_id}", 401, 200, 401, 200, 404, 200, 401, 404, 404, 404, 403, clinical=True),
    api("POST", "/api/v1/call-requests/{request_id}/accept", 401, 403, 401, 403, 404, 200, 401, 404, 404, 404, 403),
    api("POST", "/api/v1/call-requests/{request_id}/decline", 401, 403, 401, 403, 404, 200, 401, 404, 404, 404, 403),
    api("POST", "/api/v1/call-requests/{request_id}/cancel", 401, 200, 401, 200, 404, 403, 401, 404, 404, 404, 403),
    api("POST", "/api/v1/ws-ticket", 401, 200, 401, 200, 200, 200, 401, 200, 200, 200, 403),
]

test_access = matrix_test(ROWS)

"""Websockets × the named people (session cookie; close code 4401/4403 or accepted)."""

from tests.access.matrix import ACCEPT, matrix_test, row

ROWS = [
    row("socket", "WS", "ws/notifications/", 4401, ACCEPT, 4403, ACCEPT, ACCEPT, ACCEPT, 4403, ACCEPT, ACCEPT, ACCEPT, 4403),
    row("socket", "WS", "ws/chats/<uuid:chat_id>/", 4403, ACCEPT, 4403, ACCEPT, 4403, ACCEPT, 4403, 4403, 4403, 4403, 4403),
    row("socket", "WS", "ws/chats/<uuid:chat_id>/", 4403, ACCEPT, 4403, ACCEPT, 4403, 4403, 4403, 4403, 4403,
        4403, 4403, params={"chat_id": lambda w: w.former_chat.pk}, note="care team left"),
    # The API specification's path of the chat socket: the same consumer, the same cells.
    row("socket", "WS", "api/v1/chats/ws/<uuid:chat_id>", 4403, ACCEPT, 4403, ACCEPT, 4403, ACCEPT, 4403, 4403, 4403, 4403, 4403),
    row("socket", "WS", "ws/calls/<str:room_id>/", 4403, 4410, 4403, 4403, 4403, 4410, 4403, 4403, 4403, 4403, 4403),
    # Doctors' emergency queues and hospital dashboards (counts only; the page refetches itself).
    row("socket", "WS", "ws/emergencies/", 4401, 4403, 4403, 4403, 4403, ACCEPT, 4403, ACCEPT, ACCEPT, 4403, 4403),
]

test_access = matrix_test(ROWS, transactional=True)

"""Websocket routes, read by config/asgi.py once Django is set up (consumers import models).

Browsers authenticate with their session cookie; API clients with a JWT in a header or
subprotocol, or a one-use ticket (telehealth.ws_auth, applied to every route in config/asgi.py).
Every consumer checks membership through the access policy. A path not listed here is refused
with 4404 (telehealth.ws_router).
"""

from django.urls import path

from telehealth.consumers import ChatConsumer
from telehealth.consumers_calls import websocket_urlpatterns as call_routes
from telehealth.consumers_emergencies import websocket_urlpatterns as emergency_routes
from telehealth.consumers_notifications import websocket_urlpatterns as notification_routes

websocket_urlpatterns = [
    *notification_routes,
    path("ws/chats/<uuid:chat_id>/", ChatConsumer.as_asgi()),
    # The same socket at the path of the API specification (`?token=` takes a one-use ticket
    # from POST /api/v1/ws-ticket; a JWT goes in the Authorization header or the subprotocol).
    path("api/v1/chats/ws/<uuid:chat_id>", ChatConsumer.as_asgi()),
    *call_routes,
    *emergency_routes,
]

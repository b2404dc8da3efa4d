"""Websocket routes, read by config/asgi.py once Django is set up (consumers import models).

Browsers authenticate with their session cookie; API clients may pass ?token=<access JWT>
(TokenAuthMiddleware, chat). Every consumer checks membership through the access policy.
"""

from django.urls import path

from telehealth.consumers import ChatConsumer, TokenAuthMiddleware
from telehealth.consumers_calls import websocket_urlpatterns as call_routes
from telehealth.consumers_notifications import websocket_urlpatterns as notification_routes

websocket_urlpatterns = [
    *notification_routes,
    path("ws/chats/<uuid:chat_id>/", TokenAuthMiddleware(ChatConsumer.as_asgi())),
    *call_routes,
]

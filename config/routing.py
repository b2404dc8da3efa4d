"""Websocket routes, read by config/asgi.py.

Apps append their consumers' routes to `websocket_urlpatterns` below. Add them here, in this
module (asgi.py builds the router once, from this list, at import time), e.g.:

    from telehealth.routing import websocket_urlpatterns as telehealth_routes
    websocket_urlpatterns += telehealth_routes

where telehealth/routing.py holds
    [path("ws/chats/<uuid:chat_id>/", consumers.ChatConsumer.as_asgi()), ...]
"""

websocket_urlpatterns = []

"""Websocket routes for the ASGI application (config/asgi.py).

Apps append their consumers' routes here, e.g. in telehealth/routing.py:

    from django.urls import path
    from config.routing import websocket_urlpatterns
    from . import consumers

    websocket_urlpatterns += [path("ws/chats/<uuid:chat_id>/", consumers.ChatConsumer.as_asgi())]

or by listing them below directly (keep the list the single place asgi.py reads).
"""

websocket_urlpatterns = []

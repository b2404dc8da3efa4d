"""ASGI entry point: HTTP through Django, websockets through Channels.

Run with `daphne config.asgi:application` (production) or `python manage.py runserver`
(daphne is in INSTALLED_APPS, so runserver serves this application too).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Set Django up (apps registry, settings) before importing anything that touches models:
# consumers and the auth middleware import models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from telehealth.ws_auth import OriginValidatorUnlessCredential, TokenAuthMiddleware  # noqa: E402
from telehealth.ws_router import RefusingURLRouter  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Browsers authenticate with their session cookie (AuthMiddlewareStack); the Origin
        # header must match ALLOWED_HOSTS so other sites cannot open sockets as the user. API
        # clients bring their own credential (a JWT in a header or subprotocol, or a one-use
        # ticket: telehealth.ws_auth), which replaces the session and needs no Origin. A path no
        # route serves is refused with 4404 (telehealth.ws_router), never an error.
        "websocket": OriginValidatorUnlessCredential(
            AuthMiddlewareStack(TokenAuthMiddleware(RefusingURLRouter(websocket_urlpatterns)))),
    }
)

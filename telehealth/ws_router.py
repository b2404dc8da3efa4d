"""The outermost websocket router: a socket to a path that no route serves is refused cleanly.

Channels' URLRouter raises ``ValueError("No route found ...")`` for an unknown path, which the ASGI
server reports as an error with a traceback (an HTTP 500 for the handshake). A client that
mistyped a path, or an old app asking for one that is gone, is not a server error: the handshake
is refused with close code 4404 (the server answers it with HTTP 403, as for any socket refused
before it is accepted).
"""

from channels.routing import URLRouter
from django.urls.exceptions import Resolver404

CLOSE_NOT_FOUND = 4404


def _matches(routes, path: str) -> bool:
    for route in routes:
        try:
            if route.pattern.match(path):
                return True
        except Resolver404:
            pass
    return False


class RefusingURLRouter(URLRouter):
    async def __call__(self, scope, receive, send):
        path = scope.get("path_remaining", scope.get("path")) or ""
        root_path = scope.get("root_path", "")
        if "path_remaining" not in scope and root_path and path.startswith(root_path):
            path = path[len(root_path):]
        if scope.get("type") == "websocket" and not _matches(self.routes, path.lstrip("/")):
            return await refuse(receive, send)
        return await super().__call__(scope, receive, send)


async def refuse(receive, send):
    """Wait for the handshake, refuse it, and drain until the client is gone."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND})
        elif message["type"] == "websocket.disconnect":
            return

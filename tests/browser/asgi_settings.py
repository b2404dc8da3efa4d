"""Settings for the daphne process the browser tests start (``asgi_server`` in conftest.py):
the project's settings and URLs unchanged (config/urls.py includes the call and chat pages), so the
browser tests exercise exactly what production serves."""

from config.settings import *  # noqa: F403

"""The ASGI entry point: Django for HTTP, Channels consumers for websockets."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_portal.settings")

# Django must be set up before anything imports models (consumers, routing).
django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from comms_portal.notifications.asgi import IntakeLifespan, NotificationIntake  # noqa: E402
from comms_portal.origins import origin_patterns  # noqa: E402
from comms_portal.routing import websocket_urlpatterns  # noqa: E402

# Graph's notifications take a lean route of their own; everything else goes to Django.
http_app = NotificationIntake(
    ASGIStaticFilesHandler(django_http) if settings.SERVE_STATIC else django_http
)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # A socket carries the session cookie, so only pages of the portal's own origins
        # (scheme, host and port) may open one; a missing Origin is refused too.
        "websocket": OriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
            origin_patterns(settings.PORTAL_ORIGINS),
        ),
        # The server's start: the callback intake reads what it needs before the first call.
        "lifespan": IntakeLifespan(http_app),
    }
)

# Everything loaded so far (Django, the URLconf, the apps) lives as long as the process; kept
# out of the collector's view, it is not re-scanned by every full collection, which otherwise
# pauses a busy process for tens of milliseconds at a time.
gc.collect()
gc.freeze()

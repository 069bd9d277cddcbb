"""ASGI entry point: HTTP to Django; websockets through send back-pressure (`ws_flow`) and the
handshake checks (`channels_auth`: Origin, token, bounded inputs) to the chat consumer."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wemaster.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 - after Django setup

from messaging.routing import websocket_urlpatterns  # noqa: E402
from wemaster.core.channels_auth import TokenAuthMiddleware  # noqa: E402
from wemaster.core.ws_flow import SendFlowControl  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SendFlowControl(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)

# What start-up built (modules, settings, URL patterns) lives as long as the process: moved out of
# the collector's generations, it no longer counts toward the threshold of a full collection, so
# the cyclic garbage each closed connection leaves (scope, consumer, transport) is collected after
# thousands of connections instead of after hundreds of megabytes.
gc.freeze()

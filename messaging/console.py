"""The chat console: a plain HTML + JavaScript client of the REST and websocket API.

Served at /console/chat/ when `CHAT_CONSOLE_ENABLED` (on in development, off by
default in production). It holds no logic of its own: it logs in with the token
endpoint and speaks the same contract as any mobile or web client.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render


def chat_console(request):
    if not settings.CHAT_CONSOLE_ENABLED:
        raise Http404("The chat console is disabled.")
    return render(request, "messaging/console.html")

"""WSGI entry point: production REST workers (granian or gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wemaster.settings")
application = get_wsgi_application()

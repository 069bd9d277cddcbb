"""Production (`DJANGO_ENV=production`): no default secret, no mail without `EMAIL_URL` (a reset
link must not land in the logs; `manage.py check` warns), hashed static files, HTTPS hardening."""

from django.core.exceptions import ImproperlyConfigured

from wemaster.settings.base import EMAIL_URL, STORAGES, env

# No default in production: a missing key must stop the process, not weaken it.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_ENV=production")
if not EMAIL_URL:
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
WHITENOISE_USE_FINDERS = False
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Prometheus scrapes the hosts from inside the network, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

"""Development (`DJANGO_ENV=development`, the default; `make run` and the tests): a fixed key, mail
printed to the console, static files served from the apps' folders."""

from wemaster.settings.base import EMAIL_URL, STORAGES, env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="development-only-insecure-key-do-not-deploy")
if not EMAIL_URL:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
WHITENOISE_USE_FINDERS = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

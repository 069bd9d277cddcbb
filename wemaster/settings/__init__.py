"""WeMaster settings: every value comes from the environment, this package is its only home.

`base` holds the platform (applications, middleware, databases, caches, Celery, the API, logs,
metrics): each list and dict is declared there once. `business` adds the limits, windows and
commission a business person may change. Then the module of the environment `DJANGO_ENV` names
(`development`, the default, or `production`) sets what only that environment has: the secret key
rule, the mail fallback, static files, HTTPS hardening. Environment modules add to what `base`
declared; they never declare a list of their own.

With no variables set the project runs on the embedded default (SQLite, in-process cache,
in-memory channel layer, eager Celery). `DJANGO_ENV=production` turns on the deployment hardening
and refuses to start without `DJANGO_SECRET_KEY`. DJANGO_SETTINGS_MODULE stays "wemaster.settings".
"""

from wemaster.settings.base import *  # noqa: F403
from wemaster.settings.business import *  # noqa: F403

if PRODUCTION:  # noqa: F405 - from base
    from wemaster.settings.production import *  # noqa: F403
else:
    from wemaster.settings.development import *  # noqa: F403

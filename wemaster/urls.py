from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from messaging.console import chat_console
from wemaster.core import health
from wemaster.core.metrics_view import metrics_view
from wemaster.core.views import PingView

api_v1 = [
    path("ping", PingView.as_view(), name="ping"),
    path("", include("wemaster.accounts.api.urls")),
    path("", include("wallet.api.urls")),
    path("", include("wemaster.lessons.api.urls")),
    path("", include("wemaster.reviews.api.urls")),
    path("", include("wemaster.scheduling.api.urls")),
    path("", include("earnings.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("community.api.urls")),
    path("", include("wemaster.notifications.api.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("console/chat/", chat_console, name="chat-console"),
]

handler400 = "wemaster.core.errors.handler400"
handler403 = "wemaster.core.errors.handler403"
handler404 = "wemaster.core.errors.handler404"
handler500 = "wemaster.core.errors.handler500"

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from reelvault.api import router
from reelvault.auth import TokenView
from reelvault.health import healthz
from reelvault.metrics import metrics_view

handler500 = "reelvault.middleware.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Pages of other libraries (admin) do not link the icon: browsers then ask for this.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    # The schema and its docs map every endpoint: for logged-in users (session or token) only.
    # The split view serves Swagger UI's start-up script as a file, so the CSP needs no inline script.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path(
        "api/docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="reelvault/api_docs.html", title="API · Reelvault"
            )
        ),
        name="api-docs",
    ),
    path("api/", include(router.urls)),
    path("", include("catalog.urls")),
    path("", include("ingest.urls")),
    path("", include("restore.urls")),
    path("", include("custody.urls")),
    path("", include("fixity.urls")),
    path("", include("protection.urls")),
    path("", include("recovery.urls")),
    path("", include("alerts.urls")),
    path("", include("metadata.urls")),
    path("", include("dashboard.urls")),
]

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from reelvault.api import router
from reelvault.health import healthz
from reelvault.metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
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

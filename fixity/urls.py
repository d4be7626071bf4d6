from __future__ import annotations

from django.urls import path

from fixity import api, views

urlpatterns = [
    path("api/volumes/<int:volume_id>/audit/", api.volume_audit, name="api-volume-audit"),
    path("fixity/", views.home, name="fixity-home"),
    path("p/<str:code>/fixity/", views.overview, name="fixity-overview"),
    path("volumes/<int:volume_id>/fixity/", views.volume_page, name="fixity-volume"),
    path("fixity-runs/<int:run_id>/", views.run_page, name="fixity-run"),
]

from __future__ import annotations

from django.urls import path

from catalog import views_ale as views

urlpatterns = [
    path("p/<str:code>/ale/", views.ale_page, name="ale-page"),
    path("p/<str:code>/ale/export/", views.ale_export, name="ale-export"),
    path("ale/uploads/<int:upload_id>/", views.ale_preview, name="ale-preview"),
]

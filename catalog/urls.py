from __future__ import annotations

from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<str:code>/", views.project_detail, name="project-detail"),
    path("p/<str:code>/audit/", views.project_audit, name="project-audit"),
    path("clips/<int:clip_id>/", views.clip_detail, name="clip-detail"),
]

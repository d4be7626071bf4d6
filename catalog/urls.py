from __future__ import annotations

from django.urls import path, re_path

from catalog import views

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<str:code>/", views.project_detail, name="project-detail"),
    path("p/<str:code>/audit/", views.project_audit, name="project-audit"),
    path("clips/<int:clip_id>/", views.clip_detail, name="clip-detail"),
    path("search/", views.clip_search, name="clip-search"),
    re_path(r"^search/export\.(?P<fmt>csv|ale)$", views.clip_search_export, name="clip-search-export"),
    path("search/selection/", views.clip_selection, name="clip-selection"),
    path("search/saved/", views.saved_search_create, name="saved-search-create"),
    path("search/saved/<int:saved_id>/", views.saved_search_open, name="saved-search-open"),
    path("search/saved/<int:saved_id>/delete/", views.saved_search_delete, name="saved-search-delete"),
]

"""Pages of the metadata app: extraction, review queue, rules, clip edits, ALE/CSV import and export."""

from __future__ import annotations

from django.urls import path

from metadata import views

urlpatterns = [
    path("p/<str:code>/metadata/", views.metadata_home, name="metadata-home"),
    path("p/<str:code>/metadata/rerun/", views.metadata_rerun, name="metadata-rerun"),
    path("p/<str:code>/review/", views.review_list, name="review-list"),
    path("p/<str:code>/review/validate/", views.review_validate, name="review-validate"),
    path("review/<int:item_id>/fix/", views.review_fix, name="review-fix"),
    path("review/<int:item_id>/waive/", views.review_waive, name="review-waive"),
    path("p/<str:code>/rules/", views.rules_edit, name="rules-edit"),
    path("p/<str:code>/clips/edit/", views.clip_bulk_edit, name="clip-bulk-edit"),
    path("clips/<int:clip_id>/edit/", views.clip_edit, name="clip-edit"),
    path("clips/<int:clip_id>/thumbnail/", views.clip_thumbnail, name="clip-thumbnail"),
    path("p/<str:code>/ale/", views.ale_page, name="ale-page"),
    path("p/<str:code>/ale/export/", views.ale_export, name="ale-export"),
    path("ale/uploads/<int:upload_id>/", views.ale_preview, name="ale-preview"),
]

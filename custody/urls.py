from __future__ import annotations

from django.urls import path

from custody import views

urlpatterns = [
    path("volumes/", views.home, name="custody-home"),
    path("p/<str:code>/volumes/", views.registry, name="custody-registry"),
    path("p/<str:code>/volumes/new/", views.volume_register, name="custody-register"),
    path("p/<str:code>/volumes/labels.pdf", views.labels_sheet, name="custody-labels"),
    path("p/<str:code>/custody/", views.board, name="custody-board"),
    path("p/<str:code>/volumes/quota/", views.quota_set, name="custody-quota"),
    path("volumes/<int:volume_id>/", views.volume_page, name="custody-volume"),
    path("volumes/<int:volume_id>/edit/", views.volume_edit, name="custody-edit"),
    path("volumes/<int:volume_id>/formatted/", views.card_formatted, name="custody-card-formatted"),
    path("volumes/<int:volume_id>/handoff/", views.handoff_new, name="custody-handoff"),
    path("handoffs/<int:handoff_id>/receive/", views.handoff_receive, name="custody-receive"),
]

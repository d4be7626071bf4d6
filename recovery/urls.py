from __future__ import annotations

from django.urls import path

from recovery import views

urlpatterns = [
    path("p/<str:code>/incidents/", views.incident_list, name="incident-list"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident-detail"),
    path("incidents/<int:incident_id>/pdf/", views.incident_pdf, name="incident-pdf"),
    path("incidents/<int:incident_id>/<str:what>/", views.incident_act, name="incident-act"),
    path("alerts/<int:alert_id>/incident/", views.incident_from_alert, name="incident-from-alert"),
    path("p/<str:code>/runbook/<str:tier>/history/", views.runbook_history, name="runbook-history"),
    path("p/<str:code>/desk/", views.desk, name="recovery-desk"),
    path("p/<str:code>/checklists/", views.checklist_list, name="checklist-list"),
    path("checklists/<int:checklist_id>/", views.checklist_detail, name="checklist-detail"),
    path("p/<str:code>/practice/", views.practice, name="practice"),
    path("practice/<int:scenario_id>/reset/", views.practice_reset, name="practice-reset"),
]

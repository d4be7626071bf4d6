from __future__ import annotations

from django.urls import path

from ingest import views

urlpatterns = [
    path("p/<str:code>/offloads/", views.offload_list, name="offload-list"),
    path("p/<str:code>/offloads/new/", views.offload_new, name="offload-new"),
    path("offloads/<int:job_id>/", views.offload_detail, name="offload-detail"),
    path("offloads/<int:job_id>/cancel/", views.offload_cancel, name="offload-cancel"),
    path("offloads/<int:job_id>/pause/", views.offload_pause, name="offload-pause"),
    path("offloads/<int:job_id>/resume/", views.offload_resume, name="offload-resume"),
    path("p/<str:code>/offload/", views.offload_screen, name="offload-screen"),
    path("p/<str:code>/offload/start/", views.offload_screen_start, name="offload-screen-start"),
    path("p/<str:code>/offload/preset/", views.offload_preset_edit, name="offload-preset"),
    path("offloads/<int:job_id>/report/", views.offload_report, name="offload-report"),
    path("offloads/<int:job_id>/report.<str:fmt>", views.offload_report, name="offload-report-file"),
]

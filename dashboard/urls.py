from __future__ import annotations

from django.urls import path, re_path

from dashboard import views

urlpatterns = [
    path("dashboard/", views.dashboard_home, name="dashboard-home"),
    path("p/<str:code>/dashboard/", views.project_dashboard, name="project-dashboard"),
    path("p/<str:code>/dashboard/live/", views.project_dashboard_live, name="project-dashboard-live"),
    path("p/<str:code>/dashboard/restore-rule/", views.project_restore_rule, name="project-restore-rule"),
    path("p/<str:code>/days/<int:number>/", views.day_detail, name="day-detail"),
    path("p/<str:code>/days/<int:number>/live/", views.day_live, name="day-live"),
    path("p/<str:code>/days/<int:number>/signoff/", views.day_sign_off, name="day-signoff"),
    path("p/<str:code>/days/<int:number>/reopen/", views.day_reopen, name="day-reopen"),
    path("p/<str:code>/trends/", views.project_trends, name="project-trends"),
    path("p/<str:code>/reports/", views.report_list, name="report-list"),
    path("p/<str:code>/reports/generate/", views.report_generate, name="report-generate"),
    path("p/<str:code>/reports/subscription/", views.report_subscribe, name="report-subscribe"),
    re_path(
        r"^p/(?P<code>[^/]+)/reports/(?P<report_date>\d{4}-\d{2}-\d{2})/$",
        views.report_html,
        name="report-html",
    ),
    re_path(
        r"^p/(?P<code>[^/]+)/reports/(?P<report_date>\d{4}-\d{2}-\d{2})/document/$",
        views.report_document,
        name="report-document",
    ),
    re_path(
        r"^p/(?P<code>[^/]+)/reports/(?P<report_date>\d{4}-\d{2}-\d{2})\.pdf$",
        views.report_pdf,
        name="report-pdf",
    ),
]

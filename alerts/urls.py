from __future__ import annotations

from django.urls import path

from alerts import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/settings/", views.notification_preferences, name="notification-preferences"),
    path("notifications/read/", views.notification_mark_read, name="notification-mark-read"),
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert-detail"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert-resolve"),
]

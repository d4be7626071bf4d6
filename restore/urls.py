from __future__ import annotations

from django.urls import path

from restore import views

urlpatterns = [
    path("p/<str:code>/restores/", views.restore_list, name="restore-list"),
    path("p/<str:code>/restores/new/", views.restore_new, name="restore-new"),
    path("restores/<int:restore_id>/", views.restore_detail, name="restore-detail"),
    path("restores/awaiting-approval/", views.restore_inbox, name="restore-inbox"),
    path("restores/<int:restore_id>/withdraw/", views.restore_withdraw, name="restore-withdraw"),
    path("restores/<int:restore_id>/<str:decision>/", views.restore_decide, name="restore-decide"),
    path("p/<str:code>/runbook/", views.runbook, name="runbook"),
    path("p/<str:code>/runbook/day-<int:number>.<str:fmt>", views.seed_list, name="seed-list"),
    path("p/<str:code>/drills/", views.drill_list, name="drill-list"),
    path("p/<str:code>/drills/run/", views.drill_run, name="drill-run"),
    path("p/<str:code>/drills/schedule/", views.drill_schedule, name="drill-schedule"),
]

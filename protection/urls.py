from __future__ import annotations

from django.urls import path

from protection import api, views

urlpatterns = [
    path("api/projects/<str:code>/policy/", api.PolicyView.as_view(), name="api-project-policy"),
    path("p/<str:code>/protection/", views.protection_home, name="protection-home"),
    path("p/<str:code>/protection/policy/", views.policy_update, name="protection-policy"),
    path("p/<str:code>/protection/groups/", views.group_create, name="protection-group-create"),
    path("p/<str:code>/protection/rules/", views.rule_create, name="protection-rule-create"),
    path("p/<str:code>/protection/replicate/", views.replicate, name="protection-replicate"),
    path("p/<str:code>/replications/", views.replication_queue, name="replication-queue"),
    path("replications/<int:job_id>/", views.replication_detail, name="replication-detail"),
    path("replications/<int:job_id>/retry/", views.replication_retry, name="replication-retry"),
    path("replications/<int:job_id>/pause/", views.replication_pause, name="replication-pause"),
    path("replications/<int:job_id>/resume/", views.replication_resume, name="replication-resume"),
]

"""Django admin for protection, behind the same role table as pages and API (catalog.admin's base)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from catalog.admin import ProjectScopedAdmin
from protection.models import DestinationSettings, ReplicationJob, ReplicationRule, VolumeGroup


@admin.register(VolumeGroup)
class VolumeGroupAdmin(ProjectScopedAdmin):
    list_display = ("name", "project")
    filter_horizontal = ("volumes",)


@admin.register(ReplicationRule)
class ReplicationRuleAdmin(ProjectScopedAdmin):
    list_display = ("__str__", "project", "enabled")


@admin.register(DestinationSettings)
class DestinationSettingsAdmin(ProjectScopedAdmin):
    project_field = "volume__project"
    list_display = (
        "volume",
        "lock_mode",
        "retention_days",
        "window_start",
        "window_end",
        "max_mb_per_second",
    )


@admin.register(ReplicationJob)
class ReplicationJobAdmin(ProjectScopedAdmin):
    list_display = ("pk", "project", "destination", "state", "file_count", "created_at")
    list_filter = ("state",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are planned by services, never typed in

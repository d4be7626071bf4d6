"""Admin for fixity settings: a project's policy per tier, a volume's overrides (audited, project-scoped)."""

from __future__ import annotations

from django.contrib import admin

from catalog.admin import ProjectScopedAdmin
from fixity.models import FixityPolicy, VolumeFixity


@admin.register(FixityPolicy)
class FixityPolicyAdmin(ProjectScopedAdmin):
    list_display = (
        "project",
        "tier",
        "every_days",
        "budget_bytes",
        "budget_minutes",
        "unreachable_alert_hours",
    )
    list_filter = ("project", "tier")


@admin.register(VolumeFixity)
class VolumeFixityAdmin(ProjectScopedAdmin):
    project_field = "volume__project"
    list_display = (
        "volume",
        "every_days",
        "budget_bytes",
        "budget_minutes",
        "unreachable_since",
        "next_due_at",
    )
    fields = ("volume", "every_days", "budget_bytes", "budget_minutes")
    readonly_fields = ("volume",)
    list_filter = ("volume__project",)

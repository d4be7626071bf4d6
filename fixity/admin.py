"""Admin for fixity settings: a project's policy per tier, a volume's overrides (audited, project-scoped)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from catalog.admin import ProjectScopedAdmin
from catalog.models import Volume
from catalog.permissions import projects_for
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
    fields = ("volume", "every_days", "budget_bytes", "budget_minutes", "check_mode", "read_back_every_days")
    list_filter = ("volume__project",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("volume",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Only volumes of projects where the user manages volumes.
        if db_field.name == "volume":
            kwargs["queryset"] = Volume.objects.filter(
                project__in=projects_for(request.user, self.change_cap)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

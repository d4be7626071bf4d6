"""Django admin for every catalog model, behind the same permission layer as pages and API.

Access needs ``is_staff`` (to enter the admin at all) and then the project
role's capabilities: Django's own per-model permissions are not used, so the
role table in permissions.py is the only place that decides. Every change made
here is audit-logged like any other.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from catalog.audit import audit_record, model_snapshot
from catalog.models import AuditEvent, Clip, Copy, MediaFile, Membership, Project, Role, ShootDay, Volume
from catalog.permissions import Cap, Refused, projects_for, user_can
from catalog.worm import worm_volume_change_refuse


class ProjectScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Shows only rows of the user's projects; ``change_cap`` guards writes.

    ``project_field`` is the lookup from the model to its Project.
    """

    project_field = "project"
    view_cap = Cap.VIEW
    change_cap = Cap.INGEST

    def _project_id(self, obj: models.Model) -> int:
        target: Any = obj
        for part in self.project_field.split("__"):
            target = getattr(target, part)
        return int(target.pk)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        allowed = projects_for(request.user, self.view_cap)
        return super().get_queryset(request).filter(**{f"{self.project_field}__in": allowed})

    def _can(self, request: HttpRequest, obj: models.Model | None, cap: Cap) -> bool:
        if not request.user.is_active or not request.user.is_staff:
            return False
        if obj is None:
            return projects_for(request.user, cap).exists()
        return user_can(request.user, self._project_id(obj), cap)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can(request, None, self.view_cap)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, obj, self.view_cap)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._can(request, None, self.change_cap)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, obj, self.change_cap)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, obj, self.change_cap)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Never offer (nor accept, raw id fields included) another project's rows.
        lookup = _PROJECT_LOOKUPS.get(db_field.related_model)
        if lookup is not None:
            allowed = projects_for(request.user, self.change_cap)
            kwargs["queryset"] = db_field.related_model._default_manager.filter(**{f"{lookup}__in": allowed})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (_OneProjectForm, form), {"project_field": self.project_field})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = model_snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.{'update' if change else 'create'}",
            obj=obj,
            project=Project.objects.get(pk=self._project_id(obj)),
            before=before,
            after=model_snapshot(obj),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        project = Project.objects.get(pk=self._project_id(obj))
        before = model_snapshot(obj)
        audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.delete",
            obj=obj,
            project=project,
            before=before,
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


def _project_of(value: models.Model) -> int | None:
    """The project id of a catalog row, following the lookups below; None when it has none."""
    if isinstance(value, Project):
        return int(value.pk)
    if isinstance(value, MediaFile):
        owner = value.clip or value.card
        return None if owner is None else int(owner.project_id)
    project_id = getattr(value, "project_id", None)
    return None if project_id is None else int(project_id)


#: How each project-scoped model reaches its project (for the choices of foreign keys).
_PROJECT_LOOKUPS: dict[type[models.Model], str] = {
    Project: "pk",
    ShootDay: "project",
    Volume: "project",
    Clip: "project",
    MediaFile: "clip__project",
}


class _OneProjectForm(forms.ModelForm):  # type: ignore[type-arg]
    """Refuses a row whose foreign keys point into several projects (a clip of FILM on OTHER's card).

    The choices are already limited to the user's projects; a user who is a
    member of two projects must still not mix them in one row.
    """

    project_field = "project"

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        projects = {
            name: project
            for name, value in cleaned.items()
            if isinstance(value, models.Model) and (project := _project_of(value)) is not None
        }
        if len(set(projects.values())) > 1:
            raise forms.ValidationError(
                "These belong to different projects: "
                + ", ".join(
                    f"{name} ({Project.objects.get(pk=pk).code})" for name, pk in sorted(projects.items())
                )
                + ". Pick rows of one project."
            )
        return cleaned


@admin.register(Project)
class ProjectAdmin(ProjectScopedAdmin):
    project_field = "id"
    change_cap = Cap.MANAGE_MEMBERS
    list_display = ("code", "name", "required_copies", "required_media_kinds", "required_offsite")
    search_fields = ("code", "name")

    def _project_id(self, obj: models.Model) -> int:
        return int(obj.pk)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return Project.objects.filter(pk__in=projects_for(request.user, self.view_cap))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A new project has no members yet: only superusers create projects.
        return bool(request.user.is_active and getattr(request.user, "is_superuser", False))


@admin.register(Membership)
class MembershipAdmin(ProjectScopedAdmin):
    view_cap = Cap.MANAGE_MEMBERS
    change_cap = Cap.MANAGE_MEMBERS
    list_display = ("user", "project", "role", "created_at")
    list_filter = ("role", "project")


@admin.register(ShootDay)
class ShootDayAdmin(ProjectScopedAdmin):
    list_display = ("project", "number", "date", "unit")
    list_filter = ("project",)


@admin.register(Volume)
class VolumeAdmin(ProjectScopedAdmin):
    """Volumes. A WORM volume holding copies is neither deleted nor made rewritable here (catalog.worm)."""

    list_display = (
        "label",
        "project",
        "kind",
        "tier",
        "host",
        "location",
        "online",
        "health",
        "offsite",
        "worm",
    )
    list_filter = ("project", "kind", "tier", "online", "health", "worm")
    search_fields = ("label", "serial", "location")

    def _refused(self, request: HttpRequest, exc: Refused, volume: Volume) -> HttpResponse:
        self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:catalog_volume_change", args=[volume.pk]))

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        # Checked before the admin's own transaction, so the refusal's audit entry commits.
        volume = self.get_object(request, object_id)
        if volume is not None and self.has_delete_permission(request, volume):
            try:
                worm_volume_change_refuse(actor=request.user, volume=volume, action="volume.delete")
            except Refused as exc:
                return self._refused(request, exc, volume)
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        entry = actions.get("delete_selected")
        if entry is not None:
            delete_selected, name, description = entry

            def guarded(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
                # Before the confirmation page: nothing is deleted if one selected volume is refused.
                for volume in queryset:
                    try:
                        worm_volume_change_refuse(actor=request.user, volume=volume, action="volume.delete")
                    except Refused as exc:
                        self.message_user(request, str(exc), messages.ERROR)
                        return None
                return delete_selected(modeladmin, request, queryset)

            actions["delete_selected"] = (guarded, name, description)
        return actions

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for volume in queryset:  # the action above refused first; this guards any other caller
            worm_volume_change_refuse(actor=request.user, volume=volume, action="volume.delete")
        super().delete_queryset(request, queryset)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        volume = self.get_object(request, object_id) if object_id else None
        if request.method == "POST" and volume is not None and self.has_change_permission(request, volume):
            try:
                worm_volume_change_refuse(
                    actor=request.user,
                    volume=volume,
                    action="volume.update",
                    changes={"worm": "worm" in request.POST},
                )
            except Refused as exc:
                return self._refused(request, exc, volume)
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(Clip)
class ClipAdmin(ProjectScopedAdmin):
    change_cap = Cap.EDIT_METADATA
    list_display = ("name", "project", "day", "scene", "take", "circled", "camera", "reel")
    list_filter = ("project", "circled", "camera")
    search_fields = ("name", "scene", "location")
    raw_id_fields = ("day", "card")


@admin.register(MediaFile)
class MediaFileAdmin(ProjectScopedAdmin):
    """Files are shown, never written here: their path, size and hashes come from an offload's reading.

    A file typed in by hand with any path and hash could be restored to
    anywhere and vouched for by nothing.
    """

    project_field = "clip__project"
    list_display = ("relative_path", "clip", "size", "xxh128")
    search_fields = ("relative_path", "xxh128")
    readonly_fields = ("clip", "card", "relative_path", "size", "mtime", "xxh128", "md5", "sha1")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files are cataloged by offloads, with the hashes read from the card

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # file identity and hashes come from ingest only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Copy)
class CopyAdmin(ProjectScopedAdmin):
    """Copies are shown, never written here: their state changes only through catalog/copies.py.

    State, hashes and paths are read-only (a copy counts only with proof, which
    the admin cannot give), and rows are neither added nor deleted here.
    """

    project_field = "volume__project"
    list_display = ("media_file", "volume", "path", "state", "verified_at")
    list_filter = ("state",)
    readonly_fields = ("media_file", "volume", "path", "state", "hash_found", "verified_at", "last_error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # copies are made by offloads and recorded with their proof

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # copy states come from verification only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ProjectScopedAdmin):
    view_cap = Cap.VIEW_AUDIT
    list_display = ("id", "at", "actor_name", "source", "action", "object_type", "object_repr")
    list_filter = ("action",)
    search_fields = ("actor_name", "object_repr", "object_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Roles are fixed by a migration; the admin shows them read-only."""

    list_display = ("name", "label", "description")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

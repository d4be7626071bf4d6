"""The one permission layer: pages, API and admin all ask these functions.

Roles are granted per project (Membership). A role is a set of capabilities;
the table below is the single source of truth and the README quotes it.

Gates follow one rule: an object of a project the user is not a member of is
"not found" (404), so existence does not leak; a visible object with a role
too weak for the action is "forbidden" (403).
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from catalog.models import Clip, Membership, Project, Volume

AnyUser = AbstractBaseUser | AnonymousUser


class RoleName(StrEnum):
    ADMIN = "admin"
    PRODUCER = "producer"
    EDITOR = "editor"
    DIT = "dit"
    VIEWER = "viewer"


class Cap(StrEnum):
    """Capabilities: what a role lets a user do on a project."""

    VIEW = "view"  # browse the catalog: clips, days, volumes, copies
    EDIT_METADATA = "edit_metadata"  # change clip metadata, import ALE
    INGEST = "ingest"  # run offloads, register and manage volumes and drives
    VIEW_AUDIT = "view_audit"  # read the audit log
    REQUEST_RESTORE = "request_restore"
    APPROVE_RESTORE = "approve_restore"
    SIGN_OFF = "sign_off"  # sign off a shoot day's archive integrity
    MANAGE_MEMBERS = "manage_members"  # grant and revoke roles


ROLE_CAPABILITIES: dict[RoleName, frozenset[Cap]] = {
    RoleName.ADMIN: frozenset(Cap),
    RoleName.PRODUCER: frozenset({Cap.VIEW, Cap.VIEW_AUDIT, Cap.REQUEST_RESTORE, Cap.SIGN_OFF}),
    RoleName.EDITOR: frozenset({Cap.VIEW, Cap.EDIT_METADATA, Cap.REQUEST_RESTORE}),
    RoleName.DIT: frozenset({Cap.VIEW, Cap.EDIT_METADATA, Cap.INGEST, Cap.REQUEST_RESTORE}),
    RoleName.VIEWER: frozenset({Cap.VIEW}),
}


def role_of(user: AnyUser, project: Project | int) -> RoleName | None:
    """The user's role on the project, or None. Superusers are admins everywhere."""
    if not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return RoleName.ADMIN
    project_id = project if isinstance(project, int) else project.pk
    role = (
        Membership.objects.filter(user_id=user.pk, project_id=project_id)
        .values_list("role_id", flat=True)
        .first()
    )
    return RoleName(role) if role else None


def is_role(user: AnyUser, project: Project | int, role: RoleName) -> bool:
    return role_of(user, project) == role


def is_admin(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.ADMIN)


def is_producer(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.PRODUCER)


def is_editor(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.EDITOR)


def is_dit(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.DIT)


def is_viewer(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.VIEWER)


def user_can(user: AnyUser, project: Project | int, need: Cap) -> bool:
    role = role_of(user, project)
    return role is not None and need in ROLE_CAPABILITIES[role]


def roles_with(need: Cap) -> list[str]:
    return [role.value for role, caps in ROLE_CAPABILITIES.items() if need in caps]


def projects_for(user: AnyUser, need: Cap = Cap.VIEW) -> QuerySet[Project]:
    """Every project on which the user has the capability (for lists and search)."""
    if not user.is_authenticated or not user.is_active:
        return Project.objects.none()
    if getattr(user, "is_superuser", False):
        return Project.objects.all()
    return Project.objects.filter(
        memberships__user_id=user.pk, memberships__role_id__in=roles_with(need)
    ).distinct()


def gate(user: AnyUser, project_id: int, need: Cap) -> None:
    role = role_of(user, project_id)
    if role is None:
        raise Http404("No such object.")
    if need not in ROLE_CAPABILITIES[role]:
        raise PermissionDenied(f"Your role ({role.value}) does not allow this.")


def access_project(user: AnyUser, code: str, *, need: Cap = Cap.VIEW) -> Project:
    project = Project.objects.filter(code=code.upper()).first()
    if project is None:
        raise Http404("No such project.")
    gate(user, project.pk, need)
    return project


def access_clip(user: AnyUser, clip_id: int, *, need: Cap = Cap.VIEW) -> Clip:
    clip = Clip.objects.select_related("project", "day", "card").filter(pk=clip_id).first()
    if clip is None:
        raise Http404("No such clip.")
    gate(user, clip.project_id, need)
    return clip


def access_volume(user: AnyUser, volume_id: int, *, need: Cap = Cap.VIEW) -> Volume:
    volume = Volume.objects.select_related("project").filter(pk=volume_id).first()
    if volume is None:
        raise Http404("No such volume.")
    gate(user, volume.project_id, need)
    return volume

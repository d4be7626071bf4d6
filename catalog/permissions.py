"""The one permission layer: pages, API and admin all ask these functions.

Roles are granted per project (Membership). A role is a set of capabilities;
the table below is the single source of truth and the README quotes it.

Gates follow one rule: an object of a project the user is not a member of is
"not found" (404), so existence does not leak; a visible object with a role
too weak for the action is "forbidden" (403).

A write refused to a member is a security event: ``refuse`` writes it to the
audit log (``<action>_refused``) and raises 403, for every app alike. Gates do
it when given ``refusal=`` (the action they guard); they are not told on reads,
such as opening an edit form, so those leave no entry. Outsiders (404) leave none.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404

from catalog.audit import audit_record
from catalog.models import AuditEvent, Clip, Membership, Project, ShootDay, Volume

AnyUser = AbstractBaseUser | AnonymousUser


class RoleName(StrEnum):
    ADMIN = "admin"
    PRODUCER = "producer"
    EDITOR = "editor"
    DIT = "dit"
    VIEWER = "viewer"
    COLORIST = "colorist"
    VFX = "vfx"
    IT_SUPPORT = "it_support"


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
    HANDLE_ALERTS = "handle_alerts"  # be told of alerts, acknowledge and resolve them
    RUN_REPORTS = "run_reports"  # generate and email a daily report on demand
    TAKE_ESCALATIONS = "take_escalations"  # be told of alerts nobody acknowledged in time
    TAKE_RELEASES = "take_releases"  # editorial: be told when a signed-off day's footage is released
    ACKNOWLEDGE_ALERTS = "acknowledge_alerts"  # take an alert in hand (stops its escalation)
    MANAGE_RECOVERY = "manage_recovery"  # duty rota, escalation ladder, runbook sections, checklists
    # restore a day's footage before the day is signed off, where the project holds editorial
    # restores until sign-off (Project.restores_wait_for_signoff); see restore_waits_for_signoff
    RESTORE_BEFORE_SIGNOFF = "restore_before_signoff"


ROLE_CAPABILITIES: dict[RoleName, frozenset[Cap]] = {
    # Admins are told of the cards released for reformat (INGEST), not also of the editorial release.
    RoleName.ADMIN: frozenset(Cap) - {Cap.TAKE_RELEASES},
    RoleName.PRODUCER: frozenset(
        {
            Cap.VIEW,
            Cap.VIEW_AUDIT,
            Cap.REQUEST_RESTORE,
            Cap.SIGN_OFF,
            Cap.HANDLE_ALERTS,
            Cap.ACKNOWLEDGE_ALERTS,
            Cap.RUN_REPORTS,
            Cap.MANAGE_RECOVERY,
            Cap.RESTORE_BEFORE_SIGNOFF,
        }
    ),
    RoleName.EDITOR: frozenset({Cap.VIEW, Cap.EDIT_METADATA, Cap.REQUEST_RESTORE, Cap.TAKE_RELEASES}),
    RoleName.DIT: frozenset(
        {
            Cap.VIEW,
            Cap.EDIT_METADATA,
            Cap.INGEST,
            Cap.REQUEST_RESTORE,
            Cap.HANDLE_ALERTS,
            Cap.ACKNOWLEDGE_ALERTS,
            Cap.RUN_REPORTS,
            Cap.RESTORE_BEFORE_SIGNOFF,
        }
    ),
    RoleName.VIEWER: frozenset({Cap.VIEW}),
    # The crew beyond editorial: reading like an editor, restores only to their own targets.
    RoleName.COLORIST: frozenset({Cap.VIEW, Cap.REQUEST_RESTORE}),
    RoleName.VFX: frozenset({Cap.VIEW, Cap.REQUEST_RESTORE}),
    # IT support sees the catalog, volumes, drive health and alerts and takes alerts in hand
    # (a step of the escalation ladder tells them); it edits no metadata and is not told of every alert.
    RoleName.IT_SUPPORT: frozenset({Cap.VIEW, Cap.ACKNOWLEDGE_ALERTS}),
}

#: Roles whose restores may only go to restore targets of these names.
ROLE_RESTORE_TARGETS: dict[RoleName, frozenset[str]] = {
    RoleName.COLORIST: frozenset({"colour", "color", "grade", "grading"}),
    RoleName.VFX: frozenset({"vfx"}),
}


def restore_target_allowed(user: AnyUser, project: Project | int, target_name: str) -> bool:
    """Whether the user's role may restore to the target of that name (colorists and VFX: their own)."""
    role = role_of(user, project)
    if role is None:
        return False
    allowed = ROLE_RESTORE_TARGETS.get(role)
    return allowed is None or target_name.lower() in allowed


def restore_waits_for_signoff(
    requester: AnyUser | None, project: Project, *, day_ids: Iterable[int | None]
) -> list[ShootDay]:
    """The shoot days whose sign-off a restore by ``requester`` of footage from ``day_ids`` waits for.

    Sign-off advances permissions: where the project turns it on
    (``Project.restores_wait_for_signoff``), a restore asked for by a role
    without ``Cap.RESTORE_BEFORE_SIGNOFF`` (editors, colourists, VFX) waits
    until every day of its footage is signed off. Returns those days not
    signed off yet, by number; empty when the restore need not wait (the rule
    is off, the requester's role restores before sign-off, a system restore
    such as a drill, or every day is signed off). Footage without a day never
    waits. Two queries at most.
    """
    from catalog.selectors import signed_off_day_ids  # selectors imports this module

    if not project.restores_wait_for_signoff or requester is None:
        return []
    if user_can(requester, project, Cap.RESTORE_BEFORE_SIGNOFF):
        return []
    wanted = {day_id for day_id in day_ids if day_id is not None}
    waiting = wanted - signed_off_day_ids(day_ids=wanted)
    if not waiting:
        return []
    return list(ShootDay.objects.filter(pk__in=waiting).order_by("number", "unit"))


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


def is_colorist(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.COLORIST)


def is_vfx(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.VFX)


def is_it_support(user: AnyUser, project: Project | int) -> bool:
    return is_role(user, project, RoleName.IT_SUPPORT)


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


def members_with(project: Project, *, need: Cap) -> list[AbstractBaseUser]:
    """The active members of the project whose role has the capability (who to tell about something)."""
    return list(
        get_user_model()
        .objects.filter(
            memberships__project=project, memberships__role_id__in=roles_with(need), is_active=True
        )
        .distinct()
        .order_by("pk")
    )


class Refused(PermissionDenied):
    """Not allowed (403). The refusal has already been written to the audit log."""


def refuse(
    *,
    actor: AnyUser | None,
    action: str,
    project: Project,
    reason: str,
    obj: models.Model | None = None,
    error: type[Refused] = Refused,
    **details: Any,
) -> NoReturn:
    """Write a refused attempt to the audit log (``after={"reason": …}``), then raise ``error`` (403).

    The entry commits in its own transaction, so the refusal is never rolled back
    with the work that was refused; call it outside any transaction.
    """
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor, action=action, obj=obj, project=project, after={"reason": reason, **details}
        )
    raise error(reason)


def gate(
    user: AnyUser, project: Project | int, need: Cap, *, refusal: str = "", obj: models.Model | None = None
) -> None:
    """404 unless the user is a member of the project; 403 unless the role has ``need``.

    With ``refusal`` (the write being attempted, e.g. ``"volume.update"``), a member's
    403 is audited as ``<refusal>_refused`` about ``obj``.
    """
    role = role_of(user, project)
    if role is None:
        raise Http404("No such object.")
    if need not in ROLE_CAPABILITIES[role]:
        reason = f"Your role ({role.value}) does not allow this."
        if refusal:
            if isinstance(project, int):
                project = Project.objects.get(pk=project)
            refuse(actor=user, action=f"{refusal}_refused", project=project, reason=reason, obj=obj)
        raise PermissionDenied(reason)


def access_project(user: AnyUser, code: str, *, need: Cap = Cap.VIEW, refusal: str = "") -> Project:
    project = Project.objects.filter(code=code.upper()).first()
    if project is None:
        raise Http404("No such project.")
    gate(user, project, need, refusal=refusal, obj=project)
    return project


def access_clip(user: AnyUser, clip_id: int, *, need: Cap = Cap.VIEW, refusal: str = "") -> Clip:
    clip = Clip.objects.select_related("project", "day", "card").filter(pk=clip_id).first()
    if clip is None:
        raise Http404("No such clip.")
    gate(user, clip.project, need, refusal=refusal, obj=clip)
    return clip


def access_audit_event(user: AnyUser, event_id: int) -> AuditEvent:
    """An audit entry: 404 outside the user's projects, 403 for a member whose role cannot read the log.

    Entries with no project (system-wide) are for superusers only (404 for anyone else).
    """
    event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None or (event.project_id is None and not getattr(user, "is_superuser", False)):
        raise Http404("No such audit entry.")
    if event.project_id is not None:
        gate(user, event.project_id, Cap.VIEW_AUDIT)
    return event


def access_volume(user: AnyUser, volume_id: int, *, need: Cap = Cap.VIEW, refusal: str = "") -> Volume:
    volume = Volume.objects.select_related("project").filter(pk=volume_id).first()
    if volume is None:
        raise Http404("No such volume.")
    gate(user, volume.project, need, refusal=refusal, obj=volume)
    return volume

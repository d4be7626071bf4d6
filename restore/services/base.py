"""What the restore services share: their errors, refusals written to the audit log, announcements."""

from __future__ import annotations

from typing import Any, NoReturn

from django.contrib.auth.base_user import AbstractBaseUser

from alerts.models import Notification
from alerts.selectors import on_duty
from alerts.services import notify
from catalog.models import Project
from catalog.permissions import AnyUser, Cap, Refused, members_with
from catalog.permissions import refuse as catalog_refuse
from restore.models import (
    RestoreRequest,
)

REELVAULT_VERSION = "0.1.0"


class RestoreError(Exception):
    """The request cannot be made or changed as asked (400); the message says what to change."""


class RestoreTargetPathError(RestoreError):
    """A restore target's folder is not a clean absolute path under the configured restore roots."""


class RestoreConflict(RestoreError):
    """The request is not in a state that allows this (409)."""


class RestoreRefused(Refused):
    """Not allowed (403). The refusal has already been written to the audit log."""


class DrillError(RestoreError):
    """A drill cannot start; the message says what is missing."""


def user_of(actor: AnyUser | None) -> AbstractBaseUser | None:
    return actor if isinstance(actor, AbstractBaseUser) and actor.is_authenticated else None


def user_id(actor: AnyUser | None) -> int | None:
    user = user_of(actor)
    return int(user.pk) if user is not None else None


def refuse(
    *, actor: AnyUser | None, action: str, project: Project, reason: str, obj: Any = None, **details: Any
) -> NoReturn:
    """Write the refusal to the audit log in its own transaction, then raise RestoreRefused."""
    catalog_refuse(
        actor=actor, action=action, project=project, obj=obj, reason=reason, error=RestoreRefused, **details
    )


def link(restore: RestoreRequest) -> str:
    return f"/restores/{restore.pk}/"


def announce(
    restore: RestoreRequest, subject: str, body: str, *, level: str = Notification.Level.INFO
) -> None:
    """Tell the requester, everyone who decided on it, and (while it waits or when it fails) the admins."""
    if restore.is_drill:
        return
    users: list[AbstractBaseUser] = []
    if restore.requester is not None:
        users.append(restore.requester)
    users.extend(a.approver for a in restore.approvals.select_related("approver"))
    waited_on = (RestoreRequest.State.WITHDRAWN, RestoreRequest.State.EXPIRED)  # leaves the admins' inbox
    if restore.state in (RestoreRequest.State.REQUESTED, RestoreRequest.State.FAILED, *waited_on):
        users.extend(on_duty(project=restore.project))  # the recovery desk first
        users.extend(
            u for u in members_with(restore.project, need=Cap.APPROVE_RESTORE) if u.pk != restore.requester_id
        )
    notify(
        users=users,
        subject=f"Restore {restore.pk} of {restore.project.code}: {subject}",
        body=body,
        link=link(restore),
        project=restore.project,
        kind=f"restore.{restore.state}",
        level=level,
    )


def snapshot(restore: RestoreRequest) -> dict[str, Any]:
    return {
        "state": restore.state,
        "target": restore.target.name,
        "files": restore.file_count,
        "bytes": restore.size_bytes,
        "required_approvals": restore.required_approvals,
    }

"""Restore targets and requests: requesting, approving or rejecting, queueing on the right host."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.audit import audit_record
from catalog.models import Clip, MediaFile, Project, Volume
from catalog.permissions import AnyUser, Cap, restore_target_allowed, role_of, user_can
from catalog.search import clip_count_capped
from catalog.selection import SELECTION_LIMIT
from core import names
from core.queues import host_queue, job_enqueue
from formats.units import format_bytes
from restore import selectors
from restore.models import (
    RestoreApproval,
    RestoreItem,
    RestoreRequest,
    RestoreTarget,
)
from restore.services.base import (
    RestoreConflict,
    RestoreError,
    RestoreRefused,
    RestoreTargetPathError,
    announce,
    refuse,
    snapshot,
    user_id,
)

# --- Targets -----------------------------------------------------------------------------


def restore_target_path_check(path: str) -> None:
    """Raise RestoreTargetPathError unless ``path`` is a clean absolute folder under the restore roots.

    Checked when a target is registered and again by the worker before each
    run (on its own host, where the roots and symlinks are those it writes to).
    """
    if (problem := names.path_problem(path)) is not None:
        raise RestoreTargetPathError(f"target path {path!r} {problem}")
    roots = settings.REELVAULT_RESTORE_ROOTS
    if not names.under_roots(path, roots):
        raise RestoreTargetPathError(
            f"target path {path} is outside the restore roots ({', '.join(map(str, roots))}); "
            "pick a folder under them or add its parent to REELVAULT_RESTORE_ROOTS"
        )


@transaction.atomic(durable=True)
def restore_target_create(
    *,
    actor: AnyUser | None,
    project: Project,
    name: str,
    path: str,
    kind: str = RestoreTarget.Kind.FOLDER,
    host: str = "",
    scratch: bool = False,
    description: str = "",
) -> RestoreTarget:
    """Register a restore target of the project.

    A folder must be a clean absolute path under ``REELVAULT_RESTORE_ROOTS``
    (symlinks resolved): an admin must not be able to point restores at
    ``/etc``. Raises RestoreTargetPathError for the path, RestoreError otherwise.
    """
    if kind == RestoreTarget.Kind.FOLDER:
        restore_target_path_check(path)
    if kind == RestoreTarget.Kind.S3 and not path.startswith("s3://"):
        raise RestoreError("an object storage target's path is s3://bucket/prefix")
    if project.restore_targets.filter(name__iexact=name).exists():
        raise RestoreError(f"project {project.code} already has a restore target named {name}")
    target = RestoreTarget(
        project=project,
        name=name.lower(),
        kind=kind,
        host=host,
        path=path,
        scratch=scratch,
        description=description,
    )
    target.full_clean()
    target.save()
    audit_record(
        actor=actor,
        action="restore.target_create",
        obj=target,
        project=project,
        after={"name": target.name, "kind": kind, "host": host, "path": path, "scratch": scratch},
    )
    return target


# --- Requesting --------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What a requester asked for: explicit clip ids, every match of a search (its query string,
    within the project), or one scene, shoot day or card."""

    clips: tuple[int, ...] = ()
    scene: str = ""
    day: int | None = None
    unit: str = "main"
    card: str = ""
    search: str = ""

    @property
    def kind(self) -> str:
        for name in ("search", "scene", "card"):
            if getattr(self, name):
                return name
        return "day" if self.day is not None else "clips"

    def as_json(self) -> dict[str, Any]:
        kind = self.kind
        if kind == "clips":
            return {"clips": list(self.clips)}
        if kind == "day":
            return {"day": self.day, "unit": self.unit}
        return {kind: getattr(self, kind)}


def _resolve_files(*, actor: AnyUser | None, project: Project, selection: Selection) -> list[MediaFile]:
    files = MediaFile.objects.select_related("card", "clip").order_by("pk")
    kind = selection.kind
    if kind == "clips":
        if not selection.clips:
            raise RestoreError("pick at least one clip")
        wanted = set(selection.clips)
        found = set(Clip.objects.filter(pk__in=wanted, project=project).values_list("pk", flat=True))
        foreign = sorted(wanted - found)
        if foreign:
            # Unknown ids answer exactly like another project's: existence does not leak.
            refuse(
                actor=actor,
                action="restore.request_refused",
                project=project,
                reason=f"clips {', '.join(map(str, foreign[:20]))} are not clips of project {project.code}",
                clips=foreign[:100],
            )
        return list(files.filter(clip_id__in=found))
    if kind == "search":
        try:
            clips = selectors.search_clips(project=project, query=selection.search)
        except ValueError as exc:
            raise RestoreError(str(exc)) from exc
        if clip_count_capped(queryset=clips, cap=SELECTION_LIMIT) > SELECTION_LIMIT:
            raise RestoreError(f"the search matches more than {SELECTION_LIMIT:,} clips: narrow it")
        return list(files.filter(clip__in=clips.order_by().values("pk")))
    if kind == "scene":
        return list(files.filter(clip__project=project, clip__scene__iexact=selection.scene))
    if kind == "day":
        day = (
            project.days.filter(number=selection.day, unit=selection.unit).first()
            if selection.day is not None
            else None
        )
        if day is None:
            raise RestoreError(f"project {project.code} has no shoot day {selection.day} ({selection.unit})")
        return list(files.filter(clip__day=day))
    card = project.volumes.filter(kind=Volume.Kind.CARD, label__iexact=selection.card).first()
    if card is None:
        raise RestoreError(f"project {project.code} has no card {selection.card}")
    return list(files.filter(Q(card=card) | Q(clip__card=card)).distinct())


def _resolve_target(*, actor: AnyUser | None, project: Project, target: str | int) -> RestoreTarget:
    reference = str(target).strip()
    if reference.isdigit():
        found = RestoreTarget.objects.filter(pk=int(reference)).select_related("project").first()
        if found is None or found.project_id != project.pk:
            refuse(
                actor=actor,
                action="restore.request_refused",
                project=project,
                reason=f"restore target {reference} is not a target of project {project.code}",
                target=reference,
            )
    else:
        found = project.restore_targets.filter(name__iexact=reference).first()
        if found is None:
            names = ", ".join(project.restore_targets.values_list("name", flat=True)) or "none yet"
            raise RestoreError(
                f"project {project.code} has no restore target {reference!r} (it has: {names})"
            )
    if actor is not None and not restore_target_allowed(actor, project, found.name):
        refuse(
            actor=actor,
            action="restore.request_refused",
            project=project,
            reason=f"your role restores only to its own targets, not to {found.name}",
            target=found.name,
        )
    return found


def item_path(media_file: MediaFile) -> str:
    """Where a file goes inside the restore folder: its card folder, then its path on the card."""
    if media_file.card is not None:
        return f"{media_file.card.label}/{media_file.relative_path}"
    if media_file.clip is not None:
        return f"{media_file.clip.name}/{media_file.relative_path}"
    return media_file.relative_path


def _check_target_space(target: RestoreTarget, size: int) -> None:
    """On this host, refuse early a target that is missing or obviously too small."""
    if target.kind != RestoreTarget.Kind.FOLDER:
        return  # a bucket: no free space to check, the worker finds out whether it is reachable
    if target.host and target.host != settings.REELVAULT_HOSTNAME:
        return  # checked by the worker on its own host
    root = Path(target.path)
    if not root.is_dir():
        raise RestoreError(f"target folder {root} does not exist on {settings.REELVAULT_HOSTNAME}: mount it")
    try:
        info = os.statvfs(root)
    except OSError:
        info = None
    free = info.f_bavail * info.f_frsize if info is not None else None
    if free is not None and free < size:
        raise RestoreError(
            f"target {target.name} has {format_bytes(free)} free but the restore needs {format_bytes(size)}: "
            "free space on it or pick another target"
        )


def restore_request_create(
    *,
    actor: AnyUser,
    project: Project,
    selection: Selection,
    target: str | int,
    reason: str,
) -> RestoreRequest:
    """Record a restore request and ask the project's admins to approve it.

    Returns the request in state ``requested``. Raises RestoreRefused (already
    audit-logged) when the actor may not request restores on the project or
    names clips or a target outside it, and RestoreError for anything the
    requester can fix (no reason, unknown target name, nothing to restore).
    """
    if not user_can(actor, project, Cap.REQUEST_RESTORE):
        role = role_of(actor, project)
        refuse(
            actor=actor,
            action="restore.request_refused",
            project=project,
            reason=f"your role ({role.value if role else 'none'}) cannot request restores",
        )
    chosen = _resolve_target(actor=actor, project=project, target=target)
    files = _resolve_files(actor=actor, project=project, selection=selection)
    if not reason.strip():
        raise RestoreError("say why the restore is needed (reason)")
    if not files:
        raise RestoreError("the selection has no files in the catalog")
    size = sum(f.size for f in files)
    _check_target_space(chosen, size)
    needs_two = size > settings.REELVAULT_RESTORE_SECOND_APPROVAL_BYTES or selection.kind == "day"
    return restore_request_record(
        actor=actor,
        project=project,
        target=chosen,
        files=files,
        reason=reason.strip(),
        selection=selection.as_json(),
        required_approvals=2 if needs_two else 1,
    )


@transaction.atomic(durable=True)
def restore_request_record(
    *,
    actor: AnyUser | None,
    project: Project,
    target: RestoreTarget,
    files: Sequence[MediaFile],
    reason: str,
    selection: dict[str, Any],
    required_approvals: int,
    is_drill: bool = False,
    source_tier: str = "",
    excluded_volume_ids: Sequence[int] = (),
) -> RestoreRequest:
    restore = RestoreRequest.objects.create(
        project=project,
        requester_id=user_id(actor),
        target=target,
        reason=reason,
        selection=selection,
        size_bytes=sum(f.size for f in files),
        file_count=len(files),
        required_approvals=required_approvals,
        is_drill=is_drill,
        source_tier=source_tier,
        excluded_volume_ids=sorted(excluded_volume_ids),
        state=RestoreRequest.State.APPROVED if is_drill else RestoreRequest.State.REQUESTED,
    )
    restore.folder = f"{project.code}_restore_{restore.pk:05d}" + ("_drill" if is_drill else "")
    restore.save(update_fields=["folder"])
    RestoreItem.objects.bulk_create(
        RestoreItem(request=restore, media_file=f, path=item_path(f), size=f.size) for f in files
    )
    audit_record(
        actor=actor,
        action="restore.drill_request" if is_drill else "restore.request",
        obj=restore,
        project=project,
        after={**snapshot(restore), "reason": reason, "selection": selection},
    )
    if is_drill:
        transaction.on_commit(lambda: restore_request_queue(request_id=restore.pk))
    else:
        who = actor.get_username() if isinstance(actor, AbstractBaseUser) else "system"
        approvals = "two different admins" if required_approvals > 1 else "an admin"
        announce(
            restore,
            "requested, waiting for approval",
            f"{who} asks to restore {len(files)} files ({format_bytes(restore.size_bytes)}) to "
            f"{target.name}.\n"
            f"Reason: {reason}\nIt needs approval by {approvals} other than the requester.",
        )
    return restore


# --- Deciding ----------------------------------------------------------------------------


def _decision_refusal(actor: AnyUser, restore: RestoreRequest) -> str | None:
    if not user_can(actor, restore.project_id, Cap.APPROVE_RESTORE):
        role = role_of(actor, restore.project_id)
        return f"your role ({role.value if role else 'none'}) cannot approve or reject restores"
    if restore.requester_id is not None and restore.requester_id == actor.pk:
        return "nobody approves or rejects their own restore request"
    if restore.state != RestoreRequest.State.REQUESTED:
        return None  # the caller answers with a conflict
    if restore.approvals.filter(approver_id=actor.pk).exists():
        return "you already decided on this request; a second approval must come from a different admin"
    return None


def restore_request_approve(*, actor: AnyUser, restore: RestoreRequest, comment: str = "") -> RestoreRequest:
    """Approve a request. Returns it ``approved`` (then queued) or still ``requested``
    when it waits for a second, different approver.

    Raises RestoreRefused (audit-logged as restore.approve_refused) for a
    weak role, one's own request or a second decision by the same person;
    RestoreConflict when the request is no longer waiting for approval.
    """
    refusal: str | None = None
    with transaction.atomic(durable=True):
        locked = (
            RestoreRequest.objects.select_for_update(of=("self",))
            .select_related("project", "target")
            .get(pk=restore.pk)
        )
        refusal = _decision_refusal(actor, locked)
        if refusal is None:
            if locked.state != RestoreRequest.State.REQUESTED:
                raise RestoreConflict(
                    f"restore {locked.pk} is {locked.state}; only requested restores are approved"
                )
            RestoreApproval.objects.create(
                request=locked,
                approver=actor,  # type: ignore[misc]  # authenticated: user_can passed
                decision=RestoreApproval.Decision.APPROVE,
                comment=comment,
            )
            count = locked.approvals.filter(decision=RestoreApproval.Decision.APPROVE).count()
            before = locked.state
            if count >= locked.required_approvals:
                locked.state = RestoreRequest.State.APPROVED
                locked.decided_at = timezone.now()
                locked.save(update_fields=["state", "decided_at"])
            audit_record(
                actor=actor,
                action="restore.approve",
                obj=locked,
                project=locked.project,
                before={"state": before},
                after={
                    "state": locked.state,
                    "approvals": count,
                    "required": locked.required_approvals,
                    "comment": comment,
                },
            )
            who = actor.get_username() if isinstance(actor, AbstractBaseUser) else "?"
            if locked.state == RestoreRequest.State.APPROVED:
                announce(
                    locked, "approved", f"Approved by {who}." + (f"\nComment: {comment}" if comment else "")
                )
                request_id = locked.pk
                transaction.on_commit(lambda: restore_request_queue(request_id=request_id))
            else:
                announce(
                    locked,
                    "first approval, waiting for a second approver",
                    f"Approved by {who}; it needs {locked.required_approvals - count} more approval "
                    "from a different admin.",
                )
    if refusal is not None:
        refuse(
            actor=actor,
            action="restore.approve_refused",
            project=restore.project,
            reason=refusal,
            obj=restore,
        )
    restore.refresh_from_db()
    return restore


def restore_request_reject(*, actor: AnyUser, restore: RestoreRequest, comment: str) -> RestoreRequest:
    """Reject a request with a comment (required). Same refusals as approving."""
    refusal: str | None = None
    with transaction.atomic(durable=True):
        locked = (
            RestoreRequest.objects.select_for_update(of=("self",))
            .select_related("project", "target")
            .get(pk=restore.pk)
        )
        refusal = _decision_refusal(actor, locked)
        if refusal is None:
            if not comment.strip():
                raise RestoreError("say why the request is rejected (comment)")
            if locked.state != RestoreRequest.State.REQUESTED:
                raise RestoreConflict(
                    f"restore {locked.pk} is {locked.state}; only requested restores are rejected"
                )
            RestoreApproval.objects.create(
                request=locked,
                approver=actor,  # type: ignore[misc]  # authenticated: user_can passed
                decision=RestoreApproval.Decision.REJECT,
                comment=comment.strip(),
            )
            locked.state = RestoreRequest.State.REJECTED
            locked.decided_at = timezone.now()
            locked.finished_at = locked.decided_at
            locked.save(update_fields=["state", "decided_at", "finished_at"])
            audit_record(
                actor=actor,
                action="restore.reject",
                obj=locked,
                project=locked.project,
                before={"state": RestoreRequest.State.REQUESTED},
                after={"state": locked.state, "comment": comment.strip()},
            )
            who = actor.get_username() if isinstance(actor, AbstractBaseUser) else "?"
            announce(locked, "rejected", f"Rejected by {who}.\nComment: {comment.strip()}")
    if refusal is not None:
        refuse(
            actor=actor, action="restore.reject_refused", project=restore.project, reason=refusal, obj=restore
        )
    restore.refresh_from_db()
    return restore


@dataclass(frozen=True)
class BulkOutcome:
    id: int
    ok: bool
    state: str
    status: int  # the HTTP status this one alone would have answered
    detail: str


def restore_requests_approve(
    *, actor: AnyUser, restores: Iterable[RestoreRequest], comment: str = ""
) -> list[BulkOutcome]:
    """Approve several requests, each in its own transaction; one refusal does not stop the others."""
    outcomes = []
    for restore in restores:
        try:
            done = restore_request_approve(actor=actor, restore=restore, comment=comment)
        except RestoreRefused as exc:
            outcomes.append(BulkOutcome(restore.pk, False, restore.state, 403, str(exc)))
        except RestoreConflict as exc:
            outcomes.append(BulkOutcome(restore.pk, False, restore.state, 409, str(exc)))
        else:
            outcomes.append(BulkOutcome(done.pk, True, done.state, 200, ""))
    return outcomes


# --- Queueing and running ----------------------------------------------------------------


def restore_request_queue(*, request_id: int) -> RestoreRequest | None:
    """Move an approved request to ``queued`` and send it to its host's worker.

    Returns the request, or None when it was not ``approved`` (already
    queued by someone else: safe to call twice). The job runs on the target's
    host when the target names one, else on the host holding most of the
    best copies.
    """
    with transaction.atomic(durable=True):
        restore = (
            RestoreRequest.objects.select_for_update(of=("self",))
            .select_related("project", "target", "requester")
            .filter(pk=request_id, state=RestoreRequest.State.APPROVED)
            .first()
        )
        if restore is None:
            return None
        file_ids = list(restore.items.values_list("media_file_id", flat=True))
        restore.host = restore.target.host or selectors.source_host(
            media_file_ids=file_ids, default=settings.REELVAULT_HOSTNAME
        )
        restore.state = RestoreRequest.State.QUEUED
        restore.queued_at = timezone.now()
        restore.save(update_fields=["host", "state", "queued_at"])
        audit_record(
            actor=None,
            action="restore.queue",
            obj=restore,
            project=restore.project,
            before={"state": RestoreRequest.State.APPROVED},
            after={"state": restore.state, "host": restore.host},
        )
        announce(restore, "queued", f"Queued on the worker of {restore.host}.")
        queue = host_queue(restore.host)

        def enqueue() -> None:
            from restore.tasks import restore_request_run_task

            # When the broker does not take it, the restore stays queued: it is approved and
            # must run, and beat re-sends queued restores no worker picked up
            # (reelvault/waiting.py). The caller hears QueueUnavailable (503, not 500).
            job_enqueue(restore_request_run_task, args=[request_id], queue=queue)

        transaction.on_commit(enqueue)
    return restore

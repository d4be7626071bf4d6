"""Restores as catalog operations: request, approve or reject, queue, run, drill.

The life of a request::

    requested ──approve(s)──▶ approved ──▶ queued ──▶ running ──▶ verified
        │                                                  └────▶ failed (per-file results kept)
        └──reject──▶ rejected

Rules enforced here (pages and API call these services, so they agree):
- requesting needs REQUEST_RESTORE on the project; every clip and the target
  must belong to that project;
- approving and rejecting need APPROVE_RESTORE; nobody decides on their own
  request (admins included) and nobody decides twice; a request over
  ``REELVAULT_RESTORE_SECOND_APPROVAL_BYTES`` or covering a whole shoot day
  needs two different approvers;
- a refused attempt by a project member is written to the audit log in its
  own transaction (so the refusal itself is never rolled back) and raises
  RestoreRefused (403).

Running: the job claims the row (queued, or running with a stale heartbeat
after a killed worker), copies each file still pending from its best copy,
condemns copies found corrupt or missing and goes on with the next one, and
finally writes an ASC MHL generation into the restore folder at the target.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.models import Notification
from alerts.services import notify
from catalog.audit import audit_record
from catalog.models import Clip, Copy, MediaFile, Project, Volume
from catalog.permissions import AnyUser, Cap, Refused, members_with, refuse, role_of, user_can
from copyengine import mhl
from core.queues import host_queue
from formats.units import format_bytes
from restore import copying, selectors
from restore.alerting import copy_condemned_after_commit, drill_finished_after_commit
from restore.models import (
    DrillSchedule,
    RestoreApproval,
    RestoreDrill,
    RestoreItem,
    RestoreRequest,
    RestoreTarget,
)

logger = logging.getLogger(__name__)

REELVAULT_VERSION = "0.1.0"
#: How often the runner writes progress and its heartbeat.
PROGRESS_INTERVAL = 0.5
#: An approved request not queued within this time (process died in between) is queued by recovery.
APPROVED_GRACE = timedelta(minutes=1)


class RestoreError(Exception):
    """The request cannot be made or changed as asked (400); the message says what to change."""


class RestoreConflict(RestoreError):
    """The request is not in a state that allows this (409)."""


class RestoreRefused(Refused):
    """Not allowed (403). The refusal has already been written to the audit log."""


# --- helpers -----------------------------------------------------------------------------


def _user(actor: AnyUser | None) -> AbstractBaseUser | None:
    return actor if isinstance(actor, AbstractBaseUser) and actor.is_authenticated else None


def _user_id(actor: AnyUser | None) -> int | None:
    user = _user(actor)
    return int(user.pk) if user is not None else None


def _refuse(
    *, actor: AnyUser | None, action: str, project: Project, reason: str, obj: Any = None, **details: Any
) -> NoReturn:
    """Write the refusal to the audit log in its own transaction, then raise RestoreRefused."""
    refuse(
        actor=actor, action=action, project=project, obj=obj, reason=reason, error=RestoreRefused, **details
    )


def _link(restore: RestoreRequest) -> str:
    return f"/restores/{restore.pk}/"


def _announce(
    restore: RestoreRequest, subject: str, body: str, *, level: str = Notification.Level.INFO
) -> None:
    """Tell the requester, everyone who decided on it, and (while it waits or when it fails) the admins."""
    if restore.is_drill:
        return
    users: list[AbstractBaseUser] = []
    if restore.requester is not None:
        users.append(restore.requester)
    users.extend(a.approver for a in restore.approvals.select_related("approver"))
    if restore.state in (RestoreRequest.State.REQUESTED, RestoreRequest.State.FAILED):
        users.extend(
            u for u in members_with(restore.project, need=Cap.APPROVE_RESTORE) if u.pk != restore.requester_id
        )
    notify(
        users=users,
        subject=f"Restore {restore.pk} of {restore.project.code}: {subject}",
        body=body,
        link=_link(restore),
        project=restore.project,
        kind=f"restore.{restore.state}",
        level=level,
    )


def _snapshot(restore: RestoreRequest) -> dict[str, Any]:
    return {
        "state": restore.state,
        "target": restore.target.name,
        "files": restore.file_count,
        "bytes": restore.size_bytes,
        "required_approvals": restore.required_approvals,
    }


# --- Targets -----------------------------------------------------------------------------


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
    """Register a restore target of the project. Folder paths must be absolute."""
    if kind == RestoreTarget.Kind.FOLDER and not Path(path).is_absolute():
        raise RestoreError(f"target path {path} must be an absolute folder path")
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
    """What a requester asked for: explicit clip ids, or one scene, shoot day or card."""

    clips: tuple[int, ...] = ()
    scene: str = ""
    day: int | None = None
    unit: str = "main"
    card: str = ""

    @property
    def kind(self) -> str:
        for name in ("scene", "card"):
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
            _refuse(
                actor=actor,
                action="restore.request_refused",
                project=project,
                reason=f"clips {', '.join(map(str, foreign[:20]))} are not clips of project {project.code}",
                clips=foreign[:100],
            )
        return list(files.filter(clip_id__in=found))
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
            _refuse(
                actor=actor,
                action="restore.request_refused",
                project=project,
                reason=f"restore target {reference} is not a target of project {project.code}",
                target=reference,
            )
        return found
    named = project.restore_targets.filter(name__iexact=reference).first()
    if named is None:
        names = ", ".join(project.restore_targets.values_list("name", flat=True)) or "none yet"
        raise RestoreError(f"project {project.code} has no restore target {reference!r} (it has: {names})")
    return named


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
        raise RestoreError(
            f"target {target.name} is object storage; restores to buckets are not supported yet: "
            "restore to a folder target"
        )
    if target.host and target.host != settings.REELVAULT_HOSTNAME:
        return  # checked by the worker on its own host
    root = Path(target.path)
    if not root.is_dir():
        raise RestoreError(f"target folder {root} does not exist on {settings.REELVAULT_HOSTNAME}: mount it")
    free = copying.free_bytes(root)
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
        _refuse(
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
    return _create(
        actor=actor,
        project=project,
        target=chosen,
        files=files,
        reason=reason.strip(),
        selection=selection.as_json(),
        required_approvals=2 if needs_two else 1,
    )


@transaction.atomic(durable=True)
def _create(
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
) -> RestoreRequest:
    restore = RestoreRequest.objects.create(
        project=project,
        requester_id=_user_id(actor),
        target=target,
        reason=reason,
        selection=selection,
        size_bytes=sum(f.size for f in files),
        file_count=len(files),
        required_approvals=required_approvals,
        is_drill=is_drill,
        source_tier=source_tier,
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
        after={**_snapshot(restore), "reason": reason, "selection": selection},
    )
    if is_drill:
        transaction.on_commit(lambda: restore_request_queue(request_id=restore.pk))
    else:
        who = actor.get_username() if isinstance(actor, AbstractBaseUser) else "system"
        approvals = "two different admins" if required_approvals > 1 else "an admin"
        _announce(
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
                _announce(
                    locked, "approved", f"Approved by {who}." + (f"\nComment: {comment}" if comment else "")
                )
                request_id = locked.pk
                transaction.on_commit(lambda: restore_request_queue(request_id=request_id))
            else:
                _announce(
                    locked,
                    "first approval, waiting for a second approver",
                    f"Approved by {who}; it needs {locked.required_approvals - count} more approval "
                    "from a different admin.",
                )
    if refusal is not None:
        _refuse(
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
            _announce(locked, "rejected", f"Rejected by {who}.\nComment: {comment.strip()}")
    if refusal is not None:
        _refuse(
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
        _announce(restore, "queued", f"Queued on the worker of {restore.host}.")
        queue = host_queue(restore.host)

        def enqueue() -> None:
            from restore.tasks import restore_request_run_task

            restore_request_run_task.apply_async(args=[request_id], queue=queue)

        transaction.on_commit(enqueue)
    return restore


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.REELVAULT_JOB_STALE_SECONDS)


def _claim(request_id: int) -> bool:
    """Take the job: queued, or running with a dead runner (stale heartbeat). One runner wins."""
    now = timezone.now()
    claimable = Q(state=RestoreRequest.State.QUEUED) | Q(
        state=RestoreRequest.State.RUNNING, heartbeat_at__lt=now - _stale_after()
    )
    return (
        RestoreRequest.objects.filter(Q(pk=request_id) & claimable).update(
            state=RestoreRequest.State.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now)),
            heartbeat_at=now,
            error="",
        )
        == 1
    )


def restore_requests_recover() -> list[int]:
    """Re-enqueue running jobs whose worker died (stale heartbeat), and queue approved requests
    whose queueing was lost; return the ids of the jobs re-enqueued.

    Redis redelivers an unacknowledged job only after the visibility timeout
    (hours); this beat job notices a dead runner within minutes. The claim
    makes a duplicate delivery harmless.
    """
    from restore.tasks import restore_request_run_task

    now = timezone.now()
    recovered = []
    stale = RestoreRequest.objects.filter(
        state=RestoreRequest.State.RUNNING, heartbeat_at__lt=now - _stale_after()
    ).values_list("pk", "host")
    for request_id, host in stale:
        restore_request_run_task.apply_async(args=[request_id], queue=host_queue(host or None))
        recovered.append(request_id)
    lost = RestoreRequest.objects.filter(
        state=RestoreRequest.State.APPROVED, decided_at__lt=now - APPROVED_GRACE
    ).values_list("pk", flat=True)
    for request_id in lost:
        if restore_request_queue(request_id=request_id) is not None:
            recovered.append(request_id)
    return recovered


def _condemn(copy: Copy, state: str, message: str, found: str, restore: RestoreRequest) -> None:
    """Mark a copy corrupt or missing in the catalog, audit it, and alert the people who can act."""
    with transaction.atomic():
        changed = Copy.objects.filter(pk=copy.pk, state=Copy.State.VERIFIED).update(
            state=state, last_error=message[:2000], hash_found=found if state == Copy.State.CORRUPT else ""
        )
        if not changed:
            return
        project = restore.project
        audit_record(
            actor=None,
            action=f"copy.{state}",
            obj=copy,
            project=project,
            before={"state": Copy.State.VERIFIED},
            after={"state": state, "message": message, "found": found, "restore": restore.pk},
        )
        # One alert per volume and problem, however many files, after the commit (restore/alerting.py).
        copy_condemned_after_commit(copy_id=copy.pk, restore_id=restore.pk)


class _Progress:
    """Writes progress and the heartbeat a few times a second; computes speed and ETA."""

    def __init__(self, restore: RestoreRequest) -> None:
        self.restore = restore
        self.base = restore.items.filter(state=RestoreItem.State.VERIFIED).aggregate(n=Sum("size"))["n"] or 0
        self.files_done = restore.items.exclude(state=RestoreItem.State.PENDING).count()
        self.work_done = 0  # copy + verify bytes moved in this run (each file counts twice)
        self.file_work = 0
        self.started = time.monotonic()
        self.last_write = 0.0
        self.current = ""
        self.throttle = settings.REELVAULT_RESTORE_THROTTLE_BPS

    def on_bytes(self, phase: str, n: int) -> None:
        self.work_done += n
        self.file_work += n
        self.write()

    def file_started(self, path: str) -> None:
        self.current = path
        self.file_work = 0
        self.write(force=True)

    def file_finished(self, *, verified_size: int | None) -> None:
        # Progress counts a file once it is done; partial work counts half (copy, then verify).
        if verified_size is not None:
            self.base += verified_size
        self.files_done += 1
        self.file_work = 0
        self.write(force=True)

    @property
    def bytes_done(self) -> int:
        return self.base + self.file_work // 2

    def write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < PROGRESS_INTERVAL:
            return
        self.last_write = now
        elapsed = max(now - self.started, 1e-6)
        rate = (self.work_done / 2) / elapsed
        remaining = max(self.restore.size_bytes - self.bytes_done, 0)
        RestoreRequest.objects.filter(pk=self.restore.pk).update(
            files_done=self.files_done,
            bytes_done=self.bytes_done,
            bytes_per_second=rate,
            eta_seconds=remaining / rate if rate > 0 else None,
            current_file=self.current[:1024],
            heartbeat_at=timezone.now(),
        )


class _StopJob(Exception):
    """The target is unusable: stop the whole job (files done so far stay done)."""


def _restore_item(item: RestoreItem, candidates: list[Copy], folder: Path, progress: _Progress) -> None:
    restore = item.request
    media_file = item.media_file
    tries: list[dict[str, Any]] = list(item.tries)
    started = time.monotonic()
    progress.file_started(item.path)
    outcome_error = ""
    for copy in candidates:
        source = Path(copy.volume.location) / copy.path
        try:
            result = copying.restore_file(
                source=source,
                target=folder / item.path,
                expected_xxh128=media_file.xxh128,
                size=media_file.size,
                mtime=media_file.mtime,
                on_progress=progress.on_bytes,
                max_bytes_per_second=progress.throttle,
            )
        except copying.SourceMissingError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "missing", "message": str(exc)})
            _condemn(copy, Copy.State.MISSING, str(exc), "", restore)
            continue
        except copying.SourceCorruptError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "corrupt", "message": str(exc)})
            _condemn(copy, Copy.State.CORRUPT, str(exc), exc.found, restore)
            continue
        except (copying.TargetConflictError, copying.TargetVerifyError) as exc:
            tries.append({"volume": copy.volume.label, "outcome": "target", "message": str(exc)})
            outcome_error = str(exc)
            break
        except (copying.TargetFullError, copying.TargetError) as exc:
            RestoreItem.objects.filter(pk=item.pk).update(tries=tries)
            raise _StopJob(str(exc)) from exc
        tries.append(
            {"volume": copy.volume.label, "outcome": "already there" if result.already_there else "restored"}
        )
        RestoreItem.objects.filter(pk=item.pk).update(
            state=RestoreItem.State.VERIFIED,
            source_copy=copy,
            tries=tries,
            error="",
            seconds=time.monotonic() - started,
            verified_at=timezone.now(),
        )
        progress.file_finished(verified_size=item.size)
        return
    if not outcome_error:
        if tries:
            outcome_error = "every copy is bad: " + "; ".join(f"{t['volume']}: {t['outcome']}" for t in tries)
        else:
            outcome_error = (
                f"no verified copy is online on {restore.host}"
                + (f" in the {restore.source_tier} tier" if restore.source_tier else "")
                + ": bring a volume holding it online on that host"
            )
    RestoreItem.objects.filter(pk=item.pk).update(
        state=RestoreItem.State.FAILED, tries=tries, error=outcome_error, seconds=time.monotonic() - started
    )
    progress.file_finished(verified_size=None)


def _write_history(restore: RestoreRequest, folder: Path) -> str:
    """Record every verified file of the restore in an ASC MHL generation at the restore folder."""
    items = restore.items.filter(state=RestoreItem.State.VERIFIED).select_related("media_file")
    records = []
    for item in items:
        media_file = item.media_file
        mtime = media_file.mtime or datetime.fromtimestamp((folder / item.path).stat().st_mtime, tz=UTC)
        records.append(
            mhl.FileRecord(path=item.path, size=item.size, mtime=mtime, hashes={"xxh128": media_file.xxh128})
        )
    if not records:
        return ""
    requester = restore.requester.get_username() if restore.requester is not None else "reelvault"
    generation = mhl.write_generation(
        folder,
        files=records,
        creator=mhl.Creator(
            tool_version=REELVAULT_VERSION,
            authors=(mhl.Author(name=requester),),
            comment=f"Reelvault restore {restore.pk} of {restore.project.code} to {restore.target.name}",
        ),
        process_type="transfer",
    )
    return str(generation)


def restore_request_run(*, request_id: int) -> RestoreRequest | None:
    """Run (or resume) a queued restore. Returns the finished request, or None if not claimable.

    Safe to run twice: the claim lets one runner in; a resumed run skips the
    files already verified and finds any file it completed just before being
    killed already at the target (same content), so nothing is copied twice.
    """
    if not _claim(request_id):
        return None
    restore = RestoreRequest.objects.select_related("project", "target", "requester").get(pk=request_id)
    first_start = restore.attempts == 0
    RestoreRequest.objects.filter(pk=request_id).update(attempts=restore.attempts + 1)
    with transaction.atomic():
        audit_record(
            actor=None,
            action="restore.start",
            obj=restore,
            project=restore.project,
            before={"state": RestoreRequest.State.QUEUED if first_start else RestoreRequest.State.RUNNING},
            after={
                "state": RestoreRequest.State.RUNNING,
                "host": settings.REELVAULT_HOSTNAME,
                "attempt": restore.attempts + 1,
            },
        )
        if first_start:
            _announce(restore, "running", f"The worker on {settings.REELVAULT_HOSTNAME} started restoring.")
    target_root = Path(restore.target.path)
    folder = target_root / restore.folder
    run_started = time.monotonic()
    progress = _Progress(restore)
    try:
        if restore.target.kind != RestoreTarget.Kind.FOLDER:
            raise _StopJob(
                f"target {restore.target.name} is object storage; restores to buckets are not supported"
            )
        if not target_root.is_dir():
            raise _StopJob(
                f"target folder {target_root} does not exist on {settings.REELVAULT_HOSTNAME}: mount it, "
                "then the job can be re-queued"
            )
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise _StopJob(f"cannot create {folder}: {exc.strerror}") from exc
        copying.remove_leftovers(folder)
        pending = list(
            restore.items.filter(state=RestoreItem.State.PENDING)
            .select_related("media_file")
            .order_by("path")
        )
        candidates = selectors.best_copies(
            media_file_ids=[i.media_file_id for i in pending],
            host=settings.REELVAULT_HOSTNAME,
            tier=restore.source_tier,
        )
        for item in pending:
            item.request = restore
            # Re-read the candidates of this file: an earlier file may have condemned a shared volume's copy.
            fresh = [
                c
                for c in candidates.get(item.media_file_id, [])
                if Copy.objects.filter(pk=c.pk, state=Copy.State.VERIFIED).exists()
            ]
            _restore_item(item, fresh, folder, progress)
        progress.write(force=True)
        generation = _write_history(restore, folder)
    except _StopJob as exc:
        return _finish(restore, run_started, error=str(exc))
    except (OSError, mhl.MHLError) as exc:
        return _finish(
            restore, run_started, error=f"the ASC MHL history could not be written in {folder}: {exc}"
        )
    return _finish(restore, run_started, error="", generation=generation)


def _finish(
    restore: RestoreRequest, run_started: float, *, error: str, generation: str = ""
) -> RestoreRequest:
    failed = list(
        restore.items.filter(state=RestoreItem.State.FAILED).values_list("path", "error").order_by("path")
    )
    pending = restore.items.filter(state=RestoreItem.State.PENDING).count()
    verified = restore.items.filter(state=RestoreItem.State.VERIFIED).count()
    messages = [error] if error else []
    if failed:
        messages.append(
            f"{len(failed)} of {restore.file_count} files could not be restored: "
            + "; ".join(f"{path} ({reason})" for path, reason in failed[:50])
            + (" …" if len(failed) > 50 else "")
        )
    if pending and error:
        messages.append(f"{pending} files were not attempted; {verified} are restored and verified")
    state = RestoreRequest.State.FAILED if messages else RestoreRequest.State.VERIFIED
    seconds = restore.seconds + (time.monotonic() - run_started)
    with transaction.atomic():
        RestoreRequest.objects.filter(pk=restore.pk).update(
            state=state,
            finished_at=timezone.now(),
            error="\n".join(messages),
            seconds=seconds,
            mhl_generation=generation,
            current_file="",
            eta_seconds=None,
            heartbeat_at=timezone.now(),
        )
        restore.refresh_from_db()
        audit_record(
            actor=None,
            action="restore.finish",
            obj=restore,
            project=restore.project,
            before={"state": RestoreRequest.State.RUNNING},
            after={
                "state": state,
                "verified": verified,
                "failed": [path for path, _ in failed[:200]],
                "not_attempted": pending,
                "error": error,
                "seconds": round(seconds, 3),
                "mhl": generation,
            },
        )
        if state == RestoreRequest.State.VERIFIED:
            _announce(
                restore,
                "verified",
                f"All {verified} files ({format_bytes(restore.size_bytes)}) are at "
                f"{restore.target.path}/{restore.folder}, "
                "read back and verified. The ASC MHL history is in its ascmhl/ folder.",
            )
        else:
            _announce(restore, "failed", restore.error, level=Notification.Level.WARNING)
    if restore.is_drill:
        _drill_finish(restore)
    return restore


def restore_request_fail(*, request_id: int, message: str) -> None:
    """Mark a job failed with the reason (the runner itself crashed)."""
    restore = RestoreRequest.objects.select_related("project", "target", "requester").get(pk=request_id)
    if restore.state in RestoreRequest.ACTIVE:
        _finish(restore, time.monotonic(), error=message)


# --- Drills ------------------------------------------------------------------------------


class DrillError(RestoreError):
    """A drill cannot start; the message says what is missing."""


def _drill_tiers(project: Project) -> list[str]:
    """Tiers that hold verified copies on online volumes, fastest first."""
    present = set(
        Copy.objects.filter(volume__project=project, state=Copy.State.VERIFIED, volume__online=True)
        .exclude(volume__kind__in=[Volume.Kind.CARD, Volume.Kind.S3])
        .values_list("volume__tier", flat=True)
        .distinct()
    )
    return [tier for tier in selectors.TIER_ORDER if tier in present]


def restore_drill_start(
    *,
    actor: AnyUser | None,
    project: Project,
    tier: str = "",
    sample_clips: int | None = None,
    trigger: str = RestoreDrill.Trigger.MANUAL,
    rng: random.Random | None = None,
) -> RestoreDrill:
    """Start a restore drill: a random sample of clips from one tier to the scratch target.

    Without ``tier``, tiers take turns (the one after the last drill's). The
    drill's restore needs no approval: it only writes to the scratch target
    and is deleted when verified. Raises DrillError when the project has no
    scratch target or no verified copies to sample.
    """
    target = (
        project.restore_targets.filter(scratch=True).order_by("pk").first()
        or project.restore_targets.filter(name="scratch").first()
    )
    if target is None:
        raise DrillError(f"project {project.code} has no scratch restore target: add one named 'scratch'")
    tiers = _drill_tiers(project)
    if tier:
        if tier not in tiers:
            raise DrillError(f"project {project.code} has no verified copies online in the {tier} tier")
    else:
        if not tiers:
            raise DrillError(f"project {project.code} has no verified copies online to drill with")
        last = project.restore_drills.values_list("tier", flat=True).first()
        tier = tiers[(tiers.index(last) + 1) % len(tiers)] if last in tiers else tiers[0]
    count = (
        sample_clips
        or getattr(getattr(project, "drill_schedule", None), "sample_clips", None)
        or (settings.REELVAULT_DRILL_SAMPLE_CLIPS)
    )
    eligible = list(
        Clip.objects.filter(
            project=project,
            files__copies__state=Copy.State.VERIFIED,
            files__copies__volume__tier=tier,
            files__copies__volume__online=True,
        )
        .exclude(files__copies__volume__kind__in=[Volume.Kind.CARD, Volume.Kind.S3])
        .values_list("pk", "name")
        .distinct()
        .order_by("pk")
    )
    picker = rng or random.Random()  # noqa: S311 - sampling, not security
    sample = picker.sample(eligible, min(count, len(eligible)))
    files = list(
        MediaFile.objects.filter(
            clip_id__in=[pk for pk, _ in sample],
            copies__state=Copy.State.VERIFIED,
            copies__volume__tier=tier,
            copies__volume__online=True,
        )
        .select_related("card", "clip")
        .distinct()
        .order_by("pk")
    )
    if not files:
        raise DrillError(f"no file of project {project.code} has a verified copy in the {tier} tier")
    with transaction.atomic():
        drill = RestoreDrill.objects.create(
            project=project,
            tier=tier,
            trigger=trigger,
            started_by_id=_user_id(actor),
            clips=sorted(name for _, name in sample),
            bytes=sum(f.size for f in files),
        )
        audit_record(
            actor=actor,
            action="restore.drill_start",
            obj=drill,
            project=project,
            after={"tier": tier, "trigger": trigger, "clips": drill.clips, "bytes": drill.bytes},
        )
    restore = _create(
        actor=actor,
        project=project,
        target=target,
        files=files,
        reason=f"restore drill {drill.pk} ({tier} tier, {trigger})",
        selection={"drill": drill.pk, "clips": [pk for pk, _ in sample]},
        required_approvals=0,
        is_drill=True,
        source_tier=tier,
    )
    RestoreDrill.objects.filter(pk=drill.pk).update(request=restore)
    drill.refresh_from_db()
    return drill


def _drill_finish(restore: RestoreRequest) -> None:
    """Record the drill's time and speed, clean the scratch target, alert on failure."""
    drill = RestoreDrill.objects.filter(request=restore).select_related("project").first()
    if drill is None or drill.state != RestoreDrill.State.RUNNING:
        return
    errors = [restore.error] if restore.error else []
    cleaned = False
    try:
        copying.remove_restore_folder(
            Path(restore.target.path) / restore.folder, inside=Path(restore.target.path)
        )
        cleaned = True
    except (OSError, ValueError) as exc:
        errors.append(f"the scratch folder could not be cleaned: {exc}")
    passed = restore.state == RestoreRequest.State.VERIFIED and not errors
    finished = timezone.now()
    seconds = (finished - drill.created_at).total_seconds()
    mb_per_second = (
        restore.size_bytes / restore.seconds / 1_000_000 if restore.seconds > 0 and passed else None
    )
    with transaction.atomic():
        RestoreDrill.objects.filter(pk=drill.pk).update(
            state=RestoreDrill.State.PASSED if passed else RestoreDrill.State.FAILED,
            seconds=seconds,
            mb_per_second=mb_per_second,
            cleaned=cleaned,
            error="\n".join(errors),
            finished_at=finished,
        )
        audit_record(
            actor=None,
            action="restore.drill_finish",
            obj=drill,
            project=drill.project,
            after={
                "passed": passed,
                "seconds": round(seconds, 3),
                "mb_per_second": mb_per_second,
                "cleaned": cleaned,
                "error": "\n".join(errors),
            },
        )
        # A failed drill raises an alert, a passed one clears it, after the commit (restore/alerting.py).
        drill_finished_after_commit(drill_id=drill.pk)


def restore_drills_due(*, now: datetime | None = None) -> list[int]:
    """Start the drills whose schedule is due (beat calls this); return the new drill ids."""
    now = now or timezone.now()
    started = []
    for schedule in DrillSchedule.objects.filter(enabled=True).select_related("project"):
        project = schedule.project
        if project.restore_drills.filter(state=RestoreDrill.State.RUNNING).exists():
            continue
        last = project.restore_drills.filter(trigger=RestoreDrill.Trigger.SCHEDULE).first()
        if last is not None and last.created_at > now - timedelta(hours=schedule.interval_hours):
            continue
        try:
            drill = restore_drill_start(
                actor=None,
                project=project,
                trigger=RestoreDrill.Trigger.SCHEDULE,
                sample_clips=schedule.sample_clips,
            )
        except DrillError as exc:
            logger.warning("scheduled drill of %s not started: %s", project.code, exc)
            continue
        started.append(drill.pk)
    return started


@transaction.atomic(durable=True)
def drill_schedule_set(
    *, actor: AnyUser | None, project: Project, interval_hours: int, sample_clips: int, enabled: bool = True
) -> DrillSchedule:
    schedule, _ = DrillSchedule.objects.update_or_create(
        project=project,
        defaults={"interval_hours": interval_hours, "sample_clips": sample_clips, "enabled": enabled},
    )
    schedule.full_clean()
    audit_record(
        actor=actor,
        action="restore.drill_schedule",
        obj=schedule,
        project=project,
        after={"interval_hours": interval_hours, "sample_clips": sample_clips, "enabled": enabled},
    )
    return schedule

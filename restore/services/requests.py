"""Restore targets and requests: requesting, approving or rejecting, queueing on the right host."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import Notification
from catalog.audit import audit_record
from catalog.models import Clip, MediaFile, Project, Volume
from catalog.permissions import (
    AnyUser,
    Cap,
    restore_target_allowed,
    restore_waits_for_signoff,
    role_of,
    user_can,
)
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
            f"{who} asks to restore {len(files)} file{'s' if len(files) != 1 else ''} "
            f"({format_bytes(restore.size_bytes)}) to "
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
                # One notification for this change: queueing follows at once and says nothing more.
                announce(
                    locked,
                    "approved, going to the worker",
                    f"Approved by {who}; it is queued for a worker now and you hear again when it is "
                    "verified or failed." + (f"\nComment: {comment}" if comment else ""),
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
    return _decide_each(actor=actor, restores=restores, comment=comment, approve=True)


def restore_requests_reject(
    *, actor: AnyUser, restores: Iterable[RestoreRequest], comment: str
) -> list[BulkOutcome]:
    """Reject several requests with one comment, each in its own transaction (as approving)."""
    return _decide_each(actor=actor, restores=restores, comment=comment, approve=False)


def _decide_each(
    *, actor: AnyUser, restores: Iterable[RestoreRequest], comment: str, approve: bool
) -> list[BulkOutcome]:
    outcomes = []
    for restore in restores:
        try:
            if approve:
                done = restore_request_approve(actor=actor, restore=restore, comment=comment)
            else:
                done = restore_request_reject(actor=actor, restore=restore, comment=comment)
        except RestoreRefused as exc:
            outcomes.append(BulkOutcome(restore.pk, False, restore.state, 403, str(exc)))
        except RestoreConflict as exc:
            outcomes.append(BulkOutcome(restore.pk, False, restore.state, 409, str(exc)))
        except RestoreError as exc:
            outcomes.append(BulkOutcome(restore.pk, False, restore.state, 400, str(exc)))
        else:
            outcomes.append(BulkOutcome(done.pk, True, done.state, 200, ""))
    return outcomes


# --- Withdrawing and expiring ------------------------------------------------------------


def restore_request_withdraw(*, actor: AnyUser, restore: RestoreRequest, reason: str = "") -> RestoreRequest:
    """The requester takes back a request nobody has finished deciding on; returns it ``withdrawn``.

    Raises RestoreRefused (audit-logged as restore.withdraw_refused) for anyone
    but the requester, RestoreConflict once it is approved, rejected or ended.
    """
    refusal: str | None = None
    with transaction.atomic(durable=True):
        locked = (
            RestoreRequest.objects.select_for_update(of=("self",))
            .select_related("project", "target", "requester")
            .get(pk=restore.pk)
        )
        if locked.requester_id is None or locked.requester_id != actor.pk:
            refusal = "only the person who asked for a restore can withdraw it"
        else:
            if locked.state != RestoreRequest.State.REQUESTED:
                raise RestoreConflict(
                    f"restore {locked.pk} is {locked.get_state_display().lower()}; "
                    "only a request still waiting for approval can be withdrawn"
                )
            locked.state = RestoreRequest.State.WITHDRAWN
            locked.decided_at = locked.finished_at = timezone.now()
            locked.save(update_fields=["state", "decided_at", "finished_at"])
            audit_record(
                actor=actor,
                action="restore.withdraw",
                obj=locked,
                project=locked.project,
                before={"state": RestoreRequest.State.REQUESTED},
                after={"state": locked.state, "reason": reason.strip()},
            )
            who = actor.get_username() if isinstance(actor, AbstractBaseUser) else "?"
            announce(
                locked,
                "withdrawn",
                f"Withdrawn by {who}; nothing to decide any more."
                + (f"\nReason: {reason.strip()}" if reason.strip() else ""),
            )
    if refusal is not None:
        refuse(
            actor=actor,
            action="restore.withdraw_refused",
            project=restore.project,
            reason=refusal,
            obj=restore,
        )
    restore.refresh_from_db()
    return restore


def restore_requests_expire(*, now: datetime | None = None) -> list[int]:
    """Expire requests still undecided ``REELVAULT_RESTORE_REQUEST_TTL_HOURS`` after they were made.

    Returns the ids expired by this call (none when the setting is 0). Each is
    expired in its own transaction with an audit entry and a notification to
    the requester and the admins; a request decided meanwhile is left alone.
    """
    hours = settings.REELVAULT_RESTORE_REQUEST_TTL_HOURS
    if hours <= 0:
        return []
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    due = RestoreRequest.objects.filter(
        state=RestoreRequest.State.REQUESTED, is_drill=False, created_at__lt=cutoff
    ).values_list("pk", flat=True)
    expired = []
    for request_id in list(due):
        with transaction.atomic(durable=True):
            locked = (
                RestoreRequest.objects.select_for_update(of=("self",))
                .select_related("project", "target", "requester")
                .filter(pk=request_id, state=RestoreRequest.State.REQUESTED)
                .first()
            )
            if locked is None:
                continue
            locked.state = RestoreRequest.State.EXPIRED
            locked.decided_at = locked.finished_at = timezone.now()
            locked.save(update_fields=["state", "decided_at", "finished_at"])
            audit_record(
                actor=None,
                action="restore.expire",
                obj=locked,
                project=locked.project,
                before={"state": RestoreRequest.State.REQUESTED},
                after={"state": locked.state, "ttl_hours": hours},
            )
            announce(
                locked,
                "expired without a decision",
                f"Nobody approved or rejected it within {hours} hours, so it expired and nothing was "
                "restored. Ask again if the footage is still needed.",
                level=Notification.Level.WARNING,
            )
            expired.append(request_id)
    return expired


# --- Queueing and running ----------------------------------------------------------------


def _locked_in_state(request_id: int, state: str) -> RestoreRequest | None:
    """The request, locked for the caller's transaction, if it is still in ``state``; else None."""
    return (
        RestoreRequest.objects.select_for_update(of=("self",))
        .select_related("project", "target", "requester")
        .filter(pk=request_id, state=state)
        .first()
    )


def restore_request_queue(*, request_id: int) -> RestoreRequest | None:
    """Move an approved request to ``queued`` and send it to its host's worker.

    Returns the request (queued, or ``waiting`` when it must wait for a day's
    sign-off), or None when it was not ``approved`` (already queued by someone
    else: safe to call twice). The job runs on the target's
    host when the target names one, else on the host holding most of the
    best copies.
    """
    with transaction.atomic(durable=True):
        restore = _locked_in_state(request_id, RestoreRequest.State.APPROVED)
        if restore is None:
            return None
        if _hold_for_signoff(restore, before=RestoreRequest.State.APPROVED):
            return restore
        file_ids = list(restore.items.values_list("media_file_id", flat=True))
        restore.host = restore.target.host or selectors.source_host(
            media_file_ids=file_ids,
            default=settings.REELVAULT_HOSTNAME,
            excluded_volume_ids=restore.excluded_volume_ids,
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
        # Not announced: the approval that led here already told everyone (one notification per
        # decision), and the next news worth a notification is verified or failed.
        queue = host_queue(restore.host)

        def enqueue() -> None:
            from restore.tasks import restore_request_run_task

            # When the broker does not take it, the restore stays queued: it is approved and
            # must run, and beat re-sends queued restores no worker picked up
            # (reelvault/waiting.py). The caller hears QueueUnavailable (503, not 500).
            job_enqueue(restore_request_run_task, args=[request_id], queue=queue)

        transaction.on_commit(enqueue)
    return restore


# --- Waiting for sign-off ----------------------------------------------------------------
#
# Sign-off advances permissions: where the project turns it on, an approved
# editorial restore of footage from a day not yet signed off is held in state
# ``waiting`` (catalog.permissions.restore_waits_for_signoff decides). Signing
# the day off releases it (``restore_requests_resume``, called by the
# producer's view after the sign-off commits, and by beat's recovery sweep);
# reopening the day holds again the ones not started yet
# (``restore_requests_hold``). A restore already running finishes: it reads
# verified copies only and verifies every file it writes.


def _hold_for_signoff(restore: RestoreRequest, *, before: str) -> bool:
    """In the caller's transaction, with the row locked: hold the request if it must wait; say whether."""
    if restore.is_drill:
        return False
    days = restore_waits_for_signoff(
        restore.requester, restore.project, day_ids=selectors.restore_day_ids(restore=restore)
    )
    if not days:
        return False
    restore.state = RestoreRequest.State.WAITING
    restore.save(update_fields=["state"])
    audit_record(
        actor=None,
        action="restore.wait_for_signoff",
        obj=restore,
        project=restore.project,
        before={"state": before},
        after={"state": restore.state, "days": [d.number for d in days]},
    )
    announce(
        restore,
        f"waiting for the sign-off of {selectors.days_text(days)}",
        f"{restore.project.code} holds editorial restores of a shoot day's footage until the producer "
        f"signs the day off. This restore starts by itself once {selectors.days_text(days)} "
        f"{'is' if len(days) == 1 else 'are'} signed off.",
    )
    return True


def _waiting_touching(state: str, *, project_id: int | None, day_ids: Sequence[int] | None) -> list[int]:
    rows = RestoreRequest.objects.filter(state=state, is_drill=False)
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    if day_ids is not None:
        rows = rows.filter(items__media_file__clip__day_id__in=list(day_ids))
    return sorted(set(rows.values_list("pk", flat=True)))


def restore_requests_resume(
    *, project_id: int | None = None, day_ids: Sequence[int] | None = None
) -> list[int]:
    """Let waiting requests go once nothing holds them any more (a day signed off, the rule turned off).

    Each request is re-checked against the gate in its own transaction: one
    still waiting for another day stays. Released requests are queued after
    the commit. Returns the ids released. Safe to call any number of times.
    """
    released = []
    for request_id in _waiting_touching(RestoreRequest.State.WAITING, project_id=project_id, day_ids=day_ids):
        with transaction.atomic(durable=True):
            restore = _locked_in_state(request_id, RestoreRequest.State.WAITING)
            if restore is None or restore_waits_for_signoff(
                restore.requester, restore.project, day_ids=selectors.restore_day_ids(restore=restore)
            ):
                continue
            restore.state = RestoreRequest.State.APPROVED
            restore.save(update_fields=["state"])
            audit_record(
                actor=None,
                action="restore.release",
                obj=restore,
                project=restore.project,
                before={"state": RestoreRequest.State.WAITING},
                after={"state": restore.state, "because": "the footage's shoot days are signed off"},
            )
            transaction.on_commit(lambda request_id=request_id: restore_request_queue(request_id=request_id))  # type: ignore[misc]
            released.append(request_id)
    return released


def restore_requests_hold(*, day_ids: Sequence[int]) -> list[int]:
    """Hold again the queued (not started) requests of these days that must wait (a day reopened).

    Returns the ids held. Requests already running finish (see above).
    """
    held = []
    for request_id in _waiting_touching(RestoreRequest.State.QUEUED, project_id=None, day_ids=day_ids):
        if restore_request_hold_if_waiting(request_id=request_id):
            held.append(request_id)
    return held


def restore_request_hold_if_waiting(*, request_id: int) -> bool:
    """Hold a queued request that must wait for a sign-off (the runner asks before it starts); say whether."""
    with transaction.atomic(durable=True):
        restore = _locked_in_state(request_id, RestoreRequest.State.QUEUED)
        return restore is not None and _hold_for_signoff(restore, before=RestoreRequest.State.QUEUED)

"""Running a restore job: claim, copy each file from its best copy, condemn bad copies, finish."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.models import Notification
from catalog import storage
from catalog.audit import audit_record
from catalog.copies import copy_condemn_if_verified
from catalog.models import Copy
from copyengine import filecopy, fsnames, mhl
from copyengine.backends import CardWriter, DestinationError
from core.queues import host_queue
from formats.units import format_bytes
from restore import selectors
from restore.models import (
    RestoreItem,
    RestoreRequest,
    RestoreTarget,
)
from restore.services.base import REELVAULT_VERSION, RestoreError, announce
from restore.services.drills import restore_drill_finish
from restore.services.requests import (
    restore_request_hold_if_waiting,
    restore_request_queue,
    restore_requests_resume,
    restore_target_path_check,
)

#: How often the runner writes progress and its heartbeat.
PROGRESS_INTERVAL = 0.5
#: An approved request not queued within this time (process died in between) is queued by recovery.
APPROVED_GRACE = timedelta(minutes=1)


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
        queued = restore_request_queue(request_id=request_id)
        if queued is not None and queued.state == RestoreRequest.State.QUEUED:
            recovered.append(request_id)
    # Requests waiting for a sign-off that has happened meanwhile (the release after it was lost).
    recovered.extend(restore_requests_resume())
    return recovered


def _condemn(copy: Copy, state: str, message: str, found: str, restore: RestoreRequest) -> None:
    """Mark a copy corrupt or missing if it is still verified: catalog.copies audits and alerts it."""
    project = restore.project
    copy_condemn_if_verified(
        actor=None,
        copy=copy,
        state=state,
        error=message,
        hash_found=found,
        source=f"Restore drill {restore.pk}" if restore.is_drill else f"Restore {restore.pk}",
        context={"restore": restore.pk},
        link=f"/p/{project.code}/drills/" if restore.is_drill else f"/restores/{restore.pk}/",
    )


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


def _target_stop(exc: DestinationError, restore: RestoreRequest, item: RestoreItem) -> _StopJob:
    where = f"{restore.target.path.rstrip('/')}/{restore.folder}/{item.path}"
    if exc.reason == "full":
        return _StopJob(
            f"the restore target is full while writing {where}: free space on it or choose another target"
        )
    return _StopJob(
        f"the restore target {restore.target.name} cannot be written while writing {where} ({exc}); "
        "check it is mounted (or reachable) and writable, then the job can be re-queued"
    )


def _restore_item(
    item: RestoreItem,
    candidates: list[Copy],
    writer: CardWriter,
    sources: storage.CopySources,
    progress: _Progress,
) -> None:
    restore = item.request
    media_file = item.media_file
    tries: list[dict[str, Any]] = list(item.tries)
    started = time.monotonic()
    progress.file_started(item.path)
    outcome_error = ""
    mtime_ns = int(media_file.mtime.timestamp() * 1_000_000_000) if media_file.mtime is not None else None
    for copy in candidates:
        try:
            reader, path = sources.open(copy)
        except DestinationError as exc:
            if storage.is_object_storage(copy.volume.location):
                # An unreachable bucket says nothing about the copy: try the next one, condemn nothing.
                tries.append({"volume": copy.volume.label, "outcome": "unavailable", "message": str(exc)})
                continue
            # A volume folder that is not there holds no copy (as a missing file would).
            message = f"{Path(copy.volume.location) / copy.path} is missing ({exc})"
            tries.append({"volume": copy.volume.label, "outcome": "missing", "message": message})
            _condemn(copy, Copy.State.MISSING, message, "", restore)
            continue
        try:
            result = filecopy.copy_verified(
                reader=reader,
                path=path,
                writer=writer,
                relpath=item.path,
                expected_xxh128=media_file.xxh128,
                size=media_file.size,
                mtime_ns=mtime_ns,
                on_progress=progress.on_bytes,
                max_bytes_per_second=progress.throttle,
            )
        except filecopy.SourceMissingError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "missing", "message": str(exc)})
            _condemn(copy, Copy.State.MISSING, str(exc), "", restore)
            continue
        except filecopy.SourceCorruptError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "corrupt", "message": str(exc)})
            _condemn(copy, Copy.State.CORRUPT, str(exc), exc.found, restore)
            continue
        except filecopy.SourceUnavailableError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "unavailable", "message": str(exc)})
            continue
        except filecopy.DestinationFileError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "target", "message": str(exc)})
            outcome_error = str(exc)
            break
        except filecopy.DestinationError as exc:
            RestoreItem.objects.filter(pk=item.pk).update(tries=tries)
            raise _target_stop(exc, restore, item) from exc
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
    """Record every verified file of the restore in an ASC MHL generation at the restore folder.

    A file whose name ASC MHL cannot record (mhl.unrecordable) stays verified
    and gets the reason in its result; the others are recorded.
    """
    items = restore.items.filter(state=RestoreItem.State.VERIFIED).select_related("media_file")
    records = []
    for item in items:
        media_file = item.media_file
        if (problem := mhl.unrecordable(item.path)) is not None:
            RestoreItem.objects.filter(pk=item.pk).update(error=f"restored and verified, but {problem}")
            continue
        mtime = media_file.mtime or datetime.fromtimestamp(
            (folder / fsnames.to_fs(item.path)).stat().st_mtime, tz=UTC
        )
        records.append(
            mhl.FileRecord(path=item.path, size=item.size, mtime=mtime, hashes={"xxh128": media_file.xxh128})
        )
    if not records:
        return ""
    # A run killed between a generation and its chain left the history half-updated: finish it.
    mhl.recover_history(folder)
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
    if restore_request_hold_if_waiting(request_id=request_id):
        return None  # its day was reopened after it was queued: it waits for the sign-off again
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
    target = restore.target
    object_storage = target.kind == RestoreTarget.Kind.S3
    where = f"{target.path.rstrip('/')}/{restore.folder}"
    run_started = time.monotonic()
    progress = _Progress(restore)
    sources = storage.CopySources()
    generation = ""
    try:
        if not object_storage:
            try:
                # Again here, on the host that writes: the roots and symlinks are this host's.
                restore_target_path_check(target.path)
            except RestoreError as exc:
                raise _StopJob(f"refused to write to restore target {target.name}: {exc}") from exc
        if not object_storage and not Path(target.path).is_dir():
            raise _StopJob(
                f"target folder {target.path} does not exist on {settings.REELVAULT_HOSTNAME}: mount it, "
                "then the job can be re-queued"
            )
        try:
            # Creates the restore folder, takes its lock and removes the
            # temporary files of a killed run (backends/base.py).
            writer = storage.place_for(target.path, name=target.name).open_writer(restore.folder)
        except DestinationError as exc:
            raise _StopJob(f"cannot open the restore folder {where}: {exc}") from exc
        with writer:
            pending = list(
                restore.items.filter(state=RestoreItem.State.PENDING)
                .select_related("media_file")
                .order_by("path")
            )
            candidates = selectors.best_copies(
                media_file_ids=[i.media_file_id for i in pending],
                host=settings.REELVAULT_HOSTNAME,
                tier=restore.source_tier,
                exclude_volume_ids=restore.excluded_volume_ids,
            )
            for item in pending:
                item.request = restore
                # Re-read this file's candidates: an earlier file may have condemned a shared volume's copy.
                fresh = [
                    c
                    for c in candidates.get(item.media_file_id, [])
                    if Copy.objects.filter(pk=c.pk, state=Copy.State.VERIFIED).exists()
                ]
                _restore_item(item, fresh, writer, sources, progress)
            progress.write(force=True)
            if not object_storage:
                # TODO: an ASC MHL history in a bucket needs copyengine/mhl.py to write through a backend.
                generation = _write_history(restore, Path(target.path) / restore.folder)
    except _StopJob as exc:
        return _finish(restore, run_started, error=str(exc))
    except (OSError, mhl.MHLError) as exc:
        return _finish(
            restore, run_started, error=f"the ASC MHL history could not be written in {where}: {exc}"
        )
    finally:
        sources.close()
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
            announce(
                restore,
                "verified",
                (
                    f"All {verified} files ({format_bytes(restore.size_bytes)}) are at "
                    if verified != 1
                    else f"The file ({format_bytes(restore.size_bytes)}) is at "
                )
                + f"{restore.target.path}/{restore.folder}, "
                "read back and verified. The ASC MHL history is in its ascmhl/ folder.",
            )
        else:
            announce(restore, "failed", restore.error, level=Notification.Level.WARNING)
    if restore.is_drill:
        restore_drill_finish(restore=restore)
    return restore


def restore_request_fail(*, request_id: int, message: str) -> None:
    """Mark a job failed with the reason (the runner itself crashed)."""
    restore = RestoreRequest.objects.select_related("project", "target", "requester").get(pk=request_id)
    if restore.state in RestoreRequest.ACTIVE:
        _finish(restore, time.monotonic(), error=message)

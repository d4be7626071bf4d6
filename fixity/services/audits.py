"""Fixity audits: request, run (claim, check, reconcile, record), schedule, unreachable volumes, repair.

A run of one volume, step by step (``fixity_run_execute``):
  1. Claim the run (queued, or running with a dead worker's stale heartbeat).
  2. Open the volume: a folder that is not there, is empty while the catalog
     holds copies on it, or is another drive (``volume_identity_verify``), or a
     bucket that does not answer, makes the run *unreachable*: the volume is
     marked unreachable since then, on this host, and no copy changes.
  3. At the first start, plan the copies to check (incremental: oldest proof
     first within the byte budget; full: all; sample: N at random), then
     read them in path order. A resumed run goes on from ``position``.
  4. Hash each planned copy and record what was found in batches, only through
     ``catalog.copies.copies_record``: PROVEN with the hash, CORRUPT with the
     hash found (or the read error), MISSING. Before a batch with a problem is
     recorded the volume is checked again: if it went away the run ends
     *interrupted* and only the proofs are kept, so an unplugged drive never
     turns into missing copies.
  5. Reconcile the volume's listing with the catalog: copies whose file is not
     listed are missing; files the catalog does not know are *extra*; a missing
     copy whose content sits at another path is *moved* (accepting it is one
     click). Nothing is deleted.
  6. Append an ASC MHL generation (verified / failed entries) to the history of
     every audited card folder that has one; a malformed history is a finding
     naming its file, and the files were checked against the catalog anyway.
  7. Finish: the report, the volume's next due time, and for replicas on
     non-WORM folders a repair job for the corrupt and missing copies.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve_key
from catalog.audit import audit_record
from catalog.copies import CopyCheck, Found, copies_record
from catalog.display import when_text
from catalog.models import Copy, Volume
from catalog.permissions import AnyUser
from catalog.volumes import VolumeIdentityError, volume_expected_offline, volume_identity_verify
from catalog.worm import worm_copy_move_refuse
from copyengine.backends.base import PARTIAL_SUFFIX
from core.queues import host_queue
from fixity import selectors
from fixity.models import FixityRun, VolumeFixity
from fixity.storage import (
    QUARANTINE_MARK,
    S3_SCHEME,
    FileUnreadable,
    LocalStore,
    S3Store,
    Store,
    Unreachable,
    store_open,
)

#: Files recorded per copies_record call (one audit entry each), and progress written between.
BATCH_FILES = 100
BATCH_SECONDS = 2.0
#: Findings kept in a run's report (the counts are always complete).
FINDINGS_KEPT = 1000
#: Bytes of candidate files hashed to recognise moved copies, per run.
MOVED_HASH_BUDGET = 50 * 10**9
REELVAULT_VERSION = "0.1.0"

Progress = Callable[[FixityRun], None]


class FixityError(Exception):
    """A request that cannot be done as asked; the message says why."""


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.REELVAULT_JOB_STALE_SECONDS)


def _link(run: FixityRun) -> str:
    return f"/fixity-runs/{run.pk}/"


def _source(run: FixityRun) -> str:
    return f"Fixity audit {run.pk} of {run.volume.label}"


def _is_s3(volume: Volume) -> bool:
    return volume.location.startswith(S3_SCHEME)


# --- Requesting -------------------------------------------------------------------------------


def fixity_run_request(
    *,
    actor: AnyUser | None,
    volume: Volume,
    kind: str = FixityRun.Kind.INCREMENTAL,
    sample_size: int | None = None,
    budget_bytes: int | None = None,
    scheduled: bool = False,
    enqueue: bool = True,
) -> FixityRun:
    """Queue an audit of ``volume`` and return it. Raises FixityError if one is already queued or running.

    Incremental runs take the volume's byte and time budget unless
    ``budget_bytes`` is given; full and sampled runs have none. With
    ``enqueue`` the job goes, after the commit, to the queue of the host that
    mounts the volume (any host for a bucket).
    """
    if kind not in FixityRun.Kind.values:
        raise FixityError(f"unknown audit kind {kind!r}")
    if kind == FixityRun.Kind.SAMPLE and not sample_size:
        raise FixityError("a sampled audit needs the number of files to check")
    policy = selectors.policy_for(volume=volume)
    budget_seconds = None
    if kind == FixityRun.Kind.INCREMENTAL:
        if budget_bytes is None:
            budget_bytes = policy.budget_bytes or None
            budget_seconds = policy.budget_minutes * 60 or None
    else:
        budget_bytes = None
    kind, check = _check_for(volume, kind)
    requester = actor if isinstance(actor, get_user_model()) else None
    try:
        with transaction.atomic(durable=True):
            run = FixityRun.objects.create(
                project=volume.project,
                volume=volume,
                kind=kind,
                check_mode=check,
                scheduled=scheduled,
                requested_by=requester,
                sample_size=sample_size if kind == FixityRun.Kind.SAMPLE else None,
                budget_bytes=budget_bytes,
                budget_seconds=budget_seconds,
            )
            audit_record(
                actor=actor,
                action="fixity.request",
                obj=run,
                project=volume.project,
                after={
                    "volume": volume.label,
                    "kind": kind,
                    "check": check,
                    "sample": run.sample_size,
                    "budget_bytes": budget_bytes,
                    "scheduled": scheduled,
                },
            )
            if enqueue:
                transaction.on_commit(lambda: _enqueue(run), robust=True)
    except IntegrityError as exc:
        raise FixityError(f"an audit of {volume.label} is already queued or running") from exc
    return run


def _check_for(volume: Volume, kind: str) -> tuple[str, str]:
    """The (kind, check) of an audit asked as ``kind``: incremental audits of a bucket set to the
    stored checksum compare it (HEAD only), unless its full read-back is due, which they then
    become; every other audit reads the copies back."""
    settings_ = VolumeFixity.objects.filter(volume=volume).first()
    if (
        kind != FixityRun.Kind.INCREMENTAL
        or not _is_s3(volume)
        or settings_ is None
        or settings_.check_mode != VolumeFixity.Check.STORED
    ):
        return kind, VolumeFixity.Check.READ
    due = settings_.last_read_back_at is None or settings_.last_read_back_at < timezone.now() - timedelta(
        days=settings_.read_back_every_days
    )
    if due:
        return FixityRun.Kind.FULL, VolumeFixity.Check.READ
    return kind, VolumeFixity.Check.STORED


def _queue_for(volume: Volume) -> str:
    return host_queue(None if _is_s3(volume) or not volume.host else volume.host)


def _enqueue(run: FixityRun) -> None:
    from fixity.tasks import fixity_run_execute_task

    fixity_run_execute_task.apply_async(args=[run.pk], queue=_queue_for(run.volume))


# --- Running ------------------------------------------------------------------------------------


def _claim(run_id: int) -> bool:
    now = timezone.now()
    claimable = Q(state=FixityRun.State.QUEUED) | Q(
        state=FixityRun.State.RUNNING, heartbeat_at__lt=now - _stale_after()
    )
    return (
        FixityRun.objects.filter(Q(pk=run_id) & claimable).update(
            state=FixityRun.State.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now)),
            heartbeat_at=now,
            host=settings.REELVAULT_HOSTNAME,
            attempts=F("attempts") + 1,
        )
        == 1
    )


def _open(volume: Volume) -> Store:
    """The volume's store, or Unreachable saying why (never a reason to call its copies missing)."""
    store = store_open(volume.location, throttle_bps=settings.REELVAULT_FIXITY_THROTTLE_BPS)
    if isinstance(store, LocalStore):
        if store.is_empty() and Copy.objects.filter(volume=volume).exists():
            store.close()
            raise Unreachable(
                f"{volume.location} is empty although the catalog holds copies on {volume.label}: "
                "the drive is probably not mounted there"
            )
        try:
            volume_identity_verify(volume=volume)
        except VolumeIdentityError as exc:
            store.close()
            raise Unreachable(str(exc)) from exc
    return store


def _volume_state(volume: Volume) -> VolumeFixity:
    state, _ = VolumeFixity.objects.get_or_create(volume=volume)
    return state


def _unreachable_key(volume: Volume) -> str:
    return f"fixity.unreachable:volume:{volume.pk}"


def _mark_unreachable(volume: Volume, reason: str) -> None:
    host = settings.REELVAULT_HOSTNAME
    with transaction.atomic():
        state = VolumeFixity.objects.select_for_update().get(pk=_volume_state(volume).pk)
        first = state.unreachable_since is None
        state.unreachable_since = state.unreachable_since or timezone.now()
        state.unreachable_host, state.unreachable_reason = host, reason
        state.save(update_fields=["unreachable_since", "unreachable_host", "unreachable_reason"])
        if first:
            audit_record(
                actor=None,
                action="fixity.unreachable",
                obj=volume,
                project=volume.project,
                after={"host": host, "reason": reason},
            )
    _unreachable_alert(volume=volume, state=state)


def _mark_reachable(volume: Volume) -> None:
    state = _volume_state(volume)
    if state.unreachable_since is None:
        return
    since = state.unreachable_since
    with transaction.atomic():
        VolumeFixity.objects.filter(pk=state.pk).update(
            unreachable_since=None, unreachable_host="", unreachable_reason=""
        )
        audit_record(
            actor=None,
            action="fixity.reachable",
            obj=volume,
            project=volume.project,
            after={"host": settings.REELVAULT_HOSTNAME, "unreachable_since": since.isoformat()},
        )
    alert_resolve_key(
        key=_unreachable_key(volume),
        resolution=f"{volume.label} answered again on {settings.REELVAULT_HOSTNAME}.",
    )


def _unreachable_alert(*, volume: Volume, state: VolumeFixity) -> bool:
    """Raise the volume's one "unreachable" alert when it has been so longer than its tier allows."""
    if state.unreachable_since is None:
        return False
    if volume_expected_offline(volume=volume):
        return False  # in transit, in the vault: expected, not a problem
    hours = selectors.policy_for(volume=volume).unreachable_alert_hours
    if timezone.now() - state.unreachable_since < timedelta(hours=hours):
        return False
    since = timezone.localtime(state.unreachable_since)
    alert_raise(
        project=volume.project,
        key=_unreachable_key(volume),
        kind="fixity.unreachable",
        severity=Severity.WARNING,
        title=f"{volume.project.code}: {volume.label} unreachable since {when_text(since)}",
        body=f"Audits cannot read {volume.label} ({volume.location}) "
        f"on {state.unreachable_host or 'its host'}: "
        f"{state.unreachable_reason}\nIts copies keep their last proof, but nothing proves them now. "
        "Mount it (or record where it is with a handoff), and the next audit will check it.",
        link=f"/volumes/{volume.pk}/fixity/",
        details={"volume": volume.label, "host": state.unreachable_host},
    )
    return True


@dataclass
class _Tally:
    proven: int = 0
    corrupt: int = 0
    missing: int = 0


class _Audit:
    """One attempt at a run: checks the planned copies, reconciles, writes ASC MHL generations."""

    def __init__(self, run: FixityRun, store: Store, on_progress: Progress | None) -> None:
        self.run = run
        self.volume = run.volume
        self.store = store
        self.on_progress = on_progress
        self.findings: list[dict[str, Any]] = list(run.findings)
        self.checked: list[tuple[Copy, str]] = []  # (copy, hash found) for the MHL generations
        self.started = time.monotonic()
        self.base_seconds = run.seconds  # what earlier attempts (killed workers) spent
        self.last_write = 0.0
        self.file_bytes = 0

    # 3. plan
    def plan(self) -> None:
        run = self.run
        if run.plan or run.position:
            return
        copies = Copy.objects.filter(
            volume=self.volume, state__in=[Copy.State.VERIFIED, Copy.State.CORRUPT, Copy.State.MISSING]
        )
        rows: list[tuple[int, str, int]]
        if run.kind == FixityRun.Kind.SAMPLE:
            rows = list(copies.order_by("?").values_list("pk", "path", "media_file__size")[: run.sample_size])
        elif run.kind == FixityRun.Kind.FULL:
            rows = list(copies.values_list("pk", "path", "media_file__size"))
        else:
            rows, total = [], 0
            oldest_first = copies.order_by(F("verified_at").asc(nulls_first=True), "pk")
            for row in oldest_first.values_list("pk", "path", "media_file__size").iterator():
                if rows and run.budget_bytes and total + row[2] > run.budget_bytes:
                    break
                rows.append(row)
                total += row[2]
        rows.sort(key=lambda row: row[1])  # read in path order: the disk seeks less
        run.plan = [pk for pk, _, _ in rows]
        run.plan_bytes = sum(size for _, _, size in rows)
        FixityRun.objects.filter(pk=run.pk).update(plan=run.plan, plan_bytes=run.plan_bytes)

    def _over_time(self) -> bool:
        budget = self.run.budget_seconds
        return bool(budget) and time.monotonic() - self.started >= budget  # type: ignore[operator]

    def on_bytes(self, n: int) -> None:
        self.file_bytes += n
        self._write()

    def _write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < 0.5:
            return
        self.last_write = now
        FixityRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())
        if self.on_progress is not None:
            shown = FixityRun(
                pk=self.run.pk,
                plan_bytes=self.run.plan_bytes,
                bytes_checked=self.run.bytes_checked + self.file_bytes,
                files_checked=self.run.files_checked,
                plan=self.run.plan,
            )
            self.on_progress(shown)

    def _finding(self, kind: str, path: str, detail: str, **more: Any) -> None:
        if len(self.findings) < FINDINGS_KEPT:
            self.findings.append({"kind": kind, "path": path, "detail": detail, **more})

    # 4. check
    def check_files(self) -> None:
        run = self.run
        stored = run.check_mode == VolumeFixity.Check.STORED and isinstance(self.store, S3Store)
        while run.position < len(run.plan):
            if run.kind == FixityRun.Kind.INCREMENTAL and self._over_time():
                return
            ids = run.plan[run.position : run.position + BATCH_FILES]
            by_id = Copy.objects.select_related("media_file").in_bulk(ids)
            self.store.expect([by_id[i].path for i in ids if i in by_id])
            checks: list[CopyCheck] = []
            batch_started, done_in_batch, bytes_in_batch = time.monotonic(), 0, 0
            for copy_id in ids:
                done_in_batch += 1
                copy = by_id.get(copy_id)
                if copy is None:
                    continue  # deleted from the catalog since the plan
                media_file = copy.media_file
                self.file_bytes = 0
                try:
                    found = (
                        self.store.stored_hash(copy.path, size=media_file.size, on_bytes=self.on_bytes)
                        if stored
                        else self.store.hash(copy.path, on_bytes=self.on_bytes)
                    )
                except FileUnreadable as exc:
                    checks.append(
                        CopyCheck(media_file=media_file, path=copy.path, found=Found.CORRUPT, error=str(exc))
                    )
                else:
                    if found is None:
                        checks.append(
                            CopyCheck(
                                media_file=media_file,
                                path=copy.path,
                                found=Found.MISSING,
                                error=f"{self.store.location}/{copy.path} is not on the volume",
                            )
                        )
                    elif found == media_file.xxh128:
                        checks.append(
                            CopyCheck(
                                media_file=media_file, path=copy.path, found=Found.PROVEN, hash_found=found
                            )
                        )
                        self.checked.append((copy, found))
                    else:
                        checks.append(
                            CopyCheck(
                                media_file=media_file,
                                path=copy.path,
                                found=Found.CORRUPT,
                                hash_found=found,
                                error=f"xxh128 {found} ({self.file_bytes} bytes), "
                                f"expected {media_file.xxh128} ({media_file.size} bytes)",
                            )
                        )
                        self.checked.append((copy, found))
                bytes_in_batch += self.file_bytes
                self.file_bytes = 0
                if run.kind == FixityRun.Kind.INCREMENTAL and self._over_time():
                    break
                if time.monotonic() - batch_started >= BATCH_SECONDS:
                    break
            self._record(checks, done_in_batch, bytes_in_batch)

    def _record(self, checks: Sequence[CopyCheck], advanced: int, nbytes: int) -> None:
        """Record one batch. A problem is believed only if the volume is still there afterwards."""
        run = self.run
        problems = [c for c in checks if c.found is not Found.PROVEN]
        gone: Unreachable | None = None
        if problems:
            try:
                self.store.check()
                if isinstance(self.store, LocalStore) and self.store.is_empty():
                    raise Unreachable(f"{self.store.location} is empty now: the drive was unmounted")
            except Unreachable as exc:
                gone, checks = exc, [c for c in checks if c.found is Found.PROVEN]
        tally = _Tally()
        with transaction.atomic():
            if checks:
                copies_record(
                    actor=None,
                    volume=self.volume,
                    checks=checks,
                    source=_source(run),
                    context={"fixity_run": run.pk},
                    link=_link(run),
                )
            for check in checks:
                if check.found is Found.PROVEN:
                    tally.proven += 1
                elif check.found is Found.MISSING:
                    tally.missing += 1
                    self._finding("missing", check.path, check.error)
                else:
                    tally.corrupt += 1
                    self._finding("corrupt", check.path, check.error, found=check.hash_found)
            if gone is None:
                run.position += advanced
                run.files_checked += len(checks)
                run.bytes_checked += nbytes
            else:
                run.files_checked += len(checks)
            run.proven += tally.proven
            run.corrupt += tally.corrupt
            run.missing += tally.missing
            FixityRun.objects.filter(pk=run.pk).update(
                position=run.position,
                files_checked=run.files_checked,
                bytes_checked=run.bytes_checked,
                proven=run.proven,
                corrupt=run.corrupt,
                missing=run.missing,
                findings=self.findings,
                seconds=self.base_seconds + (time.monotonic() - self.started),
                heartbeat_at=timezone.now(),
            )
        self._write(force=True)
        if gone is not None:
            raise gone

    # 5. reconcile
    def reconcile(self) -> None:
        run = self.run
        listing = self.store.listing()
        known = dict(Copy.objects.filter(volume=self.volume).values_list("path", "state"))
        absent = [
            copy
            for copy in Copy.objects.filter(volume=self.volume, state=Copy.State.VERIFIED).select_related(
                "media_file"
            )
            if copy.path not in listing
        ]
        if absent:
            self._record(
                [
                    CopyCheck(
                        media_file=copy.media_file,
                        path=copy.path,
                        found=Found.MISSING,
                        error=f"{self.store.location}/{copy.path} is not in the volume's listing",
                    )
                    for copy in absent
                ],
                0,
                0,
            )
        extras = {path: size for path, size in listing.items() if path not in known}
        # Moved: a missing copy's content at a path the catalog does not know (same size, same hash).
        missing = Copy.objects.filter(volume=self.volume, state=Copy.State.MISSING).select_related(
            "media_file"
        )
        by_size: dict[int, list[str]] = {}
        for path, size in extras.items():
            by_size.setdefault(size, []).append(path)
        budget, moved_to = MOVED_HASH_BUDGET, set[str]()
        hashes: dict[str, str | None] = {}
        for copy in missing:
            for candidate in by_size.get(copy.media_file.size, []):
                if candidate in moved_to:
                    continue
                if candidate not in hashes:
                    if budget < copy.media_file.size:
                        break
                    budget -= copy.media_file.size
                    try:
                        hashes[candidate] = self.store.hash(candidate, on_bytes=self.on_bytes)
                    except FileUnreadable:
                        hashes[candidate] = None
                if hashes[candidate] == copy.media_file.xxh128:
                    moved_to.add(candidate)
                    run.moved += 1
                    self._finding(
                        "moved",
                        copy.path,
                        f"the same content is at {candidate}",
                        to=candidate,
                        copy=copy.pk,
                    )
                    break
        for path in sorted(extras):
            if path in moved_to:
                continue
            name = path.rsplit("/", 1)[-1]
            if name.endswith(PARTIAL_SUFFIX):
                detail = "a left-over partial file of an interrupted copy"
            elif QUARANTINE_MARK in name:
                detail = "a corrupt copy kept in quarantine until an admin discards it"
            else:
                detail = "not in the catalog (copied by hand?)"
            run.extra += 1
            self._finding("extra", path, detail, size=extras[path])
        FixityRun.objects.filter(pk=run.pk).update(extra=run.extra, moved=run.moved, findings=self.findings)

    # 6. ASC MHL
    def write_histories(self) -> None:
        if not isinstance(self.store, LocalStore) or not self.checked:
            return
        from copyengine import mhl  # here, not at the top: ~0.1 s of every command's start-up

        by_folder: dict[str, list[tuple[Copy, str]]] = {}
        for copy, found in self.checked:
            folder, _, rest = copy.path.partition("/")
            if rest:
                by_folder.setdefault(folder, []).append((copy, found))
        for folder, entries in sorted(by_folder.items()):
            root = self.store.root / folder
            history_path = root / mhl.ASCMHL_FOLDER
            if not history_path.is_dir():
                continue
            try:
                mhl.read_history(root)
                if self.volume.worm:
                    continue
                records = [
                    mhl.FileRecord(
                        path=copy.path.partition("/")[2],
                        size=copy.media_file.size,
                        mtime=copy.media_file.mtime or timezone.now(),
                        hashes={"xxh128": found},
                    )
                    for copy, found in entries
                ]
                mhl.write_generation(
                    root,
                    files=records,
                    creator=mhl.Creator(
                        tool_version=REELVAULT_VERSION,
                        hostname=socket.gethostname(),
                        comment=f"Reelvault fixity audit {self.run.pk} of {self.volume.label}",
                    ),
                    process_type="in-place",
                )
            except (mhl.MHLError, ValueError, OSError) as exc:
                self._finding("mhl", folder, f"ASC MHL history not updated: {exc}")
        FixityRun.objects.filter(pk=self.run.pk).update(findings=self.findings)


def fixity_run_execute(*, run_id: int, on_progress: Progress | None = None) -> FixityRun | None:
    """Run (or resume) a queued audit. Returns the finished run, or None if it could not be claimed.

    Safe to run twice: the claim lets one runner in, and a resumed run goes on
    from the last recorded batch (a file it had hashed but not recorded is
    hashed again). See the module docstring for the steps.
    """
    if not _claim(run_id):
        return None
    run = FixityRun.objects.select_related("volume__project", "project").get(pk=run_id)
    volume = run.volume
    started = time.monotonic()
    try:
        store = _open(volume)
    except Unreachable as exc:
        _mark_unreachable(volume, str(exc))
        return _finish(run, started, state=FixityRun.State.UNREACHABLE, error=str(exc))
    _mark_reachable(volume)
    audit = _Audit(run, store, on_progress)
    try:
        audit.plan()
        audit.check_files()
        if run.position >= len(run.plan) or run.kind == FixityRun.Kind.INCREMENTAL:
            audit.reconcile()
        audit.write_histories()
    except Unreachable as exc:
        _mark_unreachable(volume, str(exc))
        return _finish(
            run,
            started,
            state=FixityRun.State.INTERRUPTED,
            error=f"{exc}. The copies not checked keep their last proof; the next audit goes on.",
        )
    finally:
        store.close()
    return _finish(run, started, state=FixityRun.State.FINISHED, error="")


def _next_due(volume: Volume, state: str) -> tuple[Any, bool]:
    """When the volume is next due, and whether every copy is now proven within its period."""
    now = timezone.now()
    gap = timedelta(seconds=settings.REELVAULT_FIXITY_RUN_GAP_SECONDS)
    if state != FixityRun.State.FINISHED:
        return now + gap, False
    period = timedelta(days=selectors.policy_for(volume=volume).every_days)
    oldest = Copy.objects.filter(volume=volume, state=Copy.State.VERIFIED).aggregate(m=Min("verified_at"))[
        "m"
    ]
    if oldest is None:
        return now + period, True
    if oldest < now - period:
        return now + gap, False  # more to cover this period: another budget's worth soon
    return oldest + period, True


def _finish(run: FixityRun, started: float, *, state: str, error: str) -> FixityRun:
    volume = run.volume
    # run.seconds is what earlier attempts spent (as loaded when this one started).
    seconds = run.seconds + (time.monotonic() - started)
    next_due, complete = _next_due(volume, state)
    now = timezone.now()
    with transaction.atomic():
        FixityRun.objects.filter(pk=run.pk).update(
            state=state, finished_at=now, heartbeat_at=now, seconds=seconds, error=error
        )
        run.refresh_from_db()
        fixity = VolumeFixity.objects.select_for_update().get(pk=_volume_state(volume).pk)
        fixity.last_run_at, fixity.next_due_at = now, next_due
        if complete or (state == FixityRun.State.FINISHED and run.kind == FixityRun.Kind.FULL):
            fixity.last_complete_at = now
        if (
            state == FixityRun.State.FINISHED
            and run.kind == FixityRun.Kind.FULL
            and run.check_mode == VolumeFixity.Check.READ
        ):
            fixity.last_read_back_at = now
        fixity.save(update_fields=["last_run_at", "next_due_at", "last_complete_at", "last_read_back_at"])
        audit_record(
            actor=None,
            action="fixity.finish",
            obj=run,
            project=run.project,
            before={"state": FixityRun.State.RUNNING},
            after={
                "state": state,
                "volume": volume.label,
                "files": run.files_checked,
                "bytes": run.bytes_checked,
                "proven": run.proven,
                "corrupt": run.corrupt,
                "missing": run.missing,
                "extra": run.extra,
                "moved": run.moved,
                "seconds": round(seconds, 3),
                "error": error,
            },
        )
        if state == FixityRun.State.FINISHED and (run.corrupt or run.missing) and repairable(volume):
            if settings.REELVAULT_FIXITY_REPAIR:
                transaction.on_commit(lambda: _enqueue_repair(run), robust=True)
    return run


def fixity_run_fail(*, run_id: int, message: str) -> None:
    """The runner itself crashed: end the run failed with the reason."""
    run = FixityRun.objects.select_related("volume__project", "project").get(pk=run_id)
    if run.state in FixityRun.ACTIVE:
        _finish(run, time.monotonic(), state=FixityRun.State.FAILED, error=message)


# --- Schedule -----------------------------------------------------------------------------------


def fixity_runs_recover() -> list[int]:
    """Re-enqueue running audits whose worker died (stale heartbeat); the claim makes it safe."""
    from fixity.tasks import fixity_run_execute_task

    stale = FixityRun.objects.filter(
        state=FixityRun.State.RUNNING, heartbeat_at__lt=timezone.now() - _stale_after()
    ).select_related("volume")
    recovered = []
    for run in stale:
        fixity_run_execute_task.apply_async(args=[run.pk], queue=_queue_for(run.volume))
        recovered.append(run.pk)
    return recovered


def fixity_audits_due() -> list[FixityRun]:
    """Beat's work: queue a scheduled incremental audit of every volume that is due; raise the
    "unreachable" alerts of volumes past their tier's threshold. Returns the runs queued.

    Camera cards are not audited (they are formatted once offloaded); a volume
    with an audit queued or running is skipped.
    """
    now = timezone.now()
    queued = []
    volumes = (
        Volume.objects.exclude(kind=Volume.Kind.CARD)
        .filter(Exists(Copy.objects.filter(volume=OuterRef("pk"))))
        .exclude(fixity_runs__state__in=FixityRun.ACTIVE)
        .filter(
            Q(fixity__isnull=True) | Q(fixity__next_due_at__isnull=True) | Q(fixity__next_due_at__lte=now)
        )
        .select_related("project")
        .distinct()
    )
    for volume in volumes:
        try:
            queued.append(fixity_run_request(actor=None, volume=volume, scheduled=True))
        except FixityError:
            continue  # another beat or a person queued one meanwhile
    for state in VolumeFixity.objects.filter(unreachable_since__isnull=False).select_related(
        "volume__project"
    ):
        _unreachable_alert(volume=state.volume, state=state)
    return queued


# --- Moved copies -------------------------------------------------------------------------------


def fixity_moved_accept(*, actor: AnyUser, run: FixityRun, path: str) -> Copy:
    """Accept a "moved" finding: after hashing it again, the copy's catalog path becomes the new one.

    Raises FixityError when the finding is unknown or the file at the new path
    no longer has the copy's content, Refused (audited) when the copy is on a
    WORM volume (catalog.worm).
    """
    finding = next((f for f in run.findings if f.get("kind") == "moved" and f.get("path") == path), None)
    if finding is None:
        raise FixityError(f"audit {run.pk} found no moved copy at {path}")
    copy = Copy.objects.select_related("media_file", "volume__project").get(pk=finding["copy"])
    # A file that moved on a WORM volume is not a path to record (audited, 403).
    worm_copy_move_refuse(actor=actor, copy=copy, action="fixity.moved_accept", new_path=finding["to"])
    try:
        store = store_open(copy.volume.location)
        found = store.hash(finding["to"], on_bytes=lambda n: None)
        store.close()
    except (Unreachable, FileUnreadable) as exc:
        raise FixityError(str(exc)) from exc
    if found != copy.media_file.xxh128:
        raise FixityError(f"{finding['to']} no longer holds the content of {path}; run a new audit")
    # Hashed above, outside the transaction: a large file must not hold it open.
    with transaction.atomic(durable=True):
        copies_record(
            actor=actor,
            volume=copy.volume,
            checks=[
                CopyCheck(
                    media_file=copy.media_file, path=finding["to"], found=Found.PROVEN, hash_found=found
                )
            ],
            source=f"Moved copy accepted from audit {run.pk}",
            context={"fixity_run": run.pk, "from": path},
            link=_link(run),
        )
        finding["accepted"] = True
        FixityRun.objects.filter(pk=run.pk).update(findings=run.findings)
        audit_record(
            actor=actor,
            action="fixity.moved_accept",
            obj=copy,
            project=copy.volume.project,
            before={"path": path},
            after={"path": finding["to"], "fixity_run": run.pk},
        )
    copy.refresh_from_db()
    return copy


def fixity_repair_request(*, actor: AnyUser, run: FixityRun) -> int:
    """Ask for the repair of the corrupt and missing copies of the run's volume; return how many there are.

    Raises FixityError when the volume cannot be repaired in place (WORM, a
    bucket, a camera card) or has nothing to repair. The repair job goes to
    the queue of the host mounting the volume after the commit.
    """
    volume = run.volume
    if not repairable(volume):
        raise FixityError(
            f"{volume.label} is "
            f"{'WORM' if volume.worm else 'object storage' if _is_s3(volume) else 'a camera card'}: "
            "its copies are never rewritten in place; make new copies elsewhere"
        )
    bad = Copy.objects.filter(volume=volume, state__in=[Copy.State.CORRUPT, Copy.State.MISSING]).count()
    if not bad:
        raise FixityError(f"{volume.label} has no corrupt or missing copy to repair")
    with transaction.atomic(durable=True):
        audit_record(
            actor=actor,
            action="fixity.repair_request",
            obj=run,
            project=run.project,
            after={"volume": volume.label, "copies": bad},
        )
        transaction.on_commit(lambda: _enqueue_repair(run), robust=True)
    return bad


# --- Repair -------------------------------------------------------------------------------------


def repairable(volume: Volume) -> bool:
    """Automatic repair rewrites a replica in place: only non-WORM folders, never camera cards or buckets."""
    return not volume.worm and not _is_s3(volume) and volume.kind != Volume.Kind.CARD


def _enqueue_repair(run: FixityRun) -> None:
    from fixity.tasks import fixity_repair_task

    fixity_repair_task.apply_async(args=[run.pk], queue=_queue_for(run.volume))

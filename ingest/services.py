"""Offload as a catalog operation: create the job, run the copy engine, record what it proved.

The copy engine (``copyengine/offload.py``) knows files and destinations; this
module knows projects, volumes, clips and copies. Its contract with the
catalog: a Copy becomes ``verified`` only from an engine outcome that read
the copy back and matched its hash (``catalog.copies`` refuses anything
else), and a card is ``safe_to_format`` only when every file on it meets
the SAFE_TO_FORMAT variant of the storage policy
(``catalog.policy.card_safe_to_format``: the required verified copies on
distinct volumes other than cards, on the required kinds of media; off-site
copies are left to the day's sign-off).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.audit import AuditEntry, audit_record, audit_record_many
from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import Clip, Copy, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser
from catalog.policy import card_safe_to_format
from catalog.volumes import VolumeIdentityError, volume_identity_verify
from copyengine import fsnames, mhl
from copyengine.backends.base import DestinationError
from copyengine.backends.local import LocalDestination
from copyengine.offload import (
    CardFile,
    CopyStatus,
    DestinationOutcome,
    FileOutcome,
    OffloadRefusedError,
    OffloadResult,
    ProgressSnapshot,
    folders_copy,
    offload_card,
    scan_card,
)
from core import names
from core.queues import QueueUnavailable, host_queue, job_enqueue
from formats import foldertemplate
from formats.cardformat import recognise_card
from formats.naming import group_clip_files, recognize_camera_name
from ingest import alerting, selectors
from ingest.models import OffloadJob, OffloadPreset, OffloadSummary, ScanProblemSummary
from metadata import extraction as metadata

logger = logging.getLogger(__name__)

REELVAULT_VERSION = "0.1.0"
HISTORY_FOLDER = mhl.ASCMHL_FOLDER


def _stale_after() -> timedelta:
    """A running job whose heartbeat is older than this is presumed dead (its worker was killed)."""
    return timedelta(seconds=settings.REELVAULT_JOB_STALE_SECONDS)


# How many finished files to record in one catalog transaction.
RECORD_BATCH = 200
# How often a running offload writes its progress row (phase, bytes, heartbeat):
# settings.REELVAULT_OFFLOAD_PROGRESS_MS. The engine reports 4 times a second from
# the thread that reads the card; a database round trip there stalls the copy, so
# the row is written at most once a second by default (and at every change of
# phase). Pages poll it every second.


class OffloadError(Exception):
    """The offload cannot be started; the message says what to change."""


class OffloadConfirmationNeeded(OffloadError):
    """A destination's drive is in warning health: the offload starts only when confirmed."""


def destinations_health_check(*, destinations: Sequence[Volume], confirm_warning: bool) -> list[str]:
    """Refuse a failing destination; return what was confirmed for warning ones (``[]`` if none).

    The card is often formatted once its copies verify, so a copy on a dying
    drive may soon be the only one: a failing drive never receives it, and a
    drive in warning only with the DIT's explicit, recorded confirmation.

    Raises:
        OffloadError: a destination's health is failing.
        OffloadConfirmationNeeded: a destination is in warning and ``confirm_warning`` is false.
    """
    failing = [v.label for v in destinations if v.health == Volume.Health.FAILING]
    if failing:
        raise OffloadError(
            f"{', '.join(failing)}: the drive health is failing; a copy there may be lost. "
            "Pick another destination and plan the drive's replacement"
        )
    warning = [v.label for v in destinations if v.health == Volume.Health.WARNING]
    if warning and not confirm_warning:
        raise OffloadConfirmationNeeded(
            f"{', '.join(warning)}: the drive health is warning. Confirm to write to it anyway, "
            "or pick another destination"
        )
    return [f"{label}: health warning, written to on confirmation" for label in warning]


def destinations_identity_check(*, destinations: Sequence[Volume]) -> None:
    """Refuse a destination whose mounted drive is another volume's (its identity file says so).

    Only destinations mounted on this host can be looked at; the worker that
    runs the offload checks them all again before writing.

    Raises:
        OffloadError: naming the drive found at the destination's path.
    """
    for volume in destinations:
        if volume.host not in ("", settings.REELVAULT_HOSTNAME) or not Path(volume.location).is_dir():
            continue
        try:
            volume_identity_verify(volume=volume)
        except VolumeIdentityError as exc:
            raise OffloadError(f"destination {volume.label}: {exc}") from None


class OffloadLabelError(OffloadError):
    """The card label cannot be a folder name (400 on the ``label`` field)."""


class OffloadBusyError(OffloadError):
    """The card already has an active offload job (409, with that job)."""

    def __init__(self, job: OffloadJob) -> None:
        super().__init__(
            f"card {job.label} is already being offloaded (job {job.pk}, {job.get_state_display().lower()}); "
            "wait for it or cancel it"
        )
        self.job = job


def _is_history_path(relpath: str) -> bool:
    """ASC MHL history folders travel separately (see _carry_over_history)."""
    return HISTORY_FOLDER in relpath.split("/")[:-1]


# --- Creating a job -----------------------------------------------------------


def _check_source(source: Path, *, within_ingest_roots: bool) -> Path:
    if not source.is_absolute():
        raise OffloadError(f"source {source} must be an absolute path")
    resolved = source.resolve()
    if not resolved.is_dir():
        raise OffloadError(f"source {source} is not a folder: mount the card or check the path")
    if within_ingest_roots:
        roots = [Path(root).resolve() for root in settings.REELVAULT_INGEST_ROOTS]
        if not any(resolved == root or root in resolved.parents for root in roots):
            raise OffloadError(
                f"source {source} is outside this host's ingest roots ({', '.join(map(str, roots))}); "
                "pick a card under them or set REELVAULT_INGEST_ROOTS"
            )
    return resolved


def check_no_overlap(*, source: Path, destination: Path) -> None:
    """Refuse a destination that is the card, inside it, or contains it (a copy would copy itself)."""
    source, destination = source.resolve(), destination.resolve()
    if destination == source or source in destination.parents or destination in source.parents:
        raise OffloadError(
            f"destination {destination} and the card {source} are the same folder or nested in one another; "
            "pick a destination outside the card"
        )


def _outside_volume_roots(volume: Volume) -> str | None:
    """Why an offload may not write to ``volume`` on this host, or None (checked on create and run)."""
    if names.under_roots(volume.location, settings.REELVAULT_VOLUME_ROOTS):
        return None
    return (
        f"volume {volume.label} is at {volume.location}, outside this host's volume roots "
        f"({', '.join(map(str, settings.REELVAULT_VOLUME_ROOTS))}): nothing is written there; "
        "mount the drive under one of them or set REELVAULT_VOLUME_ROOTS"
    )


# --- The shoot day and the folder of an offload ------------------------------------


def _card_recorded(files: Sequence[CardFile]) -> tuple[str | None, datetime | None]:
    """The camera letter and recording date of a card: from its clip names, else its oldest file."""
    found = recognise_card(f.relpath for f in files)
    if found.recorded is not None:
        return found.camera, datetime(
            found.recorded.year, found.recorded.month, found.recorded.day, 12, tzinfo=UTC
        )
    media = [f.mtime_ns for f in files if not _is_history_path(f.relpath) and f.size > 0]
    oldest = datetime.fromtimestamp(min(media) / 1e9, tz=UTC) if media else None
    return found.camera, oldest


def _first_day_create(*, actor: AnyUser | None, project: Project, recorded: datetime | None) -> ShootDay:
    """Day 1 of a project that has none yet, dated the card's recording date (or today)."""
    on_date = timezone.localtime(recorded).date() if recorded is not None else timezone.localdate()
    day = ShootDay(project=project, number=1, date=on_date)
    day.full_clean()
    day.save()
    audit_record(
        actor=actor,
        action="shootday.create",
        obj=day,
        project=project,
        after={"number": 1, "date": on_date.isoformat(), "why": "first offload of the project"},
    )
    return day


def offload_folder(*, project: Project, template: str, day: ShootDay, camera: str | None, label: str) -> str:
    """The card's folder on each destination: the project's folder template rendered for this card.

    Raises OffloadError when the template or the rendered path is refused (formats.foldertemplate).
    """
    values = foldertemplate.FolderValues(
        project=project.code,
        day=day.number,
        date=day.date,
        unit=day.unit,
        camera=camera or (label[:1].upper() if label[:1].isalpha() else "X"),
        card=label,
    )
    try:
        return foldertemplate.render(foldertemplate.validate(template), values)
    except foldertemplate.FolderTemplateError as exc:
        raise OffloadError(f"{exc}; fix the folder template in the project's offload preset") from None


def _card_volume(*, actor: AnyUser | None, project: Project, label: str, source: Path) -> Volume:
    card = project.volumes.filter(label__iexact=label).first()
    if card is None:
        card = Volume(
            project=project,
            label=label,
            kind=Volume.Kind.CARD,
            tier=Volume.Tier.HOT,
            host=settings.REELVAULT_HOSTNAME,
            location=str(source),
        )
        card.full_clean()
        card.save()
        audit_record(actor=actor, action="volume.register", obj=card, project=project, after={"kind": "card"})
    elif card.kind != Volume.Kind.CARD:
        raise OffloadError(f"label {label} is already used by the {card.get_kind_display()} volume {card}")
    return card


@transaction.atomic(durable=True)
def offload_job_create(
    *,
    actor: AnyUser | None,
    project: Project,
    source: Path,
    destinations: Sequence[Volume],
    label: str | None = None,
    algorithms: Sequence[str] = ("xxh128",),
    day: ShootDay | None = None,
    within_ingest_roots: bool = True,
    enqueue: bool = True,
    confirm_warning: bool = False,
    preset: OffloadPreset | None = None,
) -> OffloadJob:
    """Register the card and create a queued offload job; enqueue it after commit.

    Every job belongs to a shoot day: ``day``, else the one the preset's day
    rule (default: recording date, then current day) finds, else Day 1 created
    for the project. The card lands at the project preset's folder template
    (``{card}`` without a preset) on each destination; ``preset`` marks a job
    the preset started on its own.

    ``within_ingest_roots`` restricts the source to the host's configured
    ingest roots (pages and API); the command line may name any folder.
    ``confirm_warning`` accepts destinations whose drive health is warning
    (recorded on the job and in the audit entry); failing ones are refused.
    Raises OffloadError with what to change (OffloadConfirmationNeeded when
    only a confirmation is missing).
    """
    source = _check_source(source, within_ingest_roots=within_ingest_roots)
    label = label or source.name
    if (problem := names.label_problem(label)) is not None:
        raise OffloadLabelError(f"card label {label!r} {problem}; give another label")
    if not destinations:
        raise OffloadError("give at least one destination volume")
    for volume in destinations:
        if volume.project_id != project.pk:
            raise OffloadError(f"volume {volume.label} belongs to another project")
        if volume.kind == Volume.Kind.CARD:
            raise OffloadError(f"volume {volume.label} is a camera card, not a backup destination")
        if volume.kind == Volume.Kind.S3 or not Path(volume.location).is_absolute():
            raise OffloadError(
                f"volume {volume.label} is not a local folder; offload writes to mounted volumes"
            )
        if not volume.online:
            raise OffloadError(f"volume {volume.label} is marked offline: mount it and mark it online")
        if (problem := _outside_volume_roots(volume)) is not None:
            raise OffloadError(problem)
        check_no_overlap(source=source, destination=Path(volume.location))
    confirmations = destinations_health_check(destinations=destinations, confirm_warning=confirm_warning)
    destinations_identity_check(destinations=destinations)
    camera, recorded = _card_recorded(scan_card(source).files)
    # Serialise job creation per project: concurrent requests for one card
    # (four clicks, two DITs) wait here, then see the first one's job. NO KEY
    # UPDATE leaves rows that merely reference the project (clips, files) free.
    Project.objects.select_for_update(no_key=True).filter(pk=project.pk).first()
    # Under the lock: two first offloads of a project create its Day 1 once.
    settings_preset = preset or OffloadPreset.objects.filter(project=project).first()
    if day is None:
        rule = settings_preset.day_rule if settings_preset is not None else OffloadPreset.DayRule.RECORDED
        day = selectors.offload_day_resolve(project=project, recorded=recorded, rule=rule)
    if day is None:
        day = _first_day_create(actor=actor, project=project, recorded=recorded)
    template = (
        settings_preset.folder_template if settings_preset is not None else foldertemplate.DEFAULT_TEMPLATE
    )
    folder = offload_folder(project=project, template=template, day=day, camera=camera, label=label)
    active = OffloadJob.ACTIVE
    busy = OffloadJob.objects.filter(project=project, label__iexact=label, state__in=active).first()
    if busy is not None:
        raise OffloadBusyError(busy)
    card = _card_volume(actor=actor, project=project, label=label, source=source)
    try:
        with transaction.atomic():
            job = OffloadJob.objects.create(
                project=project,
                card=card,
                label=label,
                source_path=str(source),
                host=card.host or settings.REELVAULT_HOSTNAME,
                algorithms=list(dict.fromkeys(["xxh128", *algorithms])),
                day=day,
                folder=folder,
                preset=preset,
                created_by_id=actor.pk if actor is not None and actor.is_authenticated else None,
                health_confirmations=confirmations,
            )
    except IntegrityError:
        # one_active_offload_per_card: a job created past the lock (another code path).
        raise OffloadBusyError(OffloadJob.objects.get(card=card, state__in=active)) from None
    job.destinations.set(destinations)
    audit_record(
        actor=actor,
        action="offload.create",
        obj=job,
        project=project,
        after={
            "card": label,
            "source": str(source),
            "destinations": [v.label for v in destinations],
            "day": day.number,
            "folder": folder,
        }
        | ({"health_confirmed": confirmations} if confirmations else {})
        | ({"preset": "started on its own by the project's preset"} if preset is not None else {}),
    )
    if enqueue:
        job_id, queue = job.pk, host_queue(job.host)
        transaction.on_commit(lambda: _offload_job_enqueue(job_id=job_id, queue=queue))
    return job


def _offload_job_enqueue(*, job_id: int, queue: str) -> None:
    """Send the committed job to its host's queue; when the broker does not take it, fail the job.

    The row is already committed: left "queued" it would never run and would
    refuse every retry as "already being offloaded". Failed, it says why, the
    card can be offloaded again at once, and the caller gets QueueUnavailable (503).
    """
    from ingest.tasks import offload_job_run_task

    try:
        job_enqueue(offload_job_run_task, args=[job_id], queue=queue)
    except QueueUnavailable as exc:
        with transaction.atomic():
            job = OffloadJob.objects.select_related("project").get(pk=job_id)
            if OffloadJob.objects.filter(pk=job_id, state=OffloadJob.State.QUEUED).update(
                state=OffloadJob.State.FAILED, error=str(exc)[:1000], finished_at=timezone.now()
            ):
                audit_record(
                    actor=None,
                    action="offload.enqueue_failed",
                    obj=job,
                    project=job.project,
                    after={"error": str(exc)},
                )
        raise


@transaction.atomic(durable=True)
def offload_job_cancel(*, actor: AnyUser | None, job: OffloadJob) -> OffloadJob:
    """Ask an active (queued, paused, running) job to stop; the runner stops at the next chunk, cleans up."""
    updated = OffloadJob.objects.filter(pk=job.pk, state__in=OffloadJob.ACTIVE)
    if updated.update(cancel_requested=True):
        OffloadJob.objects.filter(
            pk=job.pk, state__in=[OffloadJob.State.QUEUED, OffloadJob.State.PAUSED]
        ).update(state=OffloadJob.State.CANCELLED, finished_at=timezone.now(), phase="")
        audit_record(actor=actor, action="offload.cancel", obj=job, project=job.project)
    job.refresh_from_db()
    return job


@transaction.atomic(durable=True)
def offload_job_pause(*, actor: AnyUser | None, job: OffloadJob) -> OffloadJob:
    """Pause a queued or running job. Returns the job reloaded.

    A queued job is paused at once; a running one finishes and verifies the
    batch in flight, then stops and releases its claim (state ``paused``,
    the next queued card on the host starts). Nothing already verified is
    copied again on resume. A job in any other state is left as it is.
    """
    if OffloadJob.objects.filter(pk=job.pk, state=OffloadJob.State.QUEUED, cancel_requested=False).update(
        state=OffloadJob.State.PAUSED, phase="paused"
    ) or OffloadJob.objects.filter(pk=job.pk, state=OffloadJob.State.RUNNING, cancel_requested=False).update(
        pause_requested=True
    ):
        audit_record(actor=actor, action="offload.pause", obj=job, project=job.project)
    job.refresh_from_db()
    return job


@transaction.atomic(durable=True)
def offload_job_resume(*, actor: AnyUser | None, job: OffloadJob) -> OffloadJob:
    """Queue a paused job again (after the commit it goes to its host's queue). Returns the job reloaded.

    A running job whose pause was requested but not reached yet simply goes on.
    """
    OffloadJob.objects.filter(pk=job.pk, state=OffloadJob.State.RUNNING).update(pause_requested=False)
    if OffloadJob.objects.filter(pk=job.pk, state=OffloadJob.State.PAUSED, cancel_requested=False).update(
        state=OffloadJob.State.QUEUED, pause_requested=False, phase=""
    ):
        audit_record(actor=actor, action="offload.resume", obj=job, project=job.project)
        job_id, queue = job.pk, host_queue(job.host)
        transaction.on_commit(lambda: _offload_job_enqueue(job_id=job_id, queue=queue))
    job.refresh_from_db()
    return job


def _host_queue_next(host: str) -> None:
    """Start the oldest queued offload of ``host`` (offloads on one host run one after the other)."""
    waiting = (
        OffloadJob.objects.filter(host=host, state=OffloadJob.State.QUEUED, cancel_requested=False)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        try:
            _offload_job_enqueue(job_id=waiting, queue=host_queue(host))
        except QueueUnavailable:
            logger.warning("offload %s: the queue did not take it; beat sends it again", waiting)


# --- Running a job ------------------------------------------------------------


def _claim(job_id: int) -> bool:
    """Take the job: queued, or running with a dead runner (stale heartbeat). Exactly one runner wins.

    Offloads on one host run one after the other (they share its card
    readers and disks, and the DIT follows a queue): while another job of the
    host is running with a live heartbeat, the claim is refused and the job
    stays queued; the running one starts the next when it ends
    (``_host_queue_next``). A transaction-scoped advisory lock per host makes
    two claims on one host take turns.
    """
    now = timezone.now()
    host = OffloadJob.objects.filter(pk=job_id).values_list("host", flat=True).first()
    if host is None:
        return False
    claimable = Q(state=OffloadJob.State.QUEUED) | Q(
        state=OffloadJob.State.RUNNING, heartbeat_at__lt=now - _stale_after()
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"reelvault.offload.host:{host}"])
        busy = (
            OffloadJob.objects.filter(
                host=host, state=OffloadJob.State.RUNNING, heartbeat_at__gte=now - _stale_after()
            )
            .exclude(pk=job_id)
            .exists()
        )
        if busy:
            return False
        return (
            OffloadJob.objects.filter(Q(pk=job_id) & claimable, cancel_requested=False).update(
                state=OffloadJob.State.RUNNING,
                started_at=now,
                heartbeat_at=now,
                error="",
                pause_requested=False,
            )
            == 1
        )


def offload_jobs_recover() -> list[int]:
    """Re-enqueue running jobs whose runner died (stale heartbeat); return their ids.

    Celery's Redis transport redelivers an unacknowledged job only after the
    visibility timeout (hours, so long copies are not duplicated); this beat
    job notices a dead runner within minutes instead. The claim in
    offload_job_run makes a duplicate delivery harmless.
    """
    from ingest.tasks import offload_job_run_task

    stale = OffloadJob.objects.filter(
        state=OffloadJob.State.RUNNING, heartbeat_at__lt=timezone.now() - _stale_after()
    ).values_list("pk", "host")
    recovered = []
    for job_id, host in stale:
        offload_job_run_task.apply_async(args=[job_id], queue=host_queue(host))
        recovered.append(job_id)
    return recovered


def _expected_hashes(source: Path) -> dict[str, dict[str, str]]:
    """Reference hashes from the card's own ASC MHL history (nested ones included), by card path."""
    if not (source / HISTORY_FOLDER).is_dir():
        return {}
    history = mhl.read_history(source)
    expected: dict[str, dict[str, str]] = {}

    def collect(node: mhl.History) -> None:
        prefix = node.root.relative_to(source).as_posix()
        for path, hashes in node.reference_hashes().items():
            expected[f"{prefix}/{path}" if prefix != "." else path] = dict(hashes)
        for child in node.children:
            collect(child)

    collect(history)
    return expected


@dataclass
class _Recorder:
    """Turns engine outcomes into catalog rows, a batch per transaction (resume-friendly)."""

    job: OffloadJob
    actor: AnyUser | None
    destinations: dict[str, Volume]
    clip_of: dict[str, str]
    pending: list[FileOutcome] = field(default_factory=list)
    clips: dict[str, Clip] = field(default_factory=dict)

    def add(self, outcome: FileOutcome) -> None:
        if _is_history_path(outcome.relpath):
            return
        self.pending.append(outcome)
        if len(self.pending) >= RECORD_BATCH:
            self.flush()

    def flush(self) -> None:
        """Catalog a batch in one transaction, with a fixed number of queries whatever its size.

        The batch's clips and files are looked up, created where missing and
        read back together (not one ``get_or_create`` each), and its audit
        entries go into the chain together: a card of 2,000 files costs the
        catalog what a card of 200 does, times ten.
        """
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        with transaction.atomic():
            media_files = self._media_files(batch)
            entries: list[tuple[FileOutcome, dict[str, Any], MediaFile | None]] = []
            checks: dict[str, list[CopyCheck]] = {label: [] for label in self.destinations}
            hash_updates: list[MediaFile] = []
            for outcome in batch:
                entry, media_file = self._record(outcome, media_files.get(outcome.relpath), hash_updates)
                entries.append((outcome, entry, media_file))
                if media_file is not None:
                    for dest in outcome.destinations:
                        checks[dest.destination].append(self._check(outcome, media_file, dest))
            if hash_updates:
                MediaFile.objects.bulk_update(hash_updates, ["md5", "sha1"])
            # One catalog record (and audit entry) per destination volume for the whole batch.
            states = {
                label: copies_record(
                    actor=self.actor,
                    volume=self.destinations[label],
                    checks=volume_checks,
                    source=f"Offload {self.job.pk} of card {self.job.label}",
                    context={"offload": self.job.pk, "card": self.job.label},
                    link=f"/offloads/{self.job.pk}/",
                ).states
                for label, volume_checks in checks.items()
                if volume_checks
            }
            by_clip: dict[str, list[dict[str, Any]]] = {}
            for outcome, entry, media_file in entries:
                if media_file is not None:
                    entry["copies"] = {
                        dest.destination: states[dest.destination][media_file.pk]
                        for dest in outcome.destinations
                    }
                by_clip.setdefault(self.clip_of.get(outcome.relpath, ""), []).append(entry)
            audit_record_many(
                actor=self.actor,
                entries=[
                    AuditEntry(
                        action="offload.files",
                        obj=self.clips.get(clip_key) or self.job,
                        project=self.job.project,
                        after={"card": self.job.label, "files": clip_entries},
                    )
                    for clip_key, clip_entries in by_clip.items()
                ],
            )

    def _check(self, outcome: FileOutcome, media_file: MediaFile, dest: DestinationOutcome) -> CopyCheck:
        """What the engine proved about one copy: read back and matched, or why not."""
        path = f"{self.job.dest_folder}/{outcome.relpath}"
        if dest.status.is_good:
            # The engine counts a copy good only after reading it back and matching this hash.
            return CopyCheck(
                media_file=media_file, path=path, found=Found.PROVEN, hash_found=outcome.hashes["xxh128"]
            )
        found = Found.CONFLICT if dest.status is CopyStatus.CONFLICT else Found.FAILED
        return CopyCheck(media_file=media_file, path=path, found=found, error=dest.message)

    def _clips_ensure(self, keys: set[str]) -> None:
        """Look up (and create where missing) the clips named ``keys``: three queries at most."""
        missing = sorted(key for key in keys if key and key not in self.clips)
        if not missing:
            return
        project = self.job.project
        found = {c.name: c for c in Clip.objects.filter(project=project, name__in=missing)}
        new = []
        for key in missing:
            if key in found:
                continue
            parsed = recognize_camera_name(key)
            clip = Clip(project=project, name=key, card=self.job.card, day=self.job.day)
            if parsed is not None:
                clip.camera = parsed.camera or ""
                if parsed.roll is not None:
                    clip.reel = f"{parsed.camera or ''}{parsed.roll:03d}"
            new.append(clip)
        if new:
            # Another offload of the project may create the same clip meanwhile: its row wins, as with
            # get_or_create, and is read back below.
            Clip.objects.bulk_create(new, ignore_conflicts=True)
            found.update(
                (c.name, c) for c in Clip.objects.filter(project=project, name__in=[c.name for c in new])
            )
        self.clips.update(found)

    def _media_files(self, batch: list[FileOutcome]) -> dict[str, MediaFile]:
        """The catalog's files of the batch by path, created (with their clips) where the card is new."""
        hashed = [o for o in batch if not o.source_error and o.hashes]
        if not hashed:
            return {}
        # The clips of every cataloged file, new or not: its audit entry goes on its clip.
        self._clips_ensure({self.clip_of.get(o.relpath, "") for o in hashed})
        card, paths = self.job.card, [o.relpath for o in hashed]
        existing = {f.relative_path: f for f in MediaFile.objects.filter(card=card, relative_path__in=paths)}
        new_outcomes = [o for o in hashed if o.relpath not in existing]
        if not new_outcomes:
            return existing
        new = [
            MediaFile(
                card=card,
                relative_path=o.relpath,
                clip=self.clips.get(self.clip_of.get(o.relpath, "")),
                size=o.size,
                mtime=datetime.fromtimestamp(o.mtime_ns / 1e9, tz=UTC),
                xxh128=o.hashes["xxh128"],
                md5=o.hashes.get("md5", ""),
                sha1=o.hashes.get("sha1", ""),
            )
            for o in new_outcomes
        ]
        # A row made meanwhile by another run of the same card is kept and compared below (as get_or_create).
        MediaFile.objects.bulk_create(new, ignore_conflicts=True)
        existing.update(
            (f.relative_path, f)
            for f in MediaFile.objects.filter(card=card, relative_path__in=[o.relpath for o in new_outcomes])
        )
        return existing

    def _record(
        self, outcome: FileOutcome, media_file: MediaFile | None, hash_updates: list[MediaFile]
    ) -> tuple[dict[str, Any], MediaFile | None]:
        """The file's audit entry, and the file when a copy of it may be recorded (else None)."""
        entry: dict[str, Any] = {"path": outcome.relpath}
        if outcome.source_error or not outcome.hashes or media_file is None:
            entry["source_error"] = outcome.source_error
            return entry, None
        if media_file.xxh128 != outcome.hashes["xxh128"]:
            # The card holds different content under a cataloged name: never
            # let it pass as a copy of what the catalog recorded.
            entry["catalog_conflict"] = (
                f"the catalog recorded a different hash ({media_file.xxh128}) for this path on card "
                f"{self.job.label}: the card was changed since its first offload"
            )
            return entry, None
        updates = {k: outcome.hashes[k] for k in ("md5", "sha1") if k in outcome.hashes}
        if updates and any(getattr(media_file, k) != v for k, v in updates.items()):
            for k, v in updates.items():
                setattr(media_file, k, v)
            hash_updates.append(media_file)
        return entry, media_file


def _carry_over_history(source: Path, card_root: Path) -> None:
    """Copy the card's own ASC MHL history folders to the destination, once.

    They are not payload: a later generation appended at the destination
    changes the chain file, so they travel outside the verified file copy.
    Existing history at the destination (an earlier run) is kept as it is.
    """
    for folder in sorted(source.rglob(HISTORY_FOLDER)):
        if not folder.is_dir() or folder.is_symlink():
            continue
        target = card_root / folder.relative_to(source)
        if target.exists():
            continue
        temp = target.with_name(f".{target.name}.reelvault-partial")
        shutil.rmtree(temp, ignore_errors=True)
        shutil.copytree(folder, temp, symlinks=True)
        temp.rename(target)


def _write_history(
    job: OffloadJob, result: OffloadResult, volume: Volume, actor_name: str
) -> tuple[str | None, list[ScanProblemSummary]]:
    """Append this transfer's generation at one destination.

    Returns an error message or None, and the files ASC MHL cannot record
    (their names; see mhl.unrecordable), each a problem of its own: the rest
    of the card is recorded all the same.
    """
    card_root = Path(volume.location) / job.dest_folder
    records = []
    unrecorded: list[ScanProblemSummary] = []
    for f in result.files:
        if (
            not f.hashes
            or _is_history_path(f.relpath)
            or not any(d.destination == volume.label and d.status.is_good for d in f.destinations)
        ):
            continue
        if (problem := mhl.unrecordable(f.relpath)) is not None:
            unrecorded.append({"path": f.relpath, "kind": "not_in_mhl", "message": problem})
            continue
        records.append(
            mhl.FileRecord(
                path=f.relpath,
                size=f.size,
                mtime=datetime.fromtimestamp(f.mtime_ns / 1e9, tz=UTC),
                hashes={k: v for k, v in f.hashes.items() if k in mhl.HASH_FORMATS},
            )
        )
    if not records:
        return None, unrecorded
    folders = []
    for folder in result.folders:
        if mhl.unrecordable(folder.relpath) is not None:
            message = (
                "this folder's name (not UTF-8, a backslash or a control character) cannot be written in an "
                "ASC MHL history; the folder was copied all the same, with its modification time"
            )
            unrecorded.append({"path": folder.relpath, "kind": "not_in_mhl", "message": message})
        elif not _is_history_path(f"{folder.relpath}/"):
            folders.append(
                mhl.FolderRecord(folder.relpath, datetime.fromtimestamp(folder.mtime_ns / 1e9, tz=UTC))
            )
    try:
        _carry_over_history(Path(job.source_path), card_root)
        # A run killed between a generation and its chain left the history half-updated: finish it.
        for done in mhl.recover_history(card_root):
            logger.warning("offload %s: %s", job.pk, done)
        mhl.write_generation(
            card_root,
            files=records,
            creator=mhl.Creator(
                tool_version=REELVAULT_VERSION,
                authors=(mhl.Author(name=actor_name),),
                comment=f"Reelvault offload job {job.pk} of card {job.label}",
            ),
            process_type="transfer",
            folders=folders,
        )
    except (OSError, mhl.MHLError) as exc:
        return f"ASC MHL history could not be written at {card_root}: {exc}", unrecorded
    return None, unrecorded


def _folder_times_restore(job: OffloadJob, result: OffloadResult, volume: Volume) -> list[str]:
    """Give the card's folders their card mtimes again at one destination; return what failed.

    Writing the ASC MHL history adds ``ascmhl`` folders to the card folder
    (and to folders holding a carried-over nested history), which changes
    their mtimes after the engine set them.
    """
    made = _destination_parent(volume, job.dest_folder)
    if isinstance(made, str):
        return [made]
    destination, card_folder = made
    try:
        writer = destination.open_writer(card_folder)
    except DestinationError as exc:
        return [str(exc)]
    try:
        return list(folders_copy(writer, result.folders, root_mtime_ns=result.root_mtime_ns))
    except DestinationError as exc:
        return [str(exc)]
    finally:
        writer.close()


def _destination_parent(volume: Volume, folder: str) -> tuple[LocalDestination, str] | str:
    """The engine's destination and card folder name for ``folder`` (the rendered template) on ``volume``.

    The template's leading levels (``DEMO/Day004/A``) are created inside the
    mounted volume, never through a symlink; the last level is the engine's
    card folder. Returns a message instead when they cannot be made. A
    volume that is not mounted is left to the engine, which drops it with
    "is the drive mounted?".
    """
    *parents, last = folder.split("/")
    base = Path(volume.location)
    if not base.is_dir():
        return LocalDestination(base.joinpath(*parents), name=volume.label), last
    for part in parents:
        base = base / part
        if base.is_symlink():
            return f"destination {volume.label}: {base} is a symlink; refusing to write through it"
        try:
            base.mkdir(exist_ok=True)
        except OSError as exc:
            return f"destination {volume.label}: cannot create {base}: {exc.strerror}"
    return LocalDestination(base, name=volume.label), last


def offload_job_run(
    *,
    job_id: int,
    actor: AnyUser | None = None,
    on_progress: Callable[[ProgressSnapshot], None] | None = None,
) -> OffloadJob | None:
    """Run (or resume) an offload job. Returns the job as it ended, or None if it was not claimable.

    Safe to run twice: the claim lets one runner in; a resumed run finds the
    files already verified at the destinations and does not copy them again.
    Whatever the outcome (finished, failed, paused), the next queued offload
    of this host is started.
    """
    if not _claim(job_id):
        return None
    host = OffloadJob.objects.values_list("host", flat=True).get(pk=job_id)
    try:
        return _offload_job_run(job_id=job_id, actor=actor, on_progress=on_progress)
    finally:
        _host_queue_next(host)


def _progress_write(job: OffloadJob, snapshot: ProgressSnapshot) -> None:
    """Show the engine's progress on the job row (what the pages and the API read); also its heartbeat."""
    OffloadJob.objects.filter(pk=job.pk).update(
        phase=snapshot.phase,
        files_total=snapshot.files_total,
        files_done=snapshot.files_done,
        bytes_total=snapshot.bytes_total,
        bytes_done=snapshot.bytes_done,
        bytes_per_second=snapshot.bytes_per_second,
        eta_seconds=snapshot.eta_seconds,
        current_file=fsnames.shown(snapshot.current_file)[:1024],
        heartbeat_at=timezone.now(),
        destination_progress={
            d.name: {"written": d.bytes_written, "verified": d.bytes_verified, "failure": d.failure}
            for d in snapshot.destinations
        },
    )


def _offload_job_run(
    *, job_id: int, actor: AnyUser | None, on_progress: Callable[[ProgressSnapshot], None] | None
) -> OffloadJob:
    job = OffloadJob.objects.select_related("project", "card", "created_by").get(pk=job_id)
    actor = actor or job.created_by
    OffloadJob.objects.filter(pk=job.pk).update(attempts=job.attempts + 1)
    source = Path(job.source_path)
    volumes = {v.label: v for v in job.destinations.all()}
    cancel, pause = threading.Event(), threading.Event()
    # Again on the worker, whatever the catalog says now: its roots and symlinks are the ones written to.
    outside = [problem for v in volumes.values() if (problem := _outside_volume_roots(v)) is not None]
    if outside:
        return _finish_failed(job, actor, "; ".join(outside))
    try:
        # Health may have turned and drives been swapped since the job was queued.
        destinations_health_check(destinations=list(volumes.values()), confirm_warning=True)
        destinations_identity_check(destinations=list(volumes.values()))
    except OffloadError as exc:
        return _finish_failed(job, actor, str(exc))
    engine_destinations: list[LocalDestination] = []
    card_folder = job.label
    for volume in volumes.values():
        made = _destination_parent(volume, job.dest_folder)
        if isinstance(made, str):
            return _finish_failed(job, actor, made)
        destination, card_folder = made
        engine_destinations.append(destination)
    try:
        expected = _expected_hashes(source)
        scan = scan_card(source)
        groups = group_clip_files(f.relpath for f in scan.files if not _is_history_path(f.relpath))
        clip_of = {path: key for key, paths in groups.items() for path in paths}
        recorder = _Recorder(job=job, actor=actor, destinations=volumes, clip_of=clip_of)
        last_check: list[float] = [0.0, -1]
        last_write: list[tuple[float, str]] = [(0.0, "")]
        progress_every = settings.REELVAULT_OFFLOAD_PROGRESS_MS / 1000

        def progress(snapshot: ProgressSnapshot) -> None:
            now = time.monotonic()
            if on_progress is not None:
                on_progress(snapshot)
            written_at, written_phase = last_write[0]
            if now - written_at >= progress_every or snapshot.phase != written_phase:
                last_write[0] = (now, snapshot.phase)
                _progress_write(job, snapshot)
            # Read the DIT's cancel and pause at most once a second (the engine calls
            # this up to 4 times a second), and always when a file was finished.
            if now - last_check[0] > 1.0 or snapshot.files_done != last_check[1]:
                last_check[:] = [now, snapshot.files_done]
                flags = OffloadJob.objects.filter(pk=job.pk).values_list(
                    "cancel_requested", "pause_requested"
                )
                cancel_requested, pause_requested = flags.get()
                if cancel_requested:
                    cancel.set()
                if pause_requested:
                    pause.set()

        result = offload_card(
            source=source,
            destinations=engine_destinations,
            label=card_folder,
            algorithms=job.algorithms,
            expected_hashes=expected,
            exclude=_is_history_path,
            on_progress=progress,
            on_file=recorder.add,
            cancel=cancel,
            pause=pause,
            batch_bytes=settings.REELVAULT_OFFLOAD_BATCH_MB * 1024 * 1024,
            scan=scan,  # walked once here for the clip groups; not again in the engine
        )
        recorder.flush()
    except (OffloadRefusedError, mhl.MHLError, OSError) as exc:
        return _finish_failed(job, actor, str(exc))
    if result.paused and not result.cancelled:
        return _finish_paused(job, actor)
    return _finish(job, actor, result)


def _finish_paused(job: OffloadJob, actor: AnyUser | None) -> OffloadJob:
    """Release the claim of a paused run: its verified files are cataloged; resume copies the rest."""
    with transaction.atomic():
        OffloadJob.objects.filter(pk=job.pk).update(
            state=OffloadJob.State.PAUSED, pause_requested=False, phase="paused", heartbeat_at=None
        )
        audit_record(
            actor=actor,
            action="offload.paused",
            obj=job,
            project=job.project,
            after={"files_done": job.files_done, "files_total": job.files_total},
        )
    job.refresh_from_db()
    return job


def offload_job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed with the reason (used when the runner itself crashed)."""
    job = OffloadJob.objects.select_related("project").get(pk=job_id)
    if job.state not in OffloadJob.FINISHED:
        _finish_failed(job, None, message)


def _finish_failed(job: OffloadJob, actor: AnyUser | None, message: str) -> OffloadJob:
    with transaction.atomic():
        OffloadJob.objects.filter(pk=job.pk).update(
            state=OffloadJob.State.FAILED, finished_at=timezone.now(), error=message, safe_to_format=False
        )
        audit_record(
            actor=actor, action="offload.failed", obj=job, project=job.project, after={"error": message}
        )
        alerting.offload_finished_after_commit(job_id=job.pk)
    job.refresh_from_db()
    return job


def _finish(job: OffloadJob, actor: AnyUser | None, result: OffloadResult) -> OffloadJob:
    actor_name = actor.get_username() if actor is not None and actor.is_authenticated else "reelvault"
    history_errors: list[str] = []
    unrecorded: dict[str, ScanProblemSummary] = {}
    OffloadJob.objects.filter(pk=job.pk).update(phase="mhl", heartbeat_at=timezone.now())
    for destination in result.destinations:
        if destination.failure is None:
            volume = job.destinations.get(label=destination.name)
            error, names_left_out = _write_history(job, result, volume, actor_name)
            history_errors += [error] if error else []
            history_errors += [
                f"on {volume.label}: {problem}" for problem in _folder_times_restore(job, result, volume)
            ]
            unrecorded.update((p["path"], p) for p in names_left_out)
    card_policy = card_safe_to_format(card_id=job.card_id)
    catalog_safe = card_policy.meets
    catalog_reasons = card_policy.short or (
        [] if card_policy.files else [f"no file of card {job.label} is in the catalog"]
    )
    reasons = [*result.not_safe_reasons(), *history_errors, *([] if result.cancelled else catalog_reasons)]
    safe = result.safe_to_format and catalog_safe and not history_errors
    if result.cancelled:
        state = OffloadJob.State.CANCELLED
    elif safe:
        state = OffloadJob.State.COMPLETED
    else:
        state = OffloadJob.State.INCOMPLETE
    summary: OffloadSummary = {
        "files": len(result.files),
        "bytes": result.card_bytes,
        "seconds": round(result.seconds, 3),
        "mb_per_second": round(result.mb_per_second, 1),
        "source_bytes_read": result.source_bytes_read,
        "destinations": {
            d.name: {
                "location": d.location,
                "state": "failed" if d.failure else "ok",
                "failure": d.failure,
                "bytes_written": d.bytes_written,
                "bytes_verified": d.bytes_verified,
            }
            for d in result.destinations
        },
        "not_safe_reasons": [fsnames.shown(r) for r in reasons[:200]],  # for people: \\xNN
        "not_safe_reason_count": len(reasons),
        "scan_problems": [
            *(
                ScanProblemSummary(path=p.relpath, kind=p.kind, message=p.message)
                for p in result.scan_problems
            ),
            *(unrecorded[path] for path in sorted(unrecorded)),
        ],
    }
    with transaction.atomic():
        OffloadJob.objects.filter(pk=job.pk).update(
            state=state,
            finished_at=timezone.now(),
            safe_to_format=safe,
            source_bytes_read=result.source_bytes_read,
            seconds=result.seconds,
            summary=summary,
            phase="done",
        )
        audit_record(
            actor=actor,
            action="offload.finish",
            obj=job,
            project=job.project,
            after={"state": state, "safe_to_format": safe, "reasons": reasons[:20]},
        )
        transaction.on_commit(lambda: metadata.clip_metadata_enqueue_card(card_id=job.card_id), robust=True)
        alerting.offload_finished_after_commit(job_id=job.pk)
    job.refresh_from_db()
    return job


def volume_for_path(*, actor: AnyUser | None, project: Project, path: Path) -> Volume:
    """The project's volume mounted at ``path`` on this host, registered on first use (command line).

    Registered as the folder's name in capitals, or ``NAME-<host>`` when that
    label is taken; raises OffloadError naming both when both are taken.
    """
    path = path.resolve()
    host = settings.REELVAULT_HOSTNAME
    volume = project.volumes.filter(location=str(path), host=host).first()
    if volume is not None:
        return volume
    label = path.name.upper() or "ROOT"
    if project.volumes.filter(label__iexact=label).exists():
        label = f"{label}-{host}".upper()
        taken = project.volumes.filter(label__iexact=label).first()
        if taken is not None:
            where = f"{taken.host}:{taken.location}" if taken.host else taken.location
            raise OffloadError(
                f"{path} is not a volume of {project.code}, and the labels {path.name.upper() or 'ROOT'} and "
                f"{label} it would be registered under are both taken ({label} is {where}): pass a taken "
                "label as --dest to write to that volume, or register this folder under a label of its own "
                "(Volumes page or admin) and pass that label"
            )
    path.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        volume = Volume(project=project, label=label, kind=Volume.Kind.RAID, host=host, location=str(path))
        volume.full_clean()
        volume.save()
        audit_record(
            actor=actor, action="volume.register", obj=volume, project=project, after={"location": str(path)}
        )
    return volume


# --- Verifying a folder against its ASC MHL history ----------------------------------


def volume_containing(*, path: Path, host: str | None = None) -> Volume | None:
    """The registered (non-card) volume whose mount path contains ``path`` on this host, if any."""
    path = path.resolve()
    host = host or settings.REELVAULT_HOSTNAME
    candidates = Volume.objects.filter(host=host).exclude(kind=Volume.Kind.CARD).select_related("project")
    best: Volume | None = None
    for volume in candidates:
        root = Path(volume.location)
        if (path == root or root in path.parents) and (
            best is None or len(volume.location) > len(best.location)
        ):
            best = volume
    return best


@dataclass(frozen=True)
class VerifyRecorded:
    volume: Volume | None
    verified: int
    corrupt: int
    missing: int
    unknown: int  # files the history lists that the catalog does not know on this volume
    unproven: int = 0  # found OK by a history without XXH3-128: left as they were, not proven again


@transaction.atomic(durable=True)
def mhl_verify_record(*, actor: AnyUser | None, root: Path, report: mhl.VerifyReport) -> VerifyRecorded:
    """Record an ASC MHL verification of ``root`` in the catalog when it lies on a known volume.

    Each file found OK with the catalog's XXH3-128 proves its copy again
    (verified_at now); OK by a history without XXH3-128 proves nothing we can
    record (counted as unproven, left as it is); a hash other than the
    catalog's marks the copy corrupt; a file missing from disk marks it
    missing. Files not in the catalog are counted, not invented. One audit
    entry sums it up (catalog.copies), and bad copies raise an alert after
    the commit.
    """
    volume = volume_containing(path=root)
    if volume is None:
        return VerifyRecorded(None, 0, 0, 0, 0)
    prefix = root.resolve().relative_to(Path(volume.location).resolve()).as_posix()
    unknown = unproven = 0
    checks: list[CopyCheck] = []
    for check in report.files:
        path = check.path if prefix == "." else f"{prefix}/{check.path}"
        copy = Copy.objects.filter(volume=volume, path=path).select_related("media_file").first()
        if copy is None:
            # (a path ending in "/" is a folder the history records: no copy to prove)
            if check.status is not mhl.FileStatus.NEW and not check.path.endswith("/"):
                unknown += 1
            continue
        media_file, found = copy.media_file, check.actual.get("xxh128", "")
        if check.status is mhl.FileStatus.OK and not found:
            unproven += 1
        elif check.status is mhl.FileStatus.OK and found == media_file.xxh128:
            checks.append(CopyCheck(media_file=media_file, path=path, found=Found.PROVEN, hash_found=found))
        elif check.status is mhl.FileStatus.OK:
            # The history agrees with the file, but the catalog does not.
            error = f"xxh128 {found} differs from catalog"
            checks.append(
                CopyCheck(
                    media_file=media_file, path=path, found=Found.CORRUPT, hash_found=found, error=error
                )
            )
        elif check.status is mhl.FileStatus.MISSING:
            error = check.message or "missing from the volume"
            checks.append(CopyCheck(media_file=media_file, path=path, found=Found.MISSING, error=error))
        elif check.status is mhl.FileStatus.MISMATCH:
            error = check.message or "hash mismatch"
            checks.append(
                CopyCheck(
                    media_file=media_file, path=path, found=Found.CORRUPT, hash_found=found, error=error
                )
            )
    recorded = copies_record(
        actor=actor,
        volume=volume,
        checks=checks,
        source=f"A verification of {root}",
        context={"root": str(root), "ok": report.ok, "unknown": unknown, "unproven": unproven},
    )
    counts = recorded.counts
    return VerifyRecorded(
        volume,
        counts.get(Copy.State.VERIFIED, 0),
        counts.get(Copy.State.CORRUPT, 0),
        counts.get(Copy.State.MISSING, 0),
        unknown,
        unproven,
    )

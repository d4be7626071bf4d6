"""Protection services: the policy, volume groups and rules, planning replication, running its jobs.

Planning (``replication_plan``) is what keeps the policy's promise without a
person: catalog.copies announces every proof after its commit
(``copies_proven``), and for each proven file and each enabled rule whose
source holds a verified copy of it, a file with no verified copy in the
rule's destination group (and no job on the way there) gets an item in a
job to one online, not failing volume of the group. Jobs are grouped per
destination volume and worker host and run on ``host.<name>`` of the host
that mounts the destination (a folder) or the best source (a bucket
destination); bucket to bucket runs on ``default``.

Running (``replication_job_run``) follows the offload's job discipline:
claim, heartbeat, resume without recopying (a file finished just before a
kill is found at the destination with the expected content), and results
recorded only through ``catalog.copies``. Never replicate corruption: the
source is hashed while read and compared with the catalog's hash before the
new copy counts; a mismatch condemns the source copy and the next good copy
is used.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve_key
from catalog.audit import audit_record
from catalog.copies import CopyCheck, Found, copies_record, copy_condemn_if_verified
from catalog.models import Copy, MediaFile, Project, Volume
from catalog.permissions import AnyUser
from catalog.storage import CopySources, is_object_storage, split_copy_path
from catalog.volumes import VolumeIdentityError, volume_identity_verify
from copyengine import filecopy
from copyengine.backends import CardWriter, DestinationError
from core.queues import Queue, host_queue
from formats.units import format_bytes
from protection import selectors
from protection.models import (
    DestinationSettings,
    ReplicationItem,
    ReplicationJob,
    ReplicationRule,
    VolumeGroup,
)

#: How often the runner writes progress and its heartbeat (seconds).
PROGRESS_INTERVAL = 0.5
#: Verified copies are recorded through catalog.copies (one call, one audit entry) this many at a
#: time, or at least this often (seconds), so progress shows and a kill loses little bookkeeping.
RECORD_BATCH = 32
RECORD_SECONDS = 2.0


class ProtectionError(Exception):
    """The request cannot be done as asked (400); the message says what to change."""


def _user_id(actor: AnyUser | None) -> int | None:
    return int(actor.pk) if actor is not None and actor.is_authenticated else None


# --- Policy ---------------------------------------------------------------------------------

POLICY_FIELDS = (
    "required_copies",
    "required_media_kinds",
    "required_offsite",
    "required_sites",
    "worm_tiers",
)


def _policy_of(project: Project) -> dict[str, Any]:
    return {name: getattr(project, name) for name in POLICY_FIELDS}


@transaction.atomic(durable=True)
def project_policy_update(
    *,
    actor: AnyUser | None,
    project: Project,
    required_copies: int,
    required_media_kinds: int,
    required_offsite: int,
    required_sites: int,
    worm_tiers: Sequence[str],
) -> Project:
    """Set the project's storage policy; returns the project. Raises ProtectionError on bad values."""
    locked = Project.objects.select_for_update().get(pk=project.pk)
    before = _policy_of(locked)
    locked.required_copies = required_copies
    locked.required_media_kinds = required_media_kinds
    locked.required_offsite = required_offsite
    locked.required_sites = required_sites
    tiers = [t for t in Volume.Tier.values if t in set(worm_tiers)]
    unknown = sorted(set(worm_tiers) - set(tiers))
    if unknown:
        raise ProtectionError(f"unknown tier(s) {', '.join(unknown)}: use {', '.join(Volume.Tier.values)}")
    locked.worm_tiers = tiers
    if required_media_kinds > required_copies or required_offsite > required_copies:
        raise ProtectionError("kinds of media and off-site copies cannot exceed the verified copies required")
    if required_sites > required_copies:
        raise ProtectionError("sites cannot exceed the verified copies required")
    try:
        locked.full_clean()
    except ValidationError as exc:
        raise ProtectionError("; ".join(exc.messages)) from exc
    locked.save(update_fields=list(POLICY_FIELDS))
    audit_record(
        actor=actor,
        action="project.policy_update",
        obj=locked,
        project=locked,
        before=before,
        after=_policy_of(locked),
    )
    return locked


# --- Groups and rules ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def volume_group_create(
    *, actor: AnyUser | None, project: Project, name: str, volumes: Sequence[Volume]
) -> VolumeGroup:
    """A named set of interchangeable destination volumes. Raises ProtectionError (cards, other projects)."""
    name = name.strip()
    if not name:
        raise ProtectionError("give the group a name")
    if VolumeGroup.objects.filter(project=project, name__iexact=name).exists():
        raise ProtectionError(f"the project already has a volume group {name}")
    for volume in volumes:
        if volume.project_id != project.pk:
            raise ProtectionError(f"volume {volume.label} belongs to another project")
        if volume.kind == Volume.Kind.CARD:
            raise ProtectionError(f"{volume.label} is a camera card: cards never hold protection copies")
    group = VolumeGroup.objects.create(project=project, name=name)
    group.volumes.set(volumes)
    audit_record(
        actor=actor,
        action="volume_group.create",
        obj=group,
        project=project,
        after={"name": name, "volumes": [v.label for v in volumes]},
    )
    return group


@transaction.atomic(durable=True)
def replication_rule_create(
    *,
    actor: AnyUser | None,
    project: Project,
    destination: VolumeGroup,
    source_tier: str = "",
    source_group: VolumeGroup | None = None,
) -> ReplicationRule:
    """ "Copy what lands on tier/group X to group Y". Raises ProtectionError for a rule that cannot protect:
    a destination with a camera card or with a volume of the source group, an empty destination."""
    if (source_tier == "") == (source_group is None):
        raise ProtectionError("give either a source tier or a source volume group")
    if source_tier and source_tier not in Volume.Tier.values:
        raise ProtectionError(f"unknown tier {source_tier}: use {', '.join(Volume.Tier.values)}")
    for group in (destination, source_group):
        if group is not None and group.project_id != project.pk:
            raise ProtectionError(f"volume group {group.name} belongs to another project")
    targets = list(destination.volumes.all())
    if not targets:
        raise ProtectionError(f"volume group {destination.name} has no volume")
    cards = [v.label for v in targets if v.kind == Volume.Kind.CARD]
    if cards:
        raise ProtectionError(f"{', '.join(cards)} in {destination.name} is a camera card, not a destination")
    if source_group is not None:
        shared = sorted(
            set(source_group.volumes.values_list("label", flat=True)) & {v.label for v in targets}
        )
        if shared or source_group.pk == destination.pk:
            raise ProtectionError(
                f"the destination {destination.name} contains the source's own volume(s) "
                f"{', '.join(shared) or destination.name}: a copy on the same volume protects nothing"
            )
    rule = ReplicationRule.objects.create(
        project=project, source_tier=source_tier, source_group=source_group, destination=destination
    )
    audit_record(
        actor=actor,
        action="replication_rule.create",
        obj=rule,
        project=project,
        after={"source": rule.source_name, "destination": destination.name},
    )
    return rule


# --- Planning -------------------------------------------------------------------------------------


def _job_queue(host: str) -> str:
    return host_queue(host) if host else Queue.DEFAULT.value


def _enqueue(job_id: int, host: str) -> None:
    from protection.tasks import replication_job_run_task

    queue = _job_queue(host)
    transaction.on_commit(
        lambda: replication_job_run_task.apply_async(args=[job_id], queue=queue), robust=True
    )


@dataclass
class Planned:
    """What one planning found: the jobs that got new files, and gaps nothing could fill."""

    jobs: list[ReplicationJob]
    files: int
    unreachable: list[str]


def _source_matches(rule: ReplicationRule, volume: Volume, group_members: dict[int, set[int]]) -> bool:
    if rule.source_group_id is not None:
        return volume.pk in group_members.get(rule.source_group_id, set())
    return volume.tier == rule.source_tier


def replication_plan(
    *,
    actor: AnyUser | None,
    project: Project,
    media_file_ids: Sequence[int],
    trigger: str = ReplicationJob.Trigger.AUTOMATIC,
    enqueue: bool = True,
) -> Planned:
    """Plan the copies the project's rules still need for these files and queue their jobs.

    Safe to call again and again (each proof calls it): a file already
    verified in a rule's destination group, or on its way there in an active
    job, is not planned twice. Returns Planned (jobs that got files, how many
    files, and the gaps without a source the destination's host can read).
    """
    rules = list(
        ReplicationRule.objects.filter(project=project, enabled=True).select_related(
            "destination", "source_group"
        )
    )
    if not rules or not media_file_ids:
        return Planned([], 0, [])
    group_ids = {r.destination_id for r in rules} | {r.source_group_id for r in rules if r.source_group_id}
    group_members: dict[int, set[int]] = defaultdict(set)
    volumes: dict[int, Volume] = {}
    for group in VolumeGroup.objects.filter(pk__in=group_ids).prefetch_related("volumes"):
        for volume in group.volumes.all():
            group_members[group.pk].add(volume.pk)
            volumes[volume.pk] = volume
    files = {
        f.pk: f
        for f in MediaFile.objects.filter(pk__in=list(media_file_ids))
        .filter(Q(clip__project=project) | Q(card__project=project))
        .distinct()
    }
    verified: dict[int, list[Copy]] = defaultdict(list)
    for copy in selectors.verified_copies(media_file_ids=list(files)):
        verified[copy.media_file_id].append(copy)
    # Any copy row (a failed or corrupt one too) on a volume: prefer volumes without one.
    has_row = set(
        Copy.objects.filter(media_file_id__in=list(files)).values_list("media_file_id", "volume_id")
    )
    wanted: dict[tuple[int, str, int], list[tuple[MediaFile, Copy]]] = defaultdict(list)
    unreachable: list[str] = []
    with transaction.atomic():
        on_the_way = set(
            ReplicationItem.objects.filter(
                media_file_id__in=list(files),
                state=ReplicationItem.State.PENDING,
                job__state__in=ReplicationJob.ACTIVE,
            ).values_list("media_file_id", "job__destination_id")
        )
        for file_id, media_file in sorted(files.items()):
            copies = verified.get(file_id, [])
            held = {c.volume_id for c in copies}
            for rule in rules:
                members = group_members.get(rule.destination_id, set())
                if not any(_source_matches(rule, c.volume, group_members) for c in copies):
                    continue
                if held & members or any((file_id, v) in on_the_way for v in members):
                    continue
                choice = _destination_for(members, volumes, file_id, has_row, copies)
                if choice is None:
                    unreachable.append(
                        f"{media_file.relative_path}: no volume of {rule.destination.name} is online and "
                        "healthy with a source its host can read"
                    )
                    continue
                destination, source, host = choice
                wanted[(destination.pk, host, rule.pk)].append((media_file, source))
                on_the_way.add((file_id, destination.pk))
        jobs = []
        for (destination_id, host, rule_id), entries in wanted.items():
            job = (
                ReplicationJob.objects.select_for_update()
                .filter(destination_id=destination_id, host=host, state=ReplicationJob.State.QUEUED)
                .order_by("pk")
                .first()
            )
            created = job is None
            if job is None:
                job = ReplicationJob.objects.create(
                    project=project,
                    rule_id=rule_id,
                    destination_id=destination_id,
                    host=host,
                    trigger=trigger,
                    requested_by_id=_user_id(actor),
                )
            ReplicationItem.objects.bulk_create(
                [
                    ReplicationItem(job=job, media_file=mf, path=source.path, size=mf.size)
                    for mf, source in entries
                ],
                ignore_conflicts=True,
            )
            _refresh_totals(job)
            audit_record(
                actor=actor,
                action="replication.plan",
                obj=job,
                project=project,
                after={
                    "trigger": trigger,
                    "destination": volumes[destination_id].label,
                    "host": host or "any",
                    "files": len(entries),
                    "bytes": sum(mf.size for mf, _ in entries),
                },
            )
            if created and enqueue:
                _enqueue(job.pk, host)
            jobs.append(job)
    return Planned(jobs, sum(len(e) for e in wanted.values()), unreachable)


def _refresh_totals(job: ReplicationJob) -> None:
    items = ReplicationItem.objects.filter(job=job)
    job.file_count = items.count()
    job.size_bytes = sum(items.values_list("size", flat=True))
    ReplicationJob.objects.filter(pk=job.pk).update(file_count=job.file_count, size_bytes=job.size_bytes)


def _destination_for(
    members: set[int],
    volumes: dict[int, Volume],
    file_id: int,
    has_row: set[tuple[int, int]],
    copies: list[Copy],
) -> tuple[Volume, Copy, str] | None:
    """The destination volume of a group, the best source for it, and the job's host; None if none works."""
    candidates = sorted(
        (volumes[v] for v in members),
        key=lambda v: ((file_id, v.pk) in has_row, -(v.free_bytes or 0), v.label),
    )
    for destination in candidates:
        if not destination.online or destination.health == Volume.Health.FAILING:
            continue
        sources = [c for c in selectors.rank_sources(copies) if c.volume_id != destination.pk]
        if is_object_storage(destination.location):
            if sources:
                best = sources[0]
                host = "" if is_object_storage(best.volume.location) else best.volume.host
                return destination, best, host
            continue
        readable = [
            c for c in sources if is_object_storage(c.volume.location) or c.volume.host == destination.host
        ]
        if readable:
            return destination, readable[0], destination.host
    return None


def replication_request(
    *,
    actor: AnyUser | None,
    project: Project,
    card: Volume | None = None,
    day: int | None = None,
    clip_ids: Sequence[int] = (),
    enqueue: bool = True,
) -> Planned:
    """On demand: plan the replication of a card's, a shoot day's or some clips' files (audited)."""
    files = MediaFile.objects.filter(Q(clip__project=project) | Q(card__project=project))
    if card is not None:
        files = files.filter(card=card)
    elif day is not None:
        files = files.filter(clip__day__number=day, clip__project=project)
    elif clip_ids:
        files = files.filter(clip_id__in=list(clip_ids))
    else:
        raise ProtectionError("say which files: a card, a shoot day or clips")
    ids = list(files.values_list("pk", flat=True).distinct())
    if not ids:
        raise ProtectionError("no file of the catalog matches")
    return replication_plan(
        actor=actor,
        project=project,
        media_file_ids=ids,
        trigger=ReplicationJob.Trigger.ON_DEMAND,
        enqueue=enqueue,
    )


@transaction.atomic(durable=True)
def replication_job_retry(*, actor: AnyUser | None, job: ReplicationJob) -> ReplicationJob:
    """Queue a failed job again: its failed files are tried again, its verified ones are kept."""
    locked = ReplicationJob.objects.select_for_update().get(pk=job.pk)
    if locked.state != ReplicationJob.State.FAILED:
        raise ProtectionError(f"replication {locked.pk} is {locked.get_state_display().lower()}, not failed")
    locked.items.filter(state=ReplicationItem.State.FAILED).update(
        state=ReplicationItem.State.PENDING, error=""
    )
    locked.state = ReplicationJob.State.QUEUED
    locked.error = ""
    locked.finished_at = None
    locked.save(update_fields=["state", "error", "finished_at"])
    audit_record(
        actor=actor,
        action="replication.retry",
        obj=locked,
        project=locked.project,
        before={"state": ReplicationJob.State.FAILED},
        after={"state": ReplicationJob.State.QUEUED},
    )
    _enqueue(locked.pk, locked.host)
    return locked


@transaction.atomic(durable=True)
def replication_job_pause(*, actor: AnyUser | None, job: ReplicationJob) -> ReplicationJob:
    """Hold a waiting or running job: a running one stops after the file it is copying (kept)."""
    locked = ReplicationJob.objects.select_for_update().get(pk=job.pk)
    pausable = (
        ReplicationJob.State.QUEUED,
        ReplicationJob.State.RUNNING,
        ReplicationJob.State.WAITING_WINDOW,
    )
    if locked.state not in pausable:
        raise ProtectionError(
            f"replication {locked.pk} is {locked.get_state_display().lower()}: nothing to pause"
        )
    before = locked.state
    locked.state = ReplicationJob.State.PAUSED
    locked.save(update_fields=["state"])
    audit_record(
        actor=actor,
        action="replication.pause",
        obj=locked,
        project=locked.project,
        before={"state": before},
        after={"state": locked.state},
    )
    return locked


@transaction.atomic(durable=True)
def replication_job_resume(*, actor: AnyUser | None, job: ReplicationJob) -> ReplicationJob:
    """Queue a paused job again; it goes on with the files not yet verified."""
    locked = ReplicationJob.objects.select_for_update().get(pk=job.pk)
    if locked.state != ReplicationJob.State.PAUSED:
        raise ProtectionError(f"replication {locked.pk} is {locked.get_state_display().lower()}, not paused")
    locked.state = ReplicationJob.State.QUEUED
    locked.save(update_fields=["state"])
    audit_record(
        actor=actor,
        action="replication.resume",
        obj=locked,
        project=locked.project,
        before={"state": ReplicationJob.State.PAUSED},
        after={"state": locked.state},
    )
    _enqueue(locked.pk, locked.host)
    return locked


# --- Running ----------------------------------------------------------------------------------------


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.REELVAULT_JOB_STALE_SECONDS)


def _claim(job_id: int) -> bool:
    """Take the job: queued, or running with a dead runner (stale heartbeat). One runner wins."""
    now = timezone.now()
    claimable = Q(state=ReplicationJob.State.QUEUED) | Q(
        state=ReplicationJob.State.RUNNING, heartbeat_at__lt=now - _stale_after()
    )
    return (
        ReplicationJob.objects.filter(Q(pk=job_id) & claimable).update(
            state=ReplicationJob.State.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now)),
            heartbeat_at=now,
            error="",
            attempts=F("attempts") + 1,
        )
        == 1
    )


def window_open(config: DestinationSettings | None, now: datetime | None = None) -> bool:
    """Whether the destination may be written now (local time); no window: always."""
    if config is None or config.window_start is None or config.window_end is None:
        return True
    current: clock = timezone.localtime(now or timezone.now()).time()
    start, end = config.window_start, config.window_end
    return start <= current < end if start <= end else current >= start or current < end


def replication_jobs_recover() -> list[int]:
    """Re-enqueue running jobs whose worker died (stale heartbeat) and jobs whose window opened."""
    now = timezone.now()
    recovered = []
    for job_id, host in ReplicationJob.objects.filter(
        state=ReplicationJob.State.RUNNING, heartbeat_at__lt=now - _stale_after()
    ).values_list("pk", "host"):
        with transaction.atomic():
            _enqueue(job_id, host)
        recovered.append(job_id)
    for job in ReplicationJob.objects.filter(state=ReplicationJob.State.WAITING_WINDOW).select_related(
        "destination__protection_settings"
    ):
        if window_open(getattr(job.destination, "protection_settings", None), now):
            with transaction.atomic():
                if ReplicationJob.objects.filter(pk=job.pk, state=ReplicationJob.State.WAITING_WINDOW).update(
                    state=ReplicationJob.State.QUEUED
                ):
                    _enqueue(job.pk, job.host)
                    recovered.append(job.pk)
    return recovered


class _StopJob(Exception):
    """The destination cannot be used: stop the job (files done so far stay done)."""


class _WindowClosed(Exception):
    """The destination's transfer window closed: the job waits for the next one."""


class _Paused(Exception):
    """Someone paused the job: stop between files, keep what is verified."""


class _Progress:
    def __init__(self, job: ReplicationJob, report: Callable[[ReplicationJob], None] | None) -> None:
        self.job = job
        self.report = report
        self.started = time.monotonic()
        self.last_write = 0.0
        self.file_bytes = 0
        self.current = ""

    def on_bytes(self, phase: str, n: int) -> None:
        # A file counts half when copied and whole when read back and verified.
        self.file_bytes += n // 2
        self.write()

    def count(self, phase: str, n: int) -> None:
        """``on_bytes`` for the read-back thread: counts only (database work stays on the job's thread)."""
        self.file_bytes += n // 2

    def write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < PROGRESS_INTERVAL:
            return
        self.last_write = now
        done = self.job.items.filter(state=ReplicationItem.State.VERIFIED)
        ReplicationJob.objects.filter(pk=self.job.pk).update(
            files_done=self.job.items.exclude(state=ReplicationItem.State.PENDING).count(),
            bytes_done=sum(done.values_list("size", flat=True)),
            current_file=self.current[:1024],
            heartbeat_at=timezone.now(),
        )
        if self.report is not None:
            self.job.refresh_from_db()
            self.job.bytes_done += self.file_bytes
            self.report(self.job)


class _Writers:
    def __init__(self, destination: Volume) -> None:
        from protection import storage  # boto3 (0.2 s): loaded when replication runs

        self.destination = destination
        self.place = storage.place_for(destination.location, name=destination.label)
        self._writers: dict[str, CardWriter] = {}

    def open(self, path: str) -> tuple[CardWriter, str]:
        label, relpath = split_copy_path(path)
        if label not in self._writers:
            try:
                # Creates the card folder, takes its lock, removes leftovers of a killed run
                # (temporary files; unfinished multipart uploads in a bucket).
                self._writers[label] = self.place.open_writer(label)
            except DestinationError as exc:
                raise _StopJob(
                    f"{self.destination.label} ({self.destination.location}) cannot be written: {exc}"
                ) from exc
        return self._writers[label], relpath

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()


def _source_label(job: ReplicationJob) -> str:
    return f"Replication {job.pk} to {job.destination.label}"


class _Recorder:
    """Verified copies go to catalog.copies in batches, with their items, in one transaction."""

    def __init__(self, job: ReplicationJob) -> None:
        self.job = job
        self.pending: list[tuple[ReplicationItem, CopyCheck, dict[str, Any]]] = []
        self.last_flush = time.monotonic()

    def add(self, item: ReplicationItem, check: CopyCheck, fields: dict[str, Any]) -> None:
        self.pending.append((item, check, fields))
        if (
            len(self.pending) >= RECORD_BATCH
            or check.found is not Found.PROVEN
            or time.monotonic() - self.last_flush >= RECORD_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        job = self.job
        with transaction.atomic():
            copies_record(
                actor=None,
                volume=job.destination,
                checks=[check for _, check, _ in batch],
                source=_source_label(job),
                context={"replication": job.pk},
                link=f"/replications/{job.pk}/",
            )
            for item, _, fields in batch:
                ReplicationItem.objects.filter(pk=item.pk).update(**fields)


def _condemn(job: ReplicationJob, copy: Copy, state: str, message: str, found: str) -> None:
    copy_condemn_if_verified(
        actor=None,
        copy=copy,
        state=state,
        error=message,
        hash_found=found,
        source=_source_label(job),
        context={"replication": job.pk},
        link=f"/replications/{job.pk}/",
    )


def _worm_seal(job: ReplicationJob, config: DestinationSettings | None, path: str) -> None:
    from protection import storage  # boto3 (0.2 s): loaded when replication runs

    destination = job.destination
    if not destination.worm:
        return
    if is_object_storage(destination.location):
        storage.object_lock(
            location=destination.location,
            path=path,
            mode=config.lock_mode if config else DestinationSettings.LockMode.GOVERNANCE,
            days=config.retention_days if config else 365,
            now=timezone.now(),
        )
    else:
        storage.local_make_read_only(root=destination.location, path=path)


@dataclass
class _Staged:
    """A file copied from a good source and waiting for its read-back (``filecopy.ProveAhead``)."""

    item: ReplicationItem
    copy: Copy
    tries: list[dict[str, Any]]
    started: float


def _replicate_item(
    job: ReplicationJob,
    item: ReplicationItem,
    writers: _Writers,
    sources: CopySources,
    progress: _Progress,
    recorder: _Recorder,
    config: DestinationSettings | None,
) -> tuple[filecopy.StagedCopy, _Staged] | None:
    """Copy one item from its best good source. Returns the staged copy still to be proven, or
    None when the item is settled already (found in place, or failed with the reason)."""
    from protection import storage  # boto3 (0.2 s): loaded when replication runs

    media_file = item.media_file
    tries: list[dict[str, Any]] = list(item.tries)
    started = time.monotonic()
    progress.current = item.path
    progress.file_bytes = 0
    progress.write(force=True)
    writer, relpath = writers.open(item.path)
    storage.tag_next(writer, media_file.xxh128)
    mtime_ns = int(media_file.mtime.timestamp() * 1_000_000_000) if media_file.mtime is not None else None
    cap = (config.max_mb_per_second * 1_000_000) if config is not None else 0
    for copy in selectors.sources_for(
        media_file_id=media_file.pk, host=settings.REELVAULT_HOSTNAME, exclude=job.destination_id
    ):
        try:
            reader, path = sources.open(copy)
        except DestinationError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "unavailable", "message": str(exc)})
            continue
        try:
            staged = filecopy.copy_stage(
                reader=reader,
                path=path,
                writer=writer,
                relpath=relpath,
                expected_xxh128=media_file.xxh128,
                size=media_file.size,
                mtime_ns=mtime_ns,
                on_progress=progress.on_bytes,
                max_bytes_per_second=cap,
            )
        except filecopy.SourceMissingError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "missing", "message": str(exc)})
            _condemn(job, copy, Copy.State.MISSING, str(exc), "")
            continue
        except filecopy.SourceCorruptError as exc:
            # Never replicate corruption: the source is condemned, the next good copy is used.
            tries.append({"volume": copy.volume.label, "outcome": "corrupt", "message": str(exc)})
            _condemn(job, copy, Copy.State.CORRUPT, str(exc), exc.found)
            continue
        except filecopy.SourceUnavailableError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "unavailable", "message": str(exc)})
            continue
        except (filecopy.DestinationFileError, DestinationError) as exc:
            _settle(job, _Staged(item, copy, tries, started), exc, recorder, config)
            return None
        if isinstance(staged, filecopy.FileCopied):
            _settle(job, _Staged(item, copy, tries, started), staged, recorder, config)
            return None
        return staged, _Staged(item, copy, tries, started)
    error = (
        "every copy is bad: " + "; ".join(f"{t['volume']}: {t['outcome']}" for t in tries)
        if tries
        else f"no verified copy is online and readable on {settings.REELVAULT_HOSTNAME}"
    )
    ReplicationItem.objects.filter(pk=item.pk).update(
        state=ReplicationItem.State.FAILED, tries=tries, error=error, seconds=time.monotonic() - started
    )
    return None


def _settle(
    job: ReplicationJob,
    staged: _Staged,
    outcome: filecopy.FileCopied | BaseException,
    recorder: _Recorder,
    config: DestinationSettings | None,
) -> None:
    """Record an item copied from ``staged.copy`` once its proof is known: verified only when
    ``outcome`` is a FileCopied (read back and matched, or found in place), else failed with the
    reason. A destination that cannot be used any more stops the job (_StopJob)."""
    from protection import storage  # boto3 (0.2 s): loaded when replication runs

    item, copy, tries = staged.item, staged.copy, staged.tries
    media_file = item.media_file
    if isinstance(outcome, filecopy.FileCopied):
        try:
            _worm_seal(job, config, item.path)
        except storage.WormError as exc:
            tries.append({"volume": copy.volume.label, "outcome": "not sealed", "message": str(exc)})
            outcome = exc
    if isinstance(outcome, filecopy.FileCopied):
        tries.append(
            {"volume": copy.volume.label, "outcome": "already there" if outcome.already_there else "copied"}
        )
        recorder.add(
            item,
            CopyCheck(
                media_file=media_file, path=item.path, found=Found.PROVEN, hash_found=media_file.xxh128
            ),
            {
                "state": ReplicationItem.State.VERIFIED,
                "source_copy": copy,
                "tries": tries,
                "error": "",
                "already_there": outcome.already_there,
                "seconds": time.monotonic() - staged.started,
            },
        )
        ReplicationJob.objects.filter(pk=job.pk).update(bytes_copied=F("bytes_copied") + outcome.bytes_copied)
        return
    found = Found.FAILED
    if isinstance(outcome, filecopy.DestinationConflictError):
        tries.append({"volume": copy.volume.label, "outcome": "conflict", "message": str(outcome)})
        found = Found.CONFLICT
    elif isinstance(outcome, filecopy.DestinationFileError):
        tries.append({"volume": copy.volume.label, "outcome": "destination", "message": str(outcome)})
    elif isinstance(outcome, DestinationError):
        ReplicationItem.objects.filter(pk=item.pk).update(tries=tries)
        raise _StopJob(f"{job.destination.label}: {outcome}") from outcome
    elif not isinstance(outcome, storage.WormError):
        raise outcome
    recorder.add(
        item,
        CopyCheck(media_file=media_file, path=item.path, found=found, error=str(outcome)),
        {
            "state": ReplicationItem.State.FAILED,
            "tries": tries,
            "error": str(outcome),
            "seconds": time.monotonic() - staged.started,
        },
    )


class _Pipeline:
    """Reads back file k on a background thread while file k+1 is copied (``filecopy.ProveAhead``).

    Only the read-back runs on that thread: commits, WORM seals and every database write stay on
    the job's thread, in order, and an item counts only once its own read-back matched. A kill
    leaves at most two files unrecorded; the resumed run finds them as a resumed run finds any
    file (in place with the expected content, or a temporary file that is swept away)."""

    def __init__(
        self,
        job: ReplicationJob,
        progress: _Progress,
        recorder: _Recorder,
        config: DestinationSettings | None,
    ) -> None:
        self.job, self.progress, self.recorder, self.config = job, progress, recorder, config
        self.prover = filecopy.ProveAhead(depth=1)
        self.waiting: dict[filecopy.StagedCopy, _Staged] = {}

    def add(self, staged: filecopy.StagedCopy, context: _Staged) -> None:
        self.waiting[staged] = context
        self._settle_all(self.prover.submit(staged, on_progress=self.progress.count))

    @property
    def busy(self) -> bool:
        return bool(self.waiting)

    def drain(self) -> None:
        self._settle_all(self.prover.drain())

    def _settle_all(self, proofs: list[tuple[filecopy.StagedCopy, BaseException | None]]) -> None:
        stop: _StopJob | None = None
        for staged, error in proofs:
            context = self.waiting.pop(staged)
            outcome: filecopy.FileCopied | BaseException
            if error is None:
                try:
                    outcome = filecopy.staged_commit(staged)
                except (filecopy.DestinationFileError, DestinationError) as exc:
                    outcome = exc
            else:
                outcome = error
            try:
                _settle(self.job, context, outcome, self.recorder, self.config)
            except _StopJob as exc:
                stop = stop or exc  # settle the others first: their proofs are known
        if stop is not None:
            raise stop

    def close(self) -> None:
        self.prover.close()  # aborts what was not settled (an error left the loop)


def _check_destination(job: ReplicationJob) -> None:
    from protection import storage  # boto3 (0.2 s): loaded when replication runs

    destination = job.destination
    if not destination.online:
        raise _StopJob(f"{destination.label} is marked offline: mount it and mark it online, then retry")
    if destination.health == Volume.Health.FAILING:
        raise _StopJob(
            f"{destination.label} is failing (SMART): refused as a destination; replace the drive "
            "or take it out of the volume group"
        )
    if is_object_storage(destination.location):
        if destination.worm:
            try:
                storage.bucket_lock_check(location=destination.location, label=destination.label)
            except storage.WormError as exc:
                raise _StopJob(str(exc)) from exc
        return
    root = Path(destination.location)
    if not root.is_dir():
        raise _StopJob(
            f"{destination.label} is not mounted at {root} on {settings.REELVAULT_HOSTNAME}: "
            "mount it, then retry"
        )
    try:
        volume_identity_verify(volume=destination, path=root)
    except VolumeIdentityError as exc:
        raise _StopJob(f"{destination.label}: {exc}") from exc


def replication_job_enqueue(*, job: ReplicationJob) -> None:
    """Send a job to its host's queue (after the commit, if in a transaction)."""
    _enqueue(job.pk, job.host)


def replication_job_run(
    *, job_id: int, on_progress: Callable[[ReplicationJob], None] | None = None
) -> ReplicationJob | None:
    """Run (or resume) a queued replication job. Returns the job when it stopped, or None if not claimable.

    Safe to run twice: the claim lets one runner in; a resumed run skips the
    verified files and finds a file completed just before a kill already at
    the destination (same content), so nothing is copied twice. Files added
    to the job while it runs are taken too.
    """
    if not _claim(job_id):
        return None
    job = ReplicationJob.objects.select_related("project", "destination__project").get(pk=job_id)
    config = DestinationSettings.objects.filter(volume=job.destination).first()
    with transaction.atomic():
        audit_record(
            actor=None,
            action="replication.start",
            obj=job,
            project=job.project,
            after={
                "host": settings.REELVAULT_HOSTNAME,
                "attempt": job.attempts,
                "destination": job.destination.label,
            },
        )
    run_started = time.monotonic()
    progress = _Progress(job, on_progress)
    sources = CopySources()
    recorder = _Recorder(job)
    writers: _Writers | None = None
    pipeline = _Pipeline(job, progress, recorder, config)
    try:
        if not window_open(config):
            raise _WindowClosed
        _check_destination(job)
        writers = _Writers(job.destination)
        seen: set[int] = set()
        while True:
            pending = [
                i
                for i in job.items.filter(state=ReplicationItem.State.PENDING)
                .select_related("media_file")
                .order_by("path")
                if i.pk not in seen
            ]
            if not pending:
                if not pipeline.busy:
                    break
                pipeline.drain()  # then look again: items may have been added meanwhile
                continue
            for item in pending:
                seen.add(item.pk)
                if not window_open(config):
                    pipeline.drain()
                    raise _WindowClosed
                if ReplicationJob.objects.filter(pk=job.pk, state=ReplicationJob.State.PAUSED).exists():
                    pipeline.drain()
                    raise _Paused
                staged = _replicate_item(job, item, writers, sources, progress, recorder, config)
                if staged is not None:
                    pipeline.add(*staged)
        recorder.flush()
    except _WindowClosed:
        recorder.flush()
        ReplicationJob.objects.filter(pk=job.pk).update(
            state=ReplicationJob.State.WAITING_WINDOW,
            current_file="",
            heartbeat_at=timezone.now(),
            seconds=F("seconds") + (time.monotonic() - run_started),
        )
        job.refresh_from_db()
        return job
    except _Paused:
        recorder.flush()
        ReplicationJob.objects.filter(pk=job.pk).update(
            current_file="", seconds=F("seconds") + (time.monotonic() - run_started)
        )
        job.refresh_from_db()
        return job
    except _StopJob as exc:
        try:
            pipeline.drain()  # files proven before the destination failed still count
        except _StopJob:
            pass
        recorder.flush()
        return _finish(job, run_started, error=str(exc))
    finally:
        pipeline.close()
        sources.close()
        if writers is not None:
            writers.close()
    return _finish(job, run_started, error="")


def _finish(job: ReplicationJob, run_started: float, *, error: str) -> ReplicationJob:
    failed = list(
        job.items.filter(state=ReplicationItem.State.FAILED).values_list("path", "error").order_by("path")
    )
    pending = job.items.filter(state=ReplicationItem.State.PENDING).count()
    verified = job.items.filter(state=ReplicationItem.State.VERIFIED).count()
    messages = [error] if error else []
    if failed:
        messages.append(
            f"{len(failed)} of {job.file_count} files could not be replicated: "
            + "; ".join(f"{path} ({reason})" for path, reason in failed[:20])
            + (" …" if len(failed) > 20 else "")
        )
    if pending and error:
        messages.append(f"{pending} files were not attempted; {verified} are replicated and verified")
    state = ReplicationJob.State.FAILED if messages else ReplicationJob.State.VERIFIED
    with transaction.atomic():
        ReplicationJob.objects.filter(pk=job.pk).update(
            state=state,
            error="\n".join(messages),
            finished_at=timezone.now(),
            seconds=F("seconds") + (time.monotonic() - run_started),
            files_done=verified + len(failed),
            bytes_done=sum(
                job.items.filter(state=ReplicationItem.State.VERIFIED).values_list("size", flat=True)
            ),
            current_file="",
            heartbeat_at=timezone.now(),
        )
        job.refresh_from_db()
        audit_record(
            actor=None,
            action="replication.finish",
            obj=job,
            project=job.project,
            before={"state": ReplicationJob.State.RUNNING},
            after={
                "state": state,
                "verified": verified,
                "failed": [path for path, _ in failed[:200]],
                "not_attempted": pending,
                "error": error,
            },
        )
        key = f"replication:volume:{job.destination_id}"
        project, label = job.project, job.destination.label
        if state == ReplicationJob.State.FAILED:
            items = [f"{path}: {reason}" for path, reason in failed[:100]]
            transaction.on_commit(
                lambda: alert_raise(
                    project=project,
                    key=key,
                    kind="replication.failed",
                    severity=Severity.WARNING,
                    title=f"{project.code}: replication to {label} failed",
                    body=job.error,
                    link=f"/replications/{job.pk}/",
                    items=items,
                ),
                robust=True,
            )
        else:
            transaction.on_commit(
                lambda: alert_resolve_key(
                    key=key,
                    resolution=f"replication {job.pk} verified {verified} files "
                    f"({format_bytes(job.size_bytes)}) on {label}",
                ),
                robust=True,
            )
    return job


def replication_job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed with the reason (the runner itself crashed)."""
    job = ReplicationJob.objects.select_related("project", "destination").get(pk=job_id)
    if job.state in ReplicationJob.ACTIVE:
        _finish(job, time.monotonic(), error=message)

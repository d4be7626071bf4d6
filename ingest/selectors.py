"""Ingest reads."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from catalog.display import when_text
from catalog.models import Copy, MediaFile, Project, ShootDay, Volume
from catalog.volumes import volume_card_formatted
from formats.cardformat import CardFormat, recognise_card
from ingest.models import OffloadJob, OffloadPreset, OffloadSummary, ScanProblemSummary


@dataclass(frozen=True)
class CardCandidate:
    path: Path
    label: str


def card_candidates() -> list[CardCandidate]:
    """Folders directly under this host's ingest roots: the mounted cards a DIT can offload."""
    found: list[CardCandidate] = []
    for root in settings.REELVAULT_INGEST_ROOTS:
        root = Path(root)
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.is_symlink() and not child.name.startswith("."):
                found.append(CardCandidate(child, child.name))
    return found


def destination_volumes(*, project: Project) -> QuerySet[Volume]:
    """Volumes an offload on this host can write to: local, online, not cards."""
    return (
        project.volumes.exclude(kind__in=[Volume.Kind.CARD, Volume.Kind.S3])
        .filter(online=True, host=settings.REELVAULT_HOSTNAME)
        .order_by("label")
    )


def offload_list(*, project: Project) -> QuerySet[OffloadJob]:
    return project.offloads.select_related("card", "created_by").prefetch_related("destinations")


def offload_files(*, job: OffloadJob) -> QuerySet[MediaFile]:
    """The card's files with their copies, for the transfer report."""
    from django.db.models import Prefetch

    return (
        MediaFile.objects.filter(card=job.card)
        .order_by("relative_path")
        .prefetch_related(Prefetch("copies", queryset=Copy.objects.select_related("volume")))
    )


def offload_summary(*, job: OffloadJob) -> OffloadSummary:
    """The job's outcome summary (empty until it finished), typed."""
    summary: OffloadSummary = job.summary
    return summary


def cards_offloaded_not_formatted(*, project: Project, labels: list[str]) -> dict[str, str]:
    """A warning for each of these card labels already offloaded and not confirmed formatted since.

    Keys are the labels in capitals. Offloading such a card again is usually
    a mistake (the same card inserted twice); the files it shares with the
    first offload are recognised by path and hash and not copied again.
    """
    wanted = {label.upper() for label in labels}
    if not wanted:
        return {}
    warnings: dict[str, str] = {}
    jobs = (
        OffloadJob.objects.filter(project=project, card__kind=Volume.Kind.CARD)
        .exclude(state__in=OffloadJob.ACTIVE)
        .select_related("card")
        .order_by("-created_at")
    )
    for job in jobs:
        label = job.label.upper()
        if label not in wanted or label in warnings:
            continue
        formatted = volume_card_formatted(volume=job.card)
        if formatted is None or formatted < job.created_at:
            warnings[label] = (
                f"card {job.label} was already offloaded on {when_text(job.created_at)} (offload {job.pk}) "
                "and not recorded as formatted since"
            )
    return warnings


def offload_mhl_notes(*, job: OffloadJob) -> list[ScanProblemSummary]:
    """Files copied and verified whose names ASC MHL cannot record, with what to do."""
    return [p for p in offload_summary(job=job).get("scan_problems", []) if p["kind"] == "not_in_mhl"]


# --- The offload screen ------------------------------------------------------------


@dataclass(frozen=True)
class CardSurvey:
    """A mounted card as the offload screen shows it."""

    path: Path
    label: str
    files: int
    bytes: int
    format: CardFormat
    fingerprint: str  # the card's identity: label and every file's path, size and mtime
    oldest_mtime_ns: int | None = None  # of its non-empty, non-hidden files

    @property
    def recorded(self) -> datetime | None:
        """When it was shot: the date in its clip names, else its oldest file's time."""
        if self.format.recorded is not None:
            d = self.format.recorded
            return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)
        if self.oldest_mtime_ns is None:
            return None
        return datetime.fromtimestamp(self.oldest_mtime_ns / 1e9, tz=UTC)


def card_survey(path: Path) -> CardSurvey:
    """Walk one card (names and sizes only, nothing read): count, size, format and identity.

    Hidden files (``.DS_Store``, ``._*`` that computers add to a card) are left
    out of the identity, so looking at a card does not make it a new one.
    Symlinks are not followed.
    """
    paths: list[str] = []
    size = 0
    oldest: int | None = None
    identity = hashlib.sha256(path.name.encode("utf-8", "surrogateescape"))
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        relfolder = os.path.relpath(folder, path)
        for name in sorted(names):
            try:
                st = os.lstat(f"{folder}/{name}")
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):  # symlinks, devices: not card files (lstat: not followed)
                continue
            rel = name if relfolder == "." else f"{relfolder}/{name}"
            paths.append(rel)
            size += st.st_size
            if not any(part.startswith(".") for part in rel.split("/")):
                if st.st_size > 0 and (oldest is None or st.st_mtime_ns < oldest):
                    oldest = st.st_mtime_ns
                identity.update(f"\0{rel}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape"))
    return CardSurvey(path, path.name, len(paths), size, recognise_card(paths), identity.hexdigest(), oldest)


def cards_mounted() -> list[CardSurvey]:
    """Every card mounted under this host's ingest roots, surveyed."""
    return [card_survey(c.path) for c in card_candidates()]


@dataclass(frozen=True)
class DestinationState:
    """A destination as the DIT weighs it before an offload."""

    volume: Volume
    free_bytes: int | None  # measured now when mounted here, else the last capacity report
    mounted: bool
    health: str  # Volume.Health value, kept current by custody's SMART checks

    @property
    def refused(self) -> bool:
        return self.health == Volume.Health.FAILING

    def fits(self, card_bytes: int) -> bool | None:
        """Whether a card of this size fits (None when the free space is unknown)."""
        return None if self.free_bytes is None else self.free_bytes >= card_bytes


def destination_states(*, project: Project) -> list[DestinationState]:
    """The project's destination volumes on this host with free space and drive health."""
    states = []
    for volume in destination_volumes(project=project):
        mounted = Path(volume.location).is_dir()
        free = shutil.disk_usage(volume.location).free if mounted else volume.free_bytes
        states.append(DestinationState(volume, free, mounted, volume.health))
    return states


@dataclass(frozen=True)
class Throughput:
    mb_per_second: float
    measured: bool  # from recent offloads on this host, else the documented figure
    samples: int


def offload_throughput(*, host: str | None = None) -> Throughput:
    """Card MB/s to expect on this host: median of its last 5 offloads of 100 MB or more.

    Without such offloads, ``REELVAULT_OFFLOAD_ASSUMED_MBPS`` (README "Offload"):
    smaller offloads are dominated by start-up and sync time, not the drives.
    """
    rows = (
        OffloadJob.objects.filter(
            host=host or settings.REELVAULT_HOSTNAME,
            state=OffloadJob.State.COMPLETED,
            summary__bytes__gte=100_000_000,
        )
        .order_by("-finished_at")
        .values_list("summary__mb_per_second", flat=True)[:5]
    )
    speeds = [float(v) for v in rows if v]
    if speeds:
        return Throughput(statistics.median(speeds), True, len(speeds))
    return Throughput(float(settings.REELVAULT_OFFLOAD_ASSUMED_MBPS), False, 0)


def offload_estimate_seconds(*, card_bytes: int, throughput: Throughput) -> float:
    return card_bytes / (throughput.mb_per_second * 1e6) if throughput.mb_per_second > 0 else 0.0


def offload_preset(*, project: Project) -> OffloadPreset | None:
    return OffloadPreset.objects.filter(project=project).prefetch_related("destinations").first()


def host_offload_queue(*, project: Project, host: str | None = None) -> list[OffloadJob]:
    """This host's running, queued and paused offloads of the project: running first, then in order."""
    jobs = (
        OffloadJob.objects.filter(
            project=project, host=host or settings.REELVAULT_HOSTNAME, state__in=OffloadJob.ACTIVE
        )
        .select_related("card", "day", "preset")
        .prefetch_related("destinations")
        .order_by("created_at", "pk")
    )
    order = {OffloadJob.State.RUNNING: 0, OffloadJob.State.QUEUED: 1, OffloadJob.State.PAUSED: 2}
    return sorted(jobs, key=lambda job: order.get(OffloadJob.State(job.state), 3))


def offload_recent_finished(*, project: Project, limit: int = 5) -> QuerySet[OffloadJob]:
    return (
        OffloadJob.objects.filter(project=project, state__in=OffloadJob.FINISHED)
        .select_related("card", "day")
        .order_by("-finished_at")[:limit]
    )


def current_day(*, project: Project) -> ShootDay | None:
    """The project's current shoot day: the latest day dated today or earlier, else its first planned day."""
    today = timezone.localdate()
    days = ShootDay.objects.filter(project=project)
    return (
        days.filter(date__lte=today).order_by("-date", "-number").first()
        or days.order_by("date", "number").first()
    )


def offload_day_resolve(
    *, project: Project, recorded: datetime | None, rule: str = OffloadPreset.DayRule.RECORDED
) -> ShootDay | None:
    """The shoot day an offload belongs to when none was given.

    ``recorded`` rule: the day dated the card's recording date (local date), else the current day;
    ``current`` rule: the current day (``current_day``). None only when the project has no day.
    """
    if rule == OffloadPreset.DayRule.RECORDED and recorded is not None:
        on_date = timezone.localtime(recorded).date()
        day = ShootDay.objects.filter(project=project, date=on_date).order_by("unit", "number").first()
        if day is not None:
            return day
    return current_day(project=project)


@dataclass(frozen=True)
class CardRow:
    """One mounted card on the offload screen, weighed against the destinations."""

    card: CardSurvey
    day: ShootDay | None
    estimate_seconds: float
    fits: list[tuple[DestinationState, bool | None]]
    active: OffloadJob | None  # its running, queued or paused offload, if any
    warning: str  # already offloaded and not formatted since, or ""


def offload_screen_cards(
    *,
    project: Project,
    preset: OffloadPreset | None,
    destinations: list[DestinationState],
    throughput: Throughput,
) -> list[CardRow]:
    rule = preset.day_rule if preset is not None else OffloadPreset.DayRule.RECORDED
    cards = cards_mounted()
    active = {
        job.label.upper(): job
        for job in OffloadJob.objects.filter(project=project, state__in=OffloadJob.ACTIVE).select_related(
            "day"
        )
    }
    warnings = cards_offloaded_not_formatted(project=project, labels=[c.label for c in cards])
    return [
        CardRow(
            card=card,
            day=offload_day_resolve(project=project, recorded=card.recorded, rule=rule),
            estimate_seconds=offload_estimate_seconds(card_bytes=card.bytes, throughput=throughput),
            fits=[(d, d.fits(card.bytes)) for d in destinations],
            active=active.get(card.label.upper()),
            warning=warnings.get(card.label.upper(), ""),
        )
        for card in cards
    ]

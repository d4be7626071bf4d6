"""Ingest reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Copy, MediaFile, Project, Volume
from catalog.volumes import volume_card_formatted
from ingest.models import OffloadJob, OffloadSummary, ScanProblemSummary


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
        .exclude(state__in=[OffloadJob.State.QUEUED, OffloadJob.State.RUNNING])
        .select_related("card")
        .order_by("-created_at")
    )
    for job in jobs:
        label = job.label.upper()
        if label not in wanted or label in warnings:
            continue
        formatted = volume_card_formatted(volume=job.card)
        if formatted is None or formatted < job.created_at:
            when = timezone.localtime(job.created_at)
            warnings[label] = (
                f"card {job.label} was already offloaded on {when:%Y-%m-%d %H:%M %Z} (offload {job.pk}) "
                "and not recorded as formatted since"
            )
    return warnings


def offload_mhl_notes(*, job: OffloadJob) -> list[ScanProblemSummary]:
    """Files copied and verified whose names ASC MHL cannot record, with what to do."""
    return [p for p in offload_summary(job=job).get("scan_problems", []) if p["kind"] == "not_in_mhl"]

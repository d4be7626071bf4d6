"""Ingest reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from catalog.models import Copy, MediaFile, Project, Volume
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


def offload_mhl_notes(*, job: OffloadJob) -> list[ScanProblemSummary]:
    """Files copied and verified whose names ASC MHL cannot record, with what to do."""
    return [p for p in offload_summary(job=job).get("scan_problems", []) if p["kind"] == "not_in_mhl"]

"""Restore reads: visible requests and targets, the best copy of each file, drill trends, the runbook."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Sum, Value, When

from catalog.models import Copy, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser, Cap, projects_for
from catalog.runbook import RunbookSectionText, runbook_sections
from restore.models import RestoreDrill, RestoreItem, RestoreRequest, RestoreTarget

TIER_ORDER: tuple[str, ...] = (Volume.Tier.HOT, Volume.Tier.WARM, Volume.Tier.COLD)

# Best copy first: a healthy volume before one of unknown health before a
# warning one (a failing drive is the last resort, but still a resort); then
# the fastest tier; then the most recently proven copy.
_HEALTH_RANK = Case(
    When(volume__health=Volume.Health.HEALTHY, then=Value(0)),
    When(volume__health=Volume.Health.UNKNOWN, then=Value(1)),
    When(volume__health=Volume.Health.WARNING, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
_TIER_RANK = Case(
    *(When(volume__tier=tier, then=Value(rank)) for rank, tier in enumerate(TIER_ORDER)),
    default=Value(9),
    output_field=IntegerField(),
)
TIER_RANK = _TIER_RANK  # hot before warm before cold (drill plans order copies the same way)


def restore_list(*, user: AnyUser) -> QuerySet[RestoreRequest]:
    """Restore requests of the projects where the user may request restores (drills excluded)."""
    return (
        RestoreRequest.objects.filter(project__in=projects_for(user, Cap.REQUEST_RESTORE), is_drill=False)
        .select_related("project", "target", "requester")
        .prefetch_related("approvals__approver")
    )


def awaiting_approval(*, user: AnyUser) -> QuerySet[RestoreRequest]:
    """Requests the user may decide on now: waiting, in a project where they approve restores,
    not their own and not already decided by them. Oldest first (the first to expire)."""
    if not user.is_authenticated:
        return RestoreRequest.objects.none()
    return (
        RestoreRequest.objects.filter(
            project__in=projects_for(user, Cap.APPROVE_RESTORE),
            state=RestoreRequest.State.REQUESTED,
            is_drill=False,
        )
        .exclude(requester_id=user.pk)
        .exclude(approvals__approver_id=user.pk)
        .select_related("project", "target", "requester")
        .prefetch_related("approvals__approver")
        .order_by("created_at", "id")
    )


def target_list(*, user: AnyUser) -> QuerySet[RestoreTarget]:
    return RestoreTarget.objects.filter(project__in=projects_for(user, Cap.VIEW)).select_related("project")


def restore_items(*, restore: RestoreRequest) -> QuerySet[RestoreItem]:
    return restore.items.select_related("source_copy__volume", "media_file").order_by("path")


def usable_copies(
    *, media_file_ids: Iterable[int], host: str, tier: str = "", exclude_volume_ids: Sequence[int] = ()
) -> QuerySet[Copy]:
    """Verified copies a worker on ``host`` can read, best first per file (one query).

    Usable: verified, on an online volume mounted on ``host`` (or with no host
    recorded: buckets, shared mounts), not a camera card unless nothing else is left (cards are
    reformatted and reused, but until then they are a copy like any other).
    """
    copies = (
        Copy.objects.filter(
            media_file_id__in=list(media_file_ids),
            state=Copy.State.VERIFIED,
            volume__online=True,
            volume__host__in=[host, ""],
        )
        .select_related("volume")
        .annotate(
            health_rank=_HEALTH_RANK,
            tier_rank=_TIER_RANK,
            card_rank=Case(
                When(volume__kind=Volume.Kind.CARD, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
    )
    if tier:
        copies = copies.filter(volume__tier=tier)
    if exclude_volume_ids:  # a scenario drill's lost volumes
        copies = copies.exclude(volume_id__in=list(exclude_volume_ids))
    return copies.order_by("media_file_id", "card_rank", "health_rank", "tier_rank", "-verified_at", "pk")


def best_copies(
    *, media_file_ids: Sequence[int], host: str, tier: str = "", exclude_volume_ids: Sequence[int] = ()
) -> dict[int, list[Copy]]:
    """``{media_file_id: [copy, ...]}`` best first; files without a usable copy are absent."""
    result: dict[int, list[Copy]] = defaultdict(list)
    for copy in usable_copies(
        media_file_ids=media_file_ids, host=host, tier=tier, exclude_volume_ids=exclude_volume_ids
    ):
        result[copy.media_file_id].append(copy)
    return dict(result)


def source_host(*, media_file_ids: Sequence[int], default: str) -> str:
    """The host holding the most bytes of verified, online copies of these files."""
    rows = (
        Copy.objects.filter(media_file_id__in=media_file_ids, state=Copy.State.VERIFIED, volume__online=True)
        .exclude(volume__host="")
        .values("volume__host")
        .annotate(total=Sum("media_file__size"))
        .order_by("-total", "volume__host")
    )
    first = rows.first()
    return str(first["volume__host"]) if first else default


# --- Drills ----------------------------------------------------------------------------


def drill_list(*, project: Project) -> QuerySet[RestoreDrill]:
    return project.restore_drills.select_related("request", "started_by")


@dataclass(frozen=True)
class TierTrend:
    tier: str
    drills: int
    passed: int
    median_mb_per_second: float | None
    median_seconds: float | None
    last_at: datetime | None
    last_state: str
    recent_mb_per_second: list[float]  # oldest first, for the trend


def drill_trends(*, project: Project, recent: int = 10) -> list[TierTrend]:
    """Per tier: how many drills, how many passed, and the measured speed of the recent passed ones."""
    trends = []
    for tier in TIER_ORDER:
        drills = list(
            project.restore_drills.filter(tier=tier).exclude(state=RestoreDrill.State.RUNNING)[:recent]
        )
        passed = [d for d in drills if d.state == RestoreDrill.State.PASSED and d.mb_per_second]
        speeds = [d.mb_per_second for d in passed if d.mb_per_second is not None]
        seconds = [d.seconds for d in passed if d.seconds is not None]
        trends.append(
            TierTrend(
                tier=tier,
                drills=project.restore_drills.filter(tier=tier)
                .exclude(state=RestoreDrill.State.RUNNING)
                .count(),
                passed=project.restore_drills.filter(tier=tier, state=RestoreDrill.State.PASSED).count(),
                median_mb_per_second=statistics.median(speeds) if speeds else None,
                median_seconds=statistics.median(seconds) if seconds else None,
                last_at=drills[0].created_at if drills else None,
                last_state=drills[0].state if drills else "",
                recent_mb_per_second=list(reversed(speeds)),
            )
        )
    return trends


# --- Runbook ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunbookVolume:
    volume: Volume
    verified_copies: int
    verified_bytes: int


@dataclass(frozen=True)
class RunbookTier:
    tier: str
    label: str
    volumes: list[RunbookVolume]
    steps: list[str]
    responsible: str
    trend: TierTrend
    largest_day_bytes: int
    expected_seconds_per_day: float | None  # from measured drills; None when never measured
    section: RunbookSectionText | None = None  # what people wrote for this tier (catalog/runbook.py)


@dataclass(frozen=True)
class DayManifest:
    day: ShootDay
    files: int
    bytes: int


@dataclass(frozen=True)
class Runbook:
    project: Project
    tiers: list[RunbookTier]
    targets: list[RestoreTarget]
    days: list[DayManifest]
    total_files: int
    total_bytes: int
    files_without_copy: int = 0
    notes: list[str] = field(default_factory=list)


def _steps(tier: str, volumes: list[Volume], project: Project) -> list[str]:
    """The exact steps to restore from one tier, written from what the catalog holds."""
    kinds = {v.kind for v in volumes}
    hosts = sorted({v.host for v in volumes if v.host}) or ["(host not recorded)"]
    steps: list[str] = []
    offline = [v.label for v in volumes if not v.online]
    if kinds & {Volume.Kind.SHUTTLE, Volume.Kind.CARD}:
        steps.append(
            "Fetch the drive(s) "
            + ", ".join(v.label for v in volumes if v.kind in (Volume.Kind.SHUTTLE, Volume.Kind.CARD))
            + (" from off-site storage" if any(v.offsite for v in volumes) else "")
            + f" and connect them to {', '.join(hosts)} at the mount path listed below."
        )
    if Volume.Kind.LTO in kinds:
        steps.append(
            "Load the LTO tape(s) "
            + ", ".join(v.label for v in volumes if v.kind == Volume.Kind.LTO)
            + f" in the drive of {', '.join(hosts)} and mount them with LTFS at the mount path listed below."
        )
    if kinds & {Volume.Kind.RAID, Volume.Kind.NAS}:
        steps.append(
            f"Check the RAID/NAS volumes are mounted on {', '.join(hosts)} at the paths listed below."
        )
    if Volume.Kind.S3 in kinds:
        steps.append(
            "Object-storage copies are restored by the worker directly: check that the worker's host has "
            "credentials for the bucket (boto3's configuration; AWS_ENDPOINT_URL_S3 for S3-compatible "
            "storage)."
        )
    if offline:
        steps.append(f"A DIT marks {', '.join(offline)} online (Volumes, or PATCH /api/volumes/<id>/).")
    steps.extend(
        [
            f"An editor, DIT or producer requests the restore on the project's Restores page "
            f"(/p/{project.code}/restores/) or with POST /api/restores/: clips, scene, day or card, "
            "a target and a reason.",
            "A project admin other than the requester approves it (two different admins for a whole day or "
            "more than the size limit).",
            f"The worker on {', '.join(hosts)} copies each file from the best verified copy, reads it back "
            "and checks it against the catalog hash; progress and ETA show on the request's page.",
            "At the target, the receiving department runs `ascmhl-debug verify <restore folder>` against the "
            "ASC MHL history written with the files.",
        ]
    )
    return steps


def runbook(*, project: Project) -> Runbook:
    """Everything a person needs to restore this project, per tier, from the catalog."""
    volume_rows = (
        project.volumes.exclude(kind=Volume.Kind.CARD)
        .annotate(
            verified_copies=Count("copies", filter=Q(copies__state=Copy.State.VERIFIED)),
            verified_bytes=Sum("copies__media_file__size", filter=Q(copies__state=Copy.State.VERIFIED)),
        )
        .order_by("label")
    )
    by_tier: dict[str, list[RunbookVolume]] = defaultdict(list)
    for volume in volume_rows:
        by_tier[volume.tier].append(RunbookVolume(volume, volume.verified_copies, volume.verified_bytes or 0))
    day_rows = list(
        project.days.annotate(files=Count("clips__files"), bytes=Sum("clips__files__size")).order_by(
            "number", "unit"
        )
    )
    days = [DayManifest(d, d.files, d.bytes or 0) for d in day_rows]
    largest_day = max((d.bytes for d in days), default=0)
    trends = {t.tier: t for t in drill_trends(project=project)}
    sections = runbook_sections(project)
    labels = dict(Volume.Tier.choices)
    tiers = []
    for tier in TIER_ORDER:
        volumes = by_tier.get(tier, [])
        trend = trends[tier]
        expected = None
        if trend.median_mb_per_second:
            expected = largest_day / (trend.median_mb_per_second * 1_000_000)
        tiers.append(
            RunbookTier(
                tier=tier,
                label=str(labels[tier]),
                volumes=volumes,
                steps=_steps(tier, [v.volume for v in volumes], project) if volumes else [],
                responsible=(
                    "DIT (brings the media online), the requesting editor/DIT/producer, "
                    "a project admin (approves)"
                ),
                trend=trend,
                largest_day_bytes=largest_day,
                expected_seconds_per_day=expected,
                section=sections.get(tier),
            )
        )
    files = MediaFile.objects.filter(clip__project=project)
    totals = files.aggregate(n=Count("id"), size=Sum("size"))
    without = files.exclude(copies__state=Copy.State.VERIFIED).count()
    return Runbook(
        project=project,
        tiers=tiers,
        targets=list(project.restore_targets.all()),
        days=days,
        total_files=totals["n"] or 0,
        total_bytes=totals["size"] or 0,
        files_without_copy=without,
    )


def day_media_files(*, day: ShootDay) -> QuerySet[MediaFile]:
    """The seed media list of one shoot day: every file of its clips with its verified copies."""
    return (
        MediaFile.objects.filter(clip__day=day)
        .select_related("clip", "card")
        .prefetch_related(
            Prefetch(
                "copies",
                queryset=Copy.objects.filter(state=Copy.State.VERIFIED)
                .select_related("volume")
                .order_by("pk"),
                to_attr="verified_copies",
            )
        )
        .order_by("clip__name", "relative_path")
    )

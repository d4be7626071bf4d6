"""Restore reads: visible requests and targets, the best copy of each file, drill trends, the runbook."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Sum, Value, When
from django.http import QueryDict
from django.utils import timezone

from catalog.filters import clip_filter_parse
from catalog.models import Clip, Copy, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser, Cap, projects_for, restore_waits_for_signoff
from catalog.runbook import RunbookSectionText, runbook_sections
from catalog.search import clip_search_apply, search_description
from restore.models import DrillSchedule, RestoreDrill, RestoreItem, RestoreRequest, RestoreTarget

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


def source_host(
    *, media_file_ids: Sequence[int], default: str, excluded_volume_ids: Sequence[int] = ()
) -> str:
    """The host holding the most bytes of verified, online copies of these files.

    Copies on ``excluded_volume_ids`` (what a scenario drill treats as gone) do
    not count: the drill's job goes to the host of the copies it will read.
    """
    rows = (
        Copy.objects.filter(media_file_id__in=media_file_ids, state=Copy.State.VERIFIED, volume__online=True)
        .exclude(volume__host="")
        .exclude(volume_id__in=list(excluded_volume_ids))
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


@dataclass(frozen=True)
class ScenarioTrend:
    """The finished drills of one scenario: how many, how they ended, how long they took."""

    scenario: str
    label: str
    drills: int
    passed: int
    failed: int
    over_time: int
    median_seconds: float | None
    last_at: datetime | None
    last_state: str
    last_unrecoverable: int  # clips the last drill could not restore at all
    schedules: list[DrillSchedule]


def scenario_trends(*, project: Project) -> list[ScenarioTrend]:
    """Per scenario (those drilled or scheduled): counts, median time to restore, the last drill."""
    finished = project.restore_drills.exclude(state=RestoreDrill.State.RUNNING)
    counts = {
        row["scenario"]: row
        for row in finished.values("scenario").annotate(
            n=Count("id"),
            passed=Count("id", filter=Q(state=RestoreDrill.State.PASSED)),
            failed=Count("id", filter=Q(state=RestoreDrill.State.FAILED)),
            slow=Count("id", filter=Q(over_time=True)),
        )
    }
    schedules: dict[str, list[DrillSchedule]] = {}
    for schedule in project.drill_schedules.all():
        schedules.setdefault(schedule.scenario, []).append(schedule)
    result = []
    for scenario, label in RestoreDrill.Scenario.choices:
        row = counts.get(scenario)
        if row is None and scenario not in schedules:
            continue
        drills = finished.filter(scenario=scenario)
        seconds = [
            float(value)
            for value in drills.filter(state=RestoreDrill.State.PASSED).values_list("seconds", flat=True)[:20]
            if value is not None
        ]
        last = drills.only("created_at", "state", "unrecoverable").first()
        result.append(
            ScenarioTrend(
                scenario=scenario,
                label=str(label),
                drills=int(row["n"]) if row else 0,
                passed=int(row["passed"]) if row else 0,
                failed=int(row["failed"]) if row else 0,
                over_time=int(row["slow"]) if row else 0,
                median_seconds=statistics.median(seconds) if seconds else None,
                last_at=last.created_at if last else None,
                last_state=last.state if last else "",
                last_unrecoverable=len(last.unrecoverable) if last else 0,
                schedules=schedules.get(scenario, []),
            )
        )
    return result


@dataclass(frozen=True)
class ScheduleRow:
    schedule: DrillSchedule
    last: RestoreDrill | None
    next_due_at: datetime | None  # None: disabled; in the past: due at beat's next pass


def drill_schedules(*, project: Project) -> list[ScheduleRow]:
    """The project's drill schedules with the last drill each started and when the next is due."""
    rows = []
    for schedule in project.drill_schedules.all():
        last = schedule.drills.order_by("-created_at").first()
        due = None
        if schedule.enabled:
            due = (last.created_at + timedelta(hours=schedule.interval_hours)) if last else timezone.now()
        rows.append(ScheduleRow(schedule, last, due))
    return rows


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


# --- Waiting for sign-off (catalog.permissions.restore_waits_for_signoff) ----------------------


def restore_day_ids(*, restore: RestoreRequest) -> list[int]:
    """The shoot days the request's footage was shot on (one query)."""
    days = (
        restore.items.filter(media_file__clip__day__isnull=False)
        .values_list("media_file__clip__day_id", flat=True)
        .distinct()
    )
    return sorted(day_id for day_id in days if day_id is not None)


def restore_waiting_days(*, restore: RestoreRequest) -> list[ShootDay]:
    """The days a request waits (or, once approved, will wait) to be signed off before it may start.

    Empty for drills, for requests that are running or finished, and where the
    project's rule or the requester's role lets it start (see the gate).
    """
    if restore.is_drill or restore.state in (*RestoreRequest.FINISHED, RestoreRequest.State.RUNNING):
        return []
    if not restore.project.restores_wait_for_signoff:
        return []
    return restore_waits_for_signoff(
        restore.requester, restore.project, day_ids=restore_day_ids(restore=restore)
    )


def restores_waiting_for_day(*, day: ShootDay) -> QuerySet[RestoreRequest]:
    """Requests held until this day is signed off (for the producer's day page)."""
    return (
        RestoreRequest.objects.filter(
            project_id=day.project_id,
            state=RestoreRequest.State.WAITING,
            items__media_file__clip__day=day,
        )
        .distinct()
        .select_related("requester", "target")
        .order_by("created_at")
    )


def days_text(days: Sequence[ShootDay]) -> str:
    """ "day 2" / "days 2 and 3" (with the unit when it is not the main unit)."""
    names = [f"{d.number}" + ("" if d.unit == "main" else f" ({d.unit})") for d in days]
    if len(names) == 1:
        return f"day {names[0]}"
    return f"days {', '.join(names[:-1])} and {names[-1]}"


# --- What a request holds, for people ---------------------------------------------------


def search_clips(*, project: Project, query: str) -> QuerySet[Clip]:
    """Clips of ``project`` matching the search page's ``query`` (its project parameter replaced).

    Raises ValueError, naming the problem, for a query the search page would refuse.
    """
    parsed, filterset = clip_filter_parse(QueryDict(query))
    if parsed is None:
        raise ValueError(f"the search is not valid ({filterset.errors.as_text()})")
    return clip_search_apply(queryset=project.clips.all(), search=replace(parsed, project=project.code))


def selection_text(*, selection: Mapping[str, Any]) -> str:
    """A request's selection in words: "scene 12", "shoot day 3", "card A001", "3 chosen clips",
    "every clip matching “rain” with camera B" (never the stored dict)."""
    if "search" in selection:
        parsed, _ = clip_filter_parse(QueryDict(str(selection["search"])))
        words = search_description(replace(parsed, project="")) if parsed is not None else ""
        return f"every clip matching {words}" if words else "every clip of the project"
    if "scene" in selection:
        return f"scene {selection['scene']}"
    if "card" in selection:
        return f"card {selection['card']}"
    if "day" in selection:
        unit = selection.get("unit") or "main"
        return f"shoot day {selection['day']}" + ("" if unit == "main" else f" ({unit} unit)")
    clips = selection.get("clips") or []
    return f"{len(clips)} chosen clip{'' if len(clips) == 1 else 's'}"


#: Restore speed assumed per tier when no drill of the project has measured one (MB/s, decimal):
#: a local RAID or NAS (hot) reads at least 200 MB/s, a nearline shuttle or USB drive (warm) about
#: 100 MB/s, an LTO-8 tape (cold) about 150 MB/s once loaded, plus ASSUMED_COLD_LOAD_SECONDS to
#: load and position it. Restores are also read back, so every figure is for copy + verify.
ASSUMED_MB_PER_SECOND: dict[str, float] = {
    Volume.Tier.HOT: 200.0,
    Volume.Tier.WARM: 100.0,
    Volume.Tier.COLD: 75.0,
}
ASSUMED_COLD_LOAD_SECONDS = 120.0


@dataclass(frozen=True)
class ClipSource:
    """Where a clip's files come from: one volume, with its tier."""

    volume: str
    tier: str
    tier_label: str


@dataclass(frozen=True)
class PlannedClip:
    name: str
    clip_id: int | None
    scene: str
    take: str
    circled: bool
    files: int
    size: int
    sources: list[ClipSource]  # distinct, best first; empty when no verified copy is usable
    no_copy: int  # files with no usable verified copy


@dataclass(frozen=True)
class TierEstimate:
    tier: str
    label: str
    size: int
    mb_per_second: float
    measured: bool  # from the project's passed drills, else ASSUMED_MB_PER_SECOND
    seconds: float


@dataclass(frozen=True)
class RestorePlan:
    clips: list[PlannedClip]
    tiers: list[TierEstimate]
    seconds: float  # the estimate for what is left, one tier after another
    files_without_copy: int


def _planned_copies(*, media_file_ids: Sequence[int], excluded_volume_ids: Sequence[int]) -> dict[int, Copy]:
    """The copy a restore would most likely read for each file, on any host (one query).

    The same order as ``usable_copies`` (the runner's choice) but without the worker's
    host, which is only known once the request is queued.
    """
    copies = (
        Copy.objects.filter(
            media_file_id__in=list(media_file_ids), state=Copy.State.VERIFIED, volume__online=True
        )
        .exclude(volume_id__in=list(excluded_volume_ids))
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
        .order_by("media_file_id", "card_rank", "health_rank", "tier_rank", "-verified_at", "pk")
        .distinct("media_file_id")
    )
    return {copy.media_file_id: copy for copy in copies}


def restore_plan(*, restore: RestoreRequest) -> RestorePlan:
    """The request's clips by name with their size and source, and how long the rest should take.

    Sources: a file already restored names the copy it was read from; the others the
    best verified copy now (what the runner would pick, host aside). The estimate
    adds, per tier, the bytes still to restore divided by the project's median drill
    speed for that tier (``drill_trends``), or by ASSUMED_MB_PER_SECOND when no drill
    has measured it. Three queries plus the drill trends.
    """
    items = list(
        restore.items.select_related("media_file__clip", "source_copy__volume").order_by(
            "media_file__clip__name", "path"
        )
    )
    pending = [i.media_file_id for i in items if i.source_copy_id is None and i.media_file_id is not None]
    planned = _planned_copies(media_file_ids=pending, excluded_volume_ids=restore.excluded_volume_ids)
    by_clip: dict[int | None, list[RestoreItem]] = defaultdict(list)
    for item in items:
        by_clip[item.media_file.clip_id if item.media_file else None].append(item)
    tier_labels = dict(Volume.Tier.choices)
    left_by_tier: dict[str, int] = defaultdict(int)
    clips: list[PlannedClip] = []
    without = 0
    for clip_items in by_clip.values():
        clip = clip_items[0].media_file.clip if clip_items[0].media_file else None
        sources: dict[str, ClipSource] = {}
        no_copy = 0
        for item in clip_items:
            copy = item.source_copy or (planned.get(item.media_file_id) if item.media_file_id else None)
            if copy is None:
                no_copy += 1
                continue
            sources.setdefault(
                copy.volume.label,
                ClipSource(
                    copy.volume.label, copy.volume.tier, tier_labels.get(copy.volume.tier, copy.volume.tier)
                ),
            )
            if item.state != RestoreItem.State.VERIFIED:
                left_by_tier[copy.volume.tier] += item.size
        without += no_copy
        clips.append(
            PlannedClip(
                name=clip.name if clip else "Card files (no clip)",
                clip_id=clip.pk if clip else None,
                scene=clip.scene if clip else "",
                take=clip.take if clip else "",
                circled=clip.circled if clip else False,
                files=len(clip_items),
                size=sum(i.size for i in clip_items),
                sources=list(sources.values()),
                no_copy=no_copy,
            )
        )
    measured = {t.tier: t.median_mb_per_second for t in drill_trends(project=restore.project)}
    tiers = []
    for tier in TIER_ORDER:
        size = left_by_tier.get(tier, 0)
        if not size:
            continue
        speed = measured.get(tier)
        rate = speed or ASSUMED_MB_PER_SECOND[tier]
        seconds = size / (rate * 1_000_000)
        if tier == Volume.Tier.COLD and not speed:
            seconds += ASSUMED_COLD_LOAD_SECONDS
        tiers.append(TierEstimate(tier, tier_labels[tier], size, rate, speed is not None, seconds))
    clips.sort(key=lambda c: (c.clip_id is None, c.name))
    return RestorePlan(
        clips=clips, tiers=tiers, seconds=sum(t.seconds for t in tiers), files_without_copy=without
    )


@dataclass(frozen=True)
class SelectionPreview:
    """The selection a restore form carries, as a person sees it before asking."""

    count: int
    size: int
    clips: list[Clip]  # the first PREVIEW_CLIPS, by name
    described: str

    @property
    def more(self) -> int:
        return self.count - len(self.clips)


PREVIEW_CLIPS = 12


def selection_preview(*, project: Project, clip_ids: Sequence[int], search: str) -> SelectionPreview:
    """The project's clips of a selection (ticked ids, or every match of ``search``): count, size,
    the first names. Raises ValueError for a search that is not valid. Three queries."""
    if search:
        clips = search_clips(project=project, query=search)
        described = selection_text(selection={"search": search})
    else:
        clips = project.clips.filter(pk__in=list(clip_ids))
        described = ""
    clips = clips.order_by("name", "id")
    count = clips.count()
    size = MediaFile.objects.filter(clip__in=clips.order_by().values("pk")).aggregate(total=Sum("size"))[
        "total"
    ]
    described = described or f"{count} chosen clip{'' if count == 1 else 's'}"
    return SelectionPreview(
        count=count,
        size=int(size or 0),
        clips=list(clips.select_related("day")[:PREVIEW_CLIPS]),
        described=described,
    )

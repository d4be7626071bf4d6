"""Reads for fixity: a volume's effective policy, coverage, the overview and run reports, metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, DateTimeField, Exists, Min, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncWeek
from django.utils import timezone

from catalog.models import Copy, Project, Volume
from catalog.volumes import volume_expected_offline
from fixity.models import (
    DEFAULT_BUDGET_BYTES,
    DEFAULT_BUDGET_MINUTES,
    DEFAULT_EVERY_DAYS,
    DEFAULT_UNREACHABLE_HOURS,
    FixityPolicy,
    FixityRun,
    VolumeFixity,
)


@dataclass(frozen=True)
class Policy:
    every_days: int
    budget_bytes: int
    budget_minutes: int
    unreachable_alert_hours: int


def policy_for(*, volume: Volume) -> Policy:
    """The tier's policy of the volume's project (or the defaults), with the volume's own overrides."""
    tier = Volume.Tier(volume.tier)
    row = FixityPolicy.objects.filter(project_id=volume.project_id, tier=tier).first()
    base = (
        Policy(row.every_days, row.budget_bytes, row.budget_minutes, row.unreachable_alert_hours)
        if row is not None
        else Policy(
            DEFAULT_EVERY_DAYS[tier],
            DEFAULT_BUDGET_BYTES,
            DEFAULT_BUDGET_MINUTES,
            DEFAULT_UNREACHABLE_HOURS[tier],
        )
    )
    own = VolumeFixity.objects.filter(volume_id=volume.pk).first()
    if own is None:
        return base
    return Policy(
        own.every_days or base.every_days,
        base.budget_bytes if own.budget_bytes is None else own.budget_bytes,
        base.budget_minutes if own.budget_minutes is None else own.budget_minutes,
        base.unreachable_alert_hours,
    )


@dataclass(frozen=True)
class VolumeSummary:
    volume: Volume
    policy: Policy
    state: VolumeFixity | None
    copies: int
    bytes_total: int
    bytes_proven: int  # proven within the current period
    corrupt: int
    missing: int
    oldest_proof: datetime | None
    expected_offline: str | None
    last_run: FixityRun | None
    active_run: FixityRun | None

    @property
    def coverage(self) -> float | None:
        """Share of the volume's bytes proven within the current period, 0-100, None when empty."""
        return 100.0 * self.bytes_proven / self.bytes_total if self.bytes_total else None

    @property
    def problems(self) -> int:
        return self.corrupt + self.missing


def volume_summary(*, volume: Volume) -> VolumeSummary:
    policy = policy_for(volume=volume)
    period_start = timezone.now() - timedelta(days=policy.every_days)
    counted = Copy.objects.filter(
        volume=volume, state__in=[Copy.State.VERIFIED, Copy.State.CORRUPT, Copy.State.MISSING]
    )
    figures = counted.aggregate(
        copies=Count("pk"),
        total=Sum("media_file__size"),
        proven=Sum("media_file__size", filter=Q(state=Copy.State.VERIFIED, verified_at__gte=period_start)),
        corrupt=Count("pk", filter=Q(state=Copy.State.CORRUPT)),
        missing=Count("pk", filter=Q(state=Copy.State.MISSING)),
        oldest=Min("verified_at", filter=Q(state=Copy.State.VERIFIED)),
    )
    runs = FixityRun.objects.filter(volume=volume)
    return VolumeSummary(
        volume=volume,
        policy=policy,
        state=VolumeFixity.objects.filter(volume=volume).first(),
        copies=figures["copies"],
        bytes_total=figures["total"] or 0,
        bytes_proven=figures["proven"] or 0,
        corrupt=figures["corrupt"],
        missing=figures["missing"],
        oldest_proof=figures["oldest"],
        expected_offline=volume_expected_offline(volume=volume),
        last_run=runs.exclude(state__in=FixityRun.ACTIVE).first(),
        active_run=runs.filter(state__in=FixityRun.ACTIVE).first(),
    )


def project_overview(*, project: Project) -> list[VolumeSummary]:
    """Every volume of the project that holds copies (cards excluded), in label order."""
    volumes = (
        Volume.objects.filter(project=project)
        .filter(Exists(Copy.objects.filter(volume=OuterRef("pk"))))
        .exclude(kind=Volume.Kind.CARD)
        .select_related("project")
        .order_by("label")
    )
    return [volume_summary(volume=volume) for volume in volumes]


def run_list(*, projects: QuerySet[Project]) -> QuerySet[FixityRun]:
    return FixityRun.objects.filter(project__in=projects).select_related("volume", "project", "requested_by")


def findings_by_kind(*, run: FixityRun) -> dict[str, list[dict[str, object]]]:
    grouped: dict[str, list[dict[str, object]]] = {}
    for finding in run.findings:
        grouped.setdefault(str(finding.get("kind")), []).append(finding)
    return grouped


@dataclass(frozen=True)
class FixityFigures:
    bytes_verified: int
    failures: int  # corrupt + missing found by audits
    oldest_proof_seconds: dict[str, float]  # per tier
    unreachable: int


def fixity_figures() -> FixityFigures:
    """The figures /metrics exposes, read from the runs and copies at scrape time."""
    totals = FixityRun.objects.aggregate(b=Sum("bytes_checked"), c=Sum("corrupt"), m=Sum("missing"))
    now = timezone.now()
    oldest = {
        tier: (now - when).total_seconds()
        for tier, when in Copy.objects.filter(state=Copy.State.VERIFIED)
        .exclude(volume__kind=Volume.Kind.CARD)
        .values("volume__tier")
        .annotate(oldest=Min("verified_at"))
        .values_list("volume__tier", "oldest")
        if when is not None
    }
    return FixityFigures(
        bytes_verified=totals["b"] or 0,
        failures=(totals["c"] or 0) + (totals["m"] or 0),
        oldest_proof_seconds=oldest,
        unreachable=VolumeFixity.objects.filter(unreachable_since__isnull=False).count(),
    )


def copies_to_repair(*, volume: Volume) -> int:
    return Copy.objects.filter(volume=volume, state__in=[Copy.State.CORRUPT, Copy.State.MISSING]).count()


@dataclass(frozen=True)
class TrendWeek:
    week: datetime
    failures: dict[str, int]  # volume kind (display name) -> corrupt + missing found by audits that week


def failure_trend(*, project: Project, weeks: int = 8) -> list[TrendWeek]:
    """Corrupt and missing copies found by audits per week and kind of volume, newest week first."""
    since = timezone.now() - timedelta(weeks=weeks)
    rows = (
        FixityRun.objects.filter(project=project, finished_at__gte=since)
        .annotate(week=TruncWeek("finished_at"))
        .values("week", "volume__kind")
        .annotate(found=Sum("corrupt") + Sum("missing"))
        .order_by("-week", "volume__kind")
    )
    by_week: dict[datetime, dict[str, int]] = {}
    for row in rows:
        label = str(Volume.Kind(row["volume__kind"]).label)
        by_week.setdefault(row["week"], {})[label] = int(row["found"] or 0)
    return [TrendWeek(week, failures) for week, failures in by_week.items()]


@dataclass(frozen=True)
class DigestVolume:
    label: str
    kind: str  # display name
    tier: str
    every_days: int
    bytes_total: int
    bytes_proven: int  # proven within the volume's current period
    runs: int  # audits finished within the digest's window
    corrupt: int
    missing: int
    extra: int
    moved: int
    unreachable_runs: int
    unreachable_since: datetime | None

    @property
    def coverage(self) -> float | None:
        return 100.0 * self.bytes_proven / self.bytes_total if self.bytes_total else None


@dataclass(frozen=True)
class FixityDigest:
    """What audits did over a window (the daily report's weekly part): totals and each volume's coverage."""

    since: datetime
    until: datetime
    runs: int
    files_checked: int
    bytes_checked: int
    proven: int
    corrupt: int
    missing: int
    extra: int
    moved: int
    volumes: list[DigestVolume]

    @property
    def unreachable(self) -> list[DigestVolume]:
        """Volumes that did not answer an audit in the window or are unreachable now."""
        return [v for v in self.volumes if v.unreachable_runs or v.unreachable_since is not None]


def fixity_digest(*, project: Project, until: datetime, days: int = 7) -> FixityDigest:
    """Audits of the project that finished in the ``days`` before ``until``, in 4 queries.

    Coverage is of each volume's *current* period (its tier's or its own
    ``every_days``, counted back from now), as on the overview; the counts are
    of audits that finished in the window. Cards are left out.
    """
    since = until - timedelta(days=days)
    now = timezone.now()
    every_by_tier = dict(DEFAULT_EVERY_DAYS) | dict(
        FixityPolicy.objects.filter(project=project).values_list("tier", "every_days")
    )
    volumes = list(
        Volume.objects.filter(project=project)
        .filter(Exists(Copy.objects.filter(volume=OuterRef("pk"))))
        .exclude(kind=Volume.Kind.CARD)
        .select_related("fixity")
        .order_by("label")
    )
    every: dict[int, int] = {}
    for volume in volumes:
        own = getattr(volume, "fixity", None)
        every[volume.pk] = (own.every_days if own is not None else None) or every_by_tier[volume.tier]
    if volumes:
        # One query for every volume: each volume's own period start, as a CASE.
        period_start = Case(
            *(When(volume_id=pk, then=Value(now - timedelta(days=n))) for pk, n in every.items()),
            output_field=DateTimeField(),
        )
        coverage: dict[int, Mapping[str, Any]] = {
            row["volume_id"]: row
            for row in Copy.objects.filter(
                volume_id__in=list(every),
                state__in=[Copy.State.VERIFIED, Copy.State.CORRUPT, Copy.State.MISSING],
            )
            .values("volume_id")
            .annotate(
                total=Sum("media_file__size"),
                proven=Sum(
                    "media_file__size",
                    filter=Q(state=Copy.State.VERIFIED, verified_at__gte=period_start),
                ),
            )
        }
    else:
        coverage = {}
    runs: dict[int, Mapping[str, Any]] = {
        row["volume_id"]: row
        for row in FixityRun.objects.filter(project=project, finished_at__gte=since, finished_at__lt=until)
        .values("volume_id")
        .annotate(
            runs=Count("pk"),
            files=Sum("files_checked"),
            bytes=Sum("bytes_checked"),
            proven=Sum("proven"),
            corrupt=Sum("corrupt"),
            missing=Sum("missing"),
            extra=Sum("extra"),
            moved=Sum("moved"),
            unreachable=Count("pk", filter=Q(state=FixityRun.State.UNREACHABLE)),
        )
    }

    def run_figure(pk: int, key: str) -> int:
        return int((runs.get(pk) or {}).get(key) or 0)

    rows = [
        DigestVolume(
            label=volume.label,
            kind=str(Volume.Kind(volume.kind).label),
            tier=str(Volume.Tier(volume.tier).label),
            every_days=every[volume.pk],
            bytes_total=int((coverage.get(volume.pk) or {}).get("total") or 0),
            bytes_proven=int((coverage.get(volume.pk) or {}).get("proven") or 0),
            runs=run_figure(volume.pk, "runs"),
            corrupt=run_figure(volume.pk, "corrupt"),
            missing=run_figure(volume.pk, "missing"),
            extra=run_figure(volume.pk, "extra"),
            moved=run_figure(volume.pk, "moved"),
            unreachable_runs=run_figure(volume.pk, "unreachable"),
            unreachable_since=volume.fixity.unreachable_since if hasattr(volume, "fixity") else None,
        )
        for volume in volumes
    ]

    def total(key: str) -> int:
        return sum(int(row.get(key) or 0) for row in runs.values())

    return FixityDigest(
        since=since,
        until=until,
        runs=total("runs"),
        files_checked=total("files"),
        bytes_checked=total("bytes"),
        proven=total("proven"),
        corrupt=total("corrupt"),
        missing=total("missing"),
        extra=total("extra"),
        moved=total("moved"),
        volumes=rows,
    )

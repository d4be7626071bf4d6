"""Custody reads: the registry, what a volume holds, who holds what, health, replacements, identity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from catalog.models import AuditEvent, Copy, MediaFile, Project, ShootDay, Volume
from catalog.policy import CardPolicy, TierReach, card_safe_to_format, tiers_by_card
from catalog.selectors import signed_off_day_ids
from catalog.volumes import VolumeIdentityError as CatalogVolumeIdentityError
from custody.identity import IdentityFileError, identity_read
from custody.models import CapacityQuota, CapacityReading, CardFormat, Handoff, SmartReading, VolumeRecord
from formats.units import format_bytes


def registry(*, project: Project) -> QuerySet[Volume]:
    """Every volume of the project, with its record, its open handoff and its latest reading."""
    return (
        Volume.objects.filter(project=project)
        .select_related("custody")
        .prefetch_related(
            Prefetch(
                "handoffs",
                queryset=Handoff.objects.select_related("from_user", "to_user").order_by("-handed_at", "-pk"),
                to_attr="handoff_list",
            )
        )
        .order_by(F("custody__identifier").asc(nulls_last=True), "label")
    )


@dataclass(frozen=True)
class Holding:
    """Who holds a volume now, as the board shows it."""

    volume: Volume
    holder: str
    place: str
    since: datetime | None
    in_transit: bool
    handoff: Handoff | None


def holdings(*, project: Project) -> list[Holding]:
    """One row per volume: its holder and place since when, or in transit since when (2 queries)."""
    rows: list[Holding] = []
    for volume in registry(project=project):
        last = volume.handoff_list[0] if volume.handoff_list else None  # type: ignore[attr-defined]
        record: VolumeRecord | None = getattr(volume, "custody", None)
        if last is None:
            rows.append(
                Holding(
                    volume, record.owner if record else "", record.site if record else "", None, False, None
                )
            )
        elif last.state == Handoff.State.IN_TRANSIT:
            rows.append(
                Holding(volume, f"{last.from_name} → {last.to_name}", last.where, last.handed_at, True, last)
            )
        else:
            rows.append(
                Holding(volume, last.to_name, last.where or last.to_place, last.received_at, False, last)
            )
    return rows


def timeline(*, volume: Volume) -> QuerySet[Handoff]:
    return Handoff.objects.filter(volume=volume).select_related("from_user", "to_user", "received_by")


def health_history(*, volume: Volume, limit: int = 50) -> list[SmartReading]:
    return list(SmartReading.objects.filter(volume=volume)[:limit])


@dataclass(frozen=True)
class Contents:
    files: int
    bytes: int
    clips: int
    cards: int
    days: int
    by_state: list[tuple[str, int, int]]  # (state label, copies, bytes)


def contents(*, volume: Volume) -> Contents:
    """What the volume holds (copies of which files, clips, cards, days) and its copies by state."""
    copies = Copy.objects.filter(volume=volume)
    totals = copies.aggregate(
        files=Count("pk"),
        size=Sum("media_file__size"),
        clips=Count("media_file__clip", distinct=True),
        cards=Count("media_file__card", distinct=True),
        days=Count("media_file__clip__day", distinct=True),
    )
    labels = dict(Copy.State.choices)
    by_state = [
        (labels.get(row["state"], row["state"]), row["n"], row["size"] or 0)
        for row in copies.values("state")
        .annotate(n=Count("pk"), size=Sum("media_file__size"))
        .order_by("state")
    ]
    if volume.kind == Volume.Kind.CARD:  # a card holds the originals: what was recorded on it
        recorded = volume.clips_recorded.aggregate(clips=Count("pk"), days=Count("day", distinct=True))
        card_bytes = volume.card_files.aggregate(size=Sum("size"), n=Count("pk"))
        return Contents(
            files=card_bytes["n"] or 0,
            bytes=card_bytes["size"] or 0,
            clips=recorded["clips"] or 0,
            cards=1,
            days=recorded["days"] or 0,
            by_state=by_state,
        )
    return Contents(
        files=totals["files"] or 0,
        bytes=totals["size"] or 0,
        clips=totals["clips"] or 0,
        cards=totals["cards"] or 0,
        days=totals["days"] or 0,
        by_state=by_state,
    )


def replacement_list(*, project: Project) -> list[tuple[Volume, SmartReading | None]]:
    """Drives to replace first: failing, then warning, then by age (power-on hours, purchase date)."""
    rank: dict[str, int] = {Volume.Health.FAILING: 0, Volume.Health.WARNING: 1}
    volumes = list(
        Volume.objects.filter(project=project)
        .filter(
            Q(health__in=list(rank))
            | Q(smart_readings__isnull=False)
            | Q(custody__purchase_date__isnull=False)
        )
        .distinct()
        .select_related("custody")
    )
    latest: dict[int, SmartReading] = {}
    for reading in (
        SmartReading.objects.filter(volume__in=volumes, power_on_hours__isnull=False)
        .order_by("volume_id", "-taken_at")
        .distinct("volume_id")
    ):
        latest[reading.volume_id] = reading

    def key(v: Volume) -> tuple[int, int, str]:
        hours = latest[v.pk].power_on_hours if v.pk in latest else None
        record: VolumeRecord | None = getattr(v, "custody", None)
        bought = record.purchase_date.isoformat() if record and record.purchase_date else "9999"
        return (rank.get(v.health, 2), -(hours or 0), bought)

    return [(v, latest.get(v.pk)) for v in sorted(volumes, key=key)]


def members(*, project: Project) -> QuerySet[AbstractBaseUser]:
    """Users who may be named in a handoff: the project's members."""
    return get_user_model().objects.filter(memberships__project=project, is_active=True).order_by("username")


def in_transit_for(*, volume: Volume) -> Handoff | None:
    return Handoff.objects.filter(volume=volume, state=Handoff.State.IN_TRANSIT).first()


# --- identity -------------------------------------------------------------------


class VolumeIdentityError(CatalogVolumeIdentityError):
    """The folder is another drive than the volume (catalog's error, with custody's wording)."""


@dataclass(frozen=True)
class IdentityCheck:
    """``found``: the path carries this volume's identity (False: no identity file yet).
    ``moved``: found at a path other than the volume's registered location."""

    volume: Volume
    path: str
    found: bool
    moved: bool


def volume_identity_check(*, volume: Volume, path: str | None = None) -> IdentityCheck:
    """Check that ``path`` (default: the volume's location) is this volume's drive before writing to it.

    Returns an :class:`IdentityCheck` when the identity file is this volume's
    (``found``; ``moved`` if mounted elsewhere) or absent (``found=False``: an
    unlabelled drive, nothing to contradict).

    Raises:
        VolumeIdentityError: the identity belongs to another volume, is unknown
            to this catalog, or cannot be read; the message names the drive found.
    """
    root = path or volume.location
    try:
        identity = identity_read(root)
    except IdentityFileError as exc:
        raise VolumeIdentityError(f"{exc}; refusing to use {root} as {volume.label}") from None
    if identity is None:
        return IdentityCheck(volume, root, found=False, moved=False)
    record = VolumeRecord.objects.filter(volume=volume).first()
    if record is not None and identity.uuid == record.identity:
        moved = Path(root).resolve() != Path(volume.location).resolve()
        return IdentityCheck(volume, root, found=True, moved=moved)
    other = VolumeRecord.objects.select_related("volume", "project").filter(identity=identity.uuid).first()
    if other is not None:
        raise VolumeIdentityError(
            f"{root} is the drive {other.identifier} ({other.volume.label}, project {other.project.code}), "
            f"not {record.identifier if record else volume.label}: refusing to write there"
        )
    raise VolumeIdentityError(
        f"{root} carries identity {identity.identifier} ({identity.uuid}) unknown to this catalog, "
        f"not {volume.label}: refusing to write there"
    )


def volume_identity_find(*, path: str) -> Volume | None:
    """The registered volume whose drive is mounted at ``path`` (by its identity file), or None."""
    try:
        identity = identity_read(path)
    except IdentityFileError:
        return None
    if identity is None:
        return None
    record = VolumeRecord.objects.select_related("volume").filter(identity=identity.uuid).first()
    return record.volume if record else None


def volume_audit(*, volume: Volume, limit: int = 50) -> QuerySet[AuditEvent]:
    """The volume's audit entries and those of its handoffs, newest first."""
    handoff_ids = [str(pk) for pk in Handoff.objects.filter(volume=volume).values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(object_type="catalog.volume", object_id=str(volume.pk))
        | Q(object_type="custody.handoff", object_id__in=handoff_ids)
    ).order_by("-id")[:limit]


# --- live capacity ------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    """How fast a volume fills, from its hosts' reports over the last REELVAULT_FORECAST_DAYS.

    ``rate_bytes`` is per shoot day when the window holds shoot days of the
    project (``per == "shoot day"``), else per calendar day. ``days_left`` is
    None when the volume is not filling.
    """

    name: str
    free_bytes: int
    rate_bytes: float
    per: str
    days_left: int | None
    window_days: int

    @property
    def text(self) -> str:
        if self.days_left is None:
            return f"{self.name} is not filling at the last {self.window_days} days' rate"
        if self.days_left < 1:
            when = f"less than one {self.per}"
        else:
            when = f"about {self.days_left} {self.per}{'' if self.days_left == 1 else 's'}"
        return (
            f"{self.name} is full in {when} at the last {self.window_days} days' rate "
            f"({format_bytes(self.rate_bytes)} a {self.per})"
        )


def forecasts(*, volumes: Sequence[Volume], now: datetime | None = None) -> dict[int, Forecast]:
    """The forecast of each volume that has two reports in the window, by volume id (3 queries)."""
    now = now or timezone.now()
    window = int(settings.REELVAULT_FORECAST_DAYS)
    readings = CapacityReading.objects.filter(
        volume__in=[v.pk for v in volumes],
        online=True,
        free_bytes__isnull=False,
        total_bytes__isnull=False,
        taken_at__gte=now - timedelta(days=window),
        taken_at__lte=now,
    )
    first = {r.volume_id: r for r in readings.order_by("volume_id", "taken_at").distinct("volume_id")}
    last = {r.volume_id: r for r in readings.order_by("volume_id", "-taken_at").distinct("volume_id")}
    projects = {v.project_id for v in volumes if v.pk in first}
    day_dates: dict[int, list[date]] = {}
    for project_id, day_date in ShootDay.objects.filter(project__in=projects).values_list("project", "date"):
        day_dates.setdefault(project_id, []).append(day_date)
    result: dict[int, Forecast] = {}
    for volume in volumes:
        start, end = first.get(volume.pk), last.get(volume.pk)
        if start is None or end is None or start.pk == end.pk:
            continue
        assert start.used_bytes is not None and end.used_bytes is not None and end.free_bytes is not None
        grown = end.used_bytes - start.used_bytes
        first_day, last_day = timezone.localdate(start.taken_at), timezone.localdate(end.taken_at)
        shoot_days = sum(1 for d in day_dates.get(volume.project_id, []) if first_day <= d <= last_day)
        if shoot_days:
            per, units = "shoot day", float(shoot_days)
        else:
            per, units = "day", max((end.taken_at - start.taken_at).total_seconds() / 86400, 1 / 24)
        rate = grown / units
        record: VolumeRecord | None = getattr(volume, "custody", None)
        name = record.identifier if record else volume.label
        days_left = round(end.free_bytes / rate) if rate > 0 else None
        result[volume.pk] = Forecast(name, end.free_bytes, max(rate, 0.0), per, days_left, window)
    return result


def volume_forecast(*, volume: Volume) -> Forecast | None:
    return forecasts(volumes=[volume]).get(volume.pk)


def capacity_history(*, volume: Volume, limit: int = 20) -> list[CapacityReading]:
    """The latest reports of the volume (newest first)."""
    return list(CapacityReading.objects.filter(volume=volume)[:limit])


@dataclass(frozen=True)
class VolumeCapacity:
    """A row of the capacity list: the volume, in transit or not, its fill and forecast."""

    volume: Volume
    name: str
    in_transit: Handoff | None
    used_percent: int | None
    forecast: Forecast | None


def volumes_capacity(*, project: Project) -> list[VolumeCapacity]:
    """Every volume of the project but cards, with its fill and forecast (5 queries)."""
    volumes = list(
        Volume.objects.filter(project=project)
        .exclude(kind=Volume.Kind.CARD)
        .select_related("custody")
        .order_by(F("custody__identifier").asc(nulls_last=True), "label")
    )
    moving = {
        h.volume_id: h
        for h in Handoff.objects.filter(volume__in=volumes, state=Handoff.State.IN_TRANSIT).select_related(
            "to_user"
        )
    }
    found = forecasts(volumes=volumes)
    rows = []
    for volume in volumes:
        record: VolumeRecord | None = getattr(volume, "custody", None)
        used = None
        if volume.capacity_bytes and volume.free_bytes is not None:
            used = round(100 * (volume.capacity_bytes - volume.free_bytes) / volume.capacity_bytes)
        rows.append(
            VolumeCapacity(
                volume,
                record.identifier if record else volume.label,
                moving.get(volume.pk),
                used,
                found.get(volume.pk),
            )
        )
    return rows


@dataclass(frozen=True)
class QuotaStatus:
    """A project's quota for one kind of volume against what its copies use, and drift from plan."""

    quota: CapacityQuota
    used_bytes: int
    shoot_days: int
    per_day_bytes: float | None
    drift_percent: int | None
    over_quota: bool
    drifting: bool

    @property
    def used_percent(self) -> int:
        return round(100 * self.used_bytes / self.quota.quota_bytes) if self.quota.quota_bytes else 0


def quota_status(*, project: Project) -> list[QuotaStatus]:
    """Each quota of the project: bytes of its live copies on that kind, per shoot day, drift from plan.

    Used bytes are the sizes of the files whose copies on volumes of the kind
    are verified or being copied. Drift compares the bytes per shoot day so
    far (shoot days with clips) with the plan; beyond
    REELVAULT_QUOTA_DRIFT_PERCENT either way it is flagged.
    """
    quotas = list(CapacityQuota.objects.filter(project=project))
    if not quotas:
        return []
    used = dict(
        Copy.objects.filter(
            volume__project=project,
            volume__kind__in=[q.kind for q in quotas],
            state__in=[Copy.State.VERIFIED, Copy.State.COPYING],
        )
        .values_list("volume__kind")
        .annotate(size=Sum("media_file__size"))
        .values_list("volume__kind", "size")
    )
    shoot_days = ShootDay.objects.filter(project=project, clips__isnull=False).distinct().count()
    limit = int(settings.REELVAULT_QUOTA_DRIFT_PERCENT)
    rows = []
    for quota in quotas:
        bytes_used = int(used.get(quota.kind) or 0)
        per_day = bytes_used / shoot_days if shoot_days else None
        drift = None
        if per_day is not None and quota.planned_bytes_per_day:
            drift = round(100 * (per_day - quota.planned_bytes_per_day) / quota.planned_bytes_per_day)
        rows.append(
            QuotaStatus(
                quota,
                bytes_used,
                shoot_days,
                per_day,
                drift,
                over_quota=bytes_used > quota.quota_bytes,
                drifting=drift is not None and abs(drift) > limit,
            )
        )
    return rows


# --- card lifecycle ---------------------------------------------------------------------


def card_formatted_at(*, volume: Volume) -> datetime | None:
    """When the card was last confirmed formatted and returned to camera, or None."""
    return (
        CardFormat.objects.filter(volume=volume)
        .order_by("-formatted_at")
        .values_list("formatted_at", flat=True)
    ).first()


@dataclass(frozen=True)
class CardOffload:
    """One offload of the card, as the audit log tells it (custody does not read ingest's tables)."""

    job_id: int
    at: datetime
    by: str
    destinations: list[str]
    outcome: str  # "completed", "incomplete", "failed", "cancelled", or "" while it runs
    safe_to_format: bool | None


@dataclass(frozen=True)
class SameContent:
    """Another card of the project holding files with the same hashes: a second offload of one card."""

    card: Volume
    files: int


@dataclass(frozen=True)
class CardLifecycle:
    offloads: list[CardOffload]
    policy: CardPolicy
    days: list[tuple[ShootDay, bool]]  # each day the card's clips belong to, signed off or not
    same_content: list[SameContent]
    formats: list[CardFormat]
    offloaded_since_format: bool  # files cataloged after the last format confirmation (or never formatted)
    tiers: list[TierReach]  # kinds of media holding its files, with copies and replications on their way

    @property
    def safe_to_format(self) -> bool:
        return self.policy.meets


def card_offloads(*, card: Volume) -> list[CardOffload]:
    """The card's offloads, newest first, from their audit entries (2 queries)."""
    created = list(
        AuditEvent.objects.filter(
            project_id=card.project_id,
            action="offload.create",
            object_type="ingest.offloadjob",
            after__card__iexact=card.label,
        ).order_by("-id")
    )
    ids = [event.object_id for event in created]
    endings: dict[str, AuditEvent] = {}
    for event in AuditEvent.objects.filter(
        object_type="ingest.offloadjob",
        object_id__in=ids,
        action__in=["offload.finish", "offload.failed", "offload.cancel"],
    ).order_by("id"):
        endings[event.object_id] = event
    rows = []
    for event in created:
        end = endings.get(event.object_id)
        after = end.after or {} if end is not None else {}
        outcome = {"offload.failed": "failed", "offload.cancel": "cancelled"}.get(
            end.action if end else "", str(after.get("state", ""))
        )
        rows.append(
            CardOffload(
                job_id=int(event.object_id),
                at=event.at,
                by=event.actor_name,
                destinations=list((event.after or {}).get("destinations", [])),
                outcome=outcome,
                safe_to_format=after.get("safe_to_format") if end is not None else None,
            )
        )
    return rows


def card_same_content(*, card: Volume) -> list[SameContent]:
    """Other cards of the project with files of the same XXH3-128 and size (one query)."""
    hashes = MediaFile.objects.filter(card=card).values("xxh128", "size")
    rows = (
        MediaFile.objects.filter(card__project_id=card.project_id)
        .exclude(card=card)
        .filter(xxh128__in=hashes.values("xxh128"))
        .values("card")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    counts = {row["card"]: row["n"] for row in rows}
    cards = Volume.objects.in_bulk(list(counts))
    return [SameContent(cards[card_id], n) for card_id, n in counts.items()]


def card_lifecycle(*, card: Volume) -> CardLifecycle:
    """Everything the card page shows about one camera card: offloads, policy, days, formats."""
    days = list(ShootDay.objects.filter(clips__card=card).distinct().order_by("number", "unit"))
    signed = signed_off_day_ids(day_ids=[d.pk for d in days])
    formats = list(CardFormat.objects.filter(volume=card).select_related("formatted_by"))
    newest_file = (
        MediaFile.objects.filter(card=card).order_by("-created_at").values_list("created_at", flat=True)
    )
    newest = newest_file.first()
    return CardLifecycle(
        offloads=card_offloads(card=card),
        policy=card_safe_to_format(card_id=card.pk, limit=5),
        days=[(d, d.pk in signed) for d in days],
        same_content=card_same_content(card=card),
        formats=formats,
        offloaded_since_format=newest is not None and (not formats or newest > formats[0].formatted_at),
        tiers=tiers_by_card(card_ids=[card.pk]).get(card.pk, []),
    )

"""Conditions that raise or clear alerts: volume space and storage-policy gaps.

They run when something happens that may change them (the end of an
offload, see ``ingest/alerting.py``) and from Celery beat, because "a gap older
than N hours" and "a volume filling up" also become true with time alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from alerts.models import Alert, Severity
from alerts.services import Raised, alert_raise, alert_resolve_key
from catalog.models import ShootDay, Volume
from catalog.policy import policy_by_day, short_clips
from formats.units import format_bytes


def volume_usage(volume: Volume) -> tuple[int, int] | None:
    """(free, total) bytes of a volume, or None when unknown.

    Measured on the disk when the volume is a folder mounted on this host,
    otherwise taken from the catalog (``free_bytes``/``capacity_bytes``).
    """
    location = Path(volume.location)
    if (
        volume.kind != Volume.Kind.S3
        and volume.host == settings.REELVAULT_HOSTNAME
        and location.is_absolute()
        and location.is_dir()
    ):
        usage = shutil.disk_usage(location)
        return usage.free, volume.capacity_bytes or usage.total
    if volume.free_bytes is not None and volume.capacity_bytes:
        return volume.free_bytes, volume.capacity_bytes
    return None


def volume_space_check(*, volume: Volume) -> Raised | None:
    """Raise ``volume.near_full`` above REELVAULT_VOLUME_FULL_PERCENT used; resolve it below."""
    key = f"volume.near_full:{volume.pk}"
    usage = volume_usage(volume)
    if usage is None or volume.kind == Volume.Kind.CARD:
        return None
    free, total = usage
    used = 100 * (total - free) / total if total else 0.0
    if used < settings.REELVAULT_VOLUME_FULL_PERCENT:
        alert_resolve_key(key=key, resolution=f"{volume.label} is {used:.0f}% full")
        return None
    project = volume.project
    return alert_raise(
        project=project,
        key=key,
        kind="volume.near_full",
        severity=Severity.CRITICAL if used >= 98 else Severity.WARNING,
        title=f"{project.code}: volume {volume.label} is {used:.0f}% full",
        body=(
            f"{volume.label} ({volume.get_kind_display()}, {volume.location}) has {format_bytes(free)} free "
            f"of {format_bytes(total)}. Offloads to it will fail once it is full: add or swap a drive."
        ),
        link=f"/p/{project.code}/",
        details={"volume": volume.label, "free_bytes": free, "total_bytes": total},
    )


def volumes_check() -> int:
    """Check every online volume that is not a camera card (beat); return how many are near full."""
    full = 0
    for volume in Volume.objects.filter(online=True).exclude(kind=Volume.Kind.CARD).select_related("project"):
        if volume_space_check(volume=volume) is not None:
            full += 1
    return full


def policy_gap_check(*, days: Sequence[ShootDay], now: datetime | None = None) -> list[int]:
    """Raise ``policy.gap`` for each day with clips short of the policy for longer than allowed.

    The age of a gap is that of the oldest short clip (since it was cataloged).
    A day whose clips all meet the policy has its alert resolved. Returns the
    ids of the alerts raised (new or repeated).
    """
    now = now or timezone.now()
    limit = timedelta(seconds=settings.REELVAULT_POLICY_GAP_ALERT_SECONDS)
    by_id = {day.pk: day for day in days}
    policies = policy_by_day(day_ids=list(by_id))
    open_keys = set(
        Alert.objects.filter(key__in=[f"policy.gap:day:{day_id}" for day_id in by_id])
        .exclude(state=Alert.State.RESOLVED)
        .values_list("key", flat=True)
    )
    raised: list[int] = []
    for day_id, day in by_id.items():
        key = f"policy.gap:day:{day_id}"
        policy = policies.get(day_id)
        if policy is None or policy.short == 0:
            if key in open_keys:
                alert_resolve_key(key=key, resolution="every clip of the day meets the storage policy")
            continue
        if policy.oldest_gap_at is None or now - policy.oldest_gap_at <= limit:
            continue
        project = day.project
        hours = (now - policy.oldest_gap_at).total_seconds() / 3600
        names = [clip.name for clip in short_clips(day_ids=[day_id], limit=50)]
        result = alert_raise(
            project=project,
            key=key,
            kind="policy.gap",
            severity=Severity.WARNING,
            title=f"{project.code}: day {day.number} has clips short of the storage policy",
            body=(
                f"{policy.short} of {policy.clips} clips of {day} have not met the policy "
                f"({project.required_copies} verified copies on {project.required_media_kinds} kind(s) of "
                f"media, {project.required_offsite} off-site) for {hours:.1f} h."
            ),
            link=f"/p/{project.code}/days/{day.number}/?unit={day.unit}",
            items=names,
            item_count=policy.short,
            details={"day": day.number, "unit": day.unit},
        )
        raised.append(result.alert.pk)
    return raised


def policy_gaps_check(*, now: datetime | None = None) -> list[int]:
    """Check every shoot day with clips, plus the days of open gap alerts (beat)."""
    open_gap_days = [
        int(key.rsplit(":", 1)[1])
        for key in Alert.objects.filter(kind="policy.gap")
        .exclude(state=Alert.State.RESOLVED)
        .values_list("key", flat=True)
    ]
    days = ShootDay.objects.filter(pk__in=open_gap_days) | ShootDay.objects.filter(clips__isnull=False)
    return policy_gap_check(days=list(days.distinct().select_related("project")), now=now)

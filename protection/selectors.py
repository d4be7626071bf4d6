"""Protection reads: sources in order of preference, the replication queue, tiers reached."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from catalog.models import Copy, Project, Volume
from protection.models import ReplicationJob, ReplicationRule, VolumeGroup

HEALTH_ORDER: dict[str, int] = {Volume.Health.HEALTHY: 0, Volume.Health.UNKNOWN: 1, Volume.Health.WARNING: 2}
TIER_ORDER: dict[str, int] = {Volume.Tier.HOT: 0, Volume.Tier.WARM: 1, Volume.Tier.COLD: 2}


def verified_copies(*, media_file_ids: Sequence[int]) -> QuerySet[Copy]:
    """Verified copies of these files on volumes other than camera cards, with their volumes."""
    return (
        Copy.objects.filter(media_file_id__in=list(media_file_ids), state=Copy.State.VERIFIED)
        .exclude(volume__kind=Volume.Kind.CARD)
        .select_related("volume")
    )


def rank_sources(copies: Iterable[Copy]) -> list[Copy]:
    """Usable sources best first: online, not failing; healthy before unknown before warning,
    hot before warm before cold, most recently proven first."""
    usable = [c for c in copies if c.volume.online and c.volume.health in HEALTH_ORDER]
    return sorted(
        usable,
        key=lambda c: (
            HEALTH_ORDER[c.volume.health],
            TIER_ORDER.get(c.volume.tier, 3),
            -(c.verified_at.timestamp() if c.verified_at else 0),
            c.volume.label,
        ),
    )


def sources_for(*, media_file_id: int, host: str, exclude: int) -> list[Copy]:
    """The file's verified copies this host can read (its own volumes, or buckets), best first, read now."""
    copies = [
        c
        for c in verified_copies(media_file_ids=[media_file_id]).exclude(volume_id=exclude)
        if c.volume.location.startswith("s3://") or c.volume.host == host
    ]
    return rank_sources(copies)


def replication_jobs(*, project: Project) -> QuerySet[ReplicationJob]:
    return ReplicationJob.objects.filter(project=project).select_related("destination", "rule__destination")


def rules(*, project: Project) -> QuerySet[ReplicationRule]:
    return ReplicationRule.objects.filter(project=project).select_related("destination", "source_group")


def groups(*, project: Project) -> QuerySet[VolumeGroup]:
    return VolumeGroup.objects.filter(project=project).prefetch_related("volumes")


@dataclass(frozen=True)
class DayTiers:
    """Per shoot day and destination group: files with a verified copy on a volume of the group."""

    day_id: int
    group: str
    files: int
    reached: int
    worm: bool  # every volume of the group is WORM

    @property
    def complete(self) -> bool:
        return self.files > 0 and self.reached == self.files


_DAY_TIERS = """
WITH day_files AS (
    SELECT mf.id, c.day_id
      FROM catalog_mediafile mf
      JOIN catalog_clip c ON c.id = mf.clip_id
     WHERE c.project_id = %(project)s AND c.day_id IS NOT NULL
), totals AS (
    SELECT day_id, count(*) AS files FROM day_files GROUP BY day_id
)
SELECT t.day_id, g.name, t.files,
       (SELECT count(DISTINCT df.id)
          FROM day_files df
          JOIN catalog_copy cp ON cp.media_file_id = df.id AND cp.state = 'verified'
          JOIN protection_volumegroup_volumes gv ON gv.volume_id = cp.volume_id AND gv.volumegroup_id = g.id
         WHERE df.day_id = t.day_id) AS reached,
       coalesce((SELECT bool_and(v.worm) FROM protection_volumegroup_volumes gv
                   JOIN catalog_volume v ON v.id = gv.volume_id WHERE gv.volumegroup_id = g.id), false)
  FROM totals t
 CROSS JOIN protection_volumegroup g
 WHERE g.project_id = %(project)s
 ORDER BY t.day_id, g.name
"""


def day_tiers(*, project: Project) -> dict[int, list[DayTiers]]:
    """Every day's progress per volume group, in one query: "RAID ✓, shuttle ✓, cloud 3 of 5 (WORM)"."""
    with connection.cursor() as cursor:
        cursor.execute(_DAY_TIERS, {"project": project.pk})
        rows = cursor.fetchall()
    result: dict[int, list[DayTiers]] = {}
    for day_id, name, files, reached, worm in rows:
        result.setdefault(int(day_id), []).append(
            DayTiers(int(day_id), str(name), int(files), int(reached), bool(worm))
        )
    return result

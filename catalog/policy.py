"""The storage policy, measured in SQL: which clips have "N copies on M media with K off-site".

A file meets its project's policy when its verified copies on distinct
volumes other than camera cards number at least ``required_copies`` (N),
span at least ``required_media_kinds`` kinds of media (``Volume.kind``: raid,
nas, shuttle, lto, s3; M) and include at least ``required_offsite`` off-site
volumes (K). A clip meets it when it has files and all of them do.

Everything is computed by one aggregate query per call, whatever the number
of clips: the copy count comes from ``Clip.min_verified_copies`` (kept right
by database triggers, catalog migration 0004); kinds and off-site copies are
counted per file only for clips whose copy count already passes and whose
policy asks for more than one kind or an off-site copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

# The per-clip evaluation. {scope} is a fixed SQL condition on catalog_clip c
# chosen in this module (never built from input); values go in as parameters.
_CLIP_POLICY = """
WITH scoped AS (
    SELECT c.id, c.day_id, c.project_id, c.name, c.created_at, c.min_verified_copies AS copies,
           p.required_copies, p.required_media_kinds, p.required_offsite
      FROM catalog_clip c
      JOIN catalog_project p ON p.id = c.project_id
     WHERE {scope}
), spread AS (
    SELECT f.clip_id, min(f.kinds) AS kinds, min(f.offsite) AS offsite,
           bool_and(f.kinds >= f.required_media_kinds AND f.offsite >= f.required_offsite) AS ok
      FROM (
        SELECT mf.id, mf.clip_id, s.required_media_kinds, s.required_offsite,
               count(DISTINCT v.kind) AS kinds,
               count(DISTINCT v.id) FILTER (WHERE v.offsite) AS offsite
          FROM scoped s
          JOIN catalog_mediafile mf ON mf.clip_id = s.id
          LEFT JOIN catalog_copy cp ON cp.media_file_id = mf.id AND cp.state = 'verified'
          LEFT JOIN catalog_volume v ON v.id = cp.volume_id AND v.kind <> 'card'
         WHERE s.copies >= s.required_copies AND (s.required_media_kinds > 1 OR s.required_offsite > 0)
         GROUP BY mf.id, mf.clip_id, s.required_media_kinds, s.required_offsite
      ) AS f
     GROUP BY f.clip_id
), sizes AS (
    SELECT mf.clip_id, count(*) AS files, sum(mf.size) AS bytes
      FROM scoped s
      JOIN catalog_mediafile mf ON mf.clip_id = s.id
     GROUP BY mf.clip_id
), clip_policy AS (
    SELECT s.id, s.day_id, s.project_id, s.name, s.created_at, s.copies,
           s.required_copies, s.required_media_kinds, s.required_offsite,
           coalesce(z.files, 0) AS files, coalesce(z.bytes, 0) AS bytes, sp.kinds, sp.offsite,
           (s.copies >= s.required_copies AND coalesce(sp.ok, true)) AS meets
      FROM scoped s
      LEFT JOIN spread sp ON sp.clip_id = s.id
      LEFT JOIN sizes z ON z.clip_id = s.id
)
"""

_BY_DAY = """
SELECT day_id, count(*), sum(files), sum(bytes),
       count(*) FILTER (WHERE meets), count(*) FILTER (WHERE NOT meets),
       min(created_at) FILTER (WHERE NOT meets)
  FROM clip_policy
 GROUP BY day_id
"""

_BY_PROJECT = """
SELECT project_id, count(*), sum(bytes), count(*) FILTER (WHERE NOT meets),
       count(DISTINCT day_id) FILTER (WHERE NOT meets), min(created_at) FILTER (WHERE NOT meets)
  FROM clip_policy
 GROUP BY project_id
"""

_SHORT = """
SELECT id, name, files, copies, required_copies, kinds, required_media_kinds, offsite, required_offsite,
       created_at
  FROM clip_policy
 WHERE NOT meets
 ORDER BY name
 LIMIT %(limit)s
"""

_SCOPE_DAYS = "c.day_id = ANY(%(ids)s)"
_SCOPE_PROJECTS = "c.project_id = ANY(%(ids)s)"


@dataclass(frozen=True)
class DayPolicy:
    clips: int = 0
    files: int = 0
    bytes: int = 0
    meeting: int = 0
    short: int = 0
    oldest_gap_at: datetime | None = None  # when the longest-waiting short clip was cataloged


@dataclass(frozen=True)
class ProjectPolicy:
    clips: int = 0
    bytes: int = 0
    short_clips: int = 0
    short_days: int = 0  # shoot days with at least one short clip (clips without a day not counted)
    oldest_gap_at: datetime | None = None


@dataclass(frozen=True)
class ShortClip:
    """A clip that does not meet the policy, and by how much."""

    id: int
    name: str
    files: int
    copies: int
    required_copies: int
    kinds: int | None  # None: not counted (the copy count already fails)
    required_media_kinds: int
    offsite: int | None
    required_offsite: int
    created_at: datetime

    @property
    def reasons(self) -> list[str]:
        if self.files == 0:
            return ["no file in the catalog"]
        reasons = []
        if self.copies < self.required_copies:
            reasons.append(f"{self.copies} of {self.required_copies} verified copies")
        if self.kinds is not None and self.kinds < self.required_media_kinds:
            reasons.append(f"{self.kinds} of {self.required_media_kinds} kinds of media")
        if self.offsite is not None and self.offsite < self.required_offsite:
            reasons.append(f"{self.offsite} of {self.required_offsite} off-site")
        return reasons


def _rows(scope: str, tail: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(_CLIP_POLICY.format(scope=scope) + tail, params)
        return list(cursor.fetchall())


def policy_by_day(*, day_ids: Sequence[int]) -> dict[int, DayPolicy]:
    """Clips, files, bytes and policy state of each day's clips (one query). Days without clips are absent."""
    if not day_ids:
        return {}
    rows = _rows(_SCOPE_DAYS, _BY_DAY, {"ids": list(day_ids)})
    return {
        int(day_id): DayPolicy(int(clips), int(files or 0), int(size or 0), int(meeting), int(short), oldest)
        for day_id, clips, files, size, meeting, short, oldest in rows
    }


def policy_by_project(*, project_ids: Sequence[int]) -> dict[int, ProjectPolicy]:
    """Policy gaps of whole projects (one query): for metrics and checks."""
    if not project_ids:
        return {}
    rows = _rows(_SCOPE_PROJECTS, _BY_PROJECT, {"ids": list(project_ids)})
    return {
        int(project_id): ProjectPolicy(int(clips), int(size or 0), int(short), int(days), oldest)
        for project_id, clips, size, short, days, oldest in rows
    }


def short_clips(*, day_ids: Sequence[int], limit: int = 200) -> list[ShortClip]:
    """The clips of these days that do not meet the policy, by name, at most ``limit`` (one query)."""
    if not day_ids:
        return []
    rows = _rows(_SCOPE_DAYS, _SHORT, {"ids": list(day_ids), "limit": limit})
    return [ShortClip(*row) for row in rows]

"""The storage policy, measured in SQL: which clips have "N copies on M media with K off-site".

A file meets its project's policy when its verified copies on distinct
volumes other than camera cards number at least ``required_copies`` (N),
span at least ``required_media_kinds`` kinds of media (``Volume.kind``: raid,
nas, shuttle, lto, s3; M), include at least ``required_offsite`` off-site
volumes (K) and lie on at least ``required_sites`` distinct sites
(``Volume.site``, S; a volume without a site names none). A copy on a volume
whose tier is one of the project's ``worm_tiers`` counts only when that
volume is WORM: the tier "must be WORM", and a rewritable copy there is not
the protection the policy promises. A clip meets it when it has files and
all of them do.

Everything is computed by one aggregate query per call, whatever the number
of clips: the copy count comes from ``Clip.min_verified_copies`` (kept right
by database triggers, catalog migration 0004); kinds and off-site copies are
counted per file only for clips whose copy count already passes and whose
policy asks for more than one kind, an off-site copy, sites or WORM tiers
(the per-file recount applies the WORM rule to the copy count too).

Variants. Every check of the policy is one of the named ``PolicyVariant``s,
evaluated by the same per-file counts (``_FILE_COUNTS``) and the same
requirements (``_REQUIREMENTS``):

- ``STORAGE_POLICY``: the whole rule, N, M, K and S. Day sign-off, the
  dashboard, metrics and alerts use it.
- ``SAFE_TO_FORMAT``: whether a camera card may be reformatted after an
  offload (``card_safe_to_format``). It asks for N verified copies on
  distinct volumes other than camera cards, on M kinds of media, per file of
  the card; it does NOT ask for the K off-site copies nor the S sites (for
  the same reason: an offload writes only where the card is). An offload writes only
  to volumes mounted on the host that reads the card, so no offload can ever
  make an off-site copy: asking for K would leave every card of a project
  with K > 0 unsafe until a shuttle travels, and a flag that is always red
  gets ignored. Kinds of media are asked for because an offload can meet
  them (a RAID and a shuttle are two kinds) and because copies all on one
  kind can fail together while the card, the last independent copy, is
  gone. The off-site copies are still required before the day is signed
  off, which is what releases its cards for reformat in the producer's view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from catalog.models import MediaFile

# What a variant requires of each file, from the project p: N, M and (if the
# variant asks for them) K and S.
_REQUIREMENTS = """p.required_copies, p.required_media_kinds,
           CASE WHEN %(need_offsite)s THEN p.required_offsite ELSE 0 END AS required_offsite,
           CASE WHEN %(need_sites)s THEN p.required_sites ELSE 0 END AS required_sites,
           cardinality(p.worm_tiers) > 0 AS worm_rule"""

# Per file: its verified copies on distinct volumes other than camera cards
# (a volume of one of its project's WORM tiers only if it is WORM), their
# kinds of media, how many are off-site and on how many named sites. {files}
# is a fixed SQL condition on catalog_mediafile mf chosen in this module.
_FILE_COUNTS = """
        SELECT mf.id, mf.clip_id, mf.relative_path,
               count(DISTINCT v.id) AS copies,
               count(DISTINCT v.kind) AS kinds,
               count(DISTINCT v.id) FILTER (WHERE v.offsite) AS offsite,
               count(DISTINCT nullif(v.site, '')) AS sites
          FROM catalog_mediafile mf
          LEFT JOIN catalog_copy cp ON cp.media_file_id = mf.id AND cp.state = 'verified'
          LEFT JOIN catalog_volume v ON v.id = cp.volume_id AND v.kind <> 'card'
                AND (v.worm OR NOT EXISTS (SELECT 1 FROM catalog_project vp
                                            WHERE vp.id = v.project_id AND v.tier = ANY(vp.worm_tiers)))
         WHERE {files}
         GROUP BY mf.id"""

# Whether file f meets the requirements r (columns named as in _REQUIREMENTS).
_FILE_MEETS = (
    "f.copies >= r.required_copies AND f.kinds >= r.required_media_kinds AND f.offsite >= r.required_offsite"
    " AND f.sites >= r.required_sites"
)

# The per-clip evaluation. {scope} is a fixed SQL condition on catalog_clip c
# chosen in this module (never built from input); values go in as parameters.
# The copy count of a clip is the fewest of its files' (min_verified_copies,
# the same count as _FILE_COUNTS.copies); kinds and off-site are counted per
# file only where the count passes and the variant asks for more.
_CLIP_POLICY = (
    """
WITH scoped AS (
    SELECT c.id, c.day_id, c.project_id, c.name, c.created_at, c.min_verified_copies AS copies,
           """  # noqa: S608 - built from this module's constants only; values are parameters
    + _REQUIREMENTS
    + """
      FROM catalog_clip c
      JOIN catalog_project p ON p.id = c.project_id
     WHERE {scope}
), spread AS (
    SELECT f.clip_id, min(f.copies) AS recount, min(f.kinds) AS kinds, min(f.offsite) AS offsite,
           min(f.sites) AS sites, bool_and("""
    + _FILE_MEETS
    + """) AS ok
      FROM ("""
    + _FILE_COUNTS.format(
        files="mf.clip_id IN (SELECT id FROM scoped WHERE copies >= required_copies"
        " AND (required_media_kinds > 1 OR required_offsite > 0 OR required_sites > 0 OR worm_rule))"
    )
    + """
      ) AS f
      JOIN scoped r ON r.id = f.clip_id
     GROUP BY f.clip_id
), sizes AS (
    SELECT mf.clip_id, count(*) AS files, sum(mf.size) AS bytes
      FROM scoped s
      JOIN catalog_mediafile mf ON mf.clip_id = s.id
     GROUP BY mf.clip_id
), clip_policy AS (
    SELECT s.id, s.day_id, s.project_id, s.name, s.created_at,
           -- With WORM tiers the per-file recount is the count that holds.
           least(s.copies, coalesce(sp.recount, s.copies)) AS copies,
           s.required_copies, s.required_media_kinds, s.required_offsite, s.required_sites,
           coalesce(z.files, 0) AS files, coalesce(z.bytes, 0) AS bytes, sp.kinds, sp.offsite, sp.sites,
           (s.copies >= s.required_copies AND coalesce(sp.ok, true)) AS meets
      FROM scoped s
      LEFT JOIN spread sp ON sp.clip_id = s.id
      LEFT JOIN sizes z ON z.clip_id = s.id
)
"""
)

# The files of one camera card that fall short, by path.
_CARD_SHORT = (
    """
WITH r AS (
    SELECT """  # noqa: S608 - built from this module's constants only; values are parameters
    + _REQUIREMENTS
    + """
      FROM catalog_volume card
      JOIN catalog_project p ON p.id = card.project_id
     WHERE card.id = %(card)s
)
SELECT f.relative_path, f.copies, r.required_copies, f.kinds, r.required_media_kinds,
       f.offsite, r.required_offsite, f.sites, r.required_sites
  FROM ("""
    + _FILE_COUNTS.format(files="mf.card_id = %(card)s")
    + """) AS f
 CROSS JOIN r
 WHERE NOT ("""
    + _FILE_MEETS
    + """)
 ORDER BY f.relative_path
 LIMIT %(limit)s
"""
)

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
       created_at, sites, required_sites
  FROM clip_policy
 WHERE NOT meets
 ORDER BY name
 LIMIT %(limit)s
"""

_SCOPE_DAYS = "c.day_id = ANY(%(ids)s)"
_SCOPE_PROJECTS = "c.project_id = ANY(%(ids)s)"


@dataclass(frozen=True)
class PolicyVariant:
    """Which parts of a project's policy "N copies on M media with K off-site on S sites" a check asks for.

    N (verified copies on distinct volumes other than camera cards, WORM tiers
    applied) and M (kinds of media among them) always; K (off-site copies)
    and S (distinct sites) when ``offsite``: both need a copy to travel.
    """

    name: str
    offsite: bool


STORAGE_POLICY = PolicyVariant("storage policy", offsite=True)
SAFE_TO_FORMAT = PolicyVariant("safe to format", offsite=False)  # see the module docstring


def _reasons(
    copies: int,
    required_copies: int,
    kinds: int | None,
    required_media_kinds: int,
    offsite: int | None,
    required_offsite: int,
    sites: int | None = None,
    required_sites: int = 0,
) -> list[str]:
    reasons = []
    if copies < required_copies:
        reasons.append(f"{copies} of {required_copies} verified copies")
    if kinds is not None and kinds < required_media_kinds:
        reasons.append(f"{kinds} of {required_media_kinds} kinds of media")
    if offsite is not None and offsite < required_offsite:
        reasons.append(f"{offsite} of {required_offsite} off-site")
    if sites is not None and sites < required_sites:
        reasons.append(f"{sites} of {required_sites} sites")
    return reasons


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
    sites: int | None = None
    required_sites: int = 0

    @property
    def reasons(self) -> list[str]:
        if self.files == 0:
            return ["no file in the catalog"]
        return _reasons(
            self.copies,
            self.required_copies,
            self.kinds,
            self.required_media_kinds,
            self.offsite,
            self.required_offsite,
            self.sites,
            self.required_sites,
        )


@dataclass(frozen=True)
class CardPolicy:
    """How the files of one camera card stand against a variant of the policy."""

    files: int
    short: list[str]  # "path: reasons" of the first files that fall short, by path

    @property
    def meets(self) -> bool:
        """The card has files in the catalog and none falls short."""
        return self.files > 0 and not self.short


def _rows(
    scope: str, tail: str, params: dict[str, Any], variant: PolicyVariant = STORAGE_POLICY
) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            _CLIP_POLICY.format(scope=scope) + tail,
            {**params, "need_offsite": variant.offsite, "need_sites": variant.offsite},
        )
        return list(cursor.fetchall())


def card_policy(*, card_id: int, variant: PolicyVariant, limit: int = 20) -> CardPolicy:
    """Each file of the camera card against ``variant``: the count and the first ``limit`` short ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CARD_SHORT,
            {"card": card_id, "limit": limit, "need_offsite": variant.offsite, "need_sites": variant.offsite},
        )
        short = [f"{path}: {', '.join(_reasons(*counts))}" for path, *counts in cursor.fetchall()]
    return CardPolicy(files=MediaFile.objects.filter(card_id=card_id).count(), short=short)


def card_safe_to_format(*, card_id: int, limit: int = 20) -> CardPolicy:
    """Whether the card may be reformatted: ``card_policy`` with the SAFE_TO_FORMAT variant.

    Every file of the card needs N verified copies on distinct volumes other
    than camera cards, on M kinds of media; off-site copies are not asked for
    (the module docstring says why). A card without files in the catalog is
    not safe.
    """
    return card_policy(card_id=card_id, variant=SAFE_TO_FORMAT, limit=limit)


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


# --------------------------------------------------------------------------- #
# Tiers reached: which kinds of media hold every file of a clip or a day.
# --------------------------------------------------------------------------- #

# Short names of the kinds of media, in the order a page lists them.
_TIER_NAMES = {"raid": "RAID", "nas": "NAS", "shuttle": "shuttle", "lto": "LTO", "s3": "cloud"}

# Copies a higher layer has planned but not begun, as SELECTs of
# (media_file_id, volume_id): protection installs its queued replications at
# startup (``planned_copies_register``), and the tiers count them as pending.
_planned_copies: list[str] = []


def planned_copies_register(sql: str) -> None:
    """Count the copies ``sql`` (a SELECT of media_file_id, volume_id, fixed text) plans as pending
    wherever tiers are shown. Called by a higher layer's AppConfig.ready; idempotent."""
    if sql not in _planned_copies:
        _planned_copies.append(sql)


def _copies_and_planned() -> str:
    """catalog_copy's (media_file_id, volume_id, state), plus the planned copies as 'pending'."""
    planned = [
        f"SELECT media_file_id, volume_id, 'pending' FROM ({sql}) planned"  # noqa: S608  (code's own SQL)
        for sql in _planned_copies
    ]
    return " UNION ALL ".join(["SELECT media_file_id, volume_id, state FROM catalog_copy", *planned])


# Per group (a clip, a card or a day; {key} and {scope} are fixed SQL chosen
# in this module) and kind of media other than camera cards: the group's
# files, how many have a verified copy of that kind, how many a verified copy
# on a WORM volume of that kind, how many only a copy on its way (pending or
# copying, or a queued replication) and how many only failed, corrupt or
# missing ones. One aggregate query.
_TIERS = """
WITH files AS (
    SELECT mf.id, {key} AS key
      FROM catalog_mediafile mf
      JOIN catalog_clip c ON c.id = mf.clip_id
     WHERE {scope}
), totals AS (
    SELECT key, count(*) AS files FROM files GROUP BY key
), per_file AS (
    SELECT f.key, f.id, v.kind,
           bool_or(cp.state = 'verified') AS verified,
           bool_or(cp.state = 'verified' AND v.worm) AS worm,
           bool_or(cp.state IN ('pending', 'copying')) AS coming,
           bool_or(cp.state IN ('failed', 'corrupt', 'missing')) AS bad
      FROM files f
      JOIN ({copies}) cp ON cp.media_file_id = f.id
      JOIN catalog_volume v ON v.id = cp.volume_id AND v.kind <> 'card'
     GROUP BY f.key, f.id, v.kind
)
SELECT p.key, p.kind, t.files,
       count(*) FILTER (WHERE p.verified),
       count(*) FILTER (WHERE p.worm),
       count(*) FILTER (WHERE p.coming AND NOT p.verified),
       count(*) FILTER (WHERE p.bad AND NOT p.verified AND NOT p.coming)
  FROM per_file p
  JOIN totals t ON t.key = p.key
 GROUP BY p.key, p.kind, t.files
"""


@dataclass(frozen=True)
class TierReach:
    """How many files of a clip or a day one kind of media (a tier: RAID, shuttle, LTO, cloud) holds."""

    kind: str  # Volume.Kind value
    files: int  # the clip's or day's files
    verified: int  # files with a verified copy of this kind
    worm: int  # files with a verified copy on a WORM volume of this kind
    coming: int  # files whose only copy of this kind is pending or copying
    failed: int  # files whose only copies of this kind failed, are corrupt or missing

    @property
    def name(self) -> str:
        return _TIER_NAMES.get(self.kind, self.kind)

    @property
    def complete(self) -> bool:
        return self.files > 0 and self.verified >= self.files

    @property
    def text(self) -> str:
        """ "RAID ✓", "cloud ✓ WORM", "shuttle 3 of 5, 2 pending", "LTO pending", "NAS 1 failed"."""
        if self.complete:
            return f"{self.name} ✓" + (" WORM" if self.worm >= self.files else "")
        parts = []
        if self.verified:
            parts.append(f"{self.verified} of {self.files}" + (f" ({self.worm} WORM)" if self.worm else ""))
        if self.coming:
            parts.append("pending" if not parts and self.coming >= self.files else f"{self.coming} pending")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return f"{self.name} {', '.join(parts)}"


def _tiers(key: str, scope: str, ids: Sequence[int]) -> dict[int, list[TierReach]]:
    order = list(_TIER_NAMES)
    result: dict[int, list[TierReach]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_TIERS.format(key=key, scope=scope, copies=_copies_and_planned()), {"ids": list(ids)})
        for group, kind, *counts in cursor.fetchall():
            result.setdefault(int(group), []).append(TierReach(kind, *(int(n) for n in counts)))
    for tiers in result.values():
        tiers.sort(key=lambda t: order.index(t.kind) if t.kind in order else len(order))
    return result


def tiers_by_day(*, day_ids: Sequence[int]) -> dict[int, list[TierReach]]:
    """Per day, the kinds of media holding its files (one query for all days); days with no copy absent."""
    if not day_ids:
        return {}
    return _tiers("c.day_id", _SCOPE_DAYS, day_ids)


def tiers_by_card(*, card_ids: Sequence[int]) -> dict[int, list[TierReach]]:
    """Per camera card, the kinds of media holding its files (one query); cards with no copy absent."""
    if not card_ids:
        return {}
    return _tiers("mf.card_id", "mf.card_id = ANY(%(ids)s)", card_ids)


@dataclass(frozen=True)
class ClipProtection:
    """The tiers a clip reached and what its policy still misses (empty when it is met)."""

    tiers: list[TierReach]
    missing: list[str]


def clip_protection(*, clip_id: int) -> ClipProtection:
    """The clip's tiers reached and what is still missing for its project's policy (two queries)."""
    tiers = _tiers("c.id", "c.id = ANY(%(ids)s)", [clip_id]).get(clip_id, [])
    short = [ShortClip(*row) for row in _rows("c.id = ANY(%(ids)s)", _SHORT, {"ids": [clip_id], "limit": 1})]
    return ClipProtection(tiers=tiers, missing=short[0].reasons if short else [])

"""Validation rules and the review queue.

A project's :class:`~ingest.models.IngestRules` say what a clip must look like:
its name follows the naming schema, required fields are filled, values are among
the allowed ones, its timecode makes sense (start + duration, agreement with the
camera's sidecar, one frame rate per roll), its camera is known, its sidecar is
there. Every violation, and every anomaly (duplicate name, unknown camera), is a
:class:`~ingest.models.ReviewItem` that stays until a DIT fixes the metadata or
waives the rule with a reason.

How items follow the catalog (``review_sync``):

1. Each problem has a fingerprint (``clip:12:required:scene``); finding it again
   updates the same row, so validation can run any number of times.
2. A problem found again after it was fixed reopens its item; a waived one stays
   waived (the waiver covers it).
3. An open item whose problem is no longer found is closed as fixed, with who
   (or what) fixed it: nothing disappears from the queue without a trace.

Extraction (``metadata/extraction.py``) owns the kinds it finds (unreadable media or
sidecar, no thumbnail, no copy); validation owns the others. Each side only ever
closes items of its own kinds.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog.audit import audit_record, model_snapshot
from catalog.models import Clip, MediaFile, Project
from catalog.permissions import AnyUser
from formats.naming import NamingPatternError, NamingSchema, recognize_camera_name
from formats.timecode import Timecode, TimecodeError, frame_rate
from metadata.edits import AfterApply, BulkResult, clip_bulk_update, clip_changes_apply
from metadata.models import IngestRules, ReviewItem

Kind = ReviewItem.Kind

#: Kinds found by validation (this module); extraction owns the rest.
VALIDATION_KINDS: tuple[str, ...] = (
    Kind.NAMING,
    Kind.REQUIRED,
    Kind.ALLOWED,
    Kind.TIMECODE,
    Kind.DUPLICATE,
    Kind.UNKNOWN_CAMERA,
    Kind.MISSING_SIDECAR,
)
ROLL_KINDS: tuple[str, ...] = (Kind.FPS_ROLL,)
EXTRACTION_KINDS: tuple[str, ...] = (Kind.SIDECAR, Kind.PROBE, Kind.THUMBNAIL, Kind.NO_COPY)

#: Clip fields a rule can require.
REQUIRABLE_FIELDS: tuple[str, ...] = (
    "scene",
    "take",
    "camera",
    "reel",
    "lens",
    "location",
    "cast",
    "notes",
    "start_tc",
    "fps",
    "duration_frames",
    "codec",
    "resolution",
)
#: Clip fields whose values a rule can restrict.
RESTRICTABLE_FIELDS: tuple[str, ...] = (
    "scene",
    "take",
    "camera",
    "reel",
    "lens",
    "location",
    "cast",
    "codec",
    "resolution",
    "fps",
)
CAMERA_RULE_KEYS = ("naming_pattern", "required_fields", "fps", "require_sidecar")

#: File name endings of camera sidecars (metadata written next to the media).
SIDECAR_SUFFIXES = (".xml", ".csv", ".txt")


class ReviewError(Exception):
    """A review action that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Problem:
    """One problem with one clip (and optionally one of its files)."""

    kind: str
    message: str
    field: str = ""
    key: str = ""  # tells apart problems of one kind and field (e.g. which sidecar)
    media_file_id: int | None = None

    def fingerprint(self, clip_id: int) -> str:
        return f"clip:{clip_id}:{self.kind}:{self.field}:{self.key}"[:255]


@dataclass
class SyncCounts:
    opened: int = 0
    reopened: int = 0
    closed: int = 0
    still_open: int = 0

    def add(self, other: SyncCounts) -> None:
        self.opened += other.opened
        self.reopened += other.reopened
        self.closed += other.closed
        self.still_open += other.still_open

    def as_dict(self) -> dict[str, int]:
        return {
            "opened": self.opened,
            "reopened": self.reopened,
            "closed": self.closed,
            "still_open": self.still_open,
        }


# --------------------------------------------------------------------------- #
# Rules
# --------------------------------------------------------------------------- #


def rules_for(project: Project) -> IngestRules:
    """The project's rules (an unsaved, empty set when none were written yet)."""
    rules = IngestRules.objects.filter(project=project).first()
    return rules if rules is not None else IngestRules(project=project)


@dataclass(frozen=True)
class _CameraRule:
    naming_pattern: str = ""
    required_fields: tuple[str, ...] = ()
    fps: str = ""
    require_sidecar: bool = False


def _check_pattern(pattern: str, where: str) -> None:
    if not pattern:
        return
    try:
        NamingSchema(pattern)
    except NamingPatternError as exc:
        raise ValidationError({where: str(exc)}) from None


def _check_fields(values: Iterable[str], allowed: Sequence[str], where: str) -> list[str]:
    names = [str(v).strip() for v in values if str(v).strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValidationError({where: f"unknown field(s) {', '.join(unknown)}; use {', '.join(allowed)}"})
    return list(dict.fromkeys(names))


def _check_rate(value: str, where: str) -> str:
    try:
        return frame_rate(value).label
    except TimecodeError as exc:
        raise ValidationError({where: str(exc)}) from None


def rules_clean(
    *,
    naming_pattern: str,
    required_fields: Iterable[str],
    allowed_values: Mapping[str, Iterable[str]],
    known_cameras: Iterable[str],
    camera_rules: Mapping[str, Mapping[str, Any]],
    require_sidecar: bool,
) -> dict[str, Any]:
    """Check and normalise rule values; return them as IngestRules fields.

    Raises:
        ValidationError: keyed by the offending rule, saying what is wrong.
    """
    pattern = naming_pattern.strip()
    _check_pattern(pattern, "naming_pattern")
    allowed: dict[str, list[str]] = {}
    for name, values in allowed_values.items():
        _check_fields([name], RESTRICTABLE_FIELDS, "allowed_values")
        if isinstance(values, str):
            values = values.split(",")
        cleaned = [str(v).strip() for v in values if str(v).strip()]
        if not cleaned:
            raise ValidationError({"allowed_values": f"{name}: list at least one allowed value"})
        if name == "fps":
            cleaned = [_check_rate(v, "allowed_values") for v in cleaned]
        allowed[name] = list(dict.fromkeys(cleaned))
    cameras = [c.strip().upper() for c in known_cameras if c.strip()]
    per_camera: dict[str, dict[str, Any]] = {}
    for camera, rule in camera_rules.items():
        letter = str(camera).strip().upper()
        if not letter or len(letter) > 20:
            raise ValidationError({"camera_rules": f"{camera!r} is not a camera name"})
        if not isinstance(rule, Mapping):
            raise ValidationError({"camera_rules": f"camera {letter}: expected an object of rules"})
        unknown = sorted(set(rule) - set(CAMERA_RULE_KEYS))
        if unknown:
            raise ValidationError(
                {
                    "camera_rules": f"camera {letter}: unknown rule(s) {', '.join(unknown)}; "
                    f"use {', '.join(CAMERA_RULE_KEYS)}"
                }
            )
        entry: dict[str, Any] = {}
        if rule.get("naming_pattern"):
            entry["naming_pattern"] = str(rule["naming_pattern"]).strip()
            _check_pattern(entry["naming_pattern"], "camera_rules")
        if rule.get("required_fields"):
            entry["required_fields"] = _check_fields(
                rule["required_fields"], REQUIRABLE_FIELDS, "camera_rules"
            )
        if rule.get("fps"):
            entry["fps"] = _check_rate(str(rule["fps"]), "camera_rules")
        if rule.get("require_sidecar"):
            entry["require_sidecar"] = bool(rule["require_sidecar"])
        per_camera[letter] = entry
    return {
        "naming_pattern": pattern,
        "required_fields": _check_fields(required_fields, REQUIRABLE_FIELDS, "required_fields"),
        "allowed_values": allowed,
        "known_cameras": list(dict.fromkeys(cameras)),
        "camera_rules": per_camera,
        "require_sidecar": bool(require_sidecar),
    }


_RULE_FIELDS = (
    "naming_pattern",
    "required_fields",
    "allowed_values",
    "known_cameras",
    "camera_rules",
    "require_sidecar",
)


@transaction.atomic(durable=True)
def ingest_rules_update(
    *,
    actor: AnyUser | None,
    project: Project,
    naming_pattern: str = "",
    required_fields: Iterable[str] = (),
    allowed_values: Mapping[str, Iterable[str]] | None = None,
    known_cameras: Iterable[str] = (),
    camera_rules: Mapping[str, Mapping[str, Any]] | None = None,
    require_sidecar: bool = False,
    revalidate: bool = True,
) -> tuple[IngestRules, SyncCounts]:
    """Replace the project's naming schema and rules, then (by default) re-validate every clip.

    Returns the saved rules and what re-validation changed in the review queue.
    The audit entry holds the rules before and after.

    Raises:
        ValidationError: for a pattern that does not compile, an unknown field, a bad rate.
    """
    return ingest_rules_save(
        actor=actor,
        project=project,
        naming_pattern=naming_pattern,
        required_fields=required_fields,
        allowed_values=allowed_values,
        known_cameras=known_cameras,
        camera_rules=camera_rules,
        require_sidecar=require_sidecar,
        revalidate=revalidate,
    )


def ingest_rules_save(
    *,
    actor: AnyUser | None,
    project: Project,
    naming_pattern: str = "",
    required_fields: Iterable[str] = (),
    allowed_values: Mapping[str, Iterable[str]] | None = None,
    known_cameras: Iterable[str] = (),
    camera_rules: Mapping[str, Mapping[str, Any]] | None = None,
    require_sidecar: bool = False,
    revalidate: bool = True,
) -> tuple[IngestRules, SyncCounts]:
    """``ingest_rules_update`` inside the caller's transaction (the Django admin holds one of its own)."""
    values = rules_clean(
        naming_pattern=naming_pattern,
        required_fields=required_fields,
        allowed_values=allowed_values or {},
        known_cameras=known_cameras,
        camera_rules=camera_rules or {},
        require_sidecar=require_sidecar,
    )
    rules = IngestRules.objects.select_for_update().filter(project=project).first()
    before = model_snapshot(rules, list(_RULE_FIELDS)) if rules is not None else None
    if rules is None:
        rules = IngestRules(project=project)
    for name, value in values.items():
        setattr(rules, name, value)
    rules.updated_by = actor if actor is not None and actor.is_authenticated else None  # type: ignore[assignment]
    rules.full_clean()
    rules.save()
    counts = SyncCounts()
    if revalidate:
        counts = _validate_all(project=project, actor=actor, rules=rules)
    audit_record(
        actor=actor,
        action="ingest_rules.update",
        obj=rules,
        project=project,
        before=before,
        after={**model_snapshot(rules, list(_RULE_FIELDS)), "review": counts.as_dict()},
    )
    return rules, counts


# --------------------------------------------------------------------------- #
# Finding problems
# --------------------------------------------------------------------------- #


def _camera_rule(rules: IngestRules, camera: str) -> _CameraRule:
    raw = (rules.camera_rules or {}).get(camera.upper()) if camera else None
    if not raw:
        return _CameraRule()
    return _CameraRule(
        naming_pattern=str(raw.get("naming_pattern", "")),
        required_fields=tuple(raw.get("required_fields", ())),
        fps=str(raw.get("fps", "")),
        require_sidecar=bool(raw.get("require_sidecar", False)),
    )


def naming_schema_for(rules: IngestRules, camera: str = "") -> NamingSchema | None:
    """The schema names of this camera must follow (camera rule first, then the project's), or None."""
    pattern = _camera_rule(rules, camera).naming_pattern or rules.naming_pattern
    if not pattern:
        return None
    try:
        return NamingSchema(pattern)
    except NamingPatternError:
        return None  # rules_clean refuses these; an old row must not break validation


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _rate_label(value: Decimal | float | str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return frame_rate(str(value)).label
    except TimecodeError:
        return None


def _text_values(clip: Clip, name: str) -> list[str]:
    if name == "cast":
        return [str(v) for v in clip.cast]
    if name == "fps":
        label = _rate_label(clip.fps)
        return [label] if label else ([str(clip.fps)] if clip.fps is not None else [])
    value = getattr(clip, name)
    return [str(value)] if not _is_empty(value) else []


def _basename(path: str) -> str:
    return PurePosixPath(path).name


def _sidecar_files(files: Sequence[MediaFile]) -> list[MediaFile]:
    return [f for f in files if f.relative_path.lower().endswith(SIDECAR_SUFFIXES)]


def clip_problems(clip: Clip, rules: IngestRules, files: Sequence[MediaFile]) -> list[Problem]:
    """Every validation problem of one clip (roll-level frame rates are checked by ``roll_problems``)."""
    problems: list[Problem] = []
    camera_rule = _camera_rule(rules, clip.camera)

    # 1. Naming schema.
    schema = naming_schema_for(rules, clip.camera)
    if schema is not None:
        for issue in schema.validate(clip.name)[:1]:
            problems.append(
                Problem(
                    Kind.NAMING, f"{clip.name} does not follow the naming schema {schema.pattern}: {issue}"
                )
            )

    # 2. Required fields.
    for name in dict.fromkeys([*rules.required_fields, *camera_rule.required_fields]):
        if _is_empty(getattr(clip, name, None)):
            problems.append(Problem(Kind.REQUIRED, f"{name} is required but empty", field=name))

    # 3. Allowed values (a camera's own frame rate rule is one more restriction).
    restrictions: dict[str, list[str]] = {k: list(v) for k, v in (rules.allowed_values or {}).items()}
    if camera_rule.fps:
        restrictions["fps"] = [camera_rule.fps]
    for name, allowed in restrictions.items():
        folded = {a.casefold() for a in allowed}
        for value in _text_values(clip, name):
            if value.casefold() not in folded:
                problems.append(
                    Problem(
                        Kind.ALLOWED,
                        f"{name} {value!r} is not allowed (allowed: {', '.join(allowed)})",
                        field=name,
                        key=value[:60],
                    )
                )

    # 4. Timecode sanity.
    problems.extend(_timecode_problems(clip))

    # 5. Camera known?
    known = {c.upper() for c in [*rules.known_cameras, *(rules.camera_rules or {}).keys()]}
    if not clip.camera:
        problems.append(
            Problem(
                Kind.UNKNOWN_CAMERA,
                "the camera could not be told from the name, a sidecar or the media; set it",
                field="camera",
            )
        )
    elif known and clip.camera.upper() not in known:
        problems.append(
            Problem(
                Kind.UNKNOWN_CAMERA,
                f"camera {clip.camera!r} is not one of this project's cameras ({', '.join(sorted(known))})",
                field="camera",
            )
        )

    # 6. Sidecar present? Sony cameras always write <clip>M01.XML next to the clip.
    sidecars = _sidecar_files(files)
    recognized = recognize_camera_name(clip.name)
    if recognized is not None and recognized.vendor == "sony" and recognized.clip_name == clip.name:
        expected = f"{clip.name}M01.XML".casefold()
        if files and not any(_basename(f.relative_path).casefold() == expected for f in files):
            problems.append(
                Problem(
                    Kind.MISSING_SIDECAR,
                    f"Sony clip without its {clip.name}M01.XML sidecar: it was not on the card or not copied",
                )
            )
    elif (rules.require_sidecar or camera_rule.require_sidecar) and not sidecars:
        problems.append(
            Problem(
                Kind.MISSING_SIDECAR, "the rules require a camera sidecar (XML/CSV) and this clip has none"
            )
        )

    # 7. Duplicate names: one name, two recordings.
    cards = sorted({f.card.label for f in files if f.card is not None})
    if len(cards) > 1:
        problems.append(
            Problem(
                Kind.DUPLICATE,
                f"the name {clip.name} was recorded on cards {', '.join(cards)}: "
                "two different clips share it",
                key="cards",
            )
        )
    by_name: dict[str, list[str]] = defaultdict(list)
    for f in files:
        by_name[_basename(f.relative_path).casefold()].append(f.relative_path)
    for paths in by_name.values():
        if len(paths) > 1 and len({p.rsplit("/", 1)[0] for p in paths}) > 1:
            problems.append(
                Problem(
                    Kind.DUPLICATE,
                    f"the same file name is in several folders: {', '.join(sorted(paths))}",
                    key=_basename(paths[0])[:80],
                )
            )
    return problems


def _timecode_problems(clip: Clip) -> list[Problem]:
    problems: list[Problem] = []
    rate = _rate_label(clip.fps)
    if clip.fps is not None and rate is None:
        problems.append(
            Problem(Kind.TIMECODE, f"frame rate {clip.fps} is not a timecode rate", field="fps", key="rate")
        )
    if clip.duration_frames is not None and clip.duration_frames <= 0:
        problems.append(Problem(Kind.TIMECODE, "the clip is 0 frames long", field="duration_frames"))
    if not clip.start_tc:
        return problems
    if rate is None:
        if clip.fps is None:
            problems.append(
                Problem(
                    Kind.TIMECODE,
                    "start timecode is set but the frame rate is unknown",
                    field="fps",
                    key="rate",
                )
            )
        return problems
    try:
        start = Timecode.parse(clip.start_tc, rate)
    except TimecodeError as exc:
        problems.append(Problem(Kind.TIMECODE, f"start timecode: {exc}", field="start_tc"))
        return problems
    if clip.duration_frames and clip.duration_frames > 0:
        last = start.to_frames() + clip.duration_frames - 1
        if last >= start.rate.frames_per_day:
            problems.append(
                Problem(
                    Kind.TIMECODE,
                    f"start {start} + {clip.duration_frames} frames runs past midnight (24:00:00:00)",
                    field="duration_frames",
                    key="midnight",
                )
            )
    sidecar = clip.extra.get("sidecar") if isinstance(clip.extra, dict) else None
    if isinstance(sidecar, dict):
        side_start = sidecar.get("start_timecode")
        if side_start and _same_tc(side_start, start) is False:
            problems.append(
                Problem(
                    Kind.TIMECODE,
                    f"the media starts at {start} but its sidecar {sidecar.get('source', '')} "
                    f"says {side_start}",
                    field="start_tc",
                    key="sidecar_start",
                )
            )
        side_end = sidecar.get("end_timecode")
        if side_end and clip.duration_frames and clip.duration_frames > 0:
            expected_end = start.add(clip.duration_frames - 1)
            if _same_tc(side_end, expected_end) is False:
                problems.append(
                    Problem(
                        Kind.TIMECODE,
                        f"start {start} + {clip.duration_frames} frames ends at {expected_end}, "
                        f"but the sidecar says the last frame is {side_end}",
                        field="duration_frames",
                        key="sidecar_end",
                    )
                )
    return problems


def _same_tc(text: str, tc: Timecode) -> bool | None:
    try:
        return Timecode.parse(str(text), tc.rate).to_frames() == tc.to_frames()
    except TimecodeError:
        return None


def roll_problems(clips: Sequence[Clip]) -> dict[int, list[Problem]]:
    """Frame rate consistency within each roll (clips with the same reel): ``{clip id: problems}``.

    The roll's rate is the one most of its clips have (ties go to the rate of the
    first clip by name); every clip at another rate is a problem.
    """
    by_roll: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        if clip.reel and clip.fps is not None:
            by_roll[clip.reel.upper()].append(clip)
    found: dict[int, list[Problem]] = {clip.pk: [] for clip in clips}
    for members in by_roll.values():
        rates = {c.pk: _rate_label(c.fps) or str(c.fps) for c in members}
        counts = Counter(rates.values())
        if len(counts) < 2:
            continue
        first = min(members, key=lambda c: c.name)
        top = max(counts.values())
        majority = rates[first.pk] if counts[rates[first.pk]] == top else counts.most_common(1)[0][0]
        for clip in members:
            if rates[clip.pk] != majority:
                found[clip.pk].append(
                    Problem(
                        Kind.FPS_ROLL,
                        f"{rates[clip.pk]} fps, but roll {clip.reel} is {majority} fps "
                        f"({counts[majority]} of {len(members)} clips)",
                        field="fps",
                        key=clip.reel.upper()[:64],
                    )
                )
    return found


# --------------------------------------------------------------------------- #
# Keeping the queue in step
# --------------------------------------------------------------------------- #


def review_sync(
    *,
    project: Project,
    found: Mapping[int, Sequence[Problem]],
    kinds: Sequence[str],
    actor: AnyUser | None = None,
    closed_because: str = "no longer found by validation",
) -> SyncCounts:
    """Make the open items of ``kinds`` for the clips in ``found`` match the problems found.

    Runs in the caller's transaction. See the module docstring for the rules.
    """
    counts = SyncCounts()
    if not found:
        return counts
    existing = {
        item.fingerprint: item
        for item in ReviewItem.objects.select_for_update().filter(
            project=project, clip_id__in=list(found), kind__in=kinds
        )
    }
    now = timezone.now()
    seen: set[str] = set()
    to_create: list[ReviewItem] = []
    for clip_id, problems in found.items():
        for problem in problems:
            fingerprint = problem.fingerprint(clip_id)
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            item = existing.get(fingerprint)
            if item is None:
                to_create.append(
                    ReviewItem(
                        project=project,
                        clip_id=clip_id,
                        media_file_id=problem.media_file_id,
                        kind=problem.kind,
                        field=problem.field,
                        fingerprint=fingerprint,
                        message=problem.message,
                    )
                )
                counts.opened += 1
            elif item.state == ReviewItem.State.FIXED:
                item.state, item.message, item.resolution = ReviewItem.State.OPEN, problem.message, ""
                item.resolved_by, item.resolved_at = None, None
                item.save()
                counts.reopened += 1
            else:
                if item.state == ReviewItem.State.OPEN:
                    counts.still_open += 1
                if item.message != problem.message:
                    item.message = problem.message
                    item.save(update_fields=["message", "updated_at"])
    # A concurrent run (rules re-validation while a worker extracts) may insert the
    # same problem first: its row is as good as ours.
    ReviewItem.objects.bulk_create(to_create, ignore_conflicts=True)
    user = actor if actor is not None and actor.is_authenticated else None
    for fingerprint, item in existing.items():
        if fingerprint not in seen and item.state == ReviewItem.State.OPEN:
            item.state, item.resolution = ReviewItem.State.FIXED, closed_because[:255]
            item.resolved_by, item.resolved_at = user, now  # type: ignore[assignment]
            item.save()
            counts.closed += 1
    return counts


def _roll_lock(project: Project, reel: str) -> None:
    # Clips of one roll are extracted by parallel workers. Without this lock two
    # transactions could each check the roll before the other commits and both
    # miss the mismatch; with it, the later one sees the earlier one's clip.
    key = zlib.crc32(f"{project.pk}:{reel.upper()}".encode()) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x5EE1_0ED, key])


def _files_by_clip(clip_ids: Sequence[int]) -> dict[int, list[MediaFile]]:
    grouped: dict[int, list[MediaFile]] = defaultdict(list)
    for media_file in MediaFile.objects.filter(clip_id__in=clip_ids).select_related("card"):
        if media_file.clip_id is not None:
            grouped[media_file.clip_id].append(media_file)
    return grouped


def review_clips_revalidate(
    clip_ids: Sequence[int],
    *,
    actor: AnyUser | None = None,
    closed_because: str = "no longer found by validation",
) -> SyncCounts:
    """Validate these clips (and the rolls they are on) and update the queue, in the caller's transaction.

    Pass it as ``after_apply`` to catalog services (bulk edit, ALE import) so the
    queue follows hand edits.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("review_clips_revalidate must run inside the transaction of the change")
    clips = list(Clip.objects.filter(pk__in=list(clip_ids)).select_related("project").order_by("pk"))
    counts = SyncCounts()
    by_project: dict[int, list[Clip]] = defaultdict(list)
    for clip in clips:
        by_project[clip.project_id].append(clip)
    for group in by_project.values():
        project = group[0].project
        rules = rules_for(project)
        files = _files_by_clip([c.pk for c in group])
        found = {clip.pk: clip_problems(clip, rules, files.get(clip.pk, [])) for clip in group}
        counts.add(
            review_sync(
                project=project,
                found=found,
                kinds=VALIDATION_KINDS,
                actor=actor,
                closed_because=closed_because,
            )
        )
        reels = {c.reel for c in group} | _previous_reels(group)
        counts.add(_revalidate_rolls(project, reels, actor, closed_because))
    return counts


def _previous_reels(clips: Sequence[Clip]) -> set[str]:
    # A clip moved to another reel leaves its old roll: re-check that one too.
    fingerprints = ReviewItem.objects.filter(
        clip__in=clips, kind=Kind.FPS_ROLL, state=ReviewItem.State.OPEN
    ).values_list("fingerprint", flat=True)
    # "clip:<id>:fps_roll:fps:<REEL>": the key is the roll.
    return {fp.split(":", 4)[4] for fp in fingerprints if fp.count(":") >= 4}


def _revalidate_rolls(
    project: Project, reels: Iterable[str], actor: AnyUser | None, closed_because: str
) -> SyncCounts:
    wanted = sorted({r.upper() for r in reels if r})
    counts = SyncCounts()
    if not wanted:
        return counts
    for reel in wanted:  # sorted: every transaction takes the locks in one order
        _roll_lock(project, reel)
    query = Q()
    for reel in wanted:
        query |= Q(reel__iexact=reel)
    members = list(_roll_members(project).filter(query))
    found = roll_problems(members)
    counts.add(
        review_sync(
            project=project, found=found, kinds=ROLL_KINDS, actor=actor, closed_because=closed_because
        )
    )
    return counts


def _roll_members(project: Project) -> QuerySet[Clip]:
    # Only clips with a roll and a rate take part in the roll check; load only what it reads.
    return (
        Clip.objects.filter(project=project, fps__isnull=False)
        .exclude(reel="")
        .only("pk", "name", "reel", "fps")
    )


def _validate_all(*, project: Project, actor: AnyUser | None, rules: IngestRules) -> SyncCounts:
    counts = SyncCounts()
    clip_ids = list(Clip.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(clip_ids), 500):
        batch = list(Clip.objects.filter(pk__in=clip_ids[start : start + 500]).order_by("pk"))
        files = _files_by_clip([c.pk for c in batch])
        found = {clip.pk: clip_problems(clip, rules, files.get(clip.pk, [])) for clip in batch}
        counts.add(review_sync(project=project, found=found, kinds=VALIDATION_KINDS, actor=actor))
    members = list(_roll_members(project))
    counts.add(review_sync(project=project, found=roll_problems(members), kinds=ROLL_KINDS, actor=actor))
    return counts


@transaction.atomic(durable=True)
def review_project_validate(*, actor: AnyUser | None, project: Project) -> SyncCounts:
    """Validate every clip of the project against its rules; returns how the queue changed (audited)."""
    counts = _validate_all(project=project, actor=actor, rules=rules_for(project))
    audit_record(actor=actor, action="review.validate", obj=project, project=project, after=counts.as_dict())
    return counts


# --------------------------------------------------------------------------- #
# Fixing and waiving
# --------------------------------------------------------------------------- #


@transaction.atomic(durable=True)
def review_item_fix(
    *, actor: AnyUser | None, item: ReviewItem, changes: Mapping[str, Any] | None = None
) -> ReviewItem:
    """Fix an item by correcting the clip's metadata (``changes``), then re-validate the clip.

    With no changes it checks again (e.g. after the file was re-extracted). The
    item is fixed only when its problem is gone; otherwise nothing is saved and
    ReviewError says what is still wrong. Audited: the clip edit (before/after)
    and the fix.

    Raises:
        ReviewError: the item is not open, has no clip, or the problem is still there.
        ValueError / ValidationError: a field that cannot be edited or a bad value.
    """
    item = (
        ReviewItem.objects.select_for_update(of=("self",)).select_related("project", "clip").get(pk=item.pk)
    )
    if item.state != ReviewItem.State.OPEN:
        raise ReviewError(f"this item is already {item.get_state_display().lower()}")
    if item.clip is None:
        raise ReviewError("this item concerns no clip; waive it with a reason instead")
    if item.kind in EXTRACTION_KINDS:
        raise ReviewError(
            "this problem comes from reading the files: re-run extraction (clip_metadata) "
            "or waive it with a reason"
        )
    changed = clip_changes_apply(actor=actor, clip=item.clip, changes=changes or {})
    review_clips_revalidate(
        [item.clip.pk], actor=actor, closed_because=f"fixed from the review queue ({item.pk})"
    )
    item.refresh_from_db()
    # Still a problem: the same one, or another one about the same field (a value
    # that is now present but not allowed).
    same = Q(field=item.field) if item.field else Q(kind=item.kind)
    remaining = (
        ReviewItem.objects.filter(same, clip=item.clip, state=ReviewItem.State.OPEN).order_by("pk").first()
    )
    if remaining is not None:
        # Roll the edit back with the rest: a fix that fixes nothing is not a fix.
        raise ReviewError(f"still a problem: {remaining.message}")
    user = actor if actor is not None and actor.is_authenticated else None
    ReviewItem.objects.filter(pk=item.pk).update(
        resolution=f"fixed by {user.get_username() if user else 'system'}: "
        + (", ".join(changed) or "re-checked"),
        resolved_by=user,
    )
    item.refresh_from_db()
    audit_record(
        actor=actor,
        action="review.fix",
        obj=item,
        project=item.project,
        before={"state": "open", "message": item.message},
        after={"state": item.state, "fields": changed},
    )
    return item


@transaction.atomic(durable=True)
def review_item_waive(*, actor: AnyUser | None, item: ReviewItem, reason: str) -> ReviewItem:
    """Waive the rule for this item with a reason (required); the item stays in the queue as waived.

    Raises:
        ReviewError: the reason is empty or the item is not open.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("give a reason to waive a rule")
    item = ReviewItem.objects.select_for_update(of=("self",)).select_related("project").get(pk=item.pk)
    if item.state != ReviewItem.State.OPEN:
        raise ReviewError(f"this item is already {item.get_state_display().lower()}")
    item.state, item.waiver_reason = ReviewItem.State.WAIVED, reason
    item.resolved_by = actor if actor is not None and actor.is_authenticated else None  # type: ignore[assignment]
    item.resolved_at = timezone.now()
    item.resolution = "waived"
    item.save()
    audit_record(
        actor=actor,
        action="review.waive",
        obj=item,
        project=item.project,
        before={"state": "open", "message": item.message},
        after={"state": "waived", "reason": reason},
    )
    return item


# --------------------------------------------------------------------------- #
# Hand edits that keep the queue in step
# --------------------------------------------------------------------------- #


def clip_metadata_bulk_edit(
    *, actor: AnyUser | None, project: Project, clip_ids: Sequence[int], changes: Mapping[str, Any]
) -> BulkResult:
    """Edit one clip or a selection (metadata.edits.clip_bulk_update), re-validating the changed clips."""

    def revalidate(changed: Sequence[int]) -> None:
        review_clips_revalidate(changed, actor=actor, closed_because="fixed by a metadata edit")

    return clip_bulk_update(
        actor=actor, project=project, clip_ids=clip_ids, changes=changes, after_apply=revalidate
    )


def revalidate_after_import(actor: AnyUser | None) -> AfterApply:
    """An ``after_apply`` hook for ALE imports: re-validate the clips the import changed."""

    def revalidate(changed: Sequence[int]) -> None:
        review_clips_revalidate(changed, actor=actor, closed_because="fixed by an ALE import")

    return revalidate


def clips_with_open_issues(clips: QuerySet[Clip], has_issues: bool) -> QuerySet[Clip]:
    """Narrow clips to those with (True) or without (False) open review items.

    Installed as the search's ``has_issues`` filter (``catalog.search.review_issue_filter_register``)
    by ``IngestConfig.ready``.
    """
    open_items = ReviewItem.objects.filter(clip=OuterRef("pk"), state=ReviewItem.State.OPEN)
    return clips.filter(Exists(open_items)) if has_issues else clips.exclude(Exists(open_items))

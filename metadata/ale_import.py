"""ALE / CSV import: match rows to clips, preview what would change per clip, apply all or nothing.

Files come from Silverstack, Resolve, Media Composer, sound and script departments
(see ``formats.ale`` for the formats and encodings read). The import

1. parses the file (``.csv`` as a clip CSV, anything else as an ALE); a file that
   cannot be used at all is one error naming the file (and line where there is one);
2. checks the columns: those in ``ALE_COLUMN_MAPPING`` are used, Media Composer's
   built-in columns (``Tracks``, ``Mark IN``, ``KN Start`` …) are skipped, and any
   other column is an *unknown column* error unless the caller chose to ignore
   unknown columns (they are then listed as ignored);
3. matches each row to a clip of the project by ``Name`` (also without a file
   extension), by ``Source File`` (a RED span ``_001.R3D`` names its clip) or by
   ``Tape`` as a clip name, and failing those by ``Tape``/``Reel`` plus
   timecode: the row's ``Start`` inside the clip's start + duration on that reel;
4. checks every ``Start``/``End`` timecode at the row's ``FPS``, the heading's
   ``FPS`` or the clip's rate;
5. computes per clip what would change: scene, take, circled, cast, location,
   lens, notes (``Comments``) and the CDL (``ASC_SOP``, ``ASC_SAT``, kept in
   ``Clip.extra["cdl"]``). Empty values change nothing: an import never blanks a
   field. Camera, reel, timecode and technical values come from the camera and
   the media, so an import uses them to match rows but does not change them.

Applying re-plans inside one durable transaction and writes nothing at all when
any error is found (or when the plan differs from the previewed one); every
changed clip gets a ``clip.ale_import`` audit entry with before/after, and the
file one ``ale.import`` entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from django.db import transaction
from django.db.models.functions import Upper

from catalog.audit import audit_record
from catalog.models import Clip, Project
from catalog.permissions import AnyUser
from formats.ale import (
    ALEError,
    ClipTable,
    interpret_circled,
    parse_ale,
    parse_asc_sat,
    parse_asc_sop,
    read_csv,
)
from formats.naming import MEDIA_EXTENSIONS, recognize_camera_name
from formats.timecode import FrameRate, Timecode, TimecodeError, frame_rate
from metadata.edits import AfterApply, clip_changes_apply

#: Clip fields an import merges (ALE field name -> clip field).
MERGED_FIELDS: dict[str, str] = {
    "scene": "scene",
    "take": "take",
    "circled": "circled",
    "cast": "cast",
    "location": "location",
    "lens": "lens",
    "comments": "notes",
}
CDL_FIELDS = ("asc_sop", "asc_sat")

#: Media Composer's built-in bin columns (as it writes them in ALEs) that hold no
#: clip metadata Reelvault keeps: read, skipped, never an "unknown column".
AVID_BUILTIN_COLUMNS = frozenset(
    c.casefold()
    for c in (
        "Tracks", "Mark IN", "Mark OUT", "IN-OUT", "Auxiliary TC1", "Auxiliary TC2", "Auxiliary TC3",
        "Auxiliary TC4", "Auxiliary TC5", "Video", "Color Framing", "Audio", "Disk", "Drive",
        "Creation Date", "Modified Date", "TC 24", "TC 25", "TC 25P", "TC 30", "KN Start", "KN End",
        "KN Duration", "KN Dur", "KN Mark IN", "KN Mark OUT", "KN IN-OUT", "KN Film", "Ink Number",
        "Ink Film", "Ink Dur", "Auxiliary Ink", "AuxInk Edge", "AuxInk End", "Audio Format",
        "Audio Bit Depth", "Film TC", "Offline", "Lock", "Project", "Sound TC", "Pullin", "Pullout",
        "Perf", "Film Type", "Slip", "CFPS", "Frame", "Color", "Media File", "Soundroll", "TapeID",
        "VITC", "Format", "Frame Count End",
    )
)  # fmt: skip

_CLIP_NAME_LIMITS: dict[str, int] = {
    name: getattr(Clip._meta.get_field(name), "max_length", 0) or 0
    for name in ("scene", "take", "camera", "reel", "lens", "location")
}
_UNSAFE = re.compile(r"[\t\r\n\x0b\x0c\x85\u2028\u2029]+")


@dataclass(frozen=True)
class ImportIssue:
    """An error or warning: the line (None for the whole file) and what is wrong."""

    line: int | None
    message: str


@dataclass
class RowMatch:
    line: int
    clip_id: int
    clip: str
    matched_by: str
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Unmatched:
    line: int
    name: str
    reason: str


@dataclass
class ImportPlan:
    """What an import found and would do (or did, when ``applied``)."""

    file: str
    format: str = ""
    encoding: str = ""
    fps: str | None = None
    columns: list[str] = field(default_factory=list)
    rows_parsed: int = 0
    matched: list[RowMatch] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> list[RowMatch]:
        return [m for m in self.matched if m.changes]

    @property
    def digest(self) -> str:
        """What applying would write; apply refuses a plan that differs from the previewed one."""
        payload = [(m.clip_id, m.changes) for m in sorted(self.changed, key=lambda m: m.clip_id)]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def error_text(self) -> str:
        return "; ".join(_where(self.file, e.line) + e.message for e in self.errors[:10])

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "fps": self.fps,
            "rows_parsed": self.rows_parsed,
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "matched": [asdict(m) for m in self.matched],
            "unmatched": [asdict(u) for u in self.unmatched],
            "errors": [asdict(e) for e in self.errors],
            "warnings": [asdict(w) for w in self.warnings],
            "clips_changed": len(self.changed),
            "digest": self.digest,
            "applied": self.applied,
        }


def _where(file: str, line: int | None) -> str:
    return f"{file}, line {line}: " if line is not None else f"{file}: "


class ALEImportError(Exception):
    """The import was refused; nothing was applied. ``plan`` holds every error with its line."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        super().__init__(plan.error_text() or "the import was refused")


# --------------------------------------------------------------------------- #
# Parsing
# --------------------------------------------------------------------------- #


def _parse(data: bytes, filename: str) -> ClipTable:
    if PurePosixPath(filename).suffix.lower() == ".csv":
        return read_csv(data, name=filename)
    return parse_ale(data, name=filename)


def _header_line(data: bytes, table: ClipTable) -> int | None:
    """The line number of the column names (for errors about columns)."""
    try:
        text = data.decode(table.encoding)
    except (LookupError, UnicodeDecodeError):
        return None
    lines = re.split(r"\r\n|\r|\n", text)
    after_keyword = table.format == "csv"
    for number, line in enumerate(lines, start=1):
        stripped = line.strip().lstrip("\ufeff")
        if not after_keyword:
            after_keyword = stripped.casefold() == "column"
            continue
        if stripped:
            return number
    return None


def _some(names: Sequence[str], *, quote: bool, shown: int = 20) -> str:
    """The first names, and how many more: a message must stay readable whatever the file."""
    listed = ", ".join(repr(n) if quote else n for n in names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _clean_text(value: str) -> str:
    return _UNSAFE.sub(" ", value).strip()


def _unescape_csv(value: str) -> str:
    # write_csv(excel_safe=True) protects = + - @ with a leading quote; undo it.
    return value[1:] if len(value) > 1 and value[0] == "'" and value[1] in "=+-@" else value


def _rate(text: str | None) -> FrameRate | None:
    if not text:
        return None
    try:
        return frame_rate(text)
    except TimecodeError:
        return None


def _candidate_names(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """(how, clip name) pairs to try, best first."""
    found: list[tuple[str, str]] = []
    name = fields.get("name", "")
    if name:
        found.append(("name", name))
        stem, dot, ext = name.rpartition(".")
        if dot and f".{ext.lower()}" in MEDIA_EXTENSIONS:
            found.append(("name", stem))
    source = fields.get("source_file", "")
    if source:
        base = re.split(r"[\\/]", source)[-1].split(".", 1)[0]
        recognized = recognize_camera_name(base)
        found.append(("source file", recognized.clip_name if recognized else base))
    tape = fields.get("tape", "")
    if tape:
        found.append(("tape", tape))
    return found


# --------------------------------------------------------------------------- #
# Planning
# --------------------------------------------------------------------------- #


@dataclass
class _Row:
    line: int
    fields: dict[str, str]
    rate: FrameRate | None


def ale_import_preview(
    *, project: Project, data: bytes, filename: str, ignore_unknown_columns: bool = False
) -> ImportPlan:
    """Parse the file and work out, per clip, what applying it would change. Writes nothing."""
    plan = ImportPlan(file=filename)
    try:
        table = _parse(data, filename)
    except ALEError as exc:
        plan.errors.append(ImportIssue(exc.line, exc.problem + (f" ({exc.hint})" if exc.hint else "")))
        return plan
    plan.format, plan.encoding, plan.columns = table.format, table.encoding, list(table.columns)
    plan.rows_parsed = len(table.rows)
    plan.errors.extend(
        ImportIssue(i.line, i.message + (f" ({i.hint})" if i.hint else "")) for i in table.errors
    )
    plan.warnings.extend(ImportIssue(i.line, str(i.message)) for i in table.warnings)
    header = _header_line(data, table)

    # Sets, not list membership: a file with 100,000 columns took 50 s in a quadratic check.
    not_mapped = table.unknown_columns
    unknown = [c for c in not_mapped if c.strip().casefold() not in AVID_BUILTIN_COLUMNS]
    unknown_set = set(unknown)
    plan.ignored_columns = [c for c in not_mapped if c not in unknown_set]
    if unknown and ignore_unknown_columns:
        plan.ignored_columns.extend(unknown)
        plan.warnings.append(ImportIssue(header, f"unknown columns ignored: {_some(unknown, quote=False)}"))
    elif unknown:
        names = _some(unknown, quote=True)
        plan.errors.append(
            ImportIssue(
                header,
                f"unknown column{'s' if len(unknown) > 1 else ''} {names}: not a Reelvault clip field "
                "(see the README's ALE columns) nor a Media Composer built-in column. Rename or remove "
                "it, or import again ignoring unknown columns",
            )
        )

    heading_fps = table.heading_value("FPS")
    heading_rate = _rate(heading_fps)
    if heading_fps and heading_rate is None:
        plan.errors.append(
            ImportIssue(None, f"FPS {heading_fps!r} in the heading is not a supported frame rate")
        )
    plan.fps = heading_rate.label if heading_rate else None

    rows: list[_Row] = []
    for raw, line in zip(table.rows, table.row_lines, strict=True):
        values = table.clip_fields(raw)
        if table.format == "csv":
            values = {k: _unescape_csv(v) for k, v in values.items()}
        row_fps = values.get("fps")
        row_rate = _rate(row_fps)
        if row_fps and row_rate is None:
            plan.errors.append(ImportIssue(line, f"FPS {row_fps!r} is not a supported frame rate"))
        rows.append(_Row(line, values, row_rate or heading_rate))

    _match_rows(plan, project, rows)
    return plan


def _clips_by_upper_name(project: Project, names: set[str]) -> dict[str, list[Clip]]:
    found: dict[str, list[Clip]] = {}
    if not names:
        return found
    clips = Clip.objects.annotate(upper_name=Upper("name")).filter(
        project=project, upper_name__in=[n.upper() for n in names]
    )
    for clip in clips:
        found.setdefault(clip.name.upper(), []).append(clip)
    return found


def _clips_by_reel(project: Project, reels: set[str]) -> dict[str, list[Clip]]:
    found: dict[str, list[Clip]] = {}
    if not reels:
        return found
    clips = (
        Clip.objects.annotate(upper_reel=Upper("reel"))
        .filter(
            project=project,
            upper_reel__in=[r.upper() for r in reels],
            fps__isnull=False,
            duration_frames__isnull=False,
        )
        .exclude(start_tc="")
    )
    for clip in clips:
        found.setdefault(clip.reel.upper(), []).append(clip)
    return found


def _pick(candidates: Sequence[Clip], name: str) -> Clip | None:
    exact = [c for c in candidates if c.name == name]
    if exact:
        return exact[0]
    return candidates[0] if len(candidates) == 1 else None


def _parse_tc(text: str, rate: FrameRate | None) -> Timecode:
    # Without any known rate only the form can be checked: 60 is the highest nominal rate.
    return Timecode.parse(text, rate or frame_rate("60"))


def _clip_rate(clip: Clip) -> FrameRate | None:
    return _rate(str(clip.fps)) if clip.fps is not None else None


def _range_match(clips: Sequence[Clip], start_text: str) -> list[Clip]:
    hits = []
    for clip in clips:
        rate = _clip_rate(clip)
        if rate is None or not clip.duration_frames:
            continue
        try:
            clip_start = Timecode.parse(clip.start_tc, rate).to_frames()
            row_start = Timecode.parse(start_text, rate).to_frames()
        except TimecodeError:
            continue
        if clip_start <= row_start < clip_start + clip.duration_frames:
            hits.append(clip)
    return hits


def _match_rows(plan: ImportPlan, project: Project, rows: Sequence[_Row]) -> None:
    wanted = {name for row in rows for _how, name in _candidate_names(row.fields)}
    by_name = _clips_by_upper_name(project, wanted)
    reels = {v for row in rows for k in ("tape", "reel") if (v := row.fields.get(k))}
    by_reel = _clips_by_reel(project, reels)
    taken: dict[int, RowMatch] = {}
    for row in rows:
        clip: Clip | None = None
        how = ""
        for how_found, name in _candidate_names(row.fields):
            clip = _pick(by_name.get(name.upper(), []), name)
            if clip is not None:
                how = how_found
                break
        start_text = row.fields.get("start_tc", "")
        if clip is None and start_text:
            reel = row.fields.get("tape") or row.fields.get("reel") or ""
            hits = _range_match(by_reel.get(reel.upper(), []), start_text)
            if len(hits) == 1:
                clip, how = hits[0], "tape + timecode"
            elif len(hits) > 1:
                names = ", ".join(sorted(c.name for c in hits))
                plan.unmatched.append(Unmatched(row.line, _row_label(row), f"ambiguous: matches {names}"))
                continue
        rate = row.rate or (_clip_rate(clip) if clip is not None else None)
        if not _check_timecodes(plan, row, rate):
            continue
        if clip is None:
            plan.unmatched.append(Unmatched(row.line, _row_label(row), _no_match_reason(row)))
            continue
        changes = _changes(plan, row, clip)
        earlier = taken.get(clip.pk)
        if earlier is not None:
            # Subclips and timeline events repeat a clip's row; that is fine as long
            # as every row says the same thing about the clip.
            if changes != earlier.changes:
                conflict = _first_conflict(earlier.changes, changes)
                plan.errors.append(
                    ImportIssue(
                        row.line,
                        f"matches clip {clip.name}, like line {earlier.line}, but {conflict}: "
                        "one clip cannot take two different rows",
                    )
                )
            else:
                plan.matched.append(
                    RowMatch(row.line, clip.pk, clip.name, f"{how}, same clip as line {earlier.line}")
                )
            continue
        match = RowMatch(row.line, clip.pk, clip.name, how, changes)
        taken[clip.pk] = match
        plan.matched.append(match)
        if start_text and clip.start_tc and rate is not None:
            _warn_start(plan, row, clip, start_text, rate)


def _first_conflict(first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
    for name in sorted(set(first) | set(second)):
        a = first.get(name, {}).get("after")
        b = second.get(name, {}).get("after")
        if a != b:
            return f"sets {name} to {b!r} where that line sets {a!r}"
    return "differs"


def _row_label(row: _Row) -> str:
    f = row.fields
    return f.get("name") or f.get("source_file") or f.get("tape") or f.get("reel") or ""


def _no_match_reason(row: _Row) -> str:
    f = row.fields
    if not (f.get("name") or f.get("source_file") or f.get("tape") or f.get("reel")):
        return "the row has no Name, Source File, Tape or Reel to match a clip by"
    tried = [f"{k} {f[k]!r}" for k in ("name", "source_file", "tape") if f.get(k)]
    text = f"no clip of the project matches {' or '.join(tried) or 'the row'}"
    reel = f.get("tape") or f.get("reel")
    if reel and f.get("start_tc"):
        text += f", and no clip on reel {reel!r} contains timecode {f['start_tc']}"
    return text


def _check_timecodes(plan: ImportPlan, row: _Row, rate: FrameRate | None) -> bool:
    ok = True
    for key, column in (("start_tc", "Start"), ("end_tc", "End")):
        text = row.fields.get(key)
        if not text:
            continue
        try:
            _parse_tc(text, rate)
        except TimecodeError as exc:
            plan.errors.append(ImportIssue(row.line, f"{column}: {exc}"))
            ok = False
    return ok


def _warn_start(plan: ImportPlan, row: _Row, clip: Clip, start_text: str, rate: FrameRate) -> None:
    try:
        same = Timecode.parse(start_text, rate).to_frames() == Timecode.parse(clip.start_tc, rate).to_frames()
    except TimecodeError:
        return
    if not same:
        plan.warnings.append(
            ImportIssue(
                row.line,
                f"Start {start_text} differs from clip {clip.name}'s start timecode {clip.start_tc} "
                "(timecode comes from the media and is not changed by an import)",
            )
        )


def _changes(plan: ImportPlan, row: _Row, clip: Clip) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for ale_field, clip_field in MERGED_FIELDS.items():
        text = row.fields.get(ale_field)
        if not text:
            continue
        current: Any = getattr(clip, clip_field)
        new: Any
        if clip_field == "circled":
            new = interpret_circled(text)
            if new is None:
                plan.warnings.append(
                    ImportIssue(row.line, f"Circled {text!r} is neither yes nor no; not changed")
                )
                continue
        elif clip_field == "cast":
            new = [name.strip() for name in re.split(r"[,;]", text) if name.strip()]
            current = [str(name).strip() for name in current]
        else:
            new = _clean_text(text)
            current = _clean_text(current)
            limit = _CLIP_NAME_LIMITS.get(clip_field)
            if limit and len(new) > limit:
                plan.errors.append(
                    ImportIssue(row.line, f"{clip_field} {new[:40]!r}… is longer than {limit} characters")
                )
                continue
        if new != current:
            changes[clip_field] = {"before": getattr(clip, clip_field), "after": new}
    cdl_now = clip.extra.get("cdl") if isinstance(clip.extra, dict) else None
    cdl_now = dict(cdl_now) if isinstance(cdl_now, dict) else {}
    cdl_new = dict(cdl_now)
    for key, check in (("asc_sop", parse_asc_sop), ("asc_sat", parse_asc_sat)):
        text = row.fields.get(key)
        if text and check(text) is not None:
            cdl_new[key] = " ".join(text.split())
    if cdl_new != cdl_now:
        changes["cdl"] = {"before": cdl_now or None, "after": cdl_new}
    return changes


# --------------------------------------------------------------------------- #
# Applying
# --------------------------------------------------------------------------- #


@transaction.atomic(durable=True)
def ale_import_apply(
    *,
    actor: AnyUser | None,
    project: Project,
    data: bytes,
    filename: str,
    ignore_unknown_columns: bool = False,
    expect_digest: str | None = None,
    after_apply: AfterApply | None = None,
) -> ImportPlan:
    """Apply the import in one transaction, or nothing at all; see ``ale_import_execute``."""
    return ale_import_execute(
        actor=actor,
        project=project,
        data=data,
        filename=filename,
        ignore_unknown_columns=ignore_unknown_columns,
        expect_digest=expect_digest,
        after_apply=after_apply,
    )


def ale_import_execute(
    *,
    actor: AnyUser | None,
    project: Project,
    data: bytes,
    filename: str,
    ignore_unknown_columns: bool = False,
    expect_digest: str | None = None,
    after_apply: AfterApply | None = None,
) -> ImportPlan:
    """Apply the import inside the caller's transaction, or nothing at all.

    Re-plans with the matched clips locked, so what is written is what the plan
    says. ``expect_digest`` (the preview's ``digest``) refuses the import when
    the catalog or the file changed since the preview. ``after_apply`` runs in
    the same transaction with the ids of the changed clips (ingest re-validates them).

    Returns:
        The plan, with ``applied`` True.

    Raises:
        ALEImportError: any error in the file or the plan; nothing is written.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ale_import_execute must run inside a transaction (use ale_import_apply)")
    plan = ale_import_preview(
        project=project, data=data, filename=filename, ignore_unknown_columns=ignore_unknown_columns
    )
    if plan.ok:
        list(Clip.objects.select_for_update().filter(pk__in=[m.clip_id for m in plan.matched]).order_by("pk"))
        plan = ale_import_preview(
            project=project, data=data, filename=filename, ignore_unknown_columns=ignore_unknown_columns
        )
    if plan.ok and expect_digest is not None and expect_digest != plan.digest:
        plan.errors.append(
            ImportIssue(None, "the catalog changed since the preview: preview the file again before applying")
        )
    if not plan.ok:
        raise ALEImportError(plan)
    clips = {c.pk: c for c in Clip.objects.filter(pk__in=[m.clip_id for m in plan.changed])}
    changed: list[int] = []
    for match in plan.changed:
        fields = {name: change["after"] for name, change in match.changes.items() if name != "cdl"}
        extra = {"cdl": match.changes["cdl"]["after"]} if "cdl" in match.changes else None
        if clip_changes_apply(
            actor=actor, clip=clips[match.clip_id], changes=fields, extra=extra, action="clip.ale_import"
        ):
            changed.append(match.clip_id)
    if after_apply is not None and changed:
        after_apply(changed)
    plan.applied = True
    audit_record(
        actor=actor,
        action="ale.import",
        obj=project,
        project=project,
        after={
            "file": filename,
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": plan.rows_parsed,
            "matched": len(plan.matched),
            "unmatched": len(plan.unmatched),
            "clips_changed": len(changed),
        },
    )
    return plan

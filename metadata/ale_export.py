"""ALE and CSV export of a shoot day, a card or any set of clips, for Avid Media Composer and Resolve.

The files follow ``formats.ale``: tab-delimited ALE with ``Heading`` (``FIELD_DELIM``,
``VIDEO_FORMAT``, ``AUDIO_FORMAT``, ``FPS``), ``Column`` and ``Data``, CRLF line
endings, UTF-8; CSV with a header row. Columns are named as in
``ALE_COLUMN_MAPPING`` (plus ``Tracks``, which Media Composer needs to make
master clips, and ``Source File``, which Resolve relinks by), so an exported file
imports back through ``metadata.ale_import`` without changing anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet

from catalog.audit import audit_record
from catalog.clip_export import EXPORT_FIELDS, clip_row
from catalog.models import Clip, MediaFile, Project, ShootDay, Volume
from catalog.permissions import AnyUser
from formats.ale import column_for_field, write_ale, write_csv
from formats.naming import MEDIA_EXTENSIONS
from formats.timecode import TimecodeError, frame_rate

Format = Literal["ale", "csv"]
DEFAULT_FPS = "24"
SOURCE_FILE = column_for_field("source_file")
CDL_COLUMNS = (column_for_field("asc_sop"), column_for_field("asc_sat"))


def export_columns(fmt: Format) -> list[str]:
    """Column names in file order."""
    columns = [column_for_field(name) for name in EXPORT_FIELDS]
    columns.insert(1, SOURCE_FILE)
    columns.extend(CDL_COLUMNS)
    if fmt == "ale":
        columns.insert(1, "Tracks")
    return columns


def clips_for_export(
    *, project: Project, day: ShootDay | None = None, card: Volume | None = None
) -> QuerySet[Clip]:
    """The project's clips of a day and/or card (all of them when neither is given), by name."""
    clips = Clip.objects.filter(project=project)
    if day is not None:
        clips = clips.filter(day=day)
    if card is not None:
        clips = clips.filter(Q(card=card) | Q(files__card=card)).distinct()
    return (
        clips.select_related("day")
        .prefetch_related(Prefetch("files", queryset=MediaFile.objects.order_by("relative_path")))
        .order_by("name")
    )


def _source_file(clip: Clip) -> str:
    names = [f.relative_path for f in clip.files.all()]
    media = [p for p in names if PurePosixPath(p).suffix.lower() in MEDIA_EXTENSIONS]
    # Originals before proxies: a proxy folder is the only thing that sorts a file later.
    media.sort(key=lambda p: ("proxy" in p.casefold().split("/")[:-1], p))
    return PurePosixPath(media[0]).name if media else ""


def clip_table_row(clip: Clip, fmt: Format) -> dict[str, str]:
    """One clip as ``{column: text}`` for :func:`export_columns`."""
    row = clip_row(clip)
    row[SOURCE_FILE] = _source_file(clip)
    cdl = clip.extra.get("cdl") if isinstance(clip.extra, dict) else None
    cdl = cdl if isinstance(cdl, dict) else {}
    row[CDL_COLUMNS[0]] = str(cdl.get("asc_sop", ""))
    row[CDL_COLUMNS[1]] = str(cdl.get("asc_sat", ""))
    if fmt == "ale":
        row["Tracks"] = "V"
    return row


def _heading_fps(clips: Sequence[Clip]) -> str:
    rates: Counter[str] = Counter()
    for clip in clips:
        if clip.fps is None:
            continue
        try:
            rates[frame_rate(str(clip.fps)).label] += 1
        except TimecodeError:
            continue
    return rates.most_common(1)[0][0] if rates else DEFAULT_FPS


def clips_table(clips: Sequence[Clip], fmt: Format) -> bytes:
    """The clips as ALE or CSV bytes. The ALE's FPS heading is the most common clip rate (24 when none)."""
    columns = export_columns(fmt)
    rows = [clip_table_row(clip, fmt) for clip in clips]
    if fmt == "ale":
        return write_ale(rows, columns, _heading_fps(clips))
    # A BOM and formula-safe values for spreadsheets; the importer undoes the ' prefix.
    return write_csv(rows, columns, excel_safe=True)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    data: bytes
    clips: int


def export_filename(project: Project, day: ShootDay | None, card: Volume | None, fmt: Format) -> str:
    parts = [project.code]
    if day is not None:
        parts.append(f"day{day.number:03d}")
    if card is not None:
        parts.append(card.label)
    return "_".join(parts).replace("/", "-") + f".{fmt}"


@transaction.atomic(durable=True)
def clips_export(
    *,
    actor: AnyUser | None,
    project: Project,
    fmt: Format,
    day: ShootDay | None = None,
    card: Volume | None = None,
) -> ExportFile:
    """Export a day's and/or card's clips as ALE or CSV; the download is audited (``clip.export``).

    Raises:
        ValueError: an unknown format, or no clips to export.
    """
    if fmt not in ("ale", "csv"):
        raise ValueError(f"unknown format {fmt!r}: use ale or csv")
    clips = list(clips_for_export(project=project, day=day, card=card))
    if not clips:
        raise ValueError("no clips to export: the day or card has no clips in the catalog")
    data = clips_table(clips, fmt)
    audit_record(
        actor=actor,
        action="clip.export",
        obj=project,
        project=project,
        after={
            "format": fmt,
            "day": day.number if day else None,
            "card": card.label if card else None,
            "clips": len(clips),
        },
    )
    content_type = "text/plain; charset=utf-8" if fmt == "ale" else "text/csv; charset=utf-8"
    return ExportFile(export_filename(project, day, card, fmt), content_type, data, len(clips))

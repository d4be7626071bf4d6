"""Clip tables for editorial: search results as CSV or as an Avid Log Exchange (ALE) file.

Pure formatting over already-loaded clips; the column names come from
``formats.ale.ALE_COLUMN_MAPPING`` so an exported file imports back through the
ALE/CSV importer and into Media Composer or Resolve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from catalog.models import Clip
from formats.ale import column_for_field, fields_to_row, write_ale, write_csv
from formats.timecode import TimecodeError, add_duration, frame_rate, frames_to_timecode

#: Clip fields exported, in column order (each has a column in ALE_COLUMN_MAPPING).
EXPORT_FIELDS: tuple[str, ...] = (
    "name",
    "start_tc",
    "end_tc",
    "duration",
    "scene",
    "take",
    "circled",
    "camera",
    "reel",
    "cast",
    "location",
    "lens",
    "comments",
    "shoot_date",
    "fps",
    "codec",
    "resolution",
)
DEFAULT_FPS = "24"


def _rate_text(fps: Decimal | None) -> str | None:
    if fps is None:
        return None
    try:
        return frame_rate(str(fps)).label
    except TimecodeError:
        return None


def _timing(clip: Clip) -> tuple[str, str]:
    """End timecode and duration, when start, rate and length are all known and valid."""
    rate = _rate_text(clip.fps)
    if rate is None or clip.duration_frames is None:
        return "", ""
    duration = frames_to_timecode(clip.duration_frames, rate)
    if not clip.start_tc:
        return "", duration
    try:
        return add_duration(clip.start_tc, clip.duration_frames, rate), duration
    except TimecodeError:
        return "", duration


def clip_row(clip: Clip) -> dict[str, str]:
    """One clip as ``{column: text}``, columns named as in ALE_COLUMN_MAPPING."""
    end_tc, duration = _timing(clip)
    return fields_to_row(
        {
            "name": clip.name,
            "start_tc": clip.start_tc,
            "end_tc": end_tc,
            "duration": duration,
            "scene": clip.scene,
            "take": clip.take,
            "circled": clip.circled,
            "camera": clip.camera,
            "reel": clip.reel,
            "cast": ", ".join(clip.cast),
            "location": clip.location,
            "lens": clip.lens,
            "comments": clip.notes,
            "shoot_date": clip.day.date.isoformat() if clip.day else "",
            "fps": _rate_text(clip.fps) or "",
            "codec": clip.codec,
            "resolution": clip.resolution,
        }
    )


def clips_csv(clips: Sequence[Clip]) -> bytes:
    """CSV (UTF-8 with BOM, formula-safe for spreadsheets) of the clips."""
    columns = [column_for_field(name) for name in EXPORT_FIELDS]
    return write_csv([clip_row(clip) for clip in clips], columns, excel_safe=True)


def clips_ale(clips: Sequence[Clip]) -> bytes:
    """An ALE of the clips. The heading FPS is the most common clip rate (24 when none is known).

    ``Tracks`` (``V``) is added because Media Composer needs Name, Tracks, Start and
    End to create master clips from an ALE.
    """
    rates = Counter(rate for rate in (_rate_text(clip.fps) for clip in clips) if rate)
    fps = rates.most_common(1)[0][0] if rates else DEFAULT_FPS
    columns = [column_for_field(name) for name in EXPORT_FIELDS]
    columns.insert(1, "Tracks")
    rows = [{**clip_row(clip), "Tracks": "V"} for clip in clips]
    return write_ale(rows, columns, fps)

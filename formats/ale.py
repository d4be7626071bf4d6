"""Avid Log Exchange (ALE) and clip-table CSV: read, write, map columns to clip fields.

Pure Python, no Django. An ALE is tab-delimited text in three sections::

    Heading
    FIELD_DELIM<TAB>TABS
    VIDEO_FORMAT<TAB>1080
    AUDIO_FORMAT<TAB>48khz
    FPS<TAB>25

    Column
    Name<TAB>Tape<TAB>Start<TAB>End

    Data
    A001C003_230815_R2AB<TAB>A001R2AB<TAB>10:00:00:00<TAB>10:00:10:00

What real files do, and how this module copes (each seen in files written by
Media Composer, Resolve, REDCINE-X and ARRI tools):

- Line endings are CRLF, LF or CR; all three are accepted, and which one the file
  used is reported in :attr:`ClipTable.newline`.
- Blank lines appear anywhere, or nowhere (``Heading`` followed directly by
  ``Column``); they are ignored.
- Several heading key/value pairs can sit on one line
  (``FIELD_DELIM<TAB>TABS<TAB>VIDEO_FORMAT<TAB>1080 ...``); they are split in pairs.
- The Column line and data rows may end in tabs: trailing *empty* fields beyond the
  last column are dropped.
- Rows may be shorter than the Column line (Avid leaves trailing empty values
  out); they are padded with empty strings and a warning is recorded.
- A row with more *non-empty* fields than there are columns is an error: the
  values cannot be assigned to columns without guessing.
- Column names are kept exactly as written (case, spaces, odd names such as a
  column called ``ASC_SOP`` that holds timecodes); values are kept as strings,
  untouched (``"01"`` stays ``"01"``, padding spaces stay). Interpreting them is the
  caller's business; :data:`ALE_COLUMN_MAPPING` says which columns mean which
  clip field.

Error handling is designed so a caller can *apply nothing* when anything is wrong:
problems that make the whole file unusable (no Column line, no Data section, file
too large, undecodable bytes under a declared encoding) raise :class:`ALEError`
immediately; problems with single rows are collected in :attr:`ClipTable.errors`
(each with its line number) and :meth:`ClipTable.raise_for_errors` turns them into
one :class:`ALEError`. Pass ``strict=True`` to raise on the first row error instead.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal

from formats.timecode import FrameRate, TimecodeError, frame_rate

__all__ = [
    "ALE_COLUMN_MAPPING",
    "AVID_REQUIRED_COLUMNS",
    "DEFAULT_MAX_BYTES",
    "ALEError",
    "ClipTable",
    "ColumnMapping",
    "Issue",
    "column_for_field",
    "field_for_column",
    "fields_to_row",
    "format_ale",
    "interpret_circled",
    "parse_ale",
    "parse_asc_sat",
    "parse_asc_sop",
    "read_csv",
    "write_ale",
    "write_csv",
]

#: Largest file :func:`parse_ale` / :func:`read_csv` accept unless told otherwise (50 MB).
#: Real day logs are kilobytes to a few megabytes; the limit stops a mistaken upload
#: (a media file renamed .ale) from being read into memory.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

Source = str | os.PathLike[str] | bytes | BinaryIO


# --------------------------------------------------------------------------- #
# Column mapping
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ColumnMapping:
    """How one Reelvault clip field is spelled in ALE/CSV files.

    Attributes:
        field: Reelvault clip field name.
        column: Column name written on export (Avid's own spelling).
        aliases: Other column names accepted on import, in order of preference
            after ``column``. Matching is case-insensitive and treats ``_``, runs of
            spaces and camelCase breaks as one space, so ``"Shoot date"``,
            ``"lens_type"`` and ``"reelName"`` match.
        description: What the column holds.
    """

    field: str
    column: str
    aliases: tuple[str, ...] = ()
    description: str = ""


#: The documented mapping between ALE column names and Reelvault clip fields.
#: README docs quote this table; keep it in sync with them.
ALE_COLUMN_MAPPING: tuple[ColumnMapping, ...] = (
    ColumnMapping("name", "Name", (), "Clip name as shown in the bin"),
    ColumnMapping("tape", "Tape", (), "Tape / reel name Avid uses to relink (often the camera clip name)"),
    ColumnMapping("source_file", "Source File", ("Source File Name",), "Media file name the clip links to"),
    ColumnMapping("start_tc", "Start", (), "Start timecode"),
    ColumnMapping("end_tc", "End", (), "End timecode (exclusive in Avid's convention)"),
    ColumnMapping("duration", "Duration", (), "Duration as timecode"),
    ColumnMapping("scene", "Scene", (), "Scene"),
    ColumnMapping("take", "Take", (), "Take"),
    ColumnMapping("circled", "Circled", ("Circle", "Circle Take", "Circled Take"), "Circled (printed) take"),
    ColumnMapping("camera", "Camera", (), "Camera letter / unit (A, B, ...)"),
    ColumnMapping("camroll", "Camroll", ("Cam Roll", "Camera Roll"), "Camera roll (mag / card)"),
    ColumnMapping("labroll", "Labroll", ("Lab Roll",), "Lab roll"),
    ColumnMapping("reel", "Reel", ("Reel #", "Reel Name"), "Reel"),
    ColumnMapping("lens", "Lens", ("Lens Type", "Lens Model"), "Lens"),
    ColumnMapping("cast", "Cast", (), "Cast in the shot"),
    ColumnMapping("location", "Location", (), "Location"),
    ColumnMapping("comments", "Comments", ("Notes", "Comment"), "Free-text notes"),
    ColumnMapping("shoot_date", "Shoot Date", (), "Shoot date as written in the file"),
    ColumnMapping("asc_sop", "ASC_SOP", (), "ASC CDL slope/offset/power: (s s s)(o o o)(p p p)"),
    ColumnMapping("asc_sat", "ASC_SAT", (), "ASC CDL saturation"),
    ColumnMapping("fps", "FPS", (), "Clip frame rate"),
    ColumnMapping("codec", "Codec", (), "Recording codec"),
    ColumnMapping(
        "resolution", "Resolution", ("Image Size", "Source Resolution"), "Image size, e.g. 4096 x 2304"
    ),
)

#: Columns Media Composer needs to create master clips from an ALE (merging into
#: existing clips needs only Name). Resolve matches on Name/Source File and Start.
AVID_REQUIRED_COLUMNS: tuple[str, ...] = ("Name", "Tracks", "Start", "End")


def _norm(name: str) -> str:
    # "Shoot date", "shoot_date" and ARRI's camelCase "shootDate" all compare equal.
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    return " ".join(spaced.split()).casefold()


_BY_NORMALISED: dict[str, tuple[int, ColumnMapping]] = {}
for _mapping in ALE_COLUMN_MAPPING:
    for _rank, _spelling in enumerate((_mapping.column, *_mapping.aliases)):
        _BY_NORMALISED.setdefault(_norm(_spelling), (_rank, _mapping))


def field_for_column(column: str) -> str | None:
    """Return the Reelvault clip field for an ALE/CSV column name, or None if unmapped.

    Case-insensitive; ``_``, spaces and camelCase word breaks are interchangeable
    (``"shoot_date"``, ``"Shoot Date"`` and ``"shootDate"`` all give ``shoot_date``).
    """
    hit = _BY_NORMALISED.get(_norm(column))
    return hit[1].field if hit else None


def column_for_field(field_name: str) -> str:
    """Return the column name written for a Reelvault clip field.

    Raises:
        KeyError: if the field is not in :data:`ALE_COLUMN_MAPPING`.
    """
    for mapping in ALE_COLUMN_MAPPING:
        if mapping.field == field_name:
            return mapping.column
    raise KeyError(f"{field_name!r} is not a mapped clip field; see ALE_COLUMN_MAPPING")


def fields_to_row(values: Mapping[str, object]) -> dict[str, str]:
    """Turn ``{clip field: value}`` into ``{ALE column: text}`` for :func:`write_ale`.

    None becomes ``""``; booleans (``circled``) become ``"Yes"``/``""`` as Avid shows
    them; anything else goes through ``str()``.

    Raises:
        KeyError: for a field that has no column in :data:`ALE_COLUMN_MAPPING`.
    """
    row: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "Yes" if value else ""
        else:
            text = str(value)
        row[column_for_field(name)] = text
    return row


_NUM = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_TRIPLE = rf"\({_NUM}{_NUM}{_NUM}\s*\)"
_SOP = re.compile(rf"^\s*{_TRIPLE}\s*{_TRIPLE}\s*{_TRIPLE}\s*$")

SOP = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


def parse_asc_sop(text: str) -> SOP | None:
    """Parse an ASC_SOP value ``(s s s)(o o o)(p p p)`` into (slope, offset, power).

    Returns:
        Three RGB triples, or None when the text is not a CDL SOP. Real files put
        other things in this column (timecodes, in one Media Composer export), so
        callers must expect None rather than an exception.
    """
    match = _SOP.match(text) if isinstance(text, str) else None
    if not match:
        return None
    v = [float(x) for x in match.groups()]
    return (v[0], v[1], v[2]), (v[3], v[4], v[5]), (v[6], v[7], v[8])


def parse_asc_sat(text: str) -> float | None:
    """Parse an ASC_SAT value (a non-negative number); None when it is not one."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


def interpret_circled(text: str) -> bool | None:
    """Read a Circled/Circle column value: True for yes-like, False for no-like, else None.

    Avid writes ``Yes`` or leaves it empty; ARRI writes ``true``/``false``; some
    tools write ``*`` or ``1``. Empty means "not stated" (None), not False.
    """
    lowered = (text or "").strip().casefold()
    if lowered in ("yes", "y", "true", "1", "*", "x", "circled", "circle"):
        return True
    if lowered in ("no", "n", "false", "0"):
        return False
    return None


# --------------------------------------------------------------------------- #
# Results and errors
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Issue:
    """One problem found while reading a file.

    Attributes:
        line: 1-based physical line number, or None for whole-file problems.
        message: What is wrong.
        hint: What to do about it.
    """

    line: int | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}" + (f" ({self.hint})" if self.hint else "")


class ALEError(ValueError):
    """An ALE or clip CSV that cannot be imported.

    Attributes:
        source: File name (or ``"<bytes>"``) the problem is in.
        line: 1-based line number, or None when the whole file is affected.
        problem: What is wrong.
        hint: What to do about it.
        issues: Every error found, when raised by :meth:`ClipTable.raise_for_errors`.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str,
        line: int | None = None,
        hint: str = "",
        issues: Sequence[Issue] = (),
    ) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        self.hint = hint
        self.issues: tuple[Issue, ...] = tuple(issues)
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}" + (f". {hint}" if hint else ""))

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments do not survive the default exception pickling,
        # and Celery pickles exceptions raised in tasks.
        return (_rebuild_ale_error, (self.problem, self.source, self.line, self.hint, self.issues))


def _rebuild_ale_error(
    problem: str, source: str, line: int | None, hint: str, issues: tuple[Issue, ...]
) -> ALEError:
    return ALEError(problem, source=source, line=line, hint=hint, issues=issues)


@dataclass
class ClipTable:
    """A parsed ALE or clip CSV.

    Attributes:
        source: File name the table came from (``"<bytes>"`` for raw bytes).
        format: ``"ale"`` or ``"csv"``.
        encoding: Encoding actually used to decode: ``"utf-8"``, ``"utf-8-sig"``
            (UTF-8 with BOM), ``"utf-16"``/``"utf-16-le"``/``"utf-16-be"``, or
            ``"latin-1"`` (only when the bytes are not valid UTF-8).
        newline: Line ending the file used: ``"\\r\\n"``, ``"\\n"``, ``"\\r"``,
            ``"mixed"``, or ``""`` for a single line.
        heading: ALE heading as written (``{"FIELD_DELIM": "TABS", "FPS": "25", ...}``);
            empty for CSV.
        columns: Column names exactly as in the file, in file order.
        rows: One dict per data row, keyed by column name, values as strings.
        row_lines: The line number each row started on (parallel to ``rows``).
        errors: Row problems that must stop an import (see :meth:`raise_for_errors`).
        warnings: Things that were repaired or worth knowing (short rows padded,
            Latin-1 fallback, unknown heading keys).
    """

    source: str
    format: Literal["ale", "csv"]
    encoding: str
    newline: str
    heading: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    _ranking: tuple[tuple[str, ...], list[tuple[str, list[str]]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def ok(self) -> bool:
        """True when there are no errors, i.e. the whole table may be applied."""
        return not self.errors

    def heading_value(self, key: str) -> str | None:
        """Return a heading value by key, case-insensitively, or None if absent."""
        for name, value in self.heading.items():
            if name.casefold() == key.casefold():
                return value
        return None

    @property
    def fps(self) -> FrameRate | None:
        """The heading's FPS as a supported :class:`FrameRate`, or None if absent or unknown."""
        value = self.heading_value("FPS")
        if not value:
            return None
        try:
            return frame_rate(value)
        except TimecodeError:
            return None

    @property
    def column_fields(self) -> dict[str, str]:
        """Map each mapped column in this file to its Reelvault clip field."""
        return {c: f for c in self.columns if (f := field_for_column(c)) is not None}

    @property
    def unknown_columns(self) -> list[str]:
        """Columns with no clip field in :data:`ALE_COLUMN_MAPPING` (kept in ``rows`` as-is)."""
        return [c for c in self.columns if field_for_column(c) is None]

    def _ranked_columns(self) -> list[tuple[str, list[str]]]:
        # Worked out once per column list, not once per row: files with 100,000 columns exist.
        key = tuple(self.columns)
        if self._ranking is None or self._ranking[0] != key:
            ranked: dict[str, list[tuple[int, int, str]]] = {}
            for position, column in enumerate(self.columns):
                hit = _BY_NORMALISED.get(_norm(column))
                if hit is not None:
                    ranked.setdefault(hit[1].field, []).append((hit[0], position, column))
            ranking = [(name, [column for _, _, column in sorted(found)]) for name, found in ranked.items()]
            self._ranking = (key, ranking)
        return self._ranking[1]

    def clip_fields(self, row: Mapping[str, str]) -> dict[str, str]:
        """Return ``{clip field: value}`` for one row, using :data:`ALE_COLUMN_MAPPING`.

        When several columns map to one field (``Reel`` and ``Reel #``), the canonical
        column wins, then aliases in table order; empty values are skipped so a blank
        ``Reel`` does not hide a filled ``Reel #``. Values are stripped of surrounding
        spaces (Avid pads some). Fields with no non-empty value are left out.
        """
        result: dict[str, str] = {}
        for field_name, columns in self._ranked_columns():
            for column in columns:
                value = row.get(column, "").strip()
                if value:
                    result[field_name] = value
                    break
        return result

    def raise_for_errors(self) -> None:
        """Raise one :class:`ALEError` listing every row error; do nothing when :attr:`ok`.

        Raises:
            ALEError: pointing at the first bad line, with all errors in ``issues``.
        """
        if not self.errors:
            return
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more errors)" if len(self.errors) > 1 else ""
        raise ALEError(
            f"{first.message}{more}", source=self.source, line=first.line, hint=first.hint, issues=self.errors
        )


# --------------------------------------------------------------------------- #
# Reading bytes safely
# --------------------------------------------------------------------------- #


def _read_limited(source: Source, *, max_bytes: int, name: str | None) -> tuple[bytes, str]:
    """Return (data, display name), refusing anything over ``max_bytes`` before reading it all."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        label = name or "<bytes>"
        if len(data) > max_bytes:
            raise _too_big(label, len(data), max_bytes)
        return data, label
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ALEError(f"cannot read the file: {exc.strerror or exc}", source=label) from exc
        # Check the size on disk first so a huge file is never opened for reading.
        if size > max_bytes:
            raise _too_big(label, size, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:  # grew between stat() and read()
            raise _too_big(label, len(data), max_bytes)
        return data, label
    stream_name = getattr(source, "name", None)
    label = name or (Path(stream_name).name if isinstance(stream_name, str) else "<stream>")
    # A stream's size is unknown: read at most one byte past the limit.
    data = source.read(max_bytes + 1)
    if not isinstance(data, bytes):
        raise TypeError("parse_ale() needs a binary stream (open the file with 'rb')")
    if len(data) > max_bytes:
        raise _too_big(label, None, max_bytes)
    return data, label


def _too_big(label: str, size: int | None, limit: int) -> ALEError:
    size_text = f"{size / 1e6:.1f} MB" if size is not None else "more than that"
    return ALEError(
        f"file is too large ({size_text}; the limit is {limit / 1e6:.1f} MB)",
        source=label,
        hint="check that this is really an ALE/CSV log; raise max_bytes if it is",
    )


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(
    data: bytes, *, label: str, encoding: str | None, latin1_fallback: bool, warnings: list[Issue]
) -> tuple[str, str]:
    """Return (text, encoding used). See :func:`parse_ale` for the rules."""
    if encoding is not None:
        return _strict_decode(data, encoding, label=label, declared=True), encoding
    for bom, name in _BOMS:  # UTF-32 LE's BOM starts with UTF-16 LE's, so order matters
        if data.startswith(bom):
            return _strict_decode(data, name, label=label, declared=False), name
    guessed = _guess_bomless_utf16(data)
    if guessed:
        return _strict_decode(data, guessed, label=label, declared=False), guessed
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if not latin1_fallback:
            raise _undecodable(label, "utf-8", data, exc, line) from None
        if not _looks_latin1(data):
            return _decode_east_asian(data, label=label, warnings=warnings)
        warnings.append(
            Issue(
                line,
                f"not valid UTF-8 (byte 0x{data[exc.start]:02X}); decoded the file as Latin-1",
                "re-export the log as UTF-8 if accented names look wrong",
            )
        )
        # Latin-1 maps every byte, so this cannot fail.
        return data.decode("latin-1"), "latin-1"


#: Encodings Japanese and Chinese productions' tools write when not UTF-8, tried in this order.
EAST_ASIAN_ENCODINGS: tuple[tuple[str, str], ...] = (
    ("cp932", "Shift-JIS (CP932)"),
    ("euc_jp", "EUC-JP"),
    ("gb18030", "GB18030"),
)
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")


def _looks_latin1(data: bytes) -> bool:
    """Latin-1 (or Windows-1252 without its C1 extras) European text, not double-byte East Asian text.

    European names put one accented letter between ASCII letters ("Müller",
    "café"); Shift-JIS, EUC-JP and GB18030 put every character in two or more
    bytes, and Shift-JIS kana and most kanji start with bytes that are control
    codes in Latin-1.
    """
    if any(0x80 <= byte <= 0x9F for byte in data):
        return False
    runs = _NON_ASCII_RUN.findall(data)
    return not runs or sum(len(run) == 1 for run in runs) * 2 >= len(runs)


def _cjk_share(text: str) -> tuple[float, bool]:
    """(share of non-ASCII characters that are kana, CJK ideographs or CJK punctuation, any kana?)."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return 0.0, False
    kana = sum("\u3040" <= ch <= "\u30ff" for ch in wide)
    good = kana + sum(
        "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff01" <= ch <= "\uff5e" for ch in wide
    )
    return good / len(wide), kana > 0


def _decode_east_asian(data: bytes, *, label: str, warnings: list[Issue]) -> tuple[str, str]:
    """Decode a non-UTF-8, non-Latin-1 file as the one East Asian encoding it reads as, or refuse.

    A candidate must decode every byte and read as Japanese or Chinese text (90%
    of its non-ASCII characters kana, ideographs or CJK punctuation). Japanese
    text has kana: among the Japanese encodings that decode the file with kana,
    one must stand out. Anything else (no candidate, or two that read equally
    well) is refused with a message: applying garbled names is never an option.
    """
    readable: list[tuple[str, str, str, bool]] = []
    for codec, title in EAST_ASIAN_ENCODINGS:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        share, kana = _cjk_share(text)
        if share >= 0.9:
            readable.append((codec, title, text, kana))
    japanese = [c for c in readable if c[0] in ("cp932", "euc_jp") and c[3]]
    chosen = japanese if len(japanese) == 1 else readable
    if len(chosen) == 1:
        codec, title, text, _ = chosen[0]
        warnings.append(Issue(None, f"not UTF-8: decoded the file as {title}"))
        return text, codec
    tried = ", ".join(title for _, title in EAST_ASIAN_ENCODINGS)
    could_be = " or ".join(title for _, title, _, _ in readable)
    verdict = f"could be {could_be}" if readable else f"reads as none of {tried}"
    raise ALEError(
        f"the file is not UTF-8, and it {verdict}",
        source=label,
        hint="re-export it as UTF-8 (or UTF-16) from the tool that wrote it; nothing was applied",
    )


def _guess_bomless_utf16(data: bytes) -> str | None:
    # Windows tools sometimes write UTF-16 without a BOM. ASCII text in UTF-16 has
    # a NUL in every other byte; plain UTF-8/Latin-1 text never contains NULs.
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.8 * half and even_nuls < 0.2 * half:
        return "utf-16-le"
    if even_nuls > 0.8 * half and odd_nuls < 0.2 * half:
        return "utf-16-be"
    return None


def _refuse_nul(text: str, *, label: str) -> None:
    # No text field can hold a NUL (PostgreSQL refuses it); a NUL in a log is damage or a binary file.
    at = text.find("\x00")
    if at >= 0:
        raise ALEError(
            "the file contains a NUL byte (character 0), which no clip field can hold",
            source=label,
            line=text.count("\n", 0, at) + 1,
            hint="the file is damaged or not a text export; re-export it",
        )


def _strict_decode(data: bytes, encoding: str, *, label: str, declared: bool) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise ALEError(f"unknown encoding {encoding!r}", source=label, hint="use e.g. 'utf-8'") from None
    except UnicodeDecodeError as exc:
        # Count lines in what decoded cleanly before the bad byte.
        prefix = data[: exc.start].decode(encoding, errors="replace")
        line = len(re.findall(r"\r\n|\r|\n", prefix)) + 1
        raise _undecodable(label, encoding, data, exc, line, declared=declared) from None


def _undecodable(
    label: str, encoding: str, data: bytes, exc: UnicodeDecodeError, line: int, *, declared: bool = True
) -> ALEError:
    how = "declared" if declared else "detected"
    return ALEError(
        f"byte 0x{data[exc.start]:02X} at offset {exc.start} cannot be decoded as {encoding} "
        f"({how} encoding)",
        source=label,
        line=line,
        hint="re-export the file as UTF-8, or pass the encoding it was really written in",
    )


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _split_lines(text: str) -> tuple[list[str], str]:
    breaks = set(_LINE_BREAK.findall(text))
    newline = "" if not breaks else breaks.pop() if len(breaks) == 1 else "mixed"
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":  # a final newline does not start another line
        lines.pop()
    return lines, newline


# --------------------------------------------------------------------------- #
# ALE parsing
# --------------------------------------------------------------------------- #

_SECTIONS = ("heading", "column", "data")


def parse_ale(
    source: Source,
    *,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding: str | None = None,
    latin1_fallback: bool = True,
    strict: bool = False,
) -> ClipTable:
    """Parse an Avid Log Exchange file.

    Args:
        source: A path, raw bytes, or a binary stream (``open(p, "rb")``, an upload).
        name: File name to use in messages (defaults to the path's name / stream's name).
        max_bytes: Refuse files larger than this. For a path the size on disk is
            checked before opening; for a stream at most ``max_bytes + 1`` bytes are read.
        encoding: Decode with exactly this encoding; an undecodable byte is then an
            error. When None: a BOM selects UTF-8/UTF-16/UTF-32, BOM-less UTF-16 is
            recognised by its NUL bytes, otherwise UTF-8, falling back to Latin-1 only
            when the bytes are not valid UTF-8 (with a warning).
        latin1_fallback: Set False to make invalid UTF-8 an error instead.
        strict: Raise on the first row error instead of collecting it.

    Returns:
        A :class:`ClipTable`; check :attr:`ClipTable.ok` (or call
        :meth:`ClipTable.raise_for_errors`) before applying any of it.

    Raises:
        ALEError: when the file as a whole is unusable: too large, undecodable,
            not an ALE, no Column line, no Data section, a FIELD_DELIM other than
            TABS, empty or duplicate column names; and with ``strict`` for row errors.
    """
    data, label = _read_limited(source, max_bytes=max_bytes, name=name)
    warnings: list[Issue] = []
    text, used = _decode(
        data, label=label, encoding=encoding, latin1_fallback=latin1_fallback, warnings=warnings
    )
    _refuse_nul(text, label=label)
    lines, newline = _split_lines(text)
    table = ClipTable(source=label, format="ale", encoding=used, newline=newline, warnings=warnings)

    section: str | None = None
    seen: set[str] = set()
    column_line: int | None = None
    for number, raw in enumerate(lines, start=1):
        keyword = raw.strip().casefold()
        # Section keywords are only keywords before the Data section starts; after
        # it, a clip could legitimately be named "Heading".
        if section != "data" and keyword in _SECTIONS:
            if keyword in seen:
                raise ALEError(
                    f"a second '{raw.strip()}' section",
                    source=label,
                    line=number,
                    hint="the file may be two ALEs joined together; import them separately",
                )
            if keyword == "data" and column_line is None:
                raise _no_column_line(label, number)
            section = keyword
            seen.add(keyword)
            continue
        if not raw.strip(" \t"):
            if section == "data" and raw:
                table.warnings.append(Issue(number, "row with no values skipped"))
            continue
        if section is None:
            raise ALEError(
                f"does not look like an ALE: expected 'Heading', found {raw[:40]!r}",
                source=label,
                line=number,
                hint="export an ALE (Avid Log Exchange) from the NLE or dailies tool",
            )
        if section == "heading":
            _heading_line(table, raw, number)
        elif section == "column":
            if column_line is not None:
                raise ALEError(
                    "more than one line in the Column section",
                    source=label,
                    line=number,
                    hint="the Column section holds exactly one tab-separated line of names",
                )
            table.columns = _column_names(raw.split("\t"), label=label, line=number)
            column_line = number
        else:
            _data_line(table, raw, number, strict=strict)

    if column_line is None:
        raise _no_column_line(label, None)
    if "data" not in seen:
        raise ALEError(
            "no Data section",
            source=label,
            hint="the file ends before the 'Data' line; it may be truncated. Re-export it",
        )
    if "heading" not in seen:
        table.warnings.append(Issue(None, "no Heading section; FPS and formats are unknown"))
    _check_cdl_columns(table)
    delim = table.heading_value("FIELD_DELIM")
    if delim is not None and delim.strip().upper() != "TABS":
        raise ALEError(
            f"FIELD_DELIM is {delim!r}; only TABS is supported",
            source=label,
            hint="re-export the ALE with tab delimiters",
        )
    return table


def _check_cdl_columns(table: ClipTable) -> None:
    # Some exports reuse ASC_SOP/ASC_SAT for other data (timecodes, seen in a real
    # Media Composer ALE). The values are kept as text; one warning per column
    # tells the caller not to apply them as a grade.
    checks = {"asc_sop": parse_asc_sop, "asc_sat": parse_asc_sat}
    for column, field_name in table.column_fields.items():
        check = checks.get(field_name)
        if check is None:
            continue
        bad = [
            (line, row[column])
            for row, line in zip(table.rows, table.row_lines, strict=True)
            if row[column].strip() and check(row[column]) is None
        ]
        if bad:
            line, value = bad[0]
            table.warnings.append(
                Issue(
                    line,
                    f"column {column!r} holds {value.strip()!r}, which is not a CDL value "
                    f"({len(bad)} of {len(table.rows)} rows); kept as text",
                    "do not apply these values as a colour grade",
                )
            )


def _no_column_line(label: str, line: int | None) -> ALEError:
    return ALEError(
        "no Column line before the data",
        source=label,
        line=line,
        hint="an ALE needs a 'Column' line followed by a tab-separated line of column names",
    )


def _heading_line(table: ClipTable, raw: str, number: int) -> None:
    parts = raw.split("\t")
    while parts and not parts[-1].strip():
        parts.pop()
    if len(parts) % 2:
        # A key with no value: Avid writes e.g. "TAPE<TAB>" for an empty tape name.
        parts.append("")
        if len(parts) > 2:
            table.warnings.append(Issue(number, f"heading line has an odd number of fields: {raw!r}"))
    for key, value in zip(parts[0::2], parts[1::2], strict=True):
        table.heading[key.strip()] = value.strip()


def _column_names(fields: list[str], *, label: str, line: int) -> list[str]:
    names = list(fields)
    while names and names[-1] == "":  # trailing tabs
        names.pop()
    if not names:
        raise _no_column_line(label, line)
    empties = [i + 1 for i, n in enumerate(names) if not n.strip()]
    if empties:
        raise ALEError(
            f"column {empties[0]} has no name",
            source=label,
            line=line,
            hint="every column needs a name so its values can be matched",
        )
    seen: set[str] = set()
    for column in names:
        if column in seen:
            raise ALEError(
                f"column {column!r} appears twice",
                source=label,
                line=line,
                hint="rename or remove one of them; values would otherwise be lost",
            )
        seen.add(column)
    return names


def _data_line(table: ClipTable, raw: str, number: int, *, strict: bool) -> None:
    values = raw.split("\t")
    width = len(table.columns)
    if len(values) > width:
        extra = values[width:]
        if any(extra):
            issue = Issue(
                number,
                f"row has {len(values)} fields but the Column line has {width} columns",
                "a value contains a tab, or the row is misaligned; fix the row in the source tool",
            )
            if strict:
                raise ALEError(issue.message, source=table.source, line=number, hint=issue.hint)
            table.errors.append(issue)
            return
        values = values[:width]  # trailing tabs only
    elif len(values) < width:
        table.warnings.append(
            Issue(number, f"row has {len(values)} of {width} fields; padded with empty values")
        )
        values += [""] * (width - len(values))
    table.rows.append(dict(zip(table.columns, values, strict=True)))
    table.row_lines.append(number)


# --------------------------------------------------------------------------- #
# ALE writing
# --------------------------------------------------------------------------- #

_UNSAFE = re.compile(r"[\t\r\n\x0b\x0c\x85\u2028\u2029]+")


def _clean(value: object) -> str:
    # Tabs and line breaks would split a value into extra fields or rows; a single
    # space keeps the words apart. Other control characters are dropped.
    text = "" if value is None else str(value)
    text = _UNSAFE.sub(" ", text)
    return "".join(ch for ch in text if ch >= " " or ch == "\t")


def _check_columns(columns: Sequence[str]) -> list[str]:
    names = list(columns)
    if not names:
        raise ValueError("at least one column is needed")
    seen: set[str] = set()
    for column in names:
        if not isinstance(column, str) or not column.strip():
            raise ValueError(f"column name {column!r} is empty")
        if _UNSAFE.search(column):
            raise ValueError(f"column name {column!r} contains a tab or line break")
        if column.strip().casefold() in _SECTIONS and len(names) == 1:
            raise ValueError(f"a single column cannot be named {column!r}")
        if column in seen:
            raise ValueError(f"column {column!r} is listed twice")
        seen.add(column)
    return names


def _row_values(rows: Iterable[Mapping[str, object]], columns: list[str]) -> list[list[str]]:
    known = set(columns)
    out: list[list[str]] = []
    for index, row in enumerate(rows, start=1):
        unknown = [k for k in row if k not in known]
        if unknown:
            raise ValueError(f"row {index} has values for columns not in the column list: {unknown}")
        values = [_clean(row.get(c)) for c in columns]
        if not any(v.strip(" ") for v in values):
            raise ValueError(f"row {index} has no values; it would be read back as a blank line")
        out.append(values)
    return out


def format_ale(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[str],
    fps: FrameRate | str | float | Fraction,
    *,
    video_format: str = "1080",
    audio_format: str = "48khz",
    heading: Mapping[str, str] | None = None,
    newline: str = "\r\n",
) -> str:
    """Return ALE text that Media Composer and Resolve import.

    Layout (as Avid writes it): ``Heading``, ``FIELD_DELIM TABS``, ``VIDEO_FORMAT``,
    ``AUDIO_FORMAT``, ``FPS``, any extra ``heading`` pairs, a blank line, ``Column``,
    the tab-separated names, a blank line, ``Data``, one line per row, and a final
    line break. Tabs and line breaks inside values become single spaces, other control
    characters are dropped; everything else is written as given, so parsing the
    output returns the same rows.

    Args:
        rows: One mapping per clip, keyed by column name; missing keys are empty.
        columns: Column names in output order (see :func:`fields_to_row` and
            :data:`AVID_REQUIRED_COLUMNS`).
        fps: Frame rate for the ``FPS`` heading (written as its label, e.g. 23.976).
        video_format: ``VIDEO_FORMAT`` value: NTSC, PAL, 1080, 720 or CUSTOM.
        audio_format: ``AUDIO_FORMAT`` value, e.g. 48khz.
        heading: Extra heading pairs (e.g. ``{"TAPE": "A001"}``).
        newline: Line ending; Avid writes CRLF.

    Raises:
        ValueError: for an empty/duplicate column name, a row key not in ``columns``,
            a row with no values at all, or an unsupported fps.
    """
    names = _check_columns(columns)
    try:
        rate = frame_rate(fps)
    except TimecodeError as exc:
        raise ValueError(str(exc)) from None
    pairs: list[tuple[str, str]] = [
        ("FIELD_DELIM", "TABS"),
        ("VIDEO_FORMAT", _clean(video_format)),
        ("AUDIO_FORMAT", _clean(audio_format)),
        ("FPS", rate.label),
    ]
    reserved = {k for k, _ in pairs}
    for key, value in (heading or {}).items():
        if key.upper() in reserved:
            raise ValueError(f"heading key {key!r} is written by format_ale itself")
        if not key.strip() or _UNSAFE.search(key):
            raise ValueError(f"heading key {key!r} is empty or contains a tab/line break")
        pairs.append((key, _clean(value)))
    lines = ["Heading", *(f"{k}\t{v}" for k, v in pairs), "", "Column", "\t".join(names), "", "Data"]
    lines.extend("\t".join(values) for values in _row_values(rows, names))
    return newline.join(lines) + newline


def write_ale(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[str],
    fps: FrameRate | str | float | Fraction,
    *,
    video_format: str = "1080",
    audio_format: str = "48khz",
    heading: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
) -> bytes:
    """Return ALE file bytes (CRLF line endings, no BOM) ready to save or download.

    Same arguments as :func:`format_ale`, plus ``encoding`` (UTF-8 by default, which
    current Media Composer and Resolve read; no BOM because older Avid importers do
    not expect one before ``Heading``).

    Raises:
        ValueError: as :func:`format_ale`, or when a value cannot be encoded.
    """
    text = format_ale(
        rows,
        columns,
        fps,
        video_format=video_format,
        audio_format=audio_format,
        heading=heading,
        newline="\r\n",
    )
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise ValueError(f"{exc.object[exc.start : exc.end]!r} cannot be written as {encoding}") from None


# --------------------------------------------------------------------------- #
# CSV
# --------------------------------------------------------------------------- #


def write_csv(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[str],
    *,
    encoding: str = "utf-8-sig",
    excel_safe: bool = False,
) -> bytes:
    """Return a clip table as CSV bytes: a header row of ``columns``, then one row per clip.

    Comma-separated, RFC 4180 quoting, CRLF line endings. The default encoding
    ``utf-8-sig`` starts with a BOM so Excel shows accented names correctly;
    :func:`read_csv` removes it again.

    Args:
        rows: One mapping per clip, keyed by column name.
        columns: Column names in output order.
        encoding: Output encoding.
        excel_safe: Prefix values starting with ``= + - @`` with ``'`` so a spreadsheet
            does not run them as formulas. Off by default because it changes values
            (and so breaks the round trip); turn it on for files meant for people.

    Raises:
        ValueError: as :func:`format_ale` for columns/rows (line breaks inside values
            are kept; CSV quoting handles them).
    """
    names = _check_columns(columns)
    known = set(names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    for index, row in enumerate(rows, start=1):
        unknown = [k for k in row if k not in known]
        if unknown:
            raise ValueError(f"row {index} has values for columns not in the column list: {unknown}")
        values = ["" if row.get(c) is None else str(row.get(c)) for c in names]
        if excel_safe:
            values = ["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in values]
        writer.writerow(values)
    try:
        return buffer.getvalue().encode(encoding)
    except UnicodeEncodeError as exc:
        raise ValueError(f"{exc.object[exc.start : exc.end]!r} cannot be written as {encoding}") from None


def read_csv(
    source: Source,
    *,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding: str | None = None,
    latin1_fallback: bool = True,
    strict: bool = False,
) -> ClipTable:
    """Read a clip-table CSV (as :func:`write_csv` writes it, or from a spreadsheet).

    Same input handling, size limit and encoding rules as :func:`parse_ale`. The
    first record is the header; the delimiter is a comma unless the header contains
    more semicolons or tabs than commas (European Excel writes ``;``). Short rows
    are padded (warning); rows with extra non-empty fields are errors.

    Returns:
        A :class:`ClipTable` with ``format="csv"`` and an empty heading.

    Raises:
        ALEError: file too large, undecodable, empty, malformed quoting, or an
            empty/duplicate header name; with ``strict``, the first row error.
    """
    data, label = _read_limited(source, max_bytes=max_bytes, name=name)
    warnings: list[Issue] = []
    text, used = _decode(
        data, label=label, encoding=encoding, latin1_fallback=latin1_fallback, warnings=warnings
    )
    _refuse_nul(text, label=label)
    _lines, newline = _split_lines(text)
    table = ClipTable(source=label, format="csv", encoding=used, newline=newline, warnings=warnings)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=lambda d: (first_line.count(d), d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start_line = 1
    try:
        for record in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not table.columns:
                if not any(v.strip() for v in record):
                    continue
                table.columns = _column_names(record, label=label, line=line)
                continue
            if not any(v.strip(" ") for v in record):
                continue
            _csv_record(table, record, line, strict=strict)
    except csv.Error as exc:
        raise ALEError(
            f"malformed CSV: {exc}", source=label, line=reader.line_num, hint="check for an unclosed quote"
        ) from None
    if not table.columns:
        raise ALEError(
            "the file is empty: no header row", source=label, hint="export the clip table with headers"
        )
    return table


def _csv_record(table: ClipTable, values: list[str], number: int, *, strict: bool) -> None:
    width = len(table.columns)
    if len(values) > width:
        if any(values[width:]):
            issue = Issue(
                number,
                f"row has {len(values)} fields but the header has {width} columns",
                "a value contains an unquoted delimiter; fix the row and export again",
            )
            if strict:
                raise ALEError(issue.message, source=table.source, line=number, hint=issue.hint)
            table.errors.append(issue)
            return
        values = values[:width]
    elif len(values) < width:
        table.warnings.append(
            Issue(number, f"row has {len(values)} of {width} fields; padded with empty values")
        )
        values = values + [""] * (width - len(values))
    table.rows.append(dict(zip(table.columns, values, strict=True)))
    table.row_lines.append(number)

"""Clip naming: project naming schemas, camera-native name recognition, grouping card files.

Pure Python, no Django.

**Naming schemas.** A production describes its names with a pattern of tokens in
braces and literal text, e.g. ARRI's native scheme::

    {camera}{roll:03}C{clip:03}_{date:%y%m%d}_{card}

:class:`NamingSchema` compiles such a pattern once and then parses, validates and
formats names. Tokens:

=========  ==========================================  ==========================
token      matches                                     parsed as
=========  ==========================================  ==========================
camera     one letter A-Z                              str (upper case)
roll       digits; ``{roll:03}`` = exactly 3 digits    int
clip       digits; ``{clip:03}`` = exactly 3 digits    int
take       digits; ``{take:02}`` = exactly 2 digits    int
date       ``{date:%y%m%d}``: %y %Y %m %d + literals   datetime.date
card       letters/digits; ``{card:4}`` = exactly 4    str
reel       letters/digits; ``{reel:3}`` = exactly 3    str
scene      letters/digits (``12``, ``19A``)            str
=========  ==========================================  ==========================

Everything outside braces is literal text; ``{{`` and ``}}`` are literal braces.

**Camera-native names.** :func:`recognize_camera_name` knows the names ARRI, RED,
Sony, Blackmagic and Canon cameras give clips and returns their parts.

**Grouping.** :func:`group_clip_files` sorts the files of one card into camera
clips (RED spanned ``_001.R3D``/``_002.R3D`` segments, Sony ``M01.XML`` sidecars,
per-clip ``.RMD``/``.ALE``/``.XML`` files), so ingest makes one Clip per camera clip.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

__all__ = [
    "MEDIA_EXTENSIONS",
    "CameraName",
    "ClipGroups",
    "NamingPatternError",
    "NamingSchema",
    "group_clip_files",
    "recognize_camera_name",
]

FieldValue = str | int | dt.date


class NamingPatternError(ValueError):
    """A naming pattern that cannot be compiled; the message says where and why."""


# --------------------------------------------------------------------------- #
# Naming schemas
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Token:
    name: str
    spec: str
    regex: str
    fixed_width: bool
    charset: frozenset[str]  # "alpha", "digit": what the token can start/end with


_DIGIT = frozenset({"digit"})
_ALNUM = frozenset({"alpha", "digit"})
_ALPHA = frozenset({"alpha"})
_DATE_DIRECTIVES = {"%y": r"\d{2}", "%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}"}
_TOKEN_NAMES = ("camera", "roll", "clip", "take", "date", "card", "reel", "scene")


def _compile_token(name: str, spec: str, pattern: str) -> _Token:
    where = f"in pattern {pattern!r}: {{{name}{':' + spec if spec else ''}}}"
    if name == "camera":
        if spec:
            raise NamingPatternError(f"{where}: camera takes no format (it is always one letter)")
        return _Token(name, spec, "[A-Za-z]", True, _ALPHA)
    if name in ("roll", "clip", "take"):
        if not spec:
            return _Token(name, spec, r"\d+", False, _DIGIT)
        if not re.fullmatch(r"0?[1-9]", spec):
            raise NamingPatternError(f"{where}: width must look like 03 (zero-padded digits)")
        return _Token(name, spec, rf"\d{{{int(spec)}}}", True, _DIGIT)
    if name in ("card", "reel"):
        if not spec:
            return _Token(name, spec, "[A-Za-z0-9]+", False, _ALNUM)
        if not re.fullmatch(r"[1-9]\d?", spec):
            raise NamingPatternError(f"{where}: width must be a number of characters like 4")
        return _Token(name, spec, f"[A-Za-z0-9]{{{int(spec)}}}", True, _ALNUM)
    if name == "scene":
        if spec:
            raise NamingPatternError(f"{where}: scene takes no format")
        return _Token(name, spec, "[A-Za-z0-9]+", False, _ALNUM)
    if name == "date":
        if not spec:
            raise NamingPatternError(f"{where}: date needs a format, e.g. {{date:%y%m%d}}")
        parts: list[str] = []
        directives: list[str] = []
        for piece in re.split(r"(%.)", spec):
            if not piece:
                continue
            if piece.startswith("%"):
                if piece not in _DATE_DIRECTIVES:
                    raise NamingPatternError(f"{where}: {piece} is not supported (use %y %Y %m %d)")
                if piece in directives:
                    raise NamingPatternError(f"{where}: {piece} appears twice")
                directives.append(piece)
                parts.append(_DATE_DIRECTIVES[piece])
            else:
                parts.append(re.escape(piece))
        if not ({"%y", "%Y"} & set(directives)) or "%m" not in directives or "%d" not in directives:
            raise NamingPatternError(f"{where}: a date needs a year (%y or %Y), %m and %d")
        if {"%y", "%Y"} <= set(directives):
            raise NamingPatternError(f"{where}: use %y or %Y, not both")
        return _Token(name, spec, "".join(parts), True, _DIGIT)
    known = ", ".join(_TOKEN_NAMES)
    raise NamingPatternError(f"in pattern {pattern!r}: unknown token {{{name}}} (known: {known})")


def _literal_charset(text: str, *, first: bool) -> frozenset[str]:
    ch = text[0] if first else text[-1]
    if ch.isdigit():
        return _DIGIT
    if ch.isalpha():
        return _ALPHA
    return frozenset()


class NamingSchema:
    """A compiled naming pattern; see the module docstring for the tokens.

    Raises:
        NamingPatternError: at construction for an unknown token, a bad format
            spec, unbalanced braces, a token used twice, no tokens at all, or two
            adjacent variable-width tokens that could split a name in more than
            one way (``{roll}{clip}``).
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._parts: list[_Token | str] = self._split(pattern)
        self.tokens: tuple[str, ...] = tuple(p.name for p in self._parts if isinstance(p, _Token))
        if not self.tokens:
            raise NamingPatternError(f"pattern {pattern!r} has no tokens such as {{camera}} or {{clip:03}}")
        self._check_ambiguity()
        self._part_regex = [p.regex if isinstance(p, _Token) else re.escape(p) for p in self._parts]
        self._regex = re.compile(
            "".join(
                f"(?P<{p.name}>{p.regex})" if isinstance(p, _Token) else re.escape(p) for p in self._parts
            )
        )

    def __repr__(self) -> str:
        return f"NamingSchema({self.pattern!r})"

    @staticmethod
    def _split(pattern: str) -> list[_Token | str]:
        if not isinstance(pattern, str) or not pattern:
            raise NamingPatternError("naming pattern is empty")
        parts: list[_Token | str] = []
        literal: list[str] = []
        seen: set[str] = set()
        i = 0
        while i < len(pattern):
            ch = pattern[i]
            if pattern.startswith("{{", i) or pattern.startswith("}}", i):
                literal.append(ch)
                i += 2
                continue
            if ch == "}":
                raise NamingPatternError(
                    f"in pattern {pattern!r}: '}}' at position {i + 1} has no opening '{{'"
                )
            if ch != "{":
                literal.append(ch)
                i += 1
                continue
            end = pattern.find("}", i)
            if end == -1:
                raise NamingPatternError(f"in pattern {pattern!r}: '{{' at position {i + 1} is never closed")
            body = pattern[i + 1 : end]
            if "{" in body:
                raise NamingPatternError(f"in pattern {pattern!r}: '{{' at position {i + 1} is never closed")
            name, _, spec = body.partition(":")
            name = name.strip()
            if name in seen:
                raise NamingPatternError(f"in pattern {pattern!r}: token {{{name}}} is used twice")
            seen.add(name)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_compile_token(name, spec, pattern))
            i = end + 1
        if literal:
            parts.append("".join(literal))
        return parts

    def _check_ambiguity(self) -> None:
        for left, right in zip(self._parts, self._parts[1:], strict=False):
            if not isinstance(left, _Token) or left.fixed_width:
                continue
            right_start = right.charset if isinstance(right, _Token) else _literal_charset(right, first=True)
            if left.charset & right_start:
                right_text = f"{{{right.name}}}" if isinstance(right, _Token) else repr(right)
                raise NamingPatternError(
                    f"in pattern {self.pattern!r}: {{{left.name}}} has no fixed width and is followed by "
                    f"{right_text}, so names could be split more than one way; give it a width "
                    f"(e.g. {{{left.name}:03}}) or put a separator such as '_' after it"
                )

    def parse(self, name: str) -> dict[str, FieldValue] | None:
        """Return the token values of ``name``, or None when it does not follow the pattern.

        The whole name must match (no extension: pass ``A001C003_230815_R2AB``, not
        ``…R2AB.mxf``). roll/clip/take are ints, date a :class:`datetime.date`, camera
        upper case, others strings as written. A date that does not exist
        (``230231``) makes the name not match.
        """
        match = self._regex.fullmatch(name) if isinstance(name, str) else None
        if not match:
            return None
        values: dict[str, FieldValue] = {}
        for part in self._parts:
            if not isinstance(part, _Token):
                continue
            text = match[part.name]
            if part.name in ("roll", "clip", "take"):
                values[part.name] = int(text)
            elif part.name == "date":
                try:
                    values["date"] = dt.datetime.strptime(text, part.spec).date()  # noqa: DTZ007 - a date, no tz
                except ValueError:
                    return None
            elif part.name == "camera":
                values["camera"] = text.upper()
            else:
                values[part.name] = text
        return values

    def validate(self, name: str) -> list[str]:
        """Return human-readable problems with ``name``; an empty list means it is valid.

        The first problem says where the name stops following the pattern, e.g.
        ``"position 5: expected 'C', found 'X'"`` or ``"date '230231' is not a real
        date (%y%m%d)"``.
        """
        if not isinstance(name, str) or not name:
            return ["name is empty"]
        if self.parse(name) is not None:
            return []
        # Walk the pattern part by part to find where the name stops matching.
        position = 0
        for index, part in enumerate(self._parts):
            regex = re.compile(self._part_regex[index])
            match = regex.match(name, position)
            found = name[position : position + 12] or "the end of the name"
            if not match:
                expected = _describe(part)
                return [f"position {position + 1}: expected {expected}, found {found!r}"]
            if isinstance(part, _Token) and part.name == "date":
                try:
                    dt.datetime.strptime(match.group(0), part.spec)  # noqa: DTZ007 - a date, no tz
                except ValueError:
                    return [f"date {match.group(0)!r} is not a real date ({part.spec})"]
            position = match.end()
        if position < len(name):
            return [f"position {position + 1}: unexpected extra text {name[position:]!r}"]
        # Greedy part-by-part matching can fail where backtracking would not.
        return [f"{name!r} does not follow the pattern {self.pattern!r}"]

    def format(self, **fields: FieldValue) -> str:
        """Build a name from token values; the inverse of :meth:`parse`.

        roll/clip/take are zero-padded to their width, ``date`` takes a
        :class:`datetime.date` (or datetime), camera is upper-cased.

        Raises:
            ValueError: for a missing or unknown token, or a value that does not fit
                (camera not one letter, roll 1000 for ``{roll:03}``, card with ``_``).
        """
        missing = [t for t in self.tokens if t not in fields]
        unknown = [k for k in fields if k not in self.tokens]
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if unknown:
                problems.append(f"not in the pattern: {', '.join(unknown)}")
            raise ValueError(f"cannot format {self.pattern!r}: {'; '.join(problems)}")
        out: list[str] = []
        for part in self._parts:
            if not isinstance(part, _Token):
                out.append(part)
                continue
            value = fields[part.name]
            if part.name == "date":
                if not isinstance(value, dt.date):
                    raise ValueError(f"date must be a datetime.date, not {value!r}")
                text = value.strftime(part.spec)
            elif part.name in ("roll", "clip", "take"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{part.name} must be a non-negative int, not {value!r}")
                text = f"{value:0{int(part.spec)}d}" if part.spec else str(value)
            else:
                text = str(value)
                if part.name == "camera":
                    text = text.upper()
            if not re.fullmatch(part.regex, text):
                raise ValueError(
                    f"{part.name}={value!r} does not fit {{{part.name}{':' if part.spec else ''}{part.spec}}}"
                )
            out.append(text)
        name = "".join(out)
        if self.parse(name) is None:  # e.g. a literal in a value made the name ambiguous
            raise ValueError(f"{name!r} built from {fields!r} does not parse back with {self.pattern!r}")
        return name


def _describe(part: _Token | str) -> str:
    if not isinstance(part, _Token):
        return repr(part)
    if part.name == "camera":
        return "a camera letter"
    if part.name == "date":
        return f"a date {part.spec}"
    if part.name in ("roll", "clip", "take"):
        return f"{part.name} as {int(part.spec)} digits" if part.spec else f"{part.name} digits"
    if part.spec:
        return f"{part.name} as {int(part.spec)} letters/digits"
    return f"{part.name} (letters/digits)"


# --------------------------------------------------------------------------- #
# Camera-native names
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class CameraName:
    """The parts of a camera-native clip name.

    Attributes:
        vendor: ``"arri"``, ``"red"``, ``"sony"``, ``"blackmagic"`` or ``"canon"``.
        clip_name: The clip's name without extension, span number or sidecar suffix.
        camera: Camera letter (A, B, ...), if the name has one.
        roll: Reel/roll/magazine number.
        clip: Clip number on the roll.
        date: Recording date, when the name has a full date (ARRI, Sony, Canon).
        month_day: (month, day) when the name has only those (RED, Blackmagic).
        card: The name's trailing ID: ARRI's camera ID (``R2AB``), or the two random
            characters RED/Sony/Canon add to make names unique.
        span: RED segment number (``_001`` in ``…_001.R3D``), else None.
    """

    vendor: str
    clip_name: str
    camera: str | None = None
    roll: int | None = None
    clip: int | None = None
    date: dt.date | None = None
    month_day: tuple[int, int] | None = None
    card: str | None = None
    span: int | None = None


# Each pattern is anchored and checked against the name without extension.
# ARRI ALEXA classic/Mini/LF: A001C003_230815_R2AB (camera, roll, clip, yymmdd, camera ID)
_ARRI = re.compile(r"(?P<camera>[A-Z])(?P<roll>\d{3})C(?P<clip>\d{3})_(?P<date>\d{6})_(?P<card>[A-Z0-9]{4})")
# ARRI ALEXA 35: A_0076C001_230511_184122_a1CTJ (4-digit reel, time of day, a/h = codec letter)
_ARRI35 = re.compile(
    r"(?P<camera>[A-Z])_(?P<roll>\d{4})C(?P<clip>\d{3})_(?P<date>\d{6})_\d{6}_[a-z](?P<card>[A-Z0-9]{4})"
)
# RED: A002_C005_0815XY (camera, reel, clip, mmdd, two random chars), spans add _001
_RED = re.compile(
    r"(?P<camera>[A-Z])(?P<roll>\d{3})_C(?P<clip>\d{3})_(?P<mmdd>\d{4})(?P<card>[A-Z0-9]{2})(?:_(?P<span>\d{3}))?"
)
# Sony VENICE/F55/FX9/FX6: D001C005_210716AG (camera, reel, clip, yymmdd, two chars)
_SONY = re.compile(r"(?P<camera>[A-Z])(?P<roll>\d{3})C(?P<clip>\d{3})_(?P<date>\d{6})(?P<card>[A-Z0-9]{2})")
# Sony XDCAM / consumer (FX3, a7S): C0001
_SONY_SHORT = re.compile(r"C(?P<clip>\d{4})")
# Canon Cinema EOS XF-AVC: A001C001_211231AB_CANON
_CANON = re.compile(
    r"(?P<camera>[A-Z])(?P<roll>\d{3})C(?P<clip>\d{3})_(?P<date>\d{6})(?P<card>[A-Z0-9]{2})_CANON"
)
# Blackmagic: A001_04190112_C102 (camera, reel, mmddhhmm, clip)
_BMD = re.compile(r"(?P<camera>[A-Z])(?P<roll>\d{3})_(?P<mmdd>\d{4})\d{4}_C(?P<clip>\d{3})")


def _yymmdd(text: str) -> dt.date | None:
    try:
        return dt.date(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return None


def _mmdd(text: str) -> tuple[int, int] | None:
    month, day = int(text[:2]), int(text[2:])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return month, day


def recognize_camera_name(name: str) -> CameraName | None:
    """Recognise a camera-native clip or file name and return its parts.

    ``name`` may be a bare clip name or a file name/path; the directory, the
    extension(s), a RED span (``_001``) and a Sony sidecar suffix (``M01``) are
    handled. Recognised forms:

    - ARRI ``A001C003_230815_R2AB`` and ALEXA 35 ``A_0076C001_230511_184122_a1CTJ``
    - RED ``A002_C005_0815XY`` (``…_001.R3D`` segments)
    - Sony ``D001C005_210716AG`` (+ ``M01.XML``) and XDCAM/consumer ``C0001``
    - Canon ``A001C001_211231AB_CANON``
    - Blackmagic ``A001_04190112_C102``

    Returns:
        A :class:`CameraName`, or None for anything else (a date that does not exist
        also gives None).
    """
    if not isinstance(name, str) or not name:
        return None
    base = PureWindowsPath(name).name if "\\" in name else PurePosixPath(name).name
    stem = base.split(".", 1)[0]
    for candidate in (stem, stem[:-3] if re.search(r"[MS]\d\d$", stem) else None):
        if candidate:
            found = _recognize_stem(candidate)
            if found is not None:
                return found
    return None


def _recognize_stem(stem: str) -> CameraName | None:
    if m := _CANON.fullmatch(stem):
        date = _yymmdd(m["date"])
        if date is None:
            return None
        return CameraName("canon", stem, m["camera"], int(m["roll"]), int(m["clip"]), date, None, m["card"])
    for regex in (_ARRI, _ARRI35):
        if m := regex.fullmatch(stem):
            date = _yymmdd(m["date"])
            if date is None:
                return None
            return CameraName(
                "arri", stem, m["camera"], int(m["roll"]), int(m["clip"]), date, None, m["card"]
            )
    if m := _RED.fullmatch(stem):
        month_day = _mmdd(m["mmdd"])
        if month_day is None:
            return None
        clip_name = stem[:-4] if m["span"] else stem
        span = int(m["span"]) if m["span"] else None
        return CameraName(
            "red", clip_name, m["camera"], int(m["roll"]), int(m["clip"]), None, month_day, m["card"], span
        )
    if m := _SONY.fullmatch(stem):
        date = _yymmdd(m["date"])
        if date is None:
            return None
        return CameraName("sony", stem, m["camera"], int(m["roll"]), int(m["clip"]), date, None, m["card"])
    if m := _SONY_SHORT.fullmatch(stem):
        return CameraName("sony", stem, clip=int(m["clip"]))
    if m := _BMD.fullmatch(stem):
        month_day = _mmdd(m["mmdd"])
        if month_day is None:
            return None
        return CameraName("blackmagic", stem, m["camera"], int(m["roll"]), int(m["clip"]), None, month_day)
    return None


# --------------------------------------------------------------------------- #
# Grouping a card's files into clips
# --------------------------------------------------------------------------- #

#: Extensions of camera media (essence) files: a stem with one of these is a clip
#: even when its name is not a camera-native name (renamed or consumer cameras).
MEDIA_EXTENSIONS = frozenset(
    {
        ".ari", ".arx", ".braw", ".crm", ".dng", ".mov", ".mp4", ".mxf", ".m4v", ".mts",
        ".r3d", ".nev", ".avi", ".cine", ".rmf",
    }
)  # fmt: skip


@dataclass
class ClipGroups(Mapping[str, list[str]]):
    """Files of one card grouped by camera clip.

    A read-only mapping ``clip key -> paths`` (paths as given, sorted), plus
    :attr:`other` for files that belong to no clip (card-level XML, thumbnails,
    ``.DS_Store``), which ingest still catalogues as plain files.
    """

    clips: dict[str, list[str]] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[str]:
        return self.clips[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.clips)

    def __len__(self) -> int:
        return len(self.clips)


def _basename(path: str) -> str:
    return PureWindowsPath(path).name if "\\" in path else PurePosixPath(path).name


def group_clip_files(relative_paths: Iterable[str]) -> ClipGroups:
    """Group the files of one card (paths relative to the card root) into camera clips.

    A file's clip key is its name up to the first ``.``, with two camera conventions
    undone first:

    - RED spans: ``A002_C005_0815XY_001.R3D``, ``_002.R3D`` -> ``A002_C005_0815XY``
      (so are proxies named with the span, ``…_001.mov``); the clip's
      ``A002_C005_0815XY.RMD`` joins the same key.
    - Sony sidecars and proxies: ``D001C005_210716AGM01.XML`` and ``C0001S03.MP4``
      -> ``D001C005_210716AG`` / ``C0001``, but only when that key is a clip.

    A key is a clip when it is a camera-native name (:func:`recognize_camera_name`)
    or when some file with that key has a media extension (``.mov``, ``.mxf``, …);
    every file sharing a clip's key (``.XML``, ``.RMD``, ``.ALE``, ``.mov.csv``…)
    belongs to it. Call this once per card: identical names on different cards are
    different clips. Folders are ignored for grouping, so ``Proxy/X.mov`` joins ``X``.

    Returns:
        :class:`ClipGroups` mapping clip key to its sorted paths; the rest in ``.other``.
    """
    paths = sorted(set(relative_paths))
    raw_keys: dict[str, str] = {}
    media_keys: set[str] = set()
    for path in paths:
        base = _basename(path)
        key = base.split(".", 1)[0]
        if base.startswith(".") or not key:  # .DS_Store, ._ resource forks
            continue
        recognized = recognize_camera_name(key)
        if recognized is not None and recognized.vendor == "red":
            key = recognized.clip_name  # drop the span number
        raw_keys[path] = key
        if PurePosixPath(base).suffix.lower() in MEDIA_EXTENSIONS:
            media_keys.add(key)

    def names_itself(key: str) -> CameraName | None:
        found = recognize_camera_name(key)
        return found if found is not None and found.clip_name == key else None

    def sony_parent(path: str, key: str) -> str | None:
        # D001C005_210716AGM01.XML / C0001S03.MP4 belong to D001C005_210716AG / C0001.
        if not re.search(r"[MS]\d\d$", key) or names_itself(key):
            return None
        parent = key[:-3]
        found = names_itself(parent)
        if found is not None and found.vendor == "sony":
            return parent
        # Renamed Sony clips keep the M01.XML convention for their sidecar.
        is_xml = path.lower().endswith(".xml")
        return parent if key[-3] == "M" and is_xml and parent in media_keys else None

    groups = ClipGroups()
    for path in paths:
        raw_key = raw_keys.get(path)
        if raw_key is None:
            groups.other.append(path)
            continue
        clip_key = sony_parent(path, raw_key) or raw_key
        if clip_key in media_keys or names_itself(clip_key):
            groups.clips.setdefault(clip_key, []).append(path)
        else:
            groups.other.append(path)
    return groups

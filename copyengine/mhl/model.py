"""The ASC MHL model: format constants, errors, a parsed history, verification results, C4 ids.

Also the reference index a history adds up to (_Index, _replay): History.reference_hashes
and the readers in reading.py replay generations into it the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal, NamedTuple, get_args

ASCMHL_FOLDER = "ascmhl"
CHAIN_FILE = "ascmhl_chain.xml"
MHL_NAMESPACE = "urn:ASC:MHL:v2.0"
CHAIN_NAMESPACE = "urn:ASC:MHL:DIRECTORY:v2.0"
# The order the XSD requires inside <hash>, <content> and <structure>.
HASH_FORMATS: tuple[str, ...] = ("c4", "md5", "sha1", "xxh128", "xxh3", "xxh64")
# What the reference tool writes when nothing else is asked for.
DEFAULT_IGNORE_PATTERNS: tuple[str, ...] = (".DS_Store", ASCMHL_FOLDER, f"{ASCMHL_FOLDER}/")
ProcessType = Literal["in-place", "transfer", "flatten"]
_PROCESS_TYPES: tuple[str, ...] = get_args(ProcessType)
_GENERATION_NAME = re.compile(r"^(\d{4,})(?:_.*)?\.mhl$")  # 0001_A002R2EC_2020-01-16_091500Z.mhl
_C4_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_C4_LENGTH = 90
_C4_ID = re.compile(rf"^c4[{_C4_ALPHABET}]{{{_C4_LENGTH - 2}}}$")


class MHLError(Exception):
    """A history or MHL file is missing, unreadable, malformed or inconsistent.

    The message names the file and says what to do about it.
    """


class HashAction(StrEnum):
    ORIGINAL = "original"
    VERIFIED = "verified"
    FAILED = "failed"


class ChainProblemKind(StrEnum):
    MODIFIED = "modified"  # generation file's C4 id differs from the chain's
    UNLISTED = "unlisted"  # generation file on disk that the chain does not list
    REFERENCE_MISMATCH = "reference_mismatch"  # child generation differs from the parent's reference
    MISSING_CHILD = "missing_child"  # referenced child generation not found


class FileStatus(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"
    MISSING = "missing"  # in the history, not on disk
    NEW = "new"  # on disk, not in the history
    UNVERIFIABLE = "unverifiable"  # no hash we can compute, or the file cannot be read


# --- Parsed history ---------------------------------------------------------


class HashValue(NamedTuple):
    """One recorded hash of a file: ``value`` is lower-case hex (base58 for c4).

    A named tuple rather than a dataclass: a long history holds hundreds of
    thousands of these, and a frozen dataclass costs three times as much to build.
    """

    format: str
    value: str
    action: HashAction | None
    hash_date: datetime | None


class HashEntry(NamedTuple):
    """One ``<hash>`` element: a file as one generation recorded it (a named tuple, like HashValue)."""

    path: str  # posix, relative to the history root
    size: int | None
    last_modification_date: datetime | None
    hashes: tuple[HashValue, ...]
    previous_path: str | None = None  # set when the file was renamed since the last record


@dataclass(frozen=True, slots=True)
class DirectoryHashValue:
    """A directory's content hash and structure hash (names + hashes) in one format."""

    format: str
    content: str
    structure: str | None
    hash_date: datetime | None


@dataclass(frozen=True, slots=True)
class DirectoryHash:
    path: str
    last_modification_date: datetime | None
    hashes: tuple[DirectoryHashValue, ...]


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str | None = None
    phone: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class CreatorInfo:
    creation_date: datetime
    hostname: str
    tool_name: str
    tool_version: str | None
    authors: tuple[Author, ...] = ()
    location: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    process_type: str
    root_hash: tuple[DirectoryHashValue, ...] = ()  # empty when the generation has none
    ignore_patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HashListReference:
    """A parent generation's pointer to a nested history's generation file."""

    path: str  # posix, relative to the parent's root, e.g. "A002/ascmhl/0002_A002_...Z.mhl"
    c4: str


@dataclass(frozen=True, slots=True)
class Generation:
    """One generation (``.mhl`` file) of a history."""

    sequence_number: int
    file: Path
    c4: str  # computed from the file's bytes when it was read
    creator: CreatorInfo
    process: ProcessInfo
    hashes: tuple[HashEntry, ...]
    directory_hashes: tuple[DirectoryHash, ...] = ()
    references: tuple[HashListReference, ...] = ()

    @property
    def file_name(self) -> str:
        return self.file.name


@dataclass(frozen=True, slots=True)
class ChainProblem:
    kind: ChainProblemKind
    file: Path
    message: str


@dataclass(frozen=True, slots=True)
class History:
    """A folder's ASC MHL history, oldest generation first, with its nested histories."""

    root: Path
    generations: tuple[Generation, ...]
    children: tuple[History, ...] = ()
    problems: tuple[ChainProblem, ...] = ()  # this history's own; see all_problems()

    def all_problems(self) -> list[ChainProblem]:
        """Chain problems of this history and every nested one."""
        found = list(self.problems)
        for child in self.children:
            found.extend(child.all_problems())
        return found

    def reference_hashes(self) -> dict[str, dict[str, str]]:
        """Return ``{path: {format: value}}``: per file and format, the most recent good hash.

        "Good" means recorded as original or verified: a ``failed`` entry records
        what a damaged file hashed to, which must never become the value the
        file is checked against. Renames (``previousPath``) carry the values
        over to the new path. Nested histories are not included.
        """
        return _build_index(self).reference


# --- Verification output ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The result for one file; ``expected``/``actual`` hold only the formats compared."""

    path: str  # posix, relative to the verified root
    status: FileStatus
    expected: dict[str, str] = field(default_factory=dict)
    actual: dict[str, str] = field(default_factory=dict)
    recorded_failure: bool = False  # the history's latest record of this file is a failed one
    message: str = ""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Outcome of verify_folder (or verify_mhl_v1, whose ``root`` is the folder the paths are relative to)."""

    root: Path
    files: tuple[FileCheck, ...]  # sorted by path
    problems: tuple[ChainProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every file is OK and the histories have no chain problems."""
        return not self.problems and all(check.status is FileStatus.OK for check in self.files)

    def with_status(self, status: FileStatus) -> list[FileCheck]:
        return [check for check in self.files if check.status is status]

    def counts(self) -> dict[FileStatus, int]:
        """Number of files per status (statuses with no file are left out)."""
        result: dict[FileStatus, int] = {}
        for check in self.files:
            result[check.status] = result.get(check.status, 0) + 1
        return result


# --- C4 ids -----------------------------------------------------------------


def c4_id(data: bytes | memoryview) -> str:
    """Return the C4 id of ``data``: SHA-512, base58-encoded, ``c4`` + 88 characters."""
    number = int.from_bytes(hashlib.sha512(data).digest(), "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_C4_ALPHABET[remainder])
    # '1' is the zero digit: pad to the fixed length.
    return "c4" + "".join(reversed(digits)).rjust(_C4_LENGTH - 2, "1")


# --- The reference index ---------------------------------------------------


# A HashEntry's fields, before (or instead of) building one.
_Entry = tuple[str, int | None, datetime | None, tuple[HashValue, ...], str | None]


@dataclass(slots=True)
class _Index:
    reference: dict[str, dict[str, str]]  # see History.reference_hashes
    last_failed: set[str]  # paths whose most recent record includes a failed hash

    def copy(self) -> _Index:
        return _Index({path: dict(values) for path, values in self.reference.items()}, set(self.last_failed))


def _replay(index: _Index, entries: Iterable[_Entry]) -> None:
    """Apply one generation's entries to ``index``; this runs once per entry, so it is kept tight."""
    reference, last_failed = index.reference, index.last_failed
    failed = HashAction.FAILED
    for path, _size, _modified, values, previous in entries:
        if previous is not None and previous in reference:
            reference[path] = reference.pop(previous)
        if len(values) == 1:  # the usual case, without building a dict per entry
            format_, value, action, _date = values[0]
            if action is failed:
                last_failed.add(path)
                continue
            last_failed.discard(path)
            known = reference.get(path)
            if known is None:
                reference[path] = {format_: value}
            else:
                known[format_] = value
            continue
        good = {value.format: value.value for value in values if value.action is not failed}
        if len(good) < len(values):  # (one value per format and entry, says the XSD)
            last_failed.add(path)
        elif path in last_failed:
            last_failed.discard(path)
        if good:
            known = reference.get(path)
            if known is None:
                reference[path] = good
            else:
                known.update(good)


def _build_index(history: History) -> _Index:
    """Replay the generations oldest first."""
    index = _Index({}, set())
    for generation in history.generations:
        _replay(index, generation.hashes)
    return index

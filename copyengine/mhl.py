"""ASC MHL v2 histories (read, append, verify) and legacy MHL v1 files (read, verify).

An ASC MHL *history* lives in ``<root>/ascmhl/``:

- one XML file per *generation* (``0001_<folder>_2024-05-01_101500Z.mhl``), each
  recording, for the files it covers, a path, size, modification date and one
  or more hashes with an action: ``original`` (first record), ``verified``
  (matched the earlier record) or ``failed`` (did not match);
- ``ascmhl_chain.xml``, listing every generation with the C4 id (a SHA-512
  based content id) of its file, so that an edited generation is detected;
- nested histories: a sub-folder with its own ``ascmhl/`` owns the files
  below it, and the parent's generations reference the child's generation
  files by path and C4 id.

Public entry points: :func:`read_history`, :func:`write_generation`,
:func:`verify_folder`, :func:`read_generation` (one file on its own),
:func:`read_mhl_v1`, :func:`verify_mhl_v1`. Every
problem with a file on disk raises :class:`MHLError`, whose message names the
file and says what to do; a wrong argument raises ``ValueError``.

Speed: a generation of a 2,000-file card is ~0.5 MB of XML, and parsing is
the cost that grows with history length. lxml parses it: libxml2 builds the
tree in C (while one generation is read, its tree takes about nine times the
file's size in memory); entities are never expanded and a file that declares
a DTD is refused, as with defusedxml before. read_history keeps the parsed
generations in a small in-process cache keyed by the C4 id of the file's
bytes (which the chain check computes anyway): a cache hit is by
construction a parse of identical bytes. write_generation and verify_folder
need only the reference hashes of a history, so they read it without
keeping an object per recorded file (see _State), and keep what they read
keyed the same way: the verification that follows a write reads only the
new generation. Writing builds the XML as text in one pass and never
re-hashes payload.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Literal, NamedTuple, get_args
from xml.parsers import expat as pyexpat

import xxhash
from lxml import etree

from copyengine import hashing

__all__ = [
    "ASCMHL_FOLDER",
    "CHAIN_FILE",
    "DEFAULT_IGNORE_PATTERNS",
    "HASH_FORMATS",
    "Author",
    "ChainProblem",
    "ChainProblemKind",
    "Creator",
    "CreatorInfo",
    "DirectoryHash",
    "DirectoryHashValue",
    "FileCheck",
    "FileRecord",
    "FileStatus",
    "Generation",
    "HashAction",
    "HashEntry",
    "HashListReference",
    "HashValue",
    "History",
    "MHLError",
    "ProcessInfo",
    "ProcessType",
    "V1Entry",
    "VerifyReport",
    "c4_id",
    "clear_parse_cache",
    "read_generation",
    "read_history",
    "read_mhl_v1",
    "verify_folder",
    "verify_mhl_v1",
    "write_generation",
]

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

# verify_folder checks one format per file unless told otherwise: the fastest
# one the history recorded (they all describe the same bytes).
_FASTEST_FIRST = ("xxh128", "xxh3", "xxh64", "md5", "sha1")
# hashing.hash_file sets up two 8 MiB buffers and a thread pool per call
# (~100 µs); for a card of small sidecars that dominates, so files up to this
# size are read in one call and hashed in memory instead.
_SMALL_FILE_LIMIT = 1024 * 1024
# For those, one call instead of three (new_hash, update, hexdigest) where xxhash offers one.
_DIGESTS: dict[str, Callable[[bytes], str]] = {
    "xxh128": xxhash.xxh3_128_hexdigest,
    "xxh3": xxhash.xxh3_64_hexdigest,
    "xxh64": xxhash.xxh64_hexdigest,
}
_GENERATION_NAME = re.compile(r"^(\d{4,})(?:_.*)?\.mhl$")  # 0001_A002R2EC_2020-01-16_091500Z.mhl
_HEX_DIGITS = "0123456789abcdef"
_C4_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_C4_LENGTH = 90
_C4_ID = re.compile(rf"^c4[{_C4_ALPHABET}]{{{_C4_LENGTH - 2}}}$")
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EMAIL = re.compile(r"^[^@]+@[^.]+\..+$")  # the XSD's EmailAddressAttributeType


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


# --- Writing input ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file the caller copied and hashed, to be recorded in a new generation."""

    path: str  # posix, relative to the root given to write_generation
    size: int
    mtime: datetime  # timezone-aware
    hashes: Mapping[str, str]  # {format: hex}, formats from HASH_FORMATS


@dataclass(frozen=True, slots=True)
class Creator:
    """Who and what writes a new generation."""

    tool_version: str
    tool_name: str = "Reelvault"
    hostname: str = field(default_factory=socket.gethostname)
    authors: tuple[Author, ...] = ()
    location: str | None = None
    comment: str | None = None


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


@dataclass(frozen=True, slots=True)
class V1Entry:
    """One ``<hash>`` of a legacy MHL v1 file.

    ``hashes`` uses the v2/hashing.py names with canonical hex values:
    v1 ``xxhash`` (32-bit, written as a decimal number) becomes ``xxh32``;
    v1 ``xxhash64`` (mhl-tool wrote its bytes little-endian) and
    ``xxhash64be`` both become ``xxh64``. A ``<null/>`` hash adds nothing.
    """

    file: str
    size: int | None
    hashes: dict[str, str]
    last_modification_date: datetime | None
    hash_date: datetime | None = None


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


# --- XML reading helpers ----------------------------------------------------


def _local(tag: str) -> str:
    """``{urn:ASC:MHL:v2.0}hash`` -> ``hash``; files from other tools may omit the namespace."""
    return tag.rpartition("}")[2]


class _DoctypeDeclared(Exception):
    pass


def _refuse_doctype(_name: str, *_ids: object) -> None:
    raise _DoctypeDeclared


def _doctype_refused(file: Path) -> MHLError:
    return MHLError(
        f"{file}: refused to parse: it declares a DTD or entities (DTDForbidden), which MHL "
        "files never do; it may be an XML bomb. Restore this file from a trusted copy."
    )


def _malformed(file: Path, problem: object) -> MHLError:
    return MHLError(
        f"{file} is not well-formed XML ({problem}). Restore it from a trusted copy of the media; "
        "do not edit MHL files by hand."
    )


_parsers = threading.local()  # an lxml parser must not be shared between threads
_DOCTYPE = re.compile(rb"<!DOCTYPE")  # (a regex also searches a memoryview)


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        # No entity expansion, no DTD loading, no network, libxml2's size limits kept
        # (huge_tree off). Comments and processing instructions are dropped, so
        # elements only ever have element children and their text reads through them.
        parser = _parsers.parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
    return parser


def _parse_xml(data: bytes | memoryview, file: Path) -> etree._Element:
    """Parse a whole document and return its root element; a document with a DOCTYPE is refused.

    The defence against XML bombs stays that of defusedxml (which ran Python's
    ElementTree parser, several times slower than libxml2): a document that
    declares a DTD is not read, and nothing is expanded, loaded or fetched.
    """
    if _DOCTYPE.search(data):
        # Expat, which defusedxml used, decides as before: a DOCTYPE inside a comment
        # is harmless, and a real one is refused before any later syntax error counts.
        expat = pyexpat.ParserCreate()
        expat.StartDoctypeDeclHandler = _refuse_doctype
        try:
            expat.Parse(data, True)
        except _DoctypeDeclared:
            raise _doctype_refused(file) from None
        except pyexpat.ExpatError as exc:
            raise _malformed(file, exc) from exc
    try:
        root: etree._Element = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _malformed(file, exc) from exc
    info = root.getroottree().docinfo
    if info.internalDTD is not None or info.externalDTD is not None:
        # Only in an encoding in which the search above cannot see "<!DOCTYPE" (UTF-16):
        # libxml2 read the DTD without expanding or fetching anything, within its limits.
        raise _doctype_refused(file)
    return root


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _unsafe(path: str) -> bool:
    """True for an absolute path or one with '..': nothing read from a file may point outside its root."""
    return not path or path[0] == "/" or (".." in path and ".." in path.split("/"))


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, what, exc) from exc


def _unreadable(path: Path, what: str, exc: OSError) -> MHLError:
    if isinstance(exc, FileNotFoundError):
        return MHLError(f"{what} {path} is missing; restore it from another copy of this media")
    return MHLError(f"cannot read {what} {path}: {exc.strerror}; check the drive and permissions")


class _ReadBuffer:
    """Reads a history's generation files, one after another, into one reused buffer.

    A new half-megabyte bytes object per file costs more than reading it: the
    memory comes fresh from the system each time and is page-faulted in
    (about 2 ms per generation file while a history is parsed). The view that
    read() returns is only valid until the next read().
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def read(self, path: Path, what: str) -> bytes | memoryview:
        try:
            with path.open("rb", buffering=0) as stream:
                size = os.fstat(stream.fileno()).st_size
                if len(self._buffer) <= size:  # one byte more than the file: a file that grew is noticed
                    self._buffer = bytearray(size + 1)
                count = stream.readinto(self._buffer)
        except OSError as exc:
            raise _unreadable(path, what, exc) from exc
        if count != size:  # the file changed while it was read, or the read came back short
            return _read_bytes(path, what)
        return memoryview(self._buffer)[:count]


class _FieldReader:
    """Turns element text and attributes of one file into values; errors name that file.

    Names and paths are kept exactly as written (a file name may end in a
    space); hash values, numbers and dates are stripped.
    """

    ACTIONS = {action.value: action for action in HashAction}

    def __init__(self, file: Path) -> None:
        self.file = file
        # A generation repeats the same few dates and tags thousands of times.
        self.dates: dict[str, datetime] = {}
        self.names: dict[str, str] = {}

    def name(self, element: etree._Element) -> str:
        """The element's tag without its namespace (files from other tools may have none)."""
        tag = element.tag
        name = self.names.get(tag)
        if name is None:
            name = self.names[tag] = _local(tag)
        return name

    def fail(self, problem: str) -> MHLError:
        return MHLError(f"{self.file}: {problem}; restore the file from a trusted copy")

    def date(self, value: str | None) -> datetime | None:
        """An xs:dateTime; aware when the file states an offset (ASC MHL files always do)."""
        if not value:
            return None
        parsed = self.dates.get(value)
        if parsed is None:
            try:
                parsed = self.dates[value] = datetime.fromisoformat(value.strip())
            except ValueError as exc:
                raise self.fail(f"{value!r} is not a valid date") from exc
        return parsed

    def integer(self, value: str | None) -> int | None:
        if not value:
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise self.fail(f"{value!r} is not a valid number") from exc

    def path(self, element: etree._Element) -> str:
        path = element.text or ""
        if _unsafe(path):
            raise self.fail(f"it records the unsafe path {path!r}")
        return path

    def token(self, element: etree._Element) -> str:
        return (element.text or "").strip()

    def directory_values(self, element: etree._Element) -> tuple[DirectoryHashValue, ...]:
        """The <content>/<structure> pairs of a <directoryhash> or <roothash>."""
        content, structure = _child(element, "content"), _child(element, "structure")
        structures = {_local(e.tag): self.token(e) for e in structure} if structure is not None else {}
        return tuple(
            DirectoryHashValue(
                _local(e.tag), self.token(e), structures.get(_local(e.tag)), self.date(e.get("hashdate"))
            )
            for e in (content if content is not None else ())
        )


# --- Generation files -------------------------------------------------------


# A HashEntry's fields, before (or instead of) building one.
_Entry = tuple[str, int | None, datetime | None, tuple[HashValue, ...], str | None]


def _hash_entries(root: etree._Element, read: _FieldReader) -> Iterator[_Entry]:
    """The fields of every <hash> element, in document order.

    This loop runs once per file and generation (100,000 times for a card of
    2,000 files with 50 generations), so the reader's steps are inlined and
    the named tuples are built without their Python-level ``__new__``.
    """
    names, dates, actions = read.names, read.dates, read.ACTIONS
    new = tuple.__new__
    for element in root.iter("{*}hash"):
        path = size = modified = previous = None
        values = []
        for child in element[:]:  # (lxml builds a slice in C; iterating takes a call per child)
            name = names.get(child.tag) or read.name(child)
            if name == "path":
                path = child.text or ""
                if not path or path[0] == "/" or ".." in path:
                    path = read.path(child)  # raises if it is unsafe
                size = read.integer(child.get("size"))
                stamp = child.get("lastmodificationdate") or ""
                modified = dates.get(stamp) or read.date(stamp)
            elif name == "previousPath":
                previous = read.path(child)
            elif name != "metadata":
                action = child.get("action") or ""
                parsed_action = actions.get(action)
                if parsed_action is None and action:
                    raise read.fail(f"unknown hash action {action!r}")
                value = (child.text or "").strip()
                if name != "c4":  # c4 ids are case-sensitive base58; hex is not
                    value = value.lower()
                stamp = child.get("hashdate") or ""
                values.append(
                    new(HashValue, (name, value, parsed_action, dates.get(stamp) or read.date(stamp)))
                )
        if path is None:
            raise read.fail("a <hash> element has no <path>")
        yield path, size, modified, tuple(values), previous


def _parse_directory_hash(element: etree._Element, read: _FieldReader) -> DirectoryHash:
    path = _child(element, "path")
    if path is None:
        raise read.fail("a <directoryhash> has no <path>")
    return DirectoryHash(
        read.path(path).rstrip("/"),
        read.date(path.get("lastmodificationdate")),
        read.directory_values(element),
    )


def _parse_creator(element: etree._Element, read: _FieldReader) -> CreatorInfo:
    texts: dict[str, str] = {}
    tool_version = None
    authors = []
    for child in element:
        name = _local(child.tag)
        if name == "author":
            authors.append(
                Author(child.text or "", child.get("email"), child.get("phone"), child.get("role"))
            )
        else:
            texts[name] = child.text or ""
            if name == "tool":
                tool_version = child.get("version")
    created = read.date(texts.get("creationdate"))
    if created is None:
        raise read.fail("<creatorinfo> has no <creationdate>")
    return CreatorInfo(
        created,
        texts.get("hostname", ""),
        texts.get("tool", ""),
        tool_version,
        tuple(authors),
        texts.get("location"),
        texts.get("comment"),
    )


def _parse_process(element: etree._Element, read: _FieldReader) -> ProcessInfo:
    root_hash: tuple[DirectoryHashValue, ...] = ()
    ignore: tuple[str, ...] = ()
    process = ""
    for child in element:
        name = _local(child.tag)
        if name == "process":
            process = read.token(child)
        elif name == "roothash":
            root_hash = read.directory_values(child)
        elif name == "ignore":
            ignore = tuple(read.token(pattern) for pattern in child)
    return ProcessInfo(process, root_hash, ignore)


def _parse_reference(element: etree._Element, read: _FieldReader) -> HashListReference:
    path, c4 = _child(element, "path"), _child(element, "c4")
    if path is None or c4 is None:
        raise read.fail("a <hashlistreference> lacks <path> or <c4>")
    return HashListReference(read.path(path), read.token(c4))


# What a generation holds besides its <hash> elements, in any namespace or none (lxml's "{*}").
_GENERATION_PARTS = tuple(
    f"{{*}}{name}"
    for name in ("hashlist", "creatorinfo", "processinfo", "directoryhash", "hashlistreference")
)


def _parse_head(
    root: etree._Element, read: _FieldReader
) -> tuple[CreatorInfo, ProcessInfo, tuple[DirectoryHash, ...], tuple[HashListReference, ...]]:
    """Everything of a generation but its <hash> elements; raises MHLError when it is not one."""
    creator = process = None
    directories: list[DirectoryHash] = []
    references: list[HashListReference] = []
    is_hashlist = False
    # lxml finds the elements in C, in document order; the <hash> elements get a loop of their own.
    for element in root.iter(*_GENERATION_PARTS):
        name = read.name(element)
        if name == "directoryhash":
            directories.append(_parse_directory_hash(element, read))
        elif name == "creatorinfo":
            creator = _parse_creator(element, read)
        elif name == "processinfo":
            process = _parse_process(element, read)
        elif name == "hashlistreference":
            references.append(_parse_reference(element, read))
        elif name == "hashlist":
            is_hashlist = True
    if not is_hashlist or creator is None or process is None:
        raise MHLError(
            f"{read.file} is not an ASC MHL v2 generation (no <hashlist> with <creatorinfo> and "
            "<processinfo>); remove it from the ascmhl folder or restore it from a trusted copy"
        )
    return creator, process, tuple(directories), tuple(references)


def _parse_generation(data: bytes | memoryview, file: Path, sequence_number: int, c4: str) -> Generation:
    """Parse one generation file's bytes (already read and C4-hashed by the caller)."""
    read = _FieldReader(file)
    root = _parse_xml(data, file)
    creator, process, directories, references = _parse_head(root, read)
    new = tuple.__new__  # (see _hash_entries)
    hashes = tuple([new(HashEntry, entry) for entry in _hash_entries(root, read)])
    return Generation(sequence_number, file, c4, creator, process, hashes, directories, references)


def _parse_outline(
    data: bytes | memoryview, file: Path, sequence_number: int, c4: str, index: _Index
) -> _Outline:
    """Parse one generation file's bytes for a _State: its entries go into ``index`` and are not kept."""
    read = _FieldReader(file)
    root = _parse_xml(data, file)
    _creator, process, _directories, references = _parse_head(root, read)
    _replay(index, _hash_entries(root, read))
    return _Outline(sequence_number, file, c4, process, references)


def read_generation(file: str | os.PathLike[str]) -> Generation:
    """Parse one ASC MHL v2 file on its own, e.g. a packing list outside any history.

    No chain check happens here (use read_history for that). The sequence
    number comes from the file name, 0 when the name has none. Raises
    MHLError when the file is missing, malformed or not ASC MHL v2.
    """
    file = Path(file)
    data = _read_bytes(file, "ASC MHL file")
    match = _GENERATION_NAME.match(file.name)
    return _parse_generation(data, file, int(match.group(1)) if match else 0, c4_id(data))


class _ParseCache:
    """Parsed generations by (C4 id of the bytes, file, sequence number), least recently used first out.

    Bounded by the hash entries held (about 0.5 KB each), not by generations,
    because one generation may record five files or fifty thousand. Safe to
    share between threads.
    """

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._held = 0
        self._generations: OrderedDict[tuple[str, Path, int], Generation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, c4: str, file: Path, sequence_number: int) -> Generation | None:
        key = (c4, file, sequence_number)
        with self._lock:
            generation = self._generations.get(key)
            if generation is not None:
                self._generations.move_to_end(key)
            return generation

    def put(self, generation: Generation) -> None:
        key = (generation.c4, generation.file, generation.sequence_number)
        with self._lock:
            if key in self._generations:
                return
            self._generations[key] = generation
            self._held += len(generation.hashes)
            while self._held > self._max_entries and len(self._generations) > 1:
                _key, evicted = self._generations.popitem(last=False)
                self._held -= len(evicted.hashes)

    def clear(self) -> None:
        with self._lock:
            self._generations.clear()
            self._held = 0


_parsed = _ParseCache(max_entries=250_000)


def clear_parse_cache() -> None:
    """Forget every parsed generation and index (frees memory; benchmarks use it to time cold reads)."""
    _parsed.clear()
    _states.clear()


def _generation(data: bytes | memoryview, file: Path, sequence_number: int, c4: str) -> Generation:
    generation = _parsed.get(c4, file, sequence_number)
    if generation is None:
        generation = _parse_generation(data, file, sequence_number, c4)
        _parsed.put(generation)
    return generation


# --- Reading a history ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ChainEntry:
    sequence_number: int
    file_name: str
    c4: str


def _read_chain(folder: Path) -> list[_ChainEntry]:
    chain_file = folder / CHAIN_FILE
    data = _read_bytes(chain_file, "ASC MHL chain file")
    read = _FieldReader(chain_file)
    entries = []
    for element in _parse_xml(data, chain_file).iter("{*}hashlist"):
        path_element, c4_element = _child(element, "path"), _child(element, "c4")
        name = (path_element.text or "").strip() if path_element is not None else ""
        if not name or "/" in name or "\\" in name or name in {".", ".."}:
            raise MHLError(
                f"{chain_file} lists {name!r}, which is not a file name inside {folder}; "
                "restore the chain file from a trusted copy"
            )
        if c4_element is None:
            raise MHLError(
                f"{chain_file} lists {name} without a <c4> id; restore the chain file from a trusted copy"
            )
        match = _GENERATION_NAME.match(name)
        number = read.integer(element.get("sequencenr")) or (int(match.group(1)) if match else 0)
        entries.append(_ChainEntry(number, name, read.token(c4_element)))
    return entries


def _child_history_roots(root: Path) -> list[Path]:
    """Folders below ``root`` with their own ``ascmhl/``; the search stops at each (it owns its subtree)."""
    found = []
    pending = [root]
    while pending:
        # (a comprehension: this looks at every file of a card, twice per offload)
        folders = [
            e for e in _scan(pending.pop()) if e.is_dir(follow_symlinks=False) and e.name != ASCMHL_FOLDER
        ]
        for entry in folders:
            path = Path(entry.path)
            if (path / ASCMHL_FOLDER).is_dir():
                found.append(path)
            else:
                pending.append(path)
    return sorted(found)


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as exc:
        raise MHLError(
            f"cannot list folder {folder}: {exc.strerror}; check the drive and permissions"
        ) from exc


def _open_history(root: Path) -> tuple[Path, list[_ChainEntry], list[Path]]:
    """The ascmhl folder of ``root``, its chain and the generation files it lists (all on disk)."""
    folder = root / ASCMHL_FOLDER
    if not folder.is_dir():
        raise MHLError(f"{root} has no ASC MHL history ({folder} does not exist); check the path")
    if not (folder / CHAIN_FILE).is_file():
        raise MHLError(
            f"{folder / CHAIN_FILE} is missing, so the history in {folder} cannot be checked for tampering; "
            "restore the chain file from another copy of this media"
        )
    chain = _read_chain(folder)
    files = [folder / entry.file_name for entry in chain]
    for file in files:
        if not file.is_file():
            raise MHLError(
                f"{file} is listed in {folder / CHAIN_FILE} but missing; restore the ascmhl folder from "
                "another copy of this media"
            )
    return folder, chain, files


def _modified(file: Path, actual: str, entry: _ChainEntry) -> ChainProblem:
    return ChainProblem(
        ChainProblemKind.MODIFIED,
        file,
        f"{file} was modified after it was written: its C4 id is {actual}, the chain recorded {entry.c4}",
    )


def _unlisted(folder: Path, chain: Sequence[_ChainEntry]) -> list[ChainProblem]:
    listed = {entry.file_name for entry in chain}
    return [
        ChainProblem(
            ChainProblemKind.UNLISTED,
            Path(found.path),
            f"{found.path} is not listed in {CHAIN_FILE}, so nothing vouches for it; it was ignored",
        )
        for found in _scan(folder)
        if _GENERATION_NAME.match(found.name) and found.name not in listed
    ]


def read_history(root: str | os.PathLike[str]) -> History:
    """Read the ASC MHL history of ``root`` and of every nested history below it.

    Returns a History whose generations are sorted by sequence number. Chain
    problems (an edited or unlisted generation file, a nested generation that
    differs from or is missing for the parent's reference) are returned in
    ``History.problems``/``all_problems()``, not raised, so a verification can
    report them next to the file results. Raises MHLError when there is no
    history, the chain file is missing, a generation the chain lists is
    missing, or a file is unreadable, malformed or an XML bomb.
    """
    root = Path(root)
    folder, chain, files = _open_history(root)
    problems: list[ChainProblem] = []
    generations: list[Generation] = []
    buffer = _ReadBuffer()
    for entry, file in zip(chain, files, strict=True):
        data = buffer.read(file, "generation file")
        actual = c4_id(data)
        if actual != entry.c4:
            problems.append(_modified(file, actual, entry))
        generations.append(_generation(data, file, entry.sequence_number, actual))
    problems.extend(_unlisted(folder, chain))
    generations.sort(key=lambda g: g.sequence_number)
    children = tuple(read_history(child) for child in _child_history_roots(root))
    problems.extend(_check_references(root, generations, children))
    return History(root, tuple(generations), children, tuple(problems))


def _check_references(
    root: Path, generations: Sequence[Generation | _Outline], children: Sequence[History | _State]
) -> list[ChainProblem]:
    known: dict[Path, str] = {}
    pending = list(children)
    while pending:
        child = pending.pop()
        known.update((g.file, g.c4) for g in child.generations)
        pending.extend(child.children)
    problems = []
    for generation in generations:
        for reference in generation.references:
            target = root / reference.path
            actual = known.get(target)
            if actual is None:
                problems.append(
                    ChainProblem(
                        ChainProblemKind.MISSING_CHILD,
                        target,
                        f"{generation.file} references {reference.path}, which is not part of "
                        "any nested history on disk",
                    )
                )
            elif actual != reference.c4:
                problems.append(
                    ChainProblem(
                        ChainProblemKind.REFERENCE_MISMATCH,
                        target,
                        f"{target} has C4 id {actual}, but {generation.file} recorded {reference.c4}",
                    )
                )
    return problems


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


# --- What writing and verifying read of a history ---------------------------


@dataclass(frozen=True, slots=True)
class _Outline:
    """A generation as write_generation and verify_folder need it: all but its <hash> entries."""

    sequence_number: int
    file: Path
    c4: str
    process: ProcessInfo
    references: tuple[HashListReference, ...]

    @property
    def file_name(self) -> str:
        return self.file.name


@dataclass(frozen=True, slots=True)
class _State:
    """A history as write_generation and verify_folder need it: like History, without per-file records.

    Its generations are outlines, and their <hash> entries only exist as the
    index they add up to. A long history holds hundreds of thousands of
    entries; building them as objects and keeping them (the garbage collector
    scans every one, again and again, while they pile up) costs more than the
    parse that finds them.
    """

    root: Path
    generations: tuple[_Outline, ...]  # sorted by sequence number
    index: _Index  # may be shared with _states: do not modify
    children: tuple[_State, ...] = ()
    problems: tuple[ChainProblem, ...] = ()

    def all_problems(self) -> list[ChainProblem]:
        found = list(self.problems)
        for child in self.children:
            found.extend(child.all_problems())
        return found


_Key = tuple[str, Path, int]  # (C4 id of the bytes, file, sequence number), as in the parse cache


@dataclass(frozen=True, slots=True)
class _Read:
    keys: tuple[_Key, ...]  # oldest first
    generations: tuple[_Outline, ...]
    index: _Index


class _StateCache:
    """What _read_state read of a history last (outlines, index), by ascmhl folder, least recently used out.

    write_generation reads the history it appends to, and the verification
    that usually follows reads it again with one generation more: that one
    is then the only one to parse or replay. Generations are told apart as in
    the parse cache, by the C4 id of their file's bytes, so a hit stands for
    identical bytes. Bounded by the files the indexes hold, like the parse
    cache by entries; safe to share between threads.
    """

    def __init__(self, max_paths: int) -> None:
        self._max_paths = max_paths
        self._held = 0
        self._reads: OrderedDict[Path, _Read] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, folder: Path) -> _Read | None:
        with self._lock:
            read = self._reads.get(folder)
            if read is not None:
                self._reads.move_to_end(folder)
            return read

    def put(self, folder: Path, read: _Read) -> None:
        with self._lock:
            replaced = self._reads.pop(folder, None)
            if replaced is not None:
                self._held -= len(replaced.index.reference)
            if len(read.index.reference) > self._max_paths:
                return
            self._reads[folder] = read
            self._held += len(read.index.reference)
            while self._held > self._max_paths:
                _folder, evicted = self._reads.popitem(last=False)
                self._held -= len(evicted.index.reference)

    def clear(self) -> None:
        with self._lock:
            self._reads.clear()
            self._held = 0


_states = _StateCache(max_paths=250_000)


def _read_state(root: Path) -> _State:
    """Read and check the history of ``root`` and its nested ones as read_history does, into a _State.

    Raises like read_history. Its generations are outlined and indexed oldest
    first, so each file is read in sequence order, not chain order.
    """
    folder, chain, files = _open_history(root)
    order = sorted(range(len(chain)), key=lambda position: chain[position].sequence_number)
    read, modified = _read_generations(chain, files, order, _states.get(folder))
    _states.put(folder, read)
    problems = [problem for _position, problem in sorted(modified, key=itemgetter(0))]
    problems.extend(_unlisted(folder, chain))
    children = tuple(_read_state(child) for child in _child_history_roots(root))
    problems.extend(_check_references(root, read.generations, children))
    return _State(root, read.generations, read.index, children, tuple(problems))


def _read_generations(
    chain: Sequence[_ChainEntry], files: Sequence[Path], order: Sequence[int], known: _Read | None
) -> tuple[_Read, list[tuple[int, ChainProblem]]]:
    """Outline and index the generations, oldest first (``order``), taking what ``known`` has.

    Each file is still read and C4-hashed, for the chain check. Returns the
    read and the MODIFIED problems with the chain positions of their files.
    """
    known_keys = known.keys if known is not None else ()
    keys: list[_Key] = []
    outlines: list[_Outline] = []
    modified: list[tuple[int, ChainProblem]] = []
    index = None  # until a generation is found that ``known`` does not cover
    buffer = _ReadBuffer()
    for position in order:
        entry, file = chain[position], files[position]
        data = buffer.read(file, "generation file")
        actual = c4_id(data)
        if actual != entry.c4:
            modified.append((position, _modified(file, actual, entry)))
        key = (actual, file, entry.sequence_number)
        keys.append(key)
        if index is None and known is not None and len(keys) <= len(known_keys):
            if known_keys[len(keys) - 1] != key:  # a generation changed since: start afresh
                return _read_generations(chain, files, order, None)
            outlines.append(known.generations[len(keys) - 1])
            continue
        if index is None:
            index = known.index.copy() if known is not None else _Index({}, set())
        generation = _parsed.get(*key)
        if generation is None:
            outlines.append(_parse_outline(data, file, entry.sequence_number, actual, index))
        else:
            _replay(index, generation.hashes)
            outlines.append(
                _Outline(entry.sequence_number, file, actual, generation.process, generation.references)
            )
    if index is None:
        if known is None:
            index = _Index({}, set())
        elif len(keys) == len(known_keys):
            index = known.index
        else:  # fewer generations than before
            return _read_generations(chain, files, order, None)
    return _Read(tuple(keys), tuple(outlines), index), modified


# --- Writing a generation ---------------------------------------------------

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


# What _xml_text escapes or refuses.
_TEXT_SPECIAL = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    if _XML_FORBIDDEN.search(value):
        raise ValueError(f"{value!r} contains control characters that XML cannot store")
    return value.translate(_TEXT_ESCAPES)


def _xml_attribute(value: str) -> str:
    if _XML_FORBIDDEN.search(value):
        raise ValueError(f"{value!r} contains control characters that XML cannot store")
    return value.translate(_ATTRIBUTE_ESCAPES)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _check_record(record: FileRecord) -> dict[str, str]:
    """Validate one caller record; return its hashes with normalised format names and values."""
    path = record.path
    parts = path.split("/")
    if _unsafe(path) or "\\" in path or "" in parts or "." in parts:
        raise ValueError(f"FileRecord.path must be a relative posix file path without '.'/'..': {path!r}")
    if ASCMHL_FOLDER in parts[:-1]:
        raise ValueError(f"{path!r} is inside an ascmhl folder; history files are not payload")
    if record.mtime.tzinfo is not UTC and record.mtime.utcoffset() is None:
        raise ValueError(f"FileRecord.mtime of {path!r} must be timezone-aware")
    if record.size < 0:
        raise ValueError(f"FileRecord.size of {path!r} is negative")
    if not record.hashes:
        raise ValueError(f"FileRecord for {path!r} has no hashes")
    hashes = {}
    for format_, value in record.hashes.items():
        name = format_.lower()
        if name not in HASH_FORMATS:
            raise ValueError(
                f"unknown hash format {format_!r} for {path!r}; use one of {', '.join(HASH_FORMATS)}"
            )
        if name == "c4":
            clean = value.strip()
            malformed = not _C4_ID.match(clean)
        else:
            clean = value.strip().lower()
            malformed = not clean or bool(clean.strip(_HEX_DIGITS))  # (a regex match takes twice as long)
        if malformed:
            raise ValueError(f"{format_} hash of {path!r} is malformed: {value!r}")
        hashes[name] = clean
    return hashes


_ORIGINAL = HashAction.ORIGINAL


def _actions(
    path: str, hashes: Mapping[str, str], known: Mapping[str, str] | None, history_root: Path
) -> dict[str, HashAction]:
    """Decide each hash's action against the file's reference values ``known``.

    A new path: all original. A known path: formats it had are verified or
    failed; a format new for it is original, unless another format of the
    same file failed now (then it describes damaged content and is recorded
    as failed too, so it can never become a reference value).
    """
    if known is None:
        return dict.fromkeys(hashes, HashAction.ORIGINAL)
    compared = {
        format_: HashAction.VERIFIED if known[format_] == value else HashAction.FAILED
        for format_, value in hashes.items()
        if format_ in known
    }
    if not compared:
        raise MHLError(
            f"the history in {history_root / ASCMHL_FOLDER} records {path} with "
            f"{', '.join(sorted(known))} only; pass one of those hashes too, so the file is verified "
            f"against its history before {', '.join(sorted(hashes))} is added"
        )
    new_action = HashAction.FAILED if HashAction.FAILED in compared.values() else HashAction.ORIGINAL
    return {format_: compared.get(format_, new_action) for format_ in hashes}


def _optional_attributes(**values: str | None) -> str:
    return "".join(
        f' {name}="{_xml_attribute(value)}"' for name, value in values.items() if value is not None
    )


def _hash_elements(entries: Sequence[HashEntry]) -> list[str]:
    """The XML of the <hash> elements, one string each: the hot loop of writing (one pass per file)."""
    # One scan over all paths finds out whether any needs escaping (or must be refused).
    plain = not _TEXT_SPECIAL.search("\n".join([entry.path for entry in entries]))
    # Files copied together share modification seconds; the hashes of a generation share a
    # hashdate and mostly an action, so their opening tag is rendered once per run of equal ones.
    dates: dict[datetime, str] = {}
    opened: tuple[str, HashAction | None, datetime | None] | None = None
    opening = closing = ""
    elements = []
    for path, size, modified, values, _previous in entries:
        size_attribute = f' size="{size}"' if size is not None else ""
        modified_attribute = ""
        if modified is not None:
            iso = dates.get(modified)
            if iso is None:
                iso = dates[modified] = _iso(modified)
            modified_attribute = f' lastmodificationdate="{iso}"'
        text = path if plain else _xml_text(path)
        element = f"    <hash>\n      <path{size_attribute}{modified_attribute}>{text}</path>\n"
        for format_, value, action, hash_date in values:
            if (format_, action, hash_date) != opened:
                opened = (format_, action, hash_date)
                action_attribute = f' action="{action.value}"' if action else ""
                date_attribute = f' hashdate="{_iso(hash_date)}"' if hash_date else ""
                opening, closing = f"      <{format_}{action_attribute}{date_attribute}>", f"</{format_}>\n"
            element += f"{opening}{value}{closing}"
        elements.append(element + "    </hash>")
    return elements


def _generation_xml(generation: Generation) -> bytes:
    """Serialise a generation built by write_generation (it has no directory hashes)."""
    creator, process = generation.creator, generation.process
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<hashlist version="2.0" xmlns="{MHL_NAMESPACE}">',
        "  <creatorinfo>",
        f"    <creationdate>{_iso(creator.creation_date)}</creationdate>",
        f"    <hostname>{_xml_text(creator.hostname)}</hostname>",
        f"    <tool{_optional_attributes(version=creator.tool_version)}>"
        f"{_xml_text(creator.tool_name)}</tool>",
    ]
    for author in creator.authors:
        attributes = _optional_attributes(email=author.email, phone=author.phone, role=author.role)
        lines.append(f"    <author{attributes}>{_xml_text(author.name)}</author>")
    if creator.location is not None:
        lines.append(f"    <location>{_xml_text(creator.location)}</location>")
    if creator.comment is not None:
        lines.append(f"    <comment>{_xml_text(creator.comment)}</comment>")
    lines += ["  </creatorinfo>", "  <processinfo>", f"    <process>{process.process_type}</process>"]
    if process.ignore_patterns:
        lines.append("    <ignore>")
        lines.extend(f"      <pattern>{_xml_text(pattern)}</pattern>" for pattern in process.ignore_patterns)
        lines.append("    </ignore>")
    lines.append("  </processinfo>")
    if generation.hashes:  # the XSD wants at least one entry inside <hashes>
        lines.append("  <hashes>")
        lines.extend(_hash_elements(generation.hashes))
        lines.append("  </hashes>")
    if generation.references:
        lines.append("  <references>")
        for reference in generation.references:
            lines += [
                "    <hashlistreference>",
                f"      <path>{_xml_text(reference.path)}</path>",
                f"      <c4>{reference.c4}</c4>",
                "    </hashlistreference>",
            ]
        lines.append("  </references>")
    lines.append("</hashlist>\n")
    try:
        return "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError as exc:
        # Undecodable file-name bytes arrive as lone surrogates; XML cannot carry them.
        raise ValueError(
            f"a path or creator field is not valid Unicode: {exc.object[exc.start : exc.end]!r}"
        ) from exc


def _chain_xml(entries: Sequence[_ChainEntry]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<ascmhldirectory xmlns="{CHAIN_NAMESPACE}">']
    for entry in entries:
        lines += [
            f'  <hashlist sequencenr="{entry.sequence_number}">',
            f"    <path>{_xml_text(entry.file_name)}</path>",
            f"    <c4>{entry.c4}</c4>",
            "  </hashlist>",
        ]
    lines.append("</ascmhldirectory>\n")
    return "\n".join(lines).encode("utf-8")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    """Write to a temporary name, fsync, rename over ``path``, fsync the folder.

    Readers see the old file or the complete new one, never a partial write,
    even across a power cut. The temporary name does not end in ``.mhl``, so
    no MHL reader mistakes a leftover for a generation.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise MHLError(f"cannot write {path}: {exc.strerror}; check free space and permissions") from exc
    _fsync_folder(path.parent)


def _empty_state(root: Path) -> _State:
    """A root without a history yet, with any nested histories below it."""
    return _State(
        root, (), _Index({}, set()), tuple(_read_state(child) for child in _child_history_roots(root))
    )


class _WholeSeconds:
    """Like _to_seconds, but one datetime object per second.

    Files copied together share their modification second. Sharing the object
    lets the writer render each date once: a datetime computes its hash once,
    and hashing an aware datetime takes as long as building one.
    """

    def __init__(self) -> None:
        self._known: dict[int, datetime] = {}

    def __call__(self, moment: datetime) -> datetime:
        stamp = moment.timestamp()
        if not 0 <= stamp < 2**32:  # later than 2106, a float cannot tell .999999 from the next second
            return _to_seconds(moment)
        second = self._known.get(int(stamp))
        if second is None:
            second = self._known[int(stamp)] = _to_seconds(moment)
        return second


def _new_entries(
    history: _State, records: Sequence[tuple[str, FileRecord, dict[str, str]]], stamp: datetime
) -> tuple[HashEntry, ...]:
    """The <hash> entries recording ``records`` in a new generation of ``history``, hashed at ``stamp``."""
    index = history.index.reference
    whole_second = _WholeSeconds()
    new = tuple.__new__  # (see _hash_entries)
    ordered: dict[tuple[str, ...], tuple[str, ...]] = {}  # a record's formats -> in the XSD's order
    entries = []
    for path, record, hashes in records:
        formats = ordered.get(tuple(hashes))
        if formats is None:
            formats = ordered[tuple(hashes)] = tuple(f for f in HASH_FORMATS if f in hashes)
        known = index.get(path)
        if known is None and len(formats) == 1:  # a new file with one hash: most records of a new card
            format_ = formats[0]
            values: tuple[HashValue, ...] = (new(HashValue, (format_, hashes[format_], _ORIGINAL, stamp)),)
        else:
            actions = _actions(path, hashes, known, history.root)
            values = tuple([new(HashValue, (f, hashes[f], actions[f], stamp)) for f in formats])
        entries.append(new(HashEntry, (path, record.size, whole_second(record.mtime), values, None)))
    return tuple(entries)


def _append(
    history: _State,
    records: Sequence[tuple[str, FileRecord, dict[str, str]]],
    references: Sequence[HashListReference],
    *,
    creator: CreatorInfo,
    process: ProcessInfo,
) -> Generation:
    """Write one new generation of ``history`` (record paths relative to its root) and list it in the chain.

    The Generation is built first and then serialised, so it is exactly what
    parsing the written file gives back; it goes into the parse cache, since
    a verification usually follows at once.
    """
    stamp = creator.creation_date
    entries = _new_entries(history, records, stamp)
    number = max((g.sequence_number for g in history.generations), default=0) + 1
    folder = history.root / ASCMHL_FOLDER
    file = folder / f"{number:04d}_{history.root.resolve().name}_{stamp:%Y-%m-%d_%H%M%S}Z.mhl"
    generation = Generation(number, file, "", creator, process, entries, references=tuple(references))
    data = _generation_xml(generation)
    generation = replace(generation, c4=c4_id(data))
    # The history passed its checks, so the chain's entries are exactly its generations.
    chain = [_ChainEntry(g.sequence_number, g.file_name, g.c4) for g in history.generations]
    chain.append(_ChainEntry(generation.sequence_number, generation.file_name, generation.c4))
    folder.mkdir(exist_ok=True)
    _write_durably(file, data)
    _write_durably(folder / CHAIN_FILE, _chain_xml(chain))
    _parsed.put(generation)
    return generation


def _to_seconds(moment: datetime) -> datetime:
    """``moment`` in UTC without microseconds: what a generation file stores."""
    utc = moment.astimezone(UTC)
    # Not utc.replace(microsecond=0): that takes twice as long, and this runs once per file.
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, 0, UTC)


def write_generation(
    root: str | os.PathLike[str],
    *,
    files: Iterable[FileRecord],
    creator: Creator,
    process_type: ProcessType = "transfer",
    ignore_patterns: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Path:
    """Append a new generation recording ``files`` to the history of ``root``.

    Returns the path of the new generation file in ``root/ascmhl/`` (created,
    with its chain file, when there is no history yet). Payload files are not
    read: ``files`` carries the hashes computed while copying. Each hash gets
    its action against the history: ``verified`` when it matches the file's
    most recent good record in that format, ``failed`` when it does not, and
    ``original`` when the file is new to the history or the format is new for
    it (then only if no other format of that file failed). Files below a
    nested history go into a new generation of that history, which the
    root's new generation references. Ignore patterns default to those of the
    latest generation, else DEFAULT_IGNORE_PATTERNS. Two writers must not
    append to one history at the same time (the caller serialises them).

    Raises ValueError for a malformed record or argument, and MHLError when
    the existing history is unreadable or fails its own chain checks
    (nothing is appended then) or a known file brings no hash format its
    history has (so it could not be verified).
    """
    root = Path(root)
    if process_type not in _PROCESS_TYPES:
        raise ValueError(f"process_type must be one of {', '.join(_PROCESS_TYPES)}, not {process_type!r}")
    for author in creator.authors:
        if author.email is not None and not _EMAIL.match(author.email):
            raise ValueError(f"author e-mail {author.email!r} is not an address the ASC MHL schema accepts")
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if ignore_patterns is not None:
        ignore_patterns = tuple(pattern.strip() for pattern in ignore_patterns)
        if "" in ignore_patterns:
            raise ValueError("ignore_patterns contains an empty pattern")
    info = CreatorInfo(
        _to_seconds(now or datetime.now(UTC)),
        creator.hostname,
        creator.tool_name,
        creator.tool_version,
        creator.authors,
        creator.location,
        creator.comment,
    )
    records: dict[str, tuple[FileRecord, dict[str, str]]] = {}
    for record in files:
        if record.path in records:
            raise ValueError(f"{record.path!r} is listed twice")
        records[record.path] = (record, _check_record(record))
    if not records:
        raise ValueError("files is empty: a generation records at least one file")
    if not root.is_dir():
        raise MHLError(
            f"{root} is not a folder; write the history into the folder that holds the copied files"
        )

    folder = root / ASCMHL_FOLDER
    started = folder.is_dir() and any(
        e.name == CHAIN_FILE or _GENERATION_NAME.match(e.name) for e in _scan(folder)
    )
    history = _read_state(root) if started else _empty_state(root)
    if problems := history.all_problems():
        raise MHLError(
            "refusing to append to a history that fails its own checks: "
            + "; ".join(p.message for p in problems)
            + ". Investigate, and restore the history from a trusted copy first."
        )

    histories = _nested_histories(history)
    owned = _share_out(records, histories)
    # Deepest first, so that each parent can reference its children's new generation files.
    written: dict[str, Generation] = {}
    for prefix in sorted(histories, key=lambda p: p.count("/") + bool(p), reverse=True):
        references = [
            HashListReference(
                f"{child[len(prefix) + 1 :] if prefix else child}/{ASCMHL_FOLDER}/{g.file_name}", g.c4
            )
            for child, g in written.items()
            if child and _owner(child, histories) == prefix
        ]
        if prefix and not owned[prefix] and not references:
            continue
        target = histories[prefix]
        patterns = ignore_patterns
        if patterns is None:
            latest = target.generations[-1].process.ignore_patterns if target.generations else ()
            patterns = latest or DEFAULT_IGNORE_PATTERNS
        process = ProcessInfo(process_type, ignore_patterns=tuple(patterns))
        written[prefix] = _append(target, owned[prefix], references, creator=info, process=process)
    return written[""].file


def _share_out(
    records: Mapping[str, tuple[FileRecord, dict[str, str]]], histories: Mapping[str, _State]
) -> dict[str, list[tuple[str, FileRecord, dict[str, str]]]]:
    """Give each record to the deepest history whose folder contains it, with its path made relative to it."""
    owned: dict[str, list[tuple[str, FileRecord, dict[str, str]]]] = {prefix: [] for prefix in histories}
    nested = len(histories) > 1
    for path in sorted(records):
        prefix = _owner(path, histories) if nested else ""
        record, hashes = records[path]
        owned[prefix].append((path[len(prefix) + 1 :] if prefix else path, record, hashes))
    return owned


def _nested_histories(history: _State, prefix: str = "") -> dict[str, _State]:
    """``{folder relative to the outermost root, posix: history}``, the outermost one at ""."""
    found = {prefix: history}
    for child in history.children:
        relative = child.root.relative_to(history.root).as_posix()
        found.update(_nested_histories(child, f"{prefix}/{relative}" if prefix else relative))
    return found


def _owner(path: str, histories: Mapping[str, object]) -> str:
    """The key of the deepest folder in ``histories`` that contains ``path``; "" when none does."""
    folder = path
    while "/" in folder:
        folder = folder.rpartition("/")[0]
        if folder in histories:
            return folder
    return ""


# --- Verification -----------------------------------------------------------


class _IgnoreRules:
    """The gitignore-style patterns of an MHL ``<ignore>`` list (the subset MHL tools write).

    A pattern without a slash (``.DS_Store``, ``*.tmp``) matches a name at
    any depth; one with a slash is anchored at the history root and may use
    ``**`` for any number of folders; a trailing slash matches folders only.
    Negation (``!pattern``) is not supported and skipped.
    """

    _WILDCARDS = re.compile(r"[*?\[]")

    def __init__(self, patterns: Iterable[str]) -> None:
        # Plain names are looked up in sets: matching runs once per file of a card.
        self._names: dict[bool, set[str]] = {False: set(), True: set()}  # folders only -> names
        self._name_globs: list[tuple[str, bool]] = []
        self._anchored: list[tuple[tuple[str, ...], bool]] = []
        for pattern in patterns:
            folders_only = pattern.endswith("/")
            body = pattern.strip("/")
            if not body or pattern.startswith("!"):
                continue
            if "/" in pattern.rstrip("/"):
                self._anchored.append((tuple(body.split("/")), folders_only))
            elif self._WILDCARDS.search(body):
                self._name_globs.append((body, folders_only))
            else:
                self._names[folders_only].add(body)
        self._file_names = self._names[False]
        self._has_patterns = bool(self._name_globs or self._anchored)

    def matches(self, path: str, *, is_folder: bool) -> bool:
        name = path.rpartition("/")[2]
        if name in self._names[False] or (is_folder and name in self._names[True]):
            return True
        return self._matches_pattern(path, name, is_folder)

    def matches_file(self, path: str, name: str) -> bool:
        """``matches(path, is_folder=False)`` for a file called ``name``: once per file of a card."""
        return name in self._file_names or (self._has_patterns and self._matches_pattern(path, name, False))

    def _matches_pattern(self, path: str, name: str, is_folder: bool) -> bool:
        for glob, folders_only in self._name_globs:
            if (is_folder or not folders_only) and fnmatchcase(name, glob):
                return True
        for pattern, folders_only in self._anchored:
            if (is_folder or not folders_only) and _match_parts(pattern, path.split("/")):
                return True
        return False

    def covers(self, path: str) -> bool:
        """True when the file ``path`` or one of the folders above it is ignored."""
        parts = path.split("/")
        folders = ("/".join(parts[:i]) for i in range(1, len(parts)))
        return self.matches(path, is_folder=False) or any(self.matches(f, is_folder=True) for f in folders)


def _match_parts(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_parts(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match_parts(rest, parts[1:])


def _read_rest(fd: int, size: int, data: bytes) -> bytes:
    """Finish reading a file of ``size`` bytes after a first, short read gave ``data``."""
    while len(data) < size and (chunk := os.pread(fd, size - len(data), len(data))):
        data += chunk
    return data


def _hash_payload(path: str | Path, algorithms: Sequence[str], drop_cache: bool) -> dict[str, str]:
    """``{algorithm: hexdigest}`` of one file; raises hashing.HashingError when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise hashing.HashingError(f"cannot open {path}: {exc.strerror}") from exc
    try:
        # The size from lseek rather than fstat: the same for a regular file, without building
        # a stat_result, which takes longer than reading a small file.
        size = os.lseek(fd, 0, os.SEEK_END)
        small = size <= _SMALL_FILE_LIMIT
        if small:
            if drop_cache:
                hashing.drop_cache(fd)
            data = os.pread(fd, size + 1, 0)  # one byte more: a file that grew meanwhile will not match
            if len(data) < size:
                data = _read_rest(fd, size, data)
    except OSError as exc:
        raise hashing.HashingError(f"cannot read {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if not small:
        return hashing.hash_file(path, algorithms, drop_cache_first=drop_cache)
    digests = {}
    for algorithm in algorithms:
        digest = _DIGESTS.get(algorithm)
        if digest is None:
            hasher = hashing.new_hash(algorithm)
            hasher.update(data)
            digests[algorithm] = hasher.hexdigest()
        else:
            digests[algorithm] = digest(data)
    return digests


def _hash_many(
    jobs: Sequence[tuple[str, Sequence[str]]], drop_cache: bool, workers: int
) -> list[dict[str, str] | hashing.HashingError]:
    """Hash every job's file (in ``workers`` threads); an unreadable file yields its HashingError."""

    def run(batch: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, str] | hashing.HashingError]:
        results: list[dict[str, str] | hashing.HashingError] = []
        for path, algorithms in batch:
            try:
                results.append(_hash_payload(path, algorithms, drop_cache))
            except hashing.HashingError as exc:
                results.append(exc)
        return results

    if workers <= 1 or len(jobs) < 2:
        return run(jobs)
    # Batches amortise the hand-off to a thread, which costs as much as hashing a small file.
    size = max(1, -(-len(jobs) // (workers * 4)))
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [result for batch in pool.map(run, batches) for result in batch]


def _choose_formats(known: Mapping[str, str], algorithms: Sequence[str] | None) -> list[str]:
    """The formats to check a file in: the requested ones it has, else the fastest one it has."""
    if algorithms is not None:
        return [f for f in algorithms if f in known]
    return [f for f in _FASTEST_FIRST if f in known][:1]


@dataclass(slots=True)
class _Walk:
    """Payload files of one history found on disk, relative to that history's root."""

    files: list[str]
    child_folders: dict[str, _State]  # relative folder -> nested history that owns it


def _walk_payload(history: _State, rules: _IgnoreRules) -> _Walk:
    children = {child.root.relative_to(history.root).as_posix(): child for child in history.children}
    files: list[str] = []
    pending = [""]
    while pending:
        relative_folder = pending.pop()
        for entry in _scan(history.root / relative_folder):
            relative = f"{relative_folder}/{entry.name}" if relative_folder else entry.name
            if entry.is_dir(follow_symlinks=False):
                if (
                    entry.name == ASCMHL_FOLDER
                    or relative in children
                    or rules.matches(relative, is_folder=True)
                ):
                    continue
                pending.append(relative)
            elif entry.is_file() and not rules.matches_file(relative, entry.name):
                files.append(relative)
    return _Walk(files, children)


def _verify_history(
    history: _State, prefix: str, algorithms: Sequence[str] | None, drop_cache: bool, workers: int
) -> list[FileCheck]:
    """Check the files one history owns; nested histories check theirs (recursively)."""
    latest = history.generations[-1].process.ignore_patterns if history.generations else ()
    rules = _IgnoreRules(latest or DEFAULT_IGNORE_PATTERNS)
    index = history.index
    walk = _walk_payload(history, rules)
    checks: list[FileCheck] = []
    to_hash: list[tuple[str, list[str], dict[str, str]]] = []  # (path, formats, expected values)
    chosen: dict[tuple[str, ...], list[str]] = {}  # formats to check, per set of recorded formats
    for relative in walk.files:
        known = index.reference.get(relative)
        if known is None:
            checks.append(FileCheck(prefix + relative, FileStatus.NEW, message="not recorded in the history"))
            continue
        recorded = tuple(known)
        formats = chosen.get(recorded)
        if formats is None:
            formats = chosen[recorded] = _choose_formats(known, algorithms)
        if len(formats) == 1:
            to_hash.append((relative, formats, {formats[0]: known[formats[0]]}))
        elif formats:
            to_hash.append((relative, formats, {f: known[f] for f in formats}))
        else:
            message = (
                f"the history has no {', '.join(algorithms or _FASTEST_FIRST)} hash for this file "
                f"(it has {', '.join(sorted(known))})"
            )
            failed_before = relative in index.last_failed
            checks.append(
                FileCheck(prefix + relative, FileStatus.UNVERIFIABLE, dict(known), {}, failed_before, message)
            )

    # Plain strings: building 2,000 Path objects costs more than hashing 2,000 small files.
    root = os.fspath(history.root)
    results = _hash_many([(f"{root}/{path}", formats) for path, formats, _ in to_hash], drop_cache, workers)
    last_failed = index.last_failed
    for (relative, _, expected), result in zip(to_hash, results, strict=True):
        if result == expected:  # the usual outcome, without a call per file
            checks.append(
                FileCheck(prefix + relative, FileStatus.OK, expected, result, relative in last_failed)
            )
        else:
            checks.append(_judge(prefix + relative, expected, result, relative in last_failed))

    for relative in index.reference.keys() - set(walk.files):
        if rules.covers(relative):
            continue
        # A record from before a nested history took over this folder: the child checks the file.
        if _owner(relative, walk.child_folders) and (history.root / relative).is_file():
            continue
        expected = dict(index.reference[relative])
        failed_before = relative in index.last_failed
        message = "recorded in the history but not on disk"
        checks.append(FileCheck(prefix + relative, FileStatus.MISSING, expected, {}, failed_before, message))
    for folder, child in walk.child_folders.items():
        checks.extend(_verify_history(child, f"{prefix}{folder}/", algorithms, drop_cache, workers))
    return checks


def _judge(
    path: str, expected: dict[str, str], result: dict[str, str] | hashing.HashingError, failed_before: bool
) -> FileCheck:
    if isinstance(result, hashing.HashingError):
        return FileCheck(path, FileStatus.UNVERIFIABLE, expected, {}, failed_before, str(result))
    if result == expected:
        return FileCheck(path, FileStatus.OK, expected, result, failed_before)
    differing = ", ".join(f for f in expected if expected[f] != result[f])
    message = f"content differs from the history ({differing})"
    return FileCheck(path, FileStatus.MISMATCH, expected, result, failed_before, message)


_by_path = attrgetter("path")


def verify_folder(
    root: str | os.PathLike[str],
    *,
    algorithms: Sequence[str] | None = None,
    drop_cache: bool = False,
    workers: int = 1,
) -> VerifyReport:
    """Re-hash every payload file under ``root`` and compare it with its history.

    Each file is compared with the most recent good (original or verified)
    hash its history recorded; files below a nested history are checked
    against that history. ``algorithms=None`` checks the fastest format the
    history has for each file; a list checks exactly those of its formats
    that the history has. ``drop_cache`` reads from the device rather than
    the page cache (see hashing.py). ``workers`` > 1 hashes files in that
    many threads: faster on SSDs and network storage, slower on a single
    spinning disk (seeks). Ignore patterns of each history's latest
    generation are honoured; ``ascmhl/`` folders are never payload.

    Returns a VerifyReport with one FileCheck per file (ok / mismatch /
    missing / new / unverifiable), sorted by path, plus the chain problems of
    every history involved. Raises MHLError when a history cannot be read
    and ValueError for an unknown algorithm.
    """
    if algorithms is not None:
        algorithms = [a.lower() for a in algorithms]
        unknown = [a for a in algorithms if a not in hashing.ALGORITHMS]
        if unknown or not algorithms:
            raise ValueError(
                f"algorithms must name some of {', '.join(hashing.ALGORITHMS)}; got {list(algorithms)}"
            )
    history = _read_state(Path(root))
    checks = _verify_history(history, "", algorithms, drop_cache, workers)
    return VerifyReport(history.root, tuple(sorted(checks, key=_by_path)), tuple(history.all_problems()))


# --- Legacy MHL v1 ----------------------------------------------------------

# MHL v1 element -> (hashing name, how the value is written)
_V1_FORMATS = {
    "md5": ("md5", "hex"),
    "sha1": ("sha1", "hex"),
    "xxhash": ("xxh32", "decimal"),
    "xxhash64": ("xxh64", "little-endian hex"),
    "xxhash64be": ("xxh64", "hex"),
}
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# Without a BOM, the first characters "<?" give UTF-16/32 away (XML 1.0 appendix F).
_UNMARKED = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_TEXT_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _as_utf8_xml(data: bytes, file: Path) -> bytes:
    """Return the document re-encoded as UTF-8 with no encoding declaration.

    Expat itself only knows UTF-8/16, Latin-1 and ASCII; MHL v1 tools also
    wrote Windows-1251, ISO-8859-15, EUC-JP and more, so Python decodes.
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    encoding = encoding or next((name for mark, name in _UNMARKED if data.startswith(mark)), None)
    if encoding is None:
        declared = _DECLARATION.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        text = data.decode(encoding)
    except LookupError as exc:
        raise MHLError(
            f"{file} declares the unknown text encoding {encoding!r}; convert it to UTF-8"
        ) from exc
    except UnicodeDecodeError as exc:
        raise MHLError(
            f"{file} is not valid {encoding} text (byte {exc.start}); it may be damaged. "
            "Restore it from another copy"
        ) from exc
    return _TEXT_DECLARATION.sub("", text, count=1).encode("utf-8")


def _v1_value(element: etree._Element, hash_name: str, read: _FieldReader) -> tuple[str, str] | None:
    """``(format, canonical hex)`` for one v1 hash element; None for <null/> and non-hash elements."""
    if hash_name not in _V1_FORMATS:
        return None
    format_, written = _V1_FORMATS[hash_name]
    value = read.token(element).lower()
    try:
        if written == "decimal":
            return format_, f"{int(value):08x}"
        if written == "little-endian hex":
            return format_, bytes.fromhex(value)[::-1].hex()
        bytes.fromhex(value)  # only validates
        return format_, value
    except ValueError as exc:
        raise read.fail(f"{hash_name} value {value!r} is malformed") from exc


def _v1_date(value: str | None, read: _FieldReader) -> datetime | None:
    # mhlcreate wrote "2012-12-01 18-34-54" (no zone); mhl-tool wrote ISO 8601 with "Z".
    if value and (legacy := re.fullmatch(r"(\d{4}-\d\d-\d\d) (\d\d)-(\d\d)-(\d\d)", value.strip())):
        value = f"{legacy[1]}T{legacy[2]}:{legacy[3]}:{legacy[4]}"
    return read.date(value)


def read_mhl_v1(path: str | os.PathLike[str]) -> list[V1Entry]:
    """Read a legacy MHL v1 file (any text encoding) and return its entries in file order.

    Dates without a zone (as mhlcreate wrote them) come back naive. Raises
    MHLError when the file is missing, malformed, an XML bomb, not MHL v1, or
    records two different values for one hash.
    """
    file = Path(path)
    read = _FieldReader(file)
    data = _as_utf8_xml(_read_bytes(file, "MHL file"), file)
    entries: list[V1Entry] = []
    root = _parse_xml(data, file)
    for element in root.iter("{*}hash"):
        children: dict[str, etree._Element] = {}
        hashes: dict[str, str] = {}
        for child in element:
            name = _local(child.tag)
            value = _v1_value(child, name, read)
            if value is None:
                children[name] = child
            elif hashes.setdefault(*value) != value[1]:
                raise read.fail(f"it records two different {value[0]} values for one file")
        if "file" not in children:
            raise read.fail("a <hash> element has no <file>")
        field_text = {name: read.token(child) for name, child in children.items()}
        entries.append(
            V1Entry(
                read.path(children["file"]),
                read.integer(field_text.get("size")),
                hashes,
                _v1_date(field_text.get("lastmodificationdate"), read),
                _v1_date(field_text.get("hashdate"), read),
            )
        )
    if _local(root.tag) != "hashlist":
        raise MHLError(f"{file} is not an MHL file (no <hashlist> root); check the path")
    return entries


def _xxh32_file(path: Path) -> str:
    # hashing.py has no 32-bit xxHash (nothing records it any more but v1 files).
    hasher = xxhash.xxh32()
    with path.open("rb") as stream:
        while chunk := stream.read(hashing.CHUNK_SIZE):
            hasher.update(chunk)
    return hasher.hexdigest()


def verify_mhl_v1(
    path: str | os.PathLike[str], *, base: str | os.PathLike[str] | None = None, drop_cache: bool = False
) -> VerifyReport:
    """Check the files a legacy MHL v1 file lists; paths are relative to ``base`` (default: its folder).

    Every recorded hash is compared, so a v1 file whose hashes disagree with
    each other shows as a mismatch. An entry with only ``<null/>`` is
    UNVERIFIABLE when its size matches (existence was all it promised).
    Files on disk that the MHL does not list are not reported. Raises
    MHLError when the MHL file cannot be read.
    """
    file = Path(path)
    folder = Path(base) if base is not None else file.parent
    checks = []
    for entry in read_mhl_v1(file):
        target = folder / entry.file
        if not target.is_file():
            checks.append(
                FileCheck(entry.file, FileStatus.MISSING, entry.hashes, message="listed but not on disk")
            )
            continue
        if entry.size is not None and target.stat().st_size != entry.size:
            checks.append(
                FileCheck(
                    entry.file,
                    FileStatus.MISMATCH,
                    entry.hashes,
                    message=f"size is {target.stat().st_size}, the MHL file says {entry.size}",
                )
            )
            continue
        if not entry.hashes:
            checks.append(
                FileCheck(entry.file, FileStatus.UNVERIFIABLE, message="no hash recorded (<null/>)")
            )
            continue
        others = [f for f in entry.hashes if f != "xxh32"]
        try:
            actual = _hash_payload(target, others, drop_cache) if others else {}
            if "xxh32" in entry.hashes:
                actual["xxh32"] = _xxh32_file(target)
        except (hashing.HashingError, OSError) as exc:
            checks.append(FileCheck(entry.file, FileStatus.UNVERIFIABLE, entry.hashes, message=str(exc)))
            continue
        differing = [f for f in entry.hashes if entry.hashes[f] != actual[f]]
        status = FileStatus.MISMATCH if differing else FileStatus.OK
        message = f"content differs ({', '.join(differing)})" if differing else ""
        checks.append(FileCheck(entry.file, status, entry.hashes, actual, message=message))
    return VerifyReport(folder, tuple(sorted(checks, key=_by_path)))

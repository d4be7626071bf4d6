"""Reading ASC MHL v2 generations and histories, with the caches that keep what was read.

read_history and read_generation build the full model. write_generation and verify_folder
read through _read_state instead, which keeps no object per recorded file (see _State).
The two caches (_parsed, _states) live here and only here: writing puts the generation it
wrote into _parsed, and clear_parse_cache empties both.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from pathlib import Path

from lxml import etree

from copyengine.mhl.model import (
    _GENERATION_NAME,
    ASCMHL_FOLDER,
    CHAIN_FILE,
    Author,
    ChainProblem,
    ChainProblemKind,
    CreatorInfo,
    DirectoryHash,
    DirectoryHashValue,
    Generation,
    HashAction,
    HashEntry,
    HashListReference,
    HashValue,
    History,
    MHLError,
    ProcessInfo,
    _Entry,
    _Index,
    _replay,
    c4_id,
)
from copyengine.mhl.xmlsafe import _child, _local, _parse_xml, _unsafe


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
    _creator, process, directories, references = _parse_head(root, read)
    _replay(index, _hash_entries(root, read))
    return _Outline(sequence_number, file, c4, process, references, directories)


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


def _owner(path: str, histories: Mapping[str, object]) -> str:
    """The key of the deepest folder in ``histories`` that contains ``path``; "" when none does."""
    folder = path
    while "/" in folder:
        folder = folder.rpartition("/")[0]
        if folder in histories:
            return folder
    return ""


# --- What writing and verifying read of a history ---------------------------


@dataclass(frozen=True, slots=True)
class _Outline:
    """A generation as write_generation and verify_folder need it: all but its <hash> entries."""

    sequence_number: int
    file: Path
    c4: str
    process: ProcessInfo
    references: tuple[HashListReference, ...]
    directories: tuple[DirectoryHash, ...] = ()  # what verify_folder checks folders against

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
                _Outline(
                    entry.sequence_number,
                    file,
                    actual,
                    generation.process,
                    generation.references,
                    generation.directory_hashes,
                )
            )
    if index is None:
        if known is None:
            index = _Index({}, set())
        elif len(keys) == len(known_keys):
            index = known.index
        else:  # fewer generations than before
            return _read_generations(chain, files, order, None)
    return _Read(tuple(keys), tuple(outlines), index), modified

"""Appending a generation to an ASC MHL v2 history: write_generation and its XML serialisation."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from copyengine import fsnames
from copyengine.mhl.directories import FolderHashes, folder_hashes
from copyengine.mhl.model import (
    _C4_ID,
    _GENERATION_NAME,
    _PROCESS_TYPES,
    ASCMHL_FOLDER,
    CHAIN_FILE,
    CHAIN_NAMESPACE,
    DEFAULT_IGNORE_PATTERNS,
    HASH_FORMATS,
    MHL_NAMESPACE,
    Author,
    CreatorInfo,
    DirectoryHash,
    DirectoryHashValue,
    Generation,
    HashAction,
    HashEntry,
    HashListReference,
    HashValue,
    MHLError,
    ProcessInfo,
    ProcessType,
    _Index,
    c4_id,
)
from copyengine.mhl.reading import (
    _ChainEntry,
    _child_history_roots,
    _owner,
    _parsed,
    _read_chain,
    _read_state,
    _scan,
    _State,
    read_generation,
)
from copyengine.mhl.xmlsafe import _TEXT_SPECIAL, _XML_FORBIDDEN, _unsafe, _xml_attribute, _xml_text

_HEX_DIGITS = "0123456789abcdef"
_EMAIL = re.compile(r"^[^@]+@[^.]+\..+$")  # the XSD's EmailAddressAttributeType


# --- Writing input ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file the caller copied and hashed, to be recorded in a new generation."""

    path: str  # posix, relative to the root given to write_generation
    size: int
    mtime: datetime  # timezone-aware
    hashes: Mapping[str, str]  # {format: hex}, formats from HASH_FORMATS


@dataclass(frozen=True, slots=True)
class FolderRecord:
    """A folder of the copied tree (an empty one included), for the generation's directory hashes."""

    path: str  # posix, relative to the root given to write_generation
    mtime: datetime | None  # timezone-aware


@dataclass(frozen=True, slots=True)
class Creator:
    """Who and what writes a new generation."""

    tool_version: str
    tool_name: str = "Reelvault"
    hostname: str = field(default_factory=socket.gethostname)
    authors: tuple[Author, ...] = ()
    location: str | None = None
    comment: str | None = None


# --- Writing a generation ---------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def unrecordable(path: str) -> str | None:
    """Why ASC MHL cannot record a file at ``path`` (a catalog name, see copyengine/fsnames.py), or None.

    ASC MHL is UTF-8 XML with '/' as its only separator: bytes that are not
    UTF-8, a backslash (a separator to the reference tool on Windows) and
    control characters XML 1.0 cannot carry have no faithful form in it.
    The sentence says what to do instead.
    """
    if fsnames.not_utf8(path):
        reason = "its name is not UTF-8"
    elif "\\" in path:
        reason = "its name has a backslash, which ASC MHL tools read as a folder separator"
    elif _XML_FORBIDDEN.search(path):
        reason = "its name has a control character XML cannot carry"
    else:
        return None
    return (
        f"{reason}, so the ASC MHL history cannot record it; the file was copied and verified and its "
        "hashes are in the catalog and the transfer report: check it from there (or rename it on the card "
        "and offload again to have it in the history)"
    )


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


def _directory_values(values: Sequence[DirectoryHashValue], indent: str) -> list[str]:
    """The <content> and <structure> elements of a <directoryhash> or <roothash>."""
    lines = []
    for part in ("content", "structure"):
        lines.append(f"{indent}<{part}>")
        for value in values:
            digest = value.content if part == "content" else value.structure
            date = f' hashdate="{_iso(value.hash_date)}"' if value.hash_date else ""
            lines.append(f"{indent}  <{value.format}{date}>{digest}</{value.format}>")
        lines.append(f"{indent}</{part}>")
    return lines


def _directory_elements(directories: Sequence[DirectoryHash]) -> list[str]:
    lines = []
    for directory in directories:
        modified = directory.last_modification_date
        attribute = f' lastmodificationdate="{_iso(modified)}"' if modified else ""
        lines += ["    <directoryhash>", f"      <path{attribute}>{_xml_text(directory.path)}</path>"]
        lines += _directory_values(directory.hashes, "      ")
        lines.append("    </directoryhash>")
    return lines


def _generation_xml(generation: Generation) -> bytes:
    """Serialise a generation built by write_generation."""
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
    if process.root_hash:
        lines += ["    <roothash>", *_directory_values(process.root_hash, "      "), "    </roothash>"]
    if process.ignore_patterns:
        lines.append("    <ignore>")
        lines.extend(f"      <pattern>{_xml_text(pattern)}</pattern>" for pattern in process.ignore_patterns)
        lines.append("    </ignore>")
    lines.append("  </processinfo>")
    if generation.hashes or generation.directory_hashes:  # the XSD wants at least one entry inside
        lines.append("  <hashes>")
        lines.extend(_hash_elements(generation.hashes))
        lines.extend(_directory_elements(generation.directory_hashes))
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
    directories: Sequence[DirectoryHash] = (),
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
    generation = Generation(
        number, file, "", creator, process, entries, tuple(directories), references=tuple(references)
    )
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


# --- Recovering from a crash between a generation and its chain ------------

#: A generation file that could not be vouched for after a crash is renamed to this (no longer ``.mhl``).
SET_ASIDE_SUFFIX = ".reelvault-set-aside"


def _vouch(file: Path, history_root: Path, tool_name: str) -> str | None:
    """Why a generation found unlisted after a crash cannot be chained, or None when it checks out.

    It must parse, be written by this tool, and every file it records must be
    in the history's folder with the recorded size (it was written right
    after those files were copied and verified).
    """
    try:
        generation = read_generation(file)
    except MHLError as exc:
        return f"it cannot be read ({exc})"
    if generation.creator.tool_name != tool_name:
        return f"it was written by {generation.creator.tool_name or 'another tool'}, not {tool_name}"
    for entry in generation.hashes:
        if _unsafe(entry.path):
            return f"it records an unsafe path {entry.path!r}"
        try:
            size = (history_root / entry.path).stat().st_size
        except OSError:
            return f"{entry.path}, which it records, is not in {history_root}"
        if entry.size is not None and size != entry.size:
            return f"{entry.path} is {size} bytes, it records {entry.size}"
    return None


def _recover_folder(history_root: Path, tool_name: str) -> list[str]:
    folder = history_root / ASCMHL_FOLDER
    if not folder.is_dir():
        return []
    found = {e.name: e for e in _scan(folder) if _GENERATION_NAME.match(e.name)}
    has_chain = (folder / CHAIN_FILE).is_file()
    if not found or (has_chain and not found.keys() - {c.file_name for c in _read_chain(folder)}):
        return []
    if not has_chain and len(found) > 1:
        return []  # a crash leaves one generation without a chain, never several: not ours to fix
    chain = _read_chain(folder) if has_chain else []
    listed = {entry.file_name for entry in chain}
    last = max((entry.sequence_number for entry in chain), default=0)
    numbered: dict[int, list[str]] = {}
    for name in found.keys() - listed:
        match = _GENERATION_NAME.match(name)
        assert match is not None
        numbered.setdefault(int(match.group(1)), []).append(name)
    # A kill between the two writes of _append leaves exactly one generation,
    # numbered next, not in the chain. Anything else unlisted is not ours to
    # fix: the history's own checks report it and nothing is appended.
    crashed = numbered.get(last + 1, [])
    if len(crashed) != 1:
        return []
    file = folder / crashed[0]
    problem = _vouch(file, history_root, tool_name)
    if problem is None:
        data = file.read_bytes()
        chain.append(_ChainEntry(last + 1, file.name, c4_id(data)))
        _write_durably(folder / CHAIN_FILE, _chain_xml(chain))
        return [
            f"{file} was written but not chained (the writer was interrupted); it was checked against the "
            f"files it records and added to {CHAIN_FILE}"
        ]
    aside = file.with_name(file.name + SET_ASIDE_SUFFIX)
    file.rename(aside)
    _fsync_folder(folder)
    return [
        f"{file} was written but not chained (the writer was interrupted) and cannot be vouched for: "
        f"{problem}. It was set aside as {aside.name}; the files it recorded are recorded again now"
    ]


def recover_history(root: str | os.PathLike[str], *, tool_name: str = "Reelvault") -> list[str]:
    """Finish a history update a crash interrupted, at ``root`` and in its nested histories.

    ``write_generation`` writes a generation file, then the chain file. A kill
    between the two leaves a generation the chain does not list, and every
    later append would refuse the history. Such a generation (the one
    numbered next, written by ``tool_name``) is checked: it must parse and
    every file it records must be there with the recorded size. Then it is
    added to the chain; otherwise it is renamed with SET_ASIDE_SUFFIX. Any
    other unlisted file is left for the history's checks to report. Returns
    what was done, in words (empty when nothing needed doing).
    """
    root = Path(root)
    done = _recover_folder(root, tool_name)
    for child in _child_history_roots(root):
        done.extend(recover_history(child, tool_name=tool_name))
    return done


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
    folders: Iterable[FolderRecord] | None = None,
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
    latest generation, else DEFAULT_IGNORE_PATTERNS. With ``folders`` (even
    empty) the generation records directory hashes as the reference tool
    does (copyengine/mhl/directories.py): a root hash, and a
    ``<directoryhash>`` for every folder (these and every parent of a file),
    computed from the recorded files' hashes; a nested history's folder is
    its own root hash and a directory entry of its parent. Two writers must not
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

    recover_history(root, tool_name=creator.tool_name)
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
    tree: FolderHashes | None = None
    folder_times: dict[str, datetime | None] = {}
    if folders is not None:
        for given in folders:
            if _unsafe(given.path) or "\\" in given.path or "." in given.path.split("/"):
                raise ValueError(f"FolderRecord.path must be a relative posix path: {given.path!r}")
            folder_times[given.path] = _to_seconds(given.mtime) if given.mtime is not None else None
        root_patterns = ignore_patterns
        if root_patterns is None:
            latest = history.generations[-1].process.ignore_patterns if history.generations else ()
            root_patterns = latest or DEFAULT_IGNORE_PATTERNS
        tree = folder_hashes(
            {path: hashes for path, (_record, hashes) in records.items()},
            folder_times,
            ignore_patterns=root_patterns,
            hash_date=info.creation_date,
        )
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
        root_hash = tree.values.get(prefix, ()) if tree is not None else ()
        process = ProcessInfo(process_type, root_hash, tuple(patterns))
        directories = _owned_directories(tree, folder_times, histories, prefix) if tree is not None else []
        written[prefix] = _append(
            target, owned[prefix], references, creator=info, process=process, directories=directories
        )
    return written[""].file


def _owned_directories(
    tree: FolderHashes, times: Mapping[str, datetime | None], histories: Mapping[str, _State], prefix: str
) -> list[DirectoryHash]:
    """The directory entries of the history at ``prefix``: its folders, a nested history's folder included."""
    start = len(prefix) + 1 if prefix else 0
    return [
        DirectoryHash(path[start:], times.get(path), values)
        for path, values in sorted(tree.values.items())
        if path and (path.startswith(f"{prefix}/") or not prefix) and _owner(path, histories) == prefix
    ]


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

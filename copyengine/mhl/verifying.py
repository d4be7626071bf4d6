"""Verifying a folder against its ASC MHL v2 history (and nested ones): verify_folder."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatchcase
from operator import attrgetter
from pathlib import Path

import xxhash

from copyengine import hashing
from copyengine.mhl.model import ASCMHL_FOLDER, DEFAULT_IGNORE_PATTERNS, FileCheck, FileStatus, VerifyReport
from copyengine.mhl.reading import _owner, _read_state, _scan, _State

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
    checks.extend(_missing_folders(history, prefix, rules))
    for folder, child in walk.child_folders.items():
        checks.extend(_verify_history(child, f"{prefix}{folder}/", algorithms, drop_cache, workers))
    return checks


def _missing_folders(history: _State, prefix: str, rules: _IgnoreRules) -> list[FileCheck]:
    """Folders the history records (``<directoryhash>``, ours or another tool's) that are gone.

    An empty folder has no file to miss, yet cards depend on them (XDCAM,
    AVCHD): its absence is reported as a MISSING check whose path ends in
    ``/``. The newest generation holding directory entries is the reference.
    """
    # The newest generation that records folders: later ones (a fixity audit's) may record files only.
    outline = next((g for g in reversed(history.generations) if g.directories), None)
    if outline is None:
        return []
    # A nested history's folder that is gone is reported as a missing child history already.
    nested = {reference.path.split(f"/{ASCMHL_FOLDER}/")[0] for reference in outline.references}
    checks = []
    for directory in outline.directories:
        path = directory.path
        if path in nested or rules.matches(path, is_folder=True):
            continue
        folder = history.root / path
        if not folder.is_dir() or folder.is_symlink():
            message = "folder recorded in the history is not on disk (an empty folder a camera may need)"
            checks.append(FileCheck(f"{prefix}{path}/", FileStatus.MISSING, message=message))
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

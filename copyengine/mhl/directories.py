"""Directory hashes of an ASC MHL generation: a folder's content hash and structure hash.

What the ASC MHL reference tool (``ascmhl create``, checked by ``ascmhl verify
--directory_hash``) records for each folder, per hash format, computed from
the hashes of what the folder holds (no file is read again):

- content: the hash of the folder's children's content hashes (a file's own
  hash, a subfolder's content hash), as raw digest bytes, in the
  lexicographic order of their hex forms;
- structure: the same over one hash per child of its UTF-8 name followed by
  its raw digest (a file's hash, a subfolder's *structure* hash), so a
  renamed file changes it while the content hash stays the same;
- an empty folder hashes no bytes at all.

Children that the generation's ignore patterns match (``.DS_Store``, the
``ascmhl`` folders) are left out, as the reference tool leaves them out
(the patterns are read as verify_folder reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from copyengine import hashing
from copyengine.mhl.model import DirectoryHashValue
from copyengine.mhl.verifying import _IgnoreRules

#: Formats a directory hash can be computed in (c4 ids are not hex digests).
DIRECTORY_FORMATS: tuple[str, ...] = ("md5", "sha1", "xxh128", "xxh3", "xxh64")


def _hash_of_hashes(format_: str, digests: Iterable[str]) -> str:
    hasher = hashing.new_hash(format_)
    for digest in sorted(digests):
        hasher.update(bytes.fromhex(digest))
    return hasher.hexdigest()


def _named(format_: str, name: str, digest: str) -> str:
    hasher = hashing.new_hash(format_)
    hasher.update(name.encode("utf-8") + bytes.fromhex(digest))
    return hasher.hexdigest()


@dataclass
class _Folder:
    files: list[tuple[str, Mapping[str, str]]] = field(default_factory=list)  # (name, {format: hex})
    folders: list[str] = field(default_factory=list)  # names


@dataclass(frozen=True)
class FolderHashes:
    """Every folder's hashes of one tree, by posix path relative to its root ("" is the root)."""

    values: dict[str, tuple[DirectoryHashValue, ...]]


def folder_hashes(
    files: Mapping[str, Mapping[str, str]],
    folders: Iterable[str],
    *,
    ignore_patterns: Sequence[str],
    hash_date: datetime,
) -> FolderHashes:
    """Content and structure hashes of every folder of a tree, bottom-up.

    ``files`` maps posix paths to their hashes; ``folders`` names folders that
    may hold no file (every parent of a file is a folder anyway). Hashes are
    given in the formats every file has (XXH3-128 for an offload, and
    MD5/SHA-1 when they were asked for too).
    """
    rules = _IgnoreRules(ignore_patterns)
    kept = {path: hashes for path, hashes in files.items() if not rules.covers(path)}
    formats = [f for f in DIRECTORY_FORMATS if all(f in hashes for hashes in kept.values())]
    tree: dict[str, _Folder] = {"": _Folder()}

    def folder(path: str) -> _Folder:
        """The node of ``path``, linked into its parent's list on first sight."""
        node = tree.get(path)
        if node is None:
            node = tree[path] = _Folder()
            parent, _, name = path.rpartition("/")
            folder(parent).folders.append(name)
        return node

    for path in folders:
        parts = path.split("/")
        above = ("/".join(parts[: i + 1]) for i in range(len(parts)))
        if path and not any(rules.matches(name, is_folder=True) for name in above):
            folder(path)
    for path, hashes in kept.items():
        parent, _, name = path.rpartition("/")
        folder(parent).files.append((name, hashes))
    values: dict[str, tuple[DirectoryHashValue, ...]] = {}
    for path in sorted(tree, key=lambda p: p.count("/") + bool(p), reverse=True):  # deepest first
        node = tree[path]
        own = []
        for format_ in formats:
            contents = [hashes[format_] for _, hashes in node.files]
            structures = [_named(format_, name, hashes[format_]) for name, hashes in node.files]
            for name in node.folders:
                child = next(v for v in values[f"{path}/{name}" if path else name] if v.format == format_)
                assert child.structure is not None
                contents.append(child.content)
                structures.append(_named(format_, name, child.structure))
            own.append(
                DirectoryHashValue(
                    format_,
                    _hash_of_hashes(format_, contents),
                    _hash_of_hashes(format_, structures),
                    hash_date,
                )
            )
        values[path] = tuple(own)
    return FolderHashes(values)

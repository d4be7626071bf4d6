"""The interface every offload destination implements.

To add a backend, touch:
  1. ``copyengine/backends/<name>.py``: a ``Destination`` subclass plus its
     ``CardReader``, ``CardWriter``, ``PendingCopy`` and ``SourceFile``
     subclasses; implement every abstract method below and keep the
     guarantees in their docstrings (above all: never overwrite or delete a
     file you did not create in this run, and read verification back from
     the storage, not from memory).
  2. ``copyengine/backends/__init__.py``: export the new ``Destination`` class.
  3. ``tests/ingest/test_backends_<name>.py``: run an offload through the real
     engine against a real (or realistically emulated) service, including
     "existing different file is a conflict" and "a corrupted copy is caught".
     ``tests/copyengine/test_filecopy.py``: copy one file from and to the new
     backend through ``copy_verified`` (a corrupt or missing source is told
     apart from a bad destination).
  4. Nothing in ``copyengine/offload.py`` or ``copyengine/filecopy.py``: the
     engines only speak this interface.

How the engine drives a destination for one card (see ``copyengine/offload.py``):

    writer = destination.open_writer(label)           # lock, create <label>, clean leftovers
    writer.stat(relpath)                               # what is already there?
    pending = writer.begin(relpath, size=, mtime_ns=)  # per file of a batch
    pending.write(chunk) ... pending.close()           # from a writer thread, in order
    writer.make_durable([pending, ...])                # once per batch
    writer.read_back(pending, on_bytes=)               # hash read from the storage
    writer.commit(pending)                             # final name, never overwriting
    writer.flush_commits()                             # names durable, destination still there
    writer.make_folder(relpath)                        # after the files: every folder, empty ones too
    writer.set_folder_mtime(relpath, mtime_ns)         # deepest first, then flush_commits()
    pending.abort()                                    # on any failure: remove what we wrote
    writer.close()

The per-file engine (``copyengine/filecopy.py``, used by restores) drives the
same writer one file at a time, and reads its source through a ``CardReader``
of the place holding the copy::

    with reader.open_file(relpath) as source:          # SourceMissingError if absent
        n = source.readinto(buffer)                    # until 0

Errors: raise ``DestinationError`` when the whole destination is unusable
(full, gone, read-only, locked by another offload); the engine then stops
using it for this card and the other destinations go on. Raise
``FileCopyError`` when only this file failed; ``FinalExistsError`` when the
final name turned out to be taken (the engine reports a conflict). Messages
must name the file or destination and say what the operator should do.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

#: Temporary files end with this suffix (``.<name>.reelvault-partial``). A
#: file with this suffix at a destination is never a finished copy, so it is
#: safe to remove when a new offload of the same card starts.
PARTIAL_SUFFIX = ".reelvault-partial"

#: Called with a byte count as data is read back, for progress and cancel
#: (it may raise to stop the read).
BytesCallback = Callable[[int], None]


class DestinationError(Exception):
    """The destination as a whole cannot be used any more for this card."""

    def __init__(self, message: str, *, reason: str = "unavailable") -> None:
        super().__init__(message)
        #: Short machine-readable cause: "full", "vanished", "locked",
        #: "unavailable", "unwritable".
        self.reason = reason


class FileCopyError(Exception):
    """This one file could not be copied or checked on this destination."""


class FinalExistsError(FileCopyError):
    """The final name is taken; the existing file was left untouched."""


class SourceMissingError(FileCopyError):
    """Nothing (or something other than a file) is at the name a source was opened with."""


class UnsafePathError(FileCopyError):
    """A path would lead outside the folder it belongs to (``..``, absolute, empty parts, NUL)."""


def check_relpath(relpath: str) -> list[str]:
    """The parts of ``relpath`` when it is a relative posix path that stays inside its root.

    Paths come from catalogs and requests, which can be forged: every backend
    calls this before touching storage. Names may hold any byte a file system
    allows (backslashes, non-UTF-8 bytes as surrogate escapes), but no part
    may be empty, ``.`` or ``..``, and no NUL. Raises UnsafePathError.
    """
    parts = relpath.split("/")
    forged = any(p in ("", ".", "..") for p in parts)
    if not relpath or relpath.startswith("/") or "\x00" in relpath or forged:
        raise UnsafePathError(
            f"refused to use the path {relpath!r}: it is empty, absolute or has '..', '.' or empty parts, so "
            "it could lead outside its folder; correct the catalog entry"
        )
    return parts


def check_label(label: str, *, allow_empty: bool = False) -> str:
    """``label`` when it is one folder name (a card's folder below a destination root).

    Raises UnsafePathError for ``/``, ``.``, ``..``, NUL or (unless allowed) "".
    """
    if (not label and not allow_empty) or "/" in label or "\x00" in label or label in (".", ".."):
        raise UnsafePathError(
            f"refused the folder name {label!r}: a card or restore folder is one name without '/', "
            "'.' or '..'"
        )
    return label


class EntryKind(enum.Enum):
    ABSENT = "absent"
    FILE = "file"
    OTHER = "other"  # a folder, symlink or device where the file should go


@dataclass(frozen=True)
class Entry:
    """What a destination holds at a card file's final name."""

    kind: EntryKind
    size: int = 0
    detail: str = ""  # for OTHER: what is in the way, in words


class PendingCopy(ABC):
    """One file being written to one destination, not yet a copy.

    Until ``CardWriter.commit`` succeeds it must not be visible under the
    final name (local: a temporary name; S3: the object appears only when
    its upload completes, and the engine deletes it if verification fails).
    """

    #: True when ``close`` does real work (an upload completes): the engine
    #: then closes the copies of a file in parallel threads.
    slow_close: bool = False

    def __init__(self, relpath: str, size: int) -> None:
        self.relpath = relpath
        self.size = size
        self.bytes_written = 0

    @abstractmethod
    def write(self, chunk: memoryview) -> None:
        """Append the chunk. Called from one worker thread at a time, in order.

        The chunk's buffer is reused after this returns: copy it if you keep it.
        """

    @abstractmethod
    def close(self) -> None:
        """All bytes were written; release resources (data need not be durable yet)."""

    @abstractmethod
    def abort(self) -> None:
        """Remove everything this pending copy created. Idempotent; never raises
        for "already gone"; never touches a file this run did not create."""


class _Closing:
    """``with`` support: close on leaving the block."""

    def close(self) -> None:
        """Release what is held."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SourceFile(_Closing, ABC):
    """One stored file opened for reading as the source of a copy.

    Reads come from the storage in order; ``size`` is what the storage says
    the file holds when it was opened.
    """

    def __init__(self, relpath: str, size: int, location: str) -> None:
        self.relpath = relpath
        self.size = size
        #: Human-readable place of this file, for messages.
        self.location = location

    @abstractmethod
    def readinto(self, buffer: memoryview) -> int:
        """Fill ``buffer`` from the current position; return the byte count, 0 at the end.

        Raises FileCopyError naming the file when the storage cannot deliver
        the bytes (I/O error, truncated download).
        """

    @abstractmethod
    def close(self) -> None:
        """Release the descriptor or connection. Idempotent."""


class CardReader(_Closing, ABC):
    """Read access to ``<destination>/<label>/``, for checks and re-verification."""

    #: Human-readable place, e.g. ``/mnt/shuttle1/A001`` or ``s3://bucket/x/A001/``.
    location: str

    @abstractmethod
    def stat(self, relpath: str) -> Entry:
        """What is at the final name of ``relpath``; symlinks are not followed."""

    @abstractmethod
    def hash(self, relpath: str, algorithms: Sequence[str], *, on_bytes: BytesCallback) -> dict[str, str]:
        """Hash the file at its final name, reading it from the storage itself
        (not a cache). Raises FileCopyError naming the file."""

    @abstractmethod
    def open_file(self, relpath: str) -> SourceFile:
        """Open the file at its final name for streaming it as a copy's source.

        Raises SourceMissingError when nothing (or no regular file) is there,
        FileCopyError when it cannot be opened, DestinationError when the
        storage as a whole is unreachable.
        """

    @abstractmethod
    def list_files(self) -> Iterator[str]:
        """Relative posix paths of the finished files (temporary files excluded)."""

    @abstractmethod
    def check_alive(self) -> None:
        """Raise DestinationError if the destination vanished or was replaced
        (unmounted drive, deleted folder, deleted bucket)."""

    def close(self) -> None:  # optional hook, most readers hold nothing
        """Release resources (locks, descriptors)."""


class CardWriter(CardReader):
    """Write access to ``<destination>/<label>/`` for one offload.

    Opening it takes an exclusive lock (two offloads of the same card to the
    same place would remove each other's temporary files) and removes
    temporary files left by a killed offload (listed in ``removed_leftovers``).
    """

    removed_leftovers: tuple[str, ...] = ()

    @abstractmethod
    def free_bytes(self) -> int | None:
        """Space available for new files, or None when unknown/unlimited."""

    @abstractmethod
    def begin(self, relpath: str, *, size: int, mtime_ns: int) -> PendingCopy:
        """Start writing ``relpath``; create folders as needed below <label>."""

    @abstractmethod
    def make_durable(self, pendings: Sequence[PendingCopy]) -> dict[PendingCopy, FileCopyError]:
        """Make a batch of closed pending copies durable on the storage, so a
        read-back reads the storage. Returns the copies that failed."""

    @abstractmethod
    def read_back(self, pending: PendingCopy, *, on_bytes: BytesCallback) -> str:
        """XXH128 hex digest of the pending copy, read back from the storage."""

    @abstractmethod
    def commit(self, pending: PendingCopy) -> None:
        """Give a verified pending copy its final name without ever replacing
        an existing file (raise FinalExistsError instead)."""

    @abstractmethod
    def flush_commits(self) -> None:
        """Make the names given by ``commit`` durable, then ``check_alive``."""

    def make_folder(self, relpath: str) -> None:
        """Create the folder ``relpath`` (and its parents) below <label>; an existing folder is fine.

        Cards depend on empty folders (XDCAM ``XDROOT``, AVCHD ``BDMV``
        trees). Raise FileCopyError when something other than a folder is
        in the way or the path would lead outside the card folder. Object
        stores have no folders: the default does nothing.
        """

    def set_folder_mtime(self, relpath: str, mtime_ns: int) -> None:
        """Give the folder ``relpath`` (``""``: the card folder itself) the card's modification time.

        Called once every file and folder inside it is in place (adding an
        entry changes a folder's mtime), then ``flush_commits`` makes the
        times durable. Raise FileCopyError naming the folder. The default
        (object stores) does nothing.
        """


class Destination(ABC):
    """A place that receives copies of cards: a folder, a bucket...

    Cheap to create and holds no resources; ``open_writer``/``open_reader``
    do the work.
    """

    #: Short name used in results and messages (unique within one offload).
    name: str

    @abstractmethod
    def location(self, label: str) -> str:
        """Where a card with this label goes, for messages."""

    def local_path(self, label: str) -> Path | None:
        """The folder a card goes to when it is on a local file system (used to
        refuse offloading a card into itself); None for remote storage."""
        return None

    @abstractmethod
    def open_writer(self, label: str) -> CardWriter:
        """Prepare to receive a card. Raises DestinationError."""

    @abstractmethod
    def open_reader(self, label: str) -> CardReader:
        """Read access to an earlier copy of a card. Raises DestinationError."""

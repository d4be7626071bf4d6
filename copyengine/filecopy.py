"""Copy one file from a stored copy to a destination, and prove it: the per-file engine.

The card engine (``offload.py``) reads a card once and writes it to several
destinations in batches. This one copies a single file from wherever a copy
is kept (the ``CardReader`` of a folder or a bucket) to one destination,
through the very same ``CardWriter`` interface (``backends/base.py``), so
temporary names, durability, read-back from the device and never-overwrite
are the backends' and exist once. Restores use it.

Steps of ``copy_verified``:
  1. If the destination already has a file at the final name, hash it there:
     the expected content means it was copied before (a resumed job) and
     nothing is written; anything else is a conflict and is never touched.
  2. Open the source and stream it in large chunks (two page-aligned buffers:
     the next chunk is read while one writer thread hashes the previous one
     with XXH3-128 and hands it to ``PendingCopy.write``), so the source and
     the destination work at once and memory stays at two chunks.
  3. If the source's bytes do not hash to the expected value the *source
     copy* is bad: the pending copy is aborted before it is ever committed,
     and SourceCorruptError carries the hash found.
  4. ``close``, ``make_durable``, then ``read_back`` from the storage (local:
     cached pages dropped first). A mismatch there means the *destination*
     returned other bytes than were written: ReadBackMismatchError.
  5. ``commit`` gives the final name without replacing anything (a file that
     appeared meanwhile is accepted only with the expected content), then
     ``flush_commits`` makes the name durable and checks the destination is
     still there.

Errors split by who must act:
  - the source copy: SourceMissingError, SourceCorruptError (condemn it, try
    another copy), SourceUnavailableError (its storage cannot be reached now);
  - the destination as a whole: DestinationError, ``reason`` "full",
    "vanished"...: stop using it;
  - this file at the destination: DestinationConflictError,
    ReadBackMismatchError, DestinationFileError.
Nothing written by a failed call is left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from copyengine import hashing
from copyengine.backends.base import (
    CardReader,
    CardWriter,
    DestinationError,
    EntryKind,
    FileCopyError,
    FinalExistsError,
    PendingCopy,
    SourceFile,
    SourceMissingError,
)

CHUNK_SIZE = hashing.CHUNK_SIZE
ALGORITHM = hashing.DEFAULT_ALGORITHM

#: Called as data moves: ("copy" | "verify", byte count). It may raise to stop.
ProgressCallback = Callable[[str, int], None]

__all__ = [
    "CopyFailed",
    "DestinationConflictError",
    "DestinationError",
    "DestinationFileError",
    "FileCopied",
    "ReadBackMismatchError",
    "SourceCorruptError",
    "SourceMissingError",
    "SourceUnavailableError",
    "copy_verified",
]


class CopyFailed(Exception):
    """Base class of the per-file outcomes below; the message names the file and what to do."""


class SourceCorruptError(CopyFailed):
    """The source copy's bytes do not match the expected hash, or cannot be read."""

    def __init__(self, message: str, *, found: str = "") -> None:
        super().__init__(message)
        self.found = found


class SourceUnavailableError(CopyFailed):
    """The storage holding the source cannot be reached now; the copy itself may be fine."""


class DestinationFileError(CopyFailed):
    """This file could not be written or placed at the destination (the destination is usable)."""


class DestinationConflictError(DestinationFileError):
    """A different file already has the final name; it was left untouched."""


class ReadBackMismatchError(DestinationFileError):
    """The destination's read-back does not match what was written: its storage is suspect."""


@dataclass(frozen=True)
class FileCopied:
    already_there: bool  # True when the expected content was found at the final name
    bytes_copied: int
    seconds: float


def _neutral(exc: DestinationError, writer: CardWriter, relpath: str) -> DestinationError:
    """The backend's error in words that fit any caller (its own talk of offloads left in __cause__)."""
    if exc.reason == "full":
        message = (
            f"{writer.location} is full: {relpath} could not be written there. Free space on it or "
            "choose another place; files already verified there are kept"
        )
    else:
        message = (
            f"{writer.location} cannot be used any more ({exc.reason}) while copying {relpath}: "
            "check that it is connected and writable, then run again"
        )
    return DestinationError(message, reason=exc.reason)


def _already_there(writer: CardWriter, relpath: str, expected: str, size: int | None) -> bool:
    """True when the final name holds exactly the expected content; False when it is free.

    Raises DestinationConflictError when something else has the name.
    """
    where = f"{writer.location}/{relpath}"
    entry = writer.stat(relpath)
    if entry.kind is EntryKind.ABSENT:
        return False
    if entry.kind is EntryKind.OTHER:
        raise DestinationConflictError(
            f"{where} exists and is not a regular file ({entry.detail}); it was left untouched"
        )
    if size is not None and entry.size != size:
        raise DestinationConflictError(
            f"{where} already exists with different content ({entry.size} bytes, expected {size}); "
            "it was not overwritten: move it away or copy to another place"
        )
    try:
        found = writer.hash(relpath, (ALGORITHM,), on_bytes=lambda n: None)[ALGORITHM]
    except FileCopyError as exc:
        raise DestinationConflictError(
            f"{where} exists but cannot be read ({exc}); it was left untouched"
        ) from exc
    if found != expected:
        raise DestinationConflictError(
            f"{where} already exists with different content (xxh128 {found}); "
            "it was not overwritten: move it away or copy to another place"
        )
    return True


def _accept_existing(writer: CardWriter, relpath: str, expected: str, cause: FinalExistsError) -> None:
    """The final name was taken between our check and our commit: accept only the expected content.

    Hashes what is there now (a listing taken earlier would not show it).
    """
    try:
        found = writer.hash(relpath, (ALGORITHM,), on_bytes=lambda n: None)[ALGORITHM]
    except FileCopyError as exc:
        raise DestinationConflictError(f"{cause}; it cannot be read ({exc})") from cause
    if found != expected:
        raise DestinationConflictError(
            f"{writer.location}/{relpath} appeared during the copy with different content "
            f"(xxh128 {found}); it was not overwritten: move it away or copy to another place"
        ) from cause


def _stream(
    source: SourceFile,
    pending: PendingCopy,
    *,
    chunk_size: int,
    on_progress: ProgressCallback | None,
    max_bytes_per_second: int,
) -> tuple[str, int]:
    """Copy source to pending, hashing the bytes read; return (xxh128, bytes)."""
    hasher = hashing.new_hash(ALGORITHM)
    buffers = (hashing.aligned_buffer(chunk_size), hashing.aligned_buffer(chunk_size))
    copied = 0
    started = time.monotonic()

    def sink(view: memoryview) -> None:
        hasher.update(view)
        pending.write(view)

    running: Future[None] | None = None
    turn = 0
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            while True:
                view = memoryview(buffers[turn])
                try:
                    n = source.readinto(view)
                except FileCopyError as exc:
                    raise SourceCorruptError(str(exc)) from exc
                if running is not None:
                    running.result()  # the other buffer is free again
                if not n:
                    break
                running = pool.submit(sink, view[:n])
                turn ^= 1
                copied += n
                if on_progress is not None:
                    on_progress("copy", n)
                if max_bytes_per_second > 0:
                    # Test and rehearsal knob: keep a long job long enough to interrupt.
                    ahead = copied / max_bytes_per_second - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            running = None
    finally:
        if running is not None:  # an exception left a write running: let it finish before unmapping
            try:
                running.result()
            except (FileCopyError, DestinationError):
                pass
        for buffer in buffers:
            try:
                buffer.close()
            except BufferError:
                pass  # an exception's traceback still views it; freed with the traceback
    return hasher.hexdigest(), copied


def copy_verified(
    *,
    reader: CardReader,
    path: str,
    writer: CardWriter,
    relpath: str,
    expected_xxh128: str,
    size: int | None = None,
    mtime_ns: int | None = None,
    on_progress: ProgressCallback | None = None,
    max_bytes_per_second: int = 0,
    chunk_size: int = CHUNK_SIZE,
) -> FileCopied:
    """Copy ``path`` of ``reader`` to ``relpath`` of ``writer`` and prove it (steps in the module docstring).

    ``size`` and ``mtime_ns`` are the catalog's (the mtime defaults to now).
    Returns FileCopied (``already_there`` when the expected content already
    had the final name). Raises the errors listed in the module docstring.
    """
    started = time.monotonic()
    expected = expected_xxh128.lower()
    try:
        if _already_there(writer, relpath, expected, size):
            return FileCopied(True, 0, time.monotonic() - started)
    except DestinationError as exc:
        raise _neutral(exc, writer, relpath) from exc
    except FileCopyError as exc:
        raise DestinationFileError(str(exc)) from exc
    try:
        source = reader.open_file(path)
    except SourceMissingError:
        raise
    except DestinationError as exc:
        raise SourceUnavailableError(f"{reader.location} cannot be read now: {exc}") from exc
    except FileCopyError as exc:
        raise SourceCorruptError(str(exc)) from exc
    with source:
        copied = _copy_open(
            source,
            writer,
            relpath,
            expected=expected,
            size=size if size is not None else source.size,
            check_size=size is not None,
            mtime_ns=mtime_ns if mtime_ns is not None else time.time_ns(),
            on_progress=on_progress,
            max_bytes_per_second=max_bytes_per_second,
            chunk_size=chunk_size,
        )
    return FileCopied(False, copied, time.monotonic() - started)


def _copy_open(
    source: SourceFile,
    writer: CardWriter,
    relpath: str,
    *,
    expected: str,
    size: int,
    check_size: bool,
    mtime_ns: int,
    on_progress: ProgressCallback | None,
    max_bytes_per_second: int,
    chunk_size: int,
) -> int:
    where = f"{writer.location}/{relpath}"
    try:
        pending = writer.begin(relpath, size=size, mtime_ns=mtime_ns)
    except DestinationError as exc:
        raise _neutral(exc, writer, relpath) from exc
    except FileCopyError as exc:
        raise DestinationFileError(str(exc)) from exc
    try:
        found, copied = _stream(
            source,
            pending,
            chunk_size=chunk_size,
            on_progress=on_progress,
            max_bytes_per_second=max_bytes_per_second,
        )
        if found != expected or (check_size and copied != size):
            raise SourceCorruptError(
                f"{source.location} does not match the catalog: xxh128 {found} ({copied} bytes), "
                f"expected {expected}" + (f" ({size} bytes)" if check_size else ""),
                found=found,
            )
        pending.close()
        failures = writer.make_durable([pending])
        if pending in failures:
            raise failures[pending]
        verify = (lambda n: on_progress("verify", n)) if on_progress is not None else (lambda n: None)
        written = writer.read_back(pending, on_bytes=verify)
        if written != expected:
            raise ReadBackMismatchError(
                f"{where} read back as xxh128 {written}, expected {expected}: the storage returned "
                "different bytes than were written; check the drive"
            )
        writer.commit(pending)
        writer.flush_commits()
    except FinalExistsError as exc:
        # Raised by commit (a folder) or close (a bucket: the upload completes
        # there): someone put a file at the name meanwhile.
        pending.abort()
        _accept_existing(writer, relpath, expected, exc)
        return copied
    except DestinationError as exc:
        pending.abort()
        raise _neutral(exc, writer, relpath) from exc
    except FileCopyError as exc:
        pending.abort()
        raise DestinationFileError(str(exc)) from exc
    except BaseException:
        pending.abort()
        raise
    return copied

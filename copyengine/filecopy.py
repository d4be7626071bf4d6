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
    "ProveAhead",
    "ReadBackMismatchError",
    "SourceCorruptError",
    "SourceMissingError",
    "SourceUnavailableError",
    "StagedCopy",
    "copy_stage",
    "copy_verified",
    "staged_commit",
    "staged_prove",
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
    staged = copy_stage(
        reader=reader,
        path=path,
        writer=writer,
        relpath=relpath,
        expected_xxh128=expected_xxh128,
        size=size,
        mtime_ns=mtime_ns,
        on_progress=on_progress,
        max_bytes_per_second=max_bytes_per_second,
        chunk_size=chunk_size,
    )
    if isinstance(staged, FileCopied):
        return staged
    staged_prove(staged, on_progress=on_progress)
    return staged_commit(staged)


@dataclass(eq=False)  # hashed by identity: ProveAhead's callers key their context by it
class StagedCopy:
    """Steps 1-3 done: the file is written and closed at the destination from a source that
    matched the catalog, under its temporary name (a bucket: under its key, deleted on abort).
    It is not a copy yet: ``staged_prove`` then ``staged_commit`` make it one, or ``abort``."""

    writer: CardWriter
    pending: PendingCopy
    relpath: str
    expected: str
    copied: int
    started: float

    def abort(self) -> None:
        self.pending.abort()


def copy_stage(
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
) -> FileCopied | StagedCopy:
    """Steps 1-3 of ``copy_verified``: returns FileCopied when nothing had to be written (the
    expected content is already there, or appeared meanwhile), else a StagedCopy to prove.

    Splitting the copy from its proof lets a caller read back one file on another thread
    while it copies the next (``ProveAhead``); the proof itself is unchanged.
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
        staged = _copy_open(
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
    if isinstance(staged, int):  # the name was taken meanwhile, with the expected content
        return FileCopied(False, staged, time.monotonic() - started)
    staged.started = started
    return staged


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
) -> StagedCopy | int:
    try:
        pending = writer.begin(relpath, size=size, mtime_ns=mtime_ns)
    except DestinationError as exc:
        raise _neutral(exc, writer, relpath) from exc
    except FileCopyError as exc:
        raise DestinationFileError(str(exc)) from exc
    copied = 0
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
    except FinalExistsError as exc:
        # Raised by close on a bucket (the upload completes there): someone put
        # an object at the key meanwhile.
        pending.abort()
        _accept_existing(writer, relpath, expected, exc)
        return copied
    except BaseException as exc:
        pending.abort()
        _reraise_neutral(exc, writer, relpath)
        raise
    return StagedCopy(writer, pending, relpath, expected, copied, 0.0)


def _reraise_neutral(exc: BaseException, writer: CardWriter, relpath: str) -> None:
    """Raise a backend error as the caller-facing one (any other exception: return)."""
    if isinstance(exc, DestinationError):
        raise _neutral(exc, writer, relpath) from exc
    if isinstance(exc, FileCopyError):
        raise DestinationFileError(str(exc)) from exc


def staged_prove(staged: StagedCopy, *, on_progress: ProgressCallback | None = None) -> None:
    """Step 4: make the staged file durable, then read it back from the storage against its hash.

    Touches only this file (safe on another thread than the one staging the next file, which
    ``ProveAhead`` relies on). On any failure the staged file is removed, then raises
    ReadBackMismatchError, DestinationFileError or DestinationError (the destination as a whole).
    """
    writer, pending = staged.writer, staged.pending
    try:
        failures = writer.make_durable([pending])
        if pending in failures:
            raise failures[pending]
        verify = (lambda n: on_progress("verify", n)) if on_progress is not None else (lambda n: None)
        written = writer.read_back(pending, on_bytes=verify)
        if written != staged.expected:
            raise ReadBackMismatchError(
                f"{writer.location}/{staged.relpath} read back as xxh128 {written}, expected "
                f"{staged.expected}: the storage returned different bytes than were written; check the drive"
            )
    except BaseException as exc:
        pending.abort()
        _reraise_neutral(exc, writer, staged.relpath)
        raise


def staged_commit(staged: StagedCopy) -> FileCopied:
    """Step 5, after ``staged_prove``: give the file its final name (never replacing anything) and
    make the name durable. Returns FileCopied; raises like ``copy_verified``. Not thread-safe
    against other calls on the same writer: call it from the thread that stages."""
    writer, pending = staged.writer, staged.pending
    try:
        writer.commit(pending)
        writer.flush_commits()
    except FinalExistsError as exc:
        pending.abort()
        _accept_existing(writer, staged.relpath, staged.expected, exc)
    except BaseException as exc:
        pending.abort()
        _reraise_neutral(exc, writer, staged.relpath)
        raise
    return FileCopied(False, staged.copied, time.monotonic() - staged.started)


class ProveAhead:
    """Proves staged copies on one background thread while the caller stages the next ones.

    A bounded pipeline: ``submit`` queues a proof and, once more than ``depth`` are in flight,
    returns the oldest finished one (waiting for it), so at most ``depth + 1`` staged files are
    unproven at any time. The caller commits and records each returned proof itself, in order,
    so a file counts only after its own read-back matched. ``drain`` returns the rest.
    """

    def __init__(self, *, depth: int = 1) -> None:
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-back")
        self._flight: list[tuple[StagedCopy, Future[None]]] = []

    def submit(
        self, staged: StagedCopy, *, on_progress: ProgressCallback | None = None
    ) -> list[tuple[StagedCopy, BaseException | None]]:
        """Start proving ``staged``; return the proofs that had to finish to keep the bound."""
        self._flight.append((staged, self._pool.submit(staged_prove, staged, on_progress=on_progress)))
        done = []
        while len(self._flight) > self.depth:
            done.append(self._wait_oldest())
        return done

    def drain(self) -> list[tuple[StagedCopy, BaseException | None]]:
        """Wait for every proof in flight; each comes with the exception it raised, or None."""
        return [self._wait_oldest() for _ in range(len(self._flight))]

    def _wait_oldest(self) -> tuple[StagedCopy, BaseException | None]:
        staged, future = self._flight.pop(0)
        return staged, future.exception()

    def close(self) -> None:
        """Abort whatever was not collected (an exception left the caller's loop), then stop."""
        for staged, future in self._flight:
            future.exception()
            staged.abort()
        self._flight.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> ProveAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

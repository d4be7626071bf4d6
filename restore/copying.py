"""Copy one file from a backup copy to a restore target, provably and without ever overwriting.

No Django here: paths in, an outcome or a precise exception out.

Lifecycle of one file (``restore_file``):
  1. If the final name already holds a file, hash it: the same content means
     the file was restored before (a resumed job) and nothing is written; any
     other content is a conflict and is never touched.
  2. Stream the source into ``.<name>.reelvault-restore-partial`` next to the
     final name (O_EXCL, no symlink followed), hashing the bytes as they pass:
     a source whose bytes do not match the catalog hash is reported corrupt
     before anything is committed. Reads and writes overlap (two aligned
     buffers, one writer thread), so the source and the target work at once.
  3. fsync the temporary file, set the catalog's modification time, then drop
     its (now clean) cached pages and hash it again, so the verification reads
     what the target's device holds, not what is still in memory.
  4. ``link(temp, final)`` gives the final name and fails with EEXIST instead
     of replacing a file; then unlink the temporary name and fsync the folder.
     Where hard links are unsupported, rename after an existence check.

Errors split by who must act: the *source copy* is bad (SourceMissingError,
SourceCorruptError: try the next copy and condemn this one), the *target* is
unusable (TargetFullError, TargetError: stop the job), or this *file* cannot
be placed (TargetConflictError, TargetVerifyError).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from copyengine import hashing

PARTIAL_SUFFIX = ".reelvault-restore-partial"
CHUNK_SIZE = hashing.CHUNK_SIZE

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_NO_LINK_ERRNOS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}

#: Called as data moves: ("copy" | "verify", byte count). It may raise to stop.
ProgressCallback = Callable[[str, int], None]


class RestoreCopyError(Exception):
    """Base class; the message names the file and what to do."""


class SourceMissingError(RestoreCopyError):
    """The backup copy is not where the catalog says."""


class SourceCorruptError(RestoreCopyError):
    """The backup copy's bytes do not match the catalog hash, or cannot be read."""

    def __init__(self, message: str, *, found: str = "") -> None:
        super().__init__(message)
        self.found = found


class TargetFullError(RestoreCopyError):
    """The target has no space left."""


class TargetError(RestoreCopyError):
    """The target cannot be written (permissions, gone, read-only)."""


class TargetConflictError(RestoreCopyError):
    """A different file already has the final name; it was left untouched."""


class TargetVerifyError(RestoreCopyError):
    """What the target holds after the copy does not match (a write went wrong)."""


@dataclass(frozen=True)
class Restored:
    already_there: bool  # True when an identical file was found at the final name
    bytes_copied: int
    seconds: float


def temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}{PARTIAL_SUFFIX}")


def _target_failure(exc: OSError, where: Path) -> RestoreCopyError:
    if exc.errno in _FULL_ERRNOS:
        return TargetFullError(
            f"the restore target is full while writing {where}: free space on it or choose another target"
        )
    return TargetError(
        f"cannot write {where}: {exc.strerror or exc}; check the target is mounted and writable"
    )


def _hash_path(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    return hashing.hash_file(path, drop_cache_first=True, on_progress=on_bytes)[hashing.DEFAULT_ALGORITHM]


def _already_there(target: Path, expected: str, size: int | None) -> bool:
    """True when ``target`` holds exactly the expected content; False when absent.

    Raises TargetConflictError when something else has the name.
    """
    try:
        info = target.lstat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _target_failure(exc, target) from exc
    if not stat.S_ISREG(info.st_mode):
        raise TargetConflictError(f"{target} exists and is not a regular file; it was left untouched")
    if size is not None and info.st_size != size:
        raise TargetConflictError(
            f"{target} already exists with different content ({info.st_size} bytes, expected {size}); "
            "it was not overwritten: move it away or restore to another target"
        )
    try:
        found = _hash_path(target)
    except hashing.HashingError as exc:
        raise TargetConflictError(
            f"{target} exists but cannot be read ({exc}); it was left untouched"
        ) from exc
    if found != expected:
        raise TargetConflictError(
            f"{target} already exists with different content (xxh128 {found}); "
            "it was not overwritten: move it away or restore to another target"
        )
    return True


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(temp: Path, target: Path, expected: str, size: int | None) -> None:
    """Give ``temp`` the final name without ever replacing a file."""
    try:
        os.link(temp, target, follow_symlinks=False)
    except FileExistsError:
        # Someone else put it there meanwhile: fine if it is the same content.
        _already_there(target, expected, size)
    except OSError as exc:
        if exc.errno not in _NO_LINK_ERRNOS:
            raise _target_failure(exc, target) from exc
        # No hard links here (exFAT, some SMB mounts): check, then rename.
        if os.path.lexists(target):
            _already_there(target, expected, size)
        else:
            try:
                temp.rename(target)
            except OSError as rename_exc:
                raise _target_failure(rename_exc, target) from rename_exc
            _fsync_folder(target.parent)
            return
    temp.unlink(missing_ok=True)
    _fsync_folder(target.parent)


def _stream(
    src_fd: int,
    dst_fd: int,
    *,
    source: Path,
    temp: Path,
    chunk_size: int,
    on_progress: ProgressCallback | None,
    max_bytes_per_second: int,
) -> tuple[str, int]:
    """Copy src to dst, hashing on the way; return (xxh128, bytes)."""
    hasher = hashing.new_hash(hashing.DEFAULT_ALGORITHM)
    buffers = (hashing.aligned_buffer(chunk_size), hashing.aligned_buffer(chunk_size))
    copied = 0
    started = time.monotonic()

    def sink(view: memoryview) -> None:
        hasher.update(view)
        while view:
            written = os.write(dst_fd, view)
            view = view[written:]

    pending: Future[None] | None = None
    turn = 0
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            while True:
                buffer = buffers[turn]
                try:
                    n = os.readv(src_fd, [buffer])
                except OSError as exc:
                    raise SourceCorruptError(f"cannot read {source}: {exc.strerror or exc}") from exc
                if pending is not None:
                    try:
                        pending.result()  # the other buffer is free again
                    except OSError as exc:
                        raise _target_failure(exc, temp) from exc
                if not n:
                    break
                pending = pool.submit(sink, memoryview(buffer)[:n])
                turn ^= 1
                copied += n
                if on_progress is not None:
                    on_progress("copy", n)
                if max_bytes_per_second > 0:
                    # Test and benchmark knob: keep a long job long enough to interrupt.
                    ahead = copied / max_bytes_per_second - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            pending = None
    finally:
        if pending is not None:  # an exception left a write running: let it finish before unmapping
            try:
                pending.result()
            except OSError:
                pass
        for buffer in buffers:
            try:
                buffer.close()
            except BufferError:
                pass  # an exception's traceback still views it; freed with the traceback
    return hasher.hexdigest(), copied


def restore_file(
    *,
    source: Path,
    target: Path,
    expected_xxh128: str,
    size: int | None = None,
    mtime: datetime | None = None,
    on_progress: ProgressCallback | None = None,
    max_bytes_per_second: int = 0,
    chunk_size: int = CHUNK_SIZE,
) -> Restored:
    """Restore ``source`` to ``target`` and prove it (see the module docstring for the steps).

    Returns Restored (``already_there`` when an identical file had the final
    name). Raises SourceMissingError / SourceCorruptError when the backup
    copy is bad, TargetFullError / TargetError when the target cannot take
    it, TargetConflictError when another file has the name, TargetVerifyError
    when the read-back does not match. Never leaves a temporary file behind.
    """
    started = time.monotonic()
    expected = expected_xxh128.lower()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _target_failure(exc, target.parent) from exc
    if _already_there(target, expected, size):
        return Restored(True, 0, time.monotonic() - started)
    try:
        src_fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise SourceMissingError(f"{source} is missing") from exc
    except OSError as exc:
        if exc.errno == errno.ENOENT or exc.errno == errno.ENOTDIR:
            raise SourceMissingError(f"{source} is missing") from exc
        raise SourceCorruptError(f"cannot open {source}: {exc.strerror or exc}") from exc
    temp = temp_name(target)
    try:
        if not stat.S_ISREG(os.fstat(src_fd).st_mode):
            raise SourceMissingError(f"{source} is not a regular file")
        temp.unlink(missing_ok=True)  # a leftover of ours from a killed run
        try:
            dst_fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise _target_failure(exc, temp) from exc
        try:
            found, copied = _stream(
                src_fd,
                dst_fd,
                source=source,
                temp=temp,
                chunk_size=chunk_size,
                on_progress=on_progress,
                max_bytes_per_second=max_bytes_per_second,
            )
            if found != expected or (size is not None and copied != size):
                raise SourceCorruptError(
                    f"{source} does not match the catalog: xxh128 {found} ({copied} bytes), "
                    f"expected {expected}" + (f" ({size} bytes)" if size is not None else ""),
                    found=found,
                )
            try:
                os.fsync(dst_fd)
                if mtime is not None:
                    ns = int(mtime.timestamp() * 1_000_000_000)
                    os.utime(dst_fd, ns=(ns, ns))
            except OSError as exc:
                raise _target_failure(exc, temp) from exc
        finally:
            os.close(dst_fd)
        verify_progress = (lambda n: on_progress("verify", n)) if on_progress is not None else None
        try:
            written = _hash_path(temp, verify_progress)
        except hashing.HashingError as exc:
            raise TargetError(f"cannot read back {temp}: {exc}") from exc
        if written != expected:
            raise TargetVerifyError(
                f"{target} read back as xxh128 {written}, expected {expected}: the target's storage "
                "returned different bytes than were written; check the drive"
            )
        _commit(temp, target, expected, size)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        os.close(src_fd)
    return Restored(False, copied, time.monotonic() - started)


def remove_leftovers(root: Path) -> list[Path]:
    """Remove our temporary files below ``root`` (left by a killed run); return them."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(PARTIAL_SUFFIX):
                path = Path(folder) / name
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def free_bytes(path: Path) -> int | None:
    """Space available to us at ``path`` (its nearest existing folder), or None if unknown."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        info = os.statvfs(probe)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


def remove_restore_folder(folder: Path, *, inside: Path) -> None:
    """Delete a restore folder (drill cleanup); refuses anything not strictly inside ``inside``."""
    folder, inside = folder.resolve(), inside.resolve()
    if folder == inside or inside not in folder.parents:
        raise ValueError(f"refusing to delete {folder}: it is not inside the target folder {inside}")
    if folder.exists():
        shutil.rmtree(folder)

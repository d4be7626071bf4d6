"""A destination that is a folder on a mounted file system (shuttle drive, RAID, NAS).

A card goes to ``<root>/<label>/``. The root must already exist: we never
create it, because a missing root usually means the drive is not mounted and
creating the folder would silently fill the system disk instead.

Lifecycle of one file (the engine calls these steps, see base.py):
  1. ``begin``: create ``.<name>.reelvault-partial`` next to the final name
     (O_EXCL, never follows a symlink).
  2. ``write``/``close``: write the bytes, set the card's mtime on the
     temporary file (so the final name inherits it and the batch sync makes it
     durable together with the data).
  3. ``make_durable``: fsync each file of the batch, or one ``syncfs`` for a
     batch of many files (one journal commit instead of thousands).
  4. ``read_back``: drop the file's (now clean) cached pages and hash it
     again, so the bytes come from the device.
  5. ``commit``: ``link(temp, final)`` fails with EEXIST instead of replacing
     a file; then unlink the temporary name. Where hard links are not
     supported (exFAT, some SMB mounts) ``renameat2(RENAME_NOREPLACE)`` does
     the same; only if that is unsupported too do we fall back to
     check-then-rename, which has a tiny race window with other writers.
  6. ``flush_commits``: fsync the folders whose entries changed, then check
     the destination is still the same folder on the same device.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from copyengine import fsnames, hashing
from copyengine.backends.base import (
    PARTIAL_SUFFIX,
    BytesCallback,
    CardReader,
    CardWriter,
    Destination,
    DestinationError,
    Entry,
    EntryKind,
    FileCopyError,
    FinalExistsError,
    PendingCopy,
    SourceFile,
    SourceMissingError,
    UnsafePathError,
    check_label,
    check_relpath,
)

#: From this many files in a batch, one syncfs replaces one fsync per file.
SYNCFS_MIN_FILES = 16
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# Errors that mean the device or mount went away rather than one file failing.
_GONE_ERRNOS = {errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.ENOTCONN, errno.EROFS, errno.EIO}
_NO_LINK_ERRNOS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}
_NAME_MAX = 255
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100

try:  # glibc functions Python's os module does not wrap
    _libc: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - non-glibc platforms
    _libc = None


def _temp_name(name: str) -> str:
    """The temporary name for a final name: hidden, same folder, clearly ours."""
    candidate = f".{name}{PARTIAL_SUFFIX}"
    if len(os.fsencode(candidate)) <= _NAME_MAX:
        return candidate
    # Very long names: keep it unique and recognisable but within NAME_MAX.
    digest = hashing.new_hash("xxh128")
    digest.update(os.fsencode(name))
    return f".{digest.hexdigest()}{PARTIAL_SUFFIX}"


_SYNC_FILE_RANGE_WAIT_BEFORE = 1
_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)


def _start_writeback(fd: int, offset: int, length: int, previous: int) -> None:
    """Start writing ``length`` bytes at ``offset`` to the device now; settle what came before.

    A streaming writer that leaves its pages dirty until the batch's fsync
    lets gigabytes pile up, and the kernel then throttles it (hard in a
    memory cgroup smaller than the card). Starting writeback per chunk keeps
    the device busy from the first chunk and the dirty pages few; then the
    chunk before (from ``previous`` to ``offset``), handed to the device one
    chunk ago, is waited for and its clean pages let go (the read-back reads
    the device, not the cache). The batch's fsync still makes the copy
    durable: this only starts I/O early. Errors are left to that fsync.
    """
    if _sync_file_range is None:
        return
    _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)
    if offset > previous:
        _sync_file_range(fd, previous, offset - previous, _SYNC_FILE_RANGE_WAIT_BEFORE)
        try:
            os.posix_fadvise(fd, previous, offset - previous, os.POSIX_FADV_DONTNEED)
        except OSError:  # advice only: a file system without it keeps the pages
            pass


def _syncfs(fd: int) -> bool:
    """syncfs(2) if available; False if we must fsync file by file instead."""
    func = getattr(_libc, "syncfs", None)
    if func is None:
        return False
    if func(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return True


def _rename_noreplace(src: Path, dst: Path) -> bool:
    """renameat2(RENAME_NOREPLACE); False when the kernel or libc lacks it."""
    func = getattr(_libc, "renameat2", None)
    if func is None:
        return False
    if func(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


_thread_buffers = threading.local()


def _hash_from_device(
    path: Path, algorithms: Sequence[str], *, on_bytes: BytesCallback, fsync_first: bool
) -> dict[str, str]:
    """Hash a file as stored on the device: fsync (dirty pages cannot be
    dropped), drop its cached pages, then read. Raises OSError or HashingError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if fsync_first:
            try:
                os.fsync(fd)
            except OSError:
                pass  # read-only mounts may refuse; their pages are clean anyway
        # One aligned buffer per verifying thread, reused for every file:
        # hash_file's per-call pool and buffers cost more than the hashing on
        # many files (measured: 4 GB read back in 1.3-2.3 s instead of 1.9-3.1 s).
        # Read-back hashes xxh128 only, which is fast enough inline.
        buf = getattr(_thread_buffers, "buf", None)
        if buf is None:
            buf = _thread_buffers.buf = hashing.aligned_buffer(hashing.CHUNK_SIZE)
        hashing.drop_cache(fd)
        hasher = hashing.MultiHasher(algorithms)  # no pool: everything inline
        while n := os.readv(fd, [buf]):
            hasher.update(memoryview(buf)[:n])
            on_bytes(n)
        return hasher.hexdigests()
    finally:
        os.close(fd)


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if directory else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalDestination(Destination):
    """A folder; cards go to ``<root>/<label>/``."""

    def __init__(self, root: str | os.PathLike[str], *, name: str | None = None) -> None:
        self.root = Path(root).absolute()
        self.name = name or str(self.root)

    def location(self, label: str) -> str:
        return str(self.root / label)

    def local_path(self, label: str) -> Path:
        return self.root / label

    def open_writer(self, label: str) -> LocalCardWriter:
        return LocalCardWriter(self, label)

    def open_reader(self, label: str) -> LocalCardReader:
        return LocalCardReader(self, label)

    def __repr__(self) -> str:
        return f"LocalDestination({str(self.root)!r}, name={self.name!r})"


class LocalCardReader(CardReader):
    def __init__(self, destination: LocalDestination, label: str) -> None:
        self.destination = destination
        try:
            check_label(label, allow_empty=True)
        except UnsafePathError as exc:
            raise DestinationError(str(exc), reason="unwritable") from exc
        self.folder = destination.root / label
        self.location = str(self.folder)
        try:
            st = self.folder.stat()
        except OSError as exc:
            raise DestinationError(
                f"{self.location} cannot be opened ({exc.strerror}): is the drive mounted?",
                reason="vanished",
            ) from exc
        if not stat.S_ISDIR(st.st_mode):
            raise DestinationError(f"{self.location} is not a folder", reason="unwritable")
        # Identity of the card folder: if the drive is unmounted or the folder
        # deleted and recreated, the same path names another (dev, inode).
        self._identity = (st.st_dev, st.st_ino)
        # Where writes must stay (check_alive notices if the path comes to lead elsewhere).
        self._real_folder = os.path.realpath(self.folder)

    def check_alive(self) -> None:
        try:
            st = self.folder.stat()
        except OSError as exc:
            raise DestinationError(
                f"destination {self.location} vanished ({exc.strerror}): the drive was unplugged, "
                "unmounted or the folder deleted; reconnect it and re-run the offload",
                reason="vanished",
            ) from exc
        if (st.st_dev, st.st_ino) != self._identity:
            raise DestinationError(
                f"destination {self.location} vanished: the path now leads to another folder or device "
                "(drive unmounted?); reconnect it and re-run the offload",
                reason="vanished",
            )

    def _path(self, relpath: str) -> Path:
        """The path of ``relpath`` below the card folder; UnsafePathError if it could lead outside."""
        return self.folder.joinpath(*check_relpath(fsnames.to_fs(relpath)))

    def _prove_inside(self, path: Path, relpath: str) -> None:
        """Resolve ``path``'s folder now (symlinks followed) and prove it is inside the card folder.

        Checked at write time, whatever the catalog or the request said: a
        symlink planted in a folder of the path must not redirect a write.
        """
        folder = self._real_folder
        parent = os.path.realpath(path.parent)
        if parent != folder and not parent.startswith(folder.rstrip(os.sep) + os.sep):
            raise UnsafePathError(
                f"refused to write {relpath} on {self.destination.name}: its folder resolves to {parent}, "
                f"outside {folder} (a symlink in the way?); remove the symlink and re-run"
            )

    def stat(self, relpath: str) -> Entry:
        path = self._path(relpath)
        try:
            st = path.lstat()
        except FileNotFoundError:
            return Entry(EntryKind.ABSENT)
        except NotADirectoryError:
            return Entry(EntryKind.OTHER, detail="a file is in place of one of its folders")
        except OSError as exc:
            raise self._error(exc, "check", relpath) from exc
        if stat.S_ISREG(st.st_mode):
            return Entry(EntryKind.FILE, size=st.st_size)
        kind = (
            "a folder"
            if stat.S_ISDIR(st.st_mode)
            else "a symlink"
            if stat.S_ISLNK(st.st_mode)
            else "a special file"
        )
        return Entry(EntryKind.OTHER, detail=f"{kind} is at that name")

    def hash(self, relpath: str, algorithms: Sequence[str], *, on_bytes: BytesCallback) -> dict[str, str]:
        path = self._path(relpath)
        try:
            return _hash_from_device(path, algorithms, on_bytes=on_bytes, fsync_first=True)
        except hashing.HashingError as exc:
            raise FileCopyError(f"{exc} (on destination {self.destination.name})") from exc
        except OSError as exc:
            raise self._error(exc, "read", relpath) from exc

    def open_file(self, relpath: str) -> LocalSourceFile:
        return LocalSourceFile(self._path(relpath), relpath)

    def list_files(self) -> Iterator[str]:
        for dirpath, dirnames, filenames in os.walk(self.folder):
            # Prune temporary folders (e.g. history being carried over) and sort.
            dirnames[:] = sorted(d for d in dirnames if not d.endswith(PARTIAL_SUFFIX))
            base = Path(dirpath).relative_to(self.folder)
            for name in sorted(filenames):
                if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
                    continue
                if stat.S_ISREG((Path(dirpath) / name).lstat().st_mode):
                    yield fsnames.from_fs((base / name).as_posix())

    def _error(self, exc: OSError, action: str, relpath: str) -> DestinationError | FileCopyError:
        """Turn an OSError into the engine's vocabulary, with a message to act on."""
        where = f"{relpath} on {self.destination.name} ({self.location})"
        if exc.errno in _FULL_ERRNOS:
            return DestinationError(
                f"destination full: could not {action} {where}: {exc.strerror}. Free space or use another "
                "drive, then re-run the offload (files already verified are kept and not copied again)",
                reason="full",
            )
        try:
            self.check_alive()
        except DestinationError as gone:
            return gone
        if exc.errno in _GONE_ERRNOS:
            return DestinationError(
                f"destination failed: could not {action} {where}: {exc.strerror}. Check the drive and its "
                "connection, then re-run the offload",
                reason="unavailable" if exc.errno != errno.EROFS else "unwritable",
            )
        return FileCopyError(f"could not {action} {where}: {exc.strerror or exc}")


class LocalSourceFile(SourceFile):
    """A regular file read with plain ``read`` calls into the caller's (aligned) buffer."""

    def __init__(self, path: Path, relpath: str) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                raise SourceMissingError(f"{path} is missing") from exc
            raise FileCopyError(f"cannot open {path}: {exc.strerror or exc}") from exc
        try:
            st = os.fstat(self._fd)
        except OSError as exc:
            self.close()
            raise FileCopyError(f"cannot open {path}: {exc.strerror or exc}") from exc
        if not stat.S_ISREG(st.st_mode):
            self.close()
            raise SourceMissingError(f"{path} is not a regular file")
        super().__init__(relpath, st.st_size, str(path))

    def readinto(self, buffer: memoryview) -> int:
        assert self._fd is not None, "read after close"
        try:
            return os.readv(self._fd, [buffer])
        except OSError as exc:
            raise FileCopyError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class LocalPendingCopy(PendingCopy):
    def __init__(self, writer: LocalCardWriter, relpath: str, size: int, mtime_ns: int, final: Path) -> None:
        super().__init__(relpath, size)
        self.writer = writer
        self.final = final
        self.temp = final.with_name(_temp_name(final.name))
        self.mtime_ns = mtime_ns
        self._fd: int | None = None
        self._settled = 0  # bytes before this offset are written back and out of the page cache
        self.created = False

    def open(self) -> None:
        # O_EXCL: the lock plus the leftover sweep mean the name is free; if it
        # is not, something else is writing here and we must not share it.
        # O_NOFOLLOW: a planted symlink must not redirect our write.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(self.temp, flags, 0o644)
        self.created = True

    def write(self, chunk: memoryview) -> None:
        assert self._fd is not None, "write after close"
        view = chunk
        start = self.bytes_written
        try:
            while view:
                written = os.write(self._fd, view)  # may be partial
                view = view[written:]
                self.bytes_written += written
            _start_writeback(self._fd, start, self.bytes_written - start, self._settled)
            self._settled = start
        except OSError as exc:
            raise self.writer._error(exc, "write", self.relpath) from exc

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            # mtime on the temporary file: the final name is a link to the same
            # inode, and the batch fsync makes the timestamp durable too.
            os.utime(fd, ns=(self.mtime_ns, self.mtime_ns))
        except OSError as exc:
            os.close(fd)
            raise self.writer._error(exc, "set the modification time of", self.relpath) from exc
        try:
            os.close(fd)  # NFS and some FUSE file systems report write errors here
        except OSError as exc:
            raise self.writer._error(exc, "close", self.relpath) from exc

    def abort(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError:
                pass
        if self.created:
            try:
                self.temp.unlink()
            except OSError:
                pass  # gone already, or the destination vanished with it
            self.created = False


class LocalCardWriter(LocalCardReader, CardWriter):
    def __init__(self, destination: LocalDestination, label: str) -> None:
        root = destination.root
        try:
            check_label(label)
        except UnsafePathError as exc:
            raise DestinationError(str(exc), reason="unwritable") from exc
        if not root.is_dir():
            raise DestinationError(
                f"destination folder {root} does not exist or is not a folder: is the drive mounted? "
                "(it is never created automatically)",
                reason="vanished",
            )
        folder = root / label
        try:
            folder.mkdir()
        except FileExistsError:
            pass  # an earlier, possibly interrupted, offload of this card: resume it
        except OSError as exc:
            reason = "full" if exc.errno in _FULL_ERRNOS else "unwritable"
            raise DestinationError(f"cannot create {folder}: {exc.strerror}", reason=reason) from exc
        if folder.is_symlink():
            raise DestinationError(
                f"{folder} is a symlink; refusing to write through it", reason="unwritable"
            )
        super().__init__(destination, label)
        self._dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._lock()
            self.removed_leftovers = tuple(self._remove_leftovers())
        except BaseException:
            os.close(self._dir_fd)
            raise
        self._dirty_dirs: set[Path] = set()
        self._known_dirs: set[Path] = set()  # folders known to exist: skip mkdir for each file

    def _lock(self) -> None:
        """Exclusive advisory lock on the card folder itself (no lock file to
        leave behind; the kernel drops it if the process is killed)."""
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DestinationError(
                f"another offload is writing to {self.location}; wait for it to finish",
                reason="locked",
            ) from exc
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            # Some network file systems cannot lock; carry on unprotected.

    def _remove_leftovers(self) -> list[str]:
        """Delete temporary files of a killed offload.

        We delete rather than promote them: a leftover was never fsynced for
        sure nor verified, and at most one batch is lost. Only names with our
        suffix are touched; finished copies never have it.
        """
        removed = []
        for dirpath, _dirnames, filenames in os.walk(self.folder):
            for name in filenames:
                if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
                    path = Path(dirpath) / name
                    path.unlink()
                    removed.append(path.relative_to(self.folder).as_posix())
        return sorted(removed)

    def close(self) -> None:
        if self._dir_fd >= 0:
            os.close(self._dir_fd)  # releases the lock
            self._dir_fd = -1

    def free_bytes(self) -> int:
        st = os.statvfs(self.folder)
        return st.f_bavail * st.f_frsize

    def _make_parents(self, relpath: str) -> Path:
        """Create the folders of ``relpath`` below the card folder, one level at
        a time, never the card folder itself (if it vanished we must fail, not
        recreate it on whatever is mounted, or not, underneath)."""
        parts = check_relpath(fsnames.to_fs(relpath))
        current = self.folder
        for part in parts[:-1]:
            current = current / part
            if current in self._known_dirs:
                continue
            try:
                current.mkdir()
                self._dirty_dirs.add(current.parent)  # the new entry must be made durable
            except FileExistsError:
                if not stat.S_ISDIR(current.lstat().st_mode):
                    raise FileCopyError(
                        f"cannot create folder {current} on {self.destination.name}: a file or symlink "
                        "is in the way; move it aside and re-run"
                    ) from None
            self._known_dirs.add(current)
        return current / parts[-1]

    def make_folder(self, relpath: str) -> None:
        # The same checks as a file's folders: no '..', no symlink leading out, never the card folder.
        try:
            # _make_parents creates the folders of a file's path: give it one inside this folder.
            folder = self._make_parents(f"{relpath}/_").parent
            self._prove_inside(folder / "_", relpath)
        except OSError as exc:
            raise self._error(exc, "create the folder", relpath) from exc

    def set_folder_mtime(self, relpath: str, mtime_ns: int) -> None:
        folder = self._path(relpath) if relpath else self.folder
        try:
            if relpath:
                self._prove_inside(folder / "_", relpath)
            # A symlink planted at the folder's name must not carry the time elsewhere.
            os.utime(folder, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
        except OSError as exc:
            raise self._error(exc, "set the modification time of the folder", relpath or ".") from exc
        self._dirty_dirs.add(folder)

    def begin(self, relpath: str, *, size: int, mtime_ns: int) -> LocalPendingCopy:
        self.check_alive()
        try:
            final = self._make_parents(relpath)
            self._prove_inside(final, relpath)
            pending = LocalPendingCopy(self, relpath, size, mtime_ns, final)
            pending.open()
        except OSError as exc:
            raise self._error(exc, "create", relpath) from exc
        return pending

    def make_durable(self, pendings: Sequence[PendingCopy]) -> dict[PendingCopy, FileCopyError]:
        failures: dict[PendingCopy, FileCopyError] = {}
        if len(pendings) >= SYNCFS_MIN_FILES:
            try:
                if _syncfs(self._dir_fd):
                    return failures
            except OSError:
                pass  # find out which file is at fault below
        for pending in pendings:
            assert isinstance(pending, LocalPendingCopy)
            try:
                _fsync_path(pending.temp)
            except OSError as exc:
                error = self._error(exc, "flush to disk", pending.relpath)
                if isinstance(error, DestinationError):
                    raise error from exc
                failures[pending] = error
        return failures

    def read_back(self, pending: PendingCopy, *, on_bytes: BytesCallback) -> str:
        assert isinstance(pending, LocalPendingCopy)
        try:
            # The pages are clean after make_durable, so the kernel can drop
            # them and the hash reads the device.
            digests = _hash_from_device(
                pending.temp, (hashing.DEFAULT_ALGORITHM,), on_bytes=on_bytes, fsync_first=False
            )
        except hashing.HashingError as exc:
            self.check_alive()
            raise FileCopyError(f"reading back: {exc} (on {self.destination.name})") from exc
        except OSError as exc:
            raise self._error(exc, "read back", pending.relpath) from exc
        return digests[hashing.DEFAULT_ALGORITHM]

    def commit(self, pending: PendingCopy) -> None:
        assert isinstance(pending, LocalPendingCopy)
        self._prove_inside(pending.final, pending.relpath)  # again: the folders may have changed since begin
        try:
            self._place(pending.temp, pending.final)
        except FileExistsError as exc:
            raise FinalExistsError(
                f"{pending.relpath} appeared on {self.destination.name} during the offload; the existing "
                "file was kept and nothing was overwritten"
            ) from exc
        except OSError as exc:
            raise self._error(exc, "give its final name to", pending.relpath) from exc
        pending.created = False  # the temp name is gone; abort must not touch the final
        self._dirty_dirs.add(pending.final.parent)

    @staticmethod
    def _place(temp: Path, final: Path) -> None:
        """Move temp to final, raising FileExistsError rather than replacing."""
        try:
            os.link(temp, final)
        except OSError as exc:
            if exc.errno not in _NO_LINK_ERRNOS:
                raise
        else:
            temp.unlink()
            return
        if _rename_noreplace(temp, final):
            return
        # Last resort (no hard links, no renameat2): a writer creating `final`
        # between these two calls would be replaced. Nothing else writes into
        # a locked card folder, so the window is only theoretical.
        if final.is_symlink() or final.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(final))
        temp.rename(final)

    def flush_commits(self) -> None:
        dirs, self._dirty_dirs = self._dirty_dirs, set()
        for directory in sorted(dirs):
            try:
                _fsync_path(directory, directory=True)
            except OSError as exc:
                # Without a durable folder entry no copy of this batch can be
                # vouched for: treat it as a failure of the destination.
                error = self._error(exc, "flush folder", str(directory.relative_to(self.folder)))
                raise DestinationError(str(error), reason=getattr(error, "reason", "unavailable")) from exc
        self.check_alive()

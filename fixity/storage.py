"""Reading a whole volume for an audit: list everything on it, hash one file, tell "gone" from "absent".

No Django here. A ``Store`` is a volume's root (a mounted folder or an S3
prefix) seen by an auditor:

- ``check()`` raises ``Unreachable`` when the volume as a whole cannot be
  read now (unmounted, replaced by another folder, bucket not answering).
  Callers ask it before they record a file as missing, so an unplugged drive
  never turns into thousands of missing copies.
- ``listing()`` is every regular file below the root with its size, including
  left-over ``.reelvault-partial`` files (they are findings), without the ASC
  MHL histories and the volume's identity file (they are ours, not media).
- ``hash(path)`` streams one file and returns its XXH3-128, or None when the
  file is not there. Local files are read from the device in large aligned
  chunks, and what was read is dropped from the page cache as it goes
  (``POSIX_FADV_DONTNEED``), so an audit of a 100 TB RAID does not evict the
  cache of the offloads and restores running beside it.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xxhash import xxh3_128_hexdigest as _xxh128_hexdigest

from copyengine import hashing

IDENTITY_FILE = ".reelvault-volume.json"
#: ``copyengine.mhl.ASCMHL_FOLDER``, spelled out: importing the MHL package here cost every
#: command and worker ~0.1 s of start-up (tests/fixity/test_command.py checks they agree).
ASCMHL_FOLDER = "ascmhl"
QUARANTINE_MARK = ".reelvault-quarantine-"
#: The object metadata holding the XXH3-128 a copy was verified with when it was written
#: (``protection.storage.HASH_KEY``; fixity may not import protection).
STORED_HASH_KEY = "reelvault-xxh128"
S3_SCHEME = "s3://"
#: Drop what was read from the page cache every this many bytes (and at the end).
DROP_EVERY = 64 * 1024 * 1024
#: Read-ahead of the next files of a known order (``LocalStore.expect``): at most this many files
#: and bytes ahead of the reader, files up to READ_AHEAD_FILE_MAX each (the kernel reads ahead
#: within larger ones itself).
READ_AHEAD_FILES = 64
READ_AHEAD_BYTES = 32 * 1024 * 1024
READ_AHEAD_FILE_MAX = 1024 * 1024
#: O_NOATIME where the kernel allows it (the file's owner or CAP_FOWNER): no inode write per file read.
_NOATIME = getattr(os, "O_NOATIME", 0)
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_FADVISE = hasattr(os, "posix_fadvise")

BytesCallback = Callable[[int], None]


class Unreachable(Exception):
    """The volume as a whole cannot be read now; the message says why and what to do."""


class FileUnreadable(Exception):
    """This one file exists but cannot be read (an I/O error on a volume that still answers)."""


class Store(ABC):
    location: str

    @abstractmethod
    def check(self) -> None:
        """Raise Unreachable if the volume went away since it was opened."""

    @abstractmethod
    def listing(self) -> dict[str, int]:
        """Every file below the root (relative posix path) with its size."""

    @abstractmethod
    def hash(self, path: str, *, on_bytes: BytesCallback) -> str | None:
        """XXH3-128 of the file, None if absent. Raises FileUnreadable or Unreachable."""

    def stored_hash(self, path: str, *, size: int, on_bytes: BytesCallback) -> str | None:
        """The XXH3-128 the store keeps for the file without reading it, where it can; else ``hash``.

        Only buckets keep one (``S3Store``); folders read the file.
        """
        return self.hash(path, on_bytes=on_bytes)

    def expect(self, paths: list[str]) -> None:  # noqa: B027  (only local folders read ahead)
        """The files ``hash`` will be asked for next, in order (a hint: others may still be asked for)."""

    def close(self) -> None:  # noqa: B027  (most stores hold nothing)
        """Release what is held."""


def _skipped_dir(name: str) -> bool:
    return name == ASCMHL_FOLDER


class LocalStore(Store):
    """A mounted folder. Opening it remembers its (device, inode): an unmount shows as another folder."""

    def __init__(self, root: str | os.PathLike[str], *, throttle_bps: int = 0) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        self.throttle_bps = throttle_bps
        try:
            st = self.root.stat()
        except OSError as exc:
            raise Unreachable(
                f"{self.root} cannot be opened ({exc.strerror}): is the drive mounted?"
            ) from exc
        if not stat.S_ISDIR(st.st_mode):
            raise Unreachable(f"{self.root} is not a folder: is the drive mounted?")
        self._identity = (st.st_dev, st.st_ino)
        self._buffer = hashing.aligned_buffer(hashing.CHUNK_SIZE)
        self._prefix = str(self.root) + os.sep
        self._noatime = _NOATIME
        # Read-ahead: the order the caller will read files in, how far it was prefetched,
        # and the prefetched files not read yet (path -> size asked for).
        self._order: list[str] = []
        self._ahead = 0
        self._fetched: dict[str, tuple[int, int]] = {}  # path -> (open fd, size)
        self._pending = 0

    def is_empty(self) -> bool:
        with os.scandir(self.root) as entries:
            return next(entries, None) is None

    def check(self) -> None:
        try:
            st = self.root.stat()
        except OSError as exc:
            raise Unreachable(
                f"{self.root} went away ({exc.strerror}): the drive was unplugged or unmounted"
            ) from exc
        if (st.st_dev, st.st_ino) != self._identity:
            raise Unreachable(f"{self.root} now leads to another folder or device: the drive was unmounted")

    def listing(self) -> dict[str, int]:
        found: dict[str, int] = {}
        # scandir with plain strings: its entries carry the file type, and no Path per file.
        folders = [("", str(self.root))]
        while folders:
            base, folder = folders.pop()
            try:
                with os.scandir(folder) as entries:
                    items = list(entries)
            except OSError:
                continue  # vanished while listing; check() tells whether the volume did
            for entry in items:
                relative = base + entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not _skipped_dir(entry.name):
                            folders.append((relative + "/", entry.path))
                        continue
                    if not base and entry.name == IDENTITY_FILE:
                        continue
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    found[relative] = st.st_size
        return found

    def expect(self, paths: list[str]) -> None:
        """Say in which order files will be hashed next: small ones are then read ahead, many at a time.

        Reading thousands of small files one after the other waits for the
        disk once per file; asking the kernel for the next few
        (``POSIX_FADV_WILLNEED``, right after dropping whatever it had cached of
        them, so the device is still what is read) keeps its queue full.
        """
        self._release_all()
        self._order, self._ahead = list(paths), 0

    def _release_all(self) -> None:
        for fd, _ in self._fetched.values():
            self._release(fd)
        self._fetched.clear()
        self._pending = 0

    def _open(self, full: str) -> int:
        if self._noatime:
            try:
                return os.open(full, _OPEN_FLAGS | self._noatime)
            except PermissionError:
                self._noatime = 0  # not the files' owner: no O_NOATIME for this volume
        return os.open(full, _OPEN_FLAGS)

    def _release(self, fd: int) -> None:
        """Drop a read-ahead file the caller skipped from the cache, and close it."""
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    def _take(self, path: str) -> tuple[int, int]:
        """The read-ahead file's open descriptor and size; read-ahead files before it were skipped:
        released."""
        fetched = self._fetched
        while True:
            first = next(iter(fetched))
            fd, size = fetched.pop(first)
            self._pending -= size
            if first == path:
                return fd, size
            self._release(fd)

    def _read_ahead(self, current: str) -> None:
        order, fetched, fadvise = self._order, self._fetched, os.posix_fadvise
        ahead, pending, end = self._ahead, self._pending, len(order)
        try:
            while ahead < end and len(fetched) < READ_AHEAD_FILES and pending < READ_AHEAD_BYTES:
                path = order[ahead]
                ahead += 1
                if path == current or path in fetched:
                    continue
                try:
                    fd = self._open(self._prefix + path.replace("/", os.sep))
                except OSError:
                    continue  # hash() finds out what is wrong with it
                try:
                    st = os.fstat(fd)
                    if not stat.S_ISREG(st.st_mode) or st.st_size > READ_AHEAD_FILE_MAX:
                        os.close(fd)
                        continue
                    # Drop what the cache holds of it, then ask the device for it: kept open for hash().
                    fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                except OSError:
                    os.close(fd)
                    continue
                fetched[path] = (fd, st.st_size)
                pending += st.st_size
        finally:
            self._ahead, self._pending = ahead, pending

    def hash(self, path: str, *, on_bytes: BytesCallback) -> str | None:
        full = self._prefix + path.replace("/", os.sep)
        # A file read ahead is already open, its pages fresh from the device:
        # not dropped again before reading. Then the next ones are read ahead.
        fetched = path in self._fetched
        if fetched:
            fd, size = self._take(path)
        if self._order and _FADVISE:
            self._read_ahead(path)
        if not fetched:
            try:
                fd = self._open(full)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    return None
                self.check()
                raise FileUnreadable(f"cannot open {full}: {exc.strerror}") from exc
        try:
            # Read the device, not a cached copy: drop first (unless read ahead), then drop as we go.
            if not fetched:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    return None
                size = st.st_size
                hashing.drop_cache(fd)
            buf = self._buffer
            try:
                n = os.readv(fd, [buf])
            except OSError as exc:
                self.check()
                raise FileUnreadable(f"cannot read {full}: {exc.strerror}") from exc
            if n == size and n < len(buf) and not self.throttle_bps:
                # A small file in one read (the common case on a card of stills or sidecars): one
                # hash call, and no further read to meet the end of the file. A file that grew
                # since it was opened hashes as it was, which the catalog reports as changed.
                on_bytes(n)
                digest = _xxh128_hexdigest(memoryview(buf)[:n])
                if _FADVISE:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                return digest
            return self._hash_rest(fd, full, n, on_bytes)
        finally:
            os.close(fd)

    def _hash_rest(self, fd: int, full: str, n: int, on_bytes: BytesCallback) -> str:
        """Hash a file whose first read returned ``n`` bytes into the buffer: read on to its end."""
        hasher = hashing.new_hash(hashing.DEFAULT_ALGORITHM)
        buf, done, dropped, started = self._buffer, 0, 0, time.monotonic()
        while n:
            hasher.update(memoryview(buf)[:n])
            done += n
            on_bytes(n)
            if done - dropped >= DROP_EVERY:
                os.posix_fadvise(fd, dropped, done - dropped, os.POSIX_FADV_DONTNEED)
                dropped = done
            if self.throttle_bps:
                ahead = done / self.throttle_bps - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            try:
                n = os.readv(fd, [buf])
            except OSError as exc:
                self.check()
                raise FileUnreadable(f"cannot read {full}: {exc.strerror}") from exc
        hashing.drop_cache(fd)
        return hasher.hexdigest()

    def close(self) -> None:
        self._release_all()
        try:
            self._buffer.close()
        except BufferError:
            pass


class S3Store(Store):
    """An ``s3://bucket/prefix`` location through boto3's own configuration (endpoint, credentials)."""

    def __init__(self, location: str, *, client: Any = None) -> None:
        import boto3  # only workers that touch buckets pay for the import

        self.location = location.rstrip("/")
        self.bucket, _, prefix = location.removeprefix(S3_SCHEME).partition("/")
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client if client is not None else boto3.client("s3")
        self.check()

    def _unreachable(self, exc: Exception) -> Unreachable:
        return Unreachable(f"bucket {self.bucket} ({self.location}) does not answer: {exc}")

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._unreachable(exc) from exc

    def listing(self) -> dict[str, int]:
        from botocore.exceptions import BotoCoreError, ClientError

        found: dict[str, int] = {}
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            ):
                for obj in page.get("Contents", []):
                    path = str(obj["Key"])[len(self.prefix) :]
                    parts = path.split("/")
                    if ASCMHL_FOLDER in parts[:-1] or path == IDENTITY_FILE:
                        continue
                    found[path] = int(obj["Size"])
        except (ClientError, BotoCoreError) as exc:
            raise self._unreachable(exc) from exc
        return found

    def stored_hash(self, path: str, *, size: int, on_bytes: BytesCallback) -> str | None:
        """The XXH3-128 in the object's metadata (one HEAD, no byte read) when the object has it and
        the catalog's size; otherwise the object is read back (``hash``). None when it is gone."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + path)
        except (ClientError, BotoCoreError) as exc:
            self._gone_or_raise(exc, path)
            return None
        stored = str(head.get("Metadata", {}).get(STORED_HASH_KEY, ""))
        if not stored or int(head.get("ContentLength", -1)) != size:
            # No checksum of ours (written by another tool, or overwritten without it) or another
            # size: nothing cheap to compare with, so read it back.
            return self.hash(path, on_bytes=on_bytes)
        return stored

    def hash(self, path: str, *, on_bytes: BytesCallback) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        hasher = hashing.new_hash(hashing.DEFAULT_ALGORITHM)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + path)["Body"]
            try:
                for data in body.iter_chunks(chunk_size=hashing.CHUNK_SIZE):
                    hasher.update(data)
                    on_bytes(len(data))
            finally:
                body.close()
        except (ClientError, BotoCoreError) as exc:
            self._gone_or_raise(exc, path)
            return None
        return hasher.hexdigest()

    def _gone_or_raise(self, exc: Exception, path: str) -> None:
        """Return when the object is not there (the caller answers None); otherwise raise
        Unreachable (the bucket went away) or FileUnreadable naming the object."""
        from botocore.exceptions import ClientError

        detail: object = exc
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return
            detail = code or exc
        self.check()
        raise FileUnreadable(f"cannot read {self.location}/{path}: {detail}") from exc


def store_open(location: str, *, throttle_bps: int = 0) -> Store:
    """The store of a volume's location. Raises Unreachable."""
    if location.startswith(S3_SCHEME):
        return S3Store(location)
    return LocalStore(location, throttle_bps=throttle_bps)

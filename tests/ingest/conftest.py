"""Fixtures for the copy-engine tests: cards on disk, tmpfs and loop-device
destinations/sources, independent hashing. No Django: these tests must run
with ``-p no:django`` too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xxhash

from copyengine.backends.base import PARTIAL_SUFFIX

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (mount, loop devices)")


def write_card(root: Path, files: dict[str, bytes]) -> Path:
    """Create a card folder with the given relative paths and contents."""
    root.mkdir(parents=True, exist_ok=True)
    for relpath, data in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def xxh128_file(path: Path) -> str:
    """Independent truth: hash with the xxhash library directly."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def hashlib_file(path: Path, name: str) -> str:
    h = hashlib.new(name)
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def partial_files(root: Path) -> list[Path]:
    """Every temporary file of ours under root."""
    return [Path(d) / n for d, _, names in os.walk(root) for n in names if n.endswith(PARTIAL_SUFFIX)]


def flip_byte(path: Path, offset: int = 0) -> None:
    """Corrupt one byte in place, keeping size (and, restored below, mtime)."""
    st = path.stat()
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
def card(tmp_path: Path) -> Path:
    """A small mixed card: nested clips, hidden, empty, unicode and spaces."""
    rng = __import__("random").Random(1234)
    return write_card(
        tmp_path / "card",
        {
            "DCIM/A001C001_230101.mov": rng.randbytes(3 * 1024 * 1024 + 17),
            "DCIM/A001C002_230101.mov": rng.randbytes(9 * 1024 * 1024 + 5),  # > one 8 MiB chunk
            "DCIM/sub dir/clip ü é 名前.wav": rng.randbytes(100_000),
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
            "empty.txt": b"",
            "ascmhl/0001_card.mhl": b"<hashlist/>",
        },
    )


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount small real tmpfs file systems; unmounted (lazily if busy) afterwards."""
    if not IS_ROOT:
        pytest.skip("mounting tmpfs needs root")
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mnt = tmp_path / f"tmpfs{len(mounted)}"
        mnt.mkdir(exist_ok=True)  # a test may put something underneath first
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount tmpfs: {result.stderr.strip()}")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


class LoopCard:
    """An ext4 file system on a loop device, used as a card whose last file
    sits on blocks that read back as EIO (the backing file is cut short)."""

    def __init__(self, base: Path) -> None:
        self.image = base / "card.img"
        self.root = base / "card"
        self.loop = ""

    def create(self, good: dict[str, bytes], bad_name: str, bad_data: bytes) -> None:
        for tool in ("losetup", "mkfs.ext4", "filefrag", "mount"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} not available")
        with open(self.image, "wb") as f:
            f.truncate(64 * 1024 * 1024)
        # No journal: all metadata stays at the start of the image, before
        # the data blocks we cut off.
        subprocess.run(
            ["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-b", "4096", str(self.image)], check=True
        )
        result = subprocess.run(["losetup", "-f", "--show", str(self.image)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"no loop device: {result.stderr.strip()}")
        self.loop = result.stdout.strip()
        self.root.mkdir()
        subprocess.run(["mount", self.loop, str(self.root)], check=True)
        write_card(self.root, good)
        (self.root / bad_name).write_bytes(bad_data)
        os.sync()
        cut = self._first_block(self.root / bad_name)
        for name in good:
            if self._last_block(self.root / name) >= cut:
                pytest.skip("ext4 placed a good file after the bad one; cannot cut only the bad file")
        # Reads past the end of the backing file fail with EIO in the loop
        # driver: a real kernel I/O error on exactly the bad file's blocks.
        os.truncate(self.image, cut * 4096)
        fd = os.open(self.root / bad_name, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)

    @staticmethod
    def _extents(path: Path) -> list[tuple[int, int]]:
        out = subprocess.run(
            ["filefrag", "-v", "-b4096", str(path)], capture_output=True, text=True, check=True
        )
        extents = []
        for line in out.stdout.splitlines():
            parts = line.replace(":", " ").replace("..", " ").split()
            if len(parts) >= 5 and parts[0].isdigit():
                extents.append((int(parts[3]), int(parts[4])))
        return extents

    def _first_block(self, path: Path) -> int:
        return min(start for start, _ in self._extents(path))

    def _last_block(self, path: Path) -> int:
        extents = self._extents(path)
        return max((end for _, end in extents), default=-1)

    def destroy(self) -> None:
        if self.root.is_mount():
            subprocess.run(["umount", str(self.root)], capture_output=True)
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop], capture_output=True)


@pytest.fixture
def loop_card(tmp_path: Path) -> Iterator[LoopCard]:
    if not IS_ROOT:
        pytest.skip("loop devices need root")
    lc = LoopCard(tmp_path)
    yield lc
    lc.destroy()

"""Tests of the verified copy engine (copyengine/offload.py, copyengine/backends/local.py).

Truth comes from outside the engine: files are compared byte for byte and
hashed with xxhash/hashlib here; the engine's own claims are only checked
against that. Faults are real where the machine allows it (tmpfs that fills
up or is unmounted, a loop device that returns EIO, SIGKILL); otherwise a
test subclass of the local backend injects them.

Run: pytest tests/ingest/test_offload.py
 or, without Django: pytest -p no:django --confcutdir=tests/ingest tests/ingest/test_offload.py
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xxhash

from copyengine.backends import LocalDestination
from copyengine.backends.base import PARTIAL_SUFFIX, DestinationError, PendingCopy
from copyengine.backends.local import LocalCardWriter, LocalPendingCopy
from copyengine.offload import (
    CopyStatus,
    OffloadRefusedError,
    OffloadResult,
    ProgressSnapshot,
    offload_card,
    scan_card,
    verify_copies,
)
from tests.ingest.conftest import (
    IS_ROOT,
    LoopCard,
    flip_byte,
    hashlib_file,
    needs_root,
    partial_files,
    write_card,
    xxh128_file,
)

REPO = Path(__file__).resolve().parents[2]
LABEL = "A001"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def card_files(root: Path) -> dict[str, Path]:
    """Regular files under root (no symlinks), by relative posix path."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                out[path.relative_to(root).as_posix()] = path
    return out


def assert_exact_copy(card: Path, copy: Path) -> None:
    """The copy holds exactly the card's regular files: same bytes, same mtime."""
    src, dst = card_files(card), card_files(copy)
    assert sorted(dst) == sorted(src)
    for relpath, path in src.items():
        assert dst[relpath].read_bytes() == path.read_bytes(), relpath
        assert dst[relpath].stat().st_mtime_ns == path.stat().st_mtime_ns, relpath


def statuses(result: OffloadResult, destination: str) -> dict[str, CopyStatus]:
    return {
        f.relpath: next(d.status for d in f.destinations if d.destination == destination)
        for f in result.files
    }


def outcome(result: OffloadResult, relpath: str, destination: str) -> tuple[CopyStatus, str]:
    f = next(f for f in result.files if f.relpath == relpath)
    d = next(d for d in f.destinations if d.destination == destination)
    return d.status, d.message


def tree(root: Path) -> list[str]:
    return sorted(str(Path(d) / n) for d, dirs, names in os.walk(root) for n in [*dirs, *names])


class HookedDestination(LocalDestination):
    """The local backend with a test hook on writes: ``on_write(pending, total)``
    runs after each chunk is written. Used to act at a precise moment (cancel,
    unmount, corrupt, slow down) without adding hooks to the engine."""

    def __init__(self, root: Path, on_write: Callable[[PendingCopy, int], None], **kw: str) -> None:
        super().__init__(root, **kw)
        self.on_write = on_write
        self.total = 0

    def open_writer(self, label: str) -> LocalCardWriter:
        writer = super().open_writer(label)
        begin = writer.begin

        def hooked_begin(relpath: str, *, size: int, mtime_ns: int) -> LocalPendingCopy:
            pending = begin(relpath, size=size, mtime_ns=mtime_ns)
            write = pending.write

            def hooked_write(chunk: memoryview) -> None:
                write(chunk)
                self.total += len(chunk)
                self.on_write(pending, self.total)

            pending.write = hooked_write  # type: ignore[method-assign]
            return pending

        writer.begin = hooked_begin  # type: ignore[method-assign]
        return writer


class CorruptingDestination(LocalDestination):
    """Flips a byte of ``victim``'s temporary copy after the batch sync and
    before the read-back, ``times`` times (a bad cable, a lying drive)."""

    def __init__(self, root: Path, victim: str, times: int) -> None:
        super().__init__(root)
        self.victim, self.times = victim, times

    def open_writer(self, label: str) -> LocalCardWriter:
        writer = super().open_writer(label)
        make_durable = writer.make_durable

        def corrupting(pendings):  # type: ignore[no-untyped-def]
            failures = make_durable(pendings)
            for p in pendings:
                if p.relpath == self.victim and self.times > 0:
                    self.times -= 1
                    flip_byte(p.temp, offset=p.size // 2)
                    fd = os.open(p.temp, os.O_RDONLY)
                    os.fsync(fd)  # on the device, not just in the cache
                    os.close(fd)
            return failures

        writer.make_durable = corrupting  # type: ignore[method-assign]
        return writer


# --------------------------------------------------------------------------
# scanning
# --------------------------------------------------------------------------


def test_scan_lists_regular_files_and_reports_symlinks_and_special_files(card: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.bin").write_bytes(b"not on the card")
    (card / "link_to_file").symlink_to(outside / "secret.bin")
    (card / "DCIM" / "link_to_dir").symlink_to(outside)
    os.mkfifo(card / "a_pipe")

    scan = scan_card(card)

    expected = {
        rel: (p.stat().st_size, p.stat().st_mtime_ns)
        for rel, p in card_files(card).items()
        if rel != "a_pipe"
    }
    assert {f.relpath: (f.size, f.mtime_ns) for f in scan.files} == expected
    assert [f.relpath for f in scan.files] == sorted(expected)
    assert {(p.relpath, p.kind) for p in scan.problems} == {
        ("link_to_file", "symlink"),
        ("DCIM/link_to_dir", "symlink"),
        ("a_pipe", "special_file"),
    }
    assert not any("secret" in f.relpath for f in scan.files)  # the symlinked folder was not followed
    assert scan.total_bytes == sum(size for size, _ in expected.values())


def test_scan_reports_unreadable_folder(card: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = card / "DCIM" / "sub dir"
    if IS_ROOT:  # root reads anything: make scandir fail like an unreadable folder would
        real_scandir = os.scandir

        def scandir(path: os.PathLike[str] | str) -> object:
            if Path(path) == bad:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    else:
        bad.chmod(0)
    try:
        scan = scan_card(card)
    finally:
        bad.chmod(0o755)
    assert [(p.relpath, p.kind) for p in scan.problems] == [("DCIM/sub dir", "unreadable_folder")]
    assert "NOT copied" in scan.problems[0].message
    assert not any(f.relpath.startswith("DCIM/sub dir/") for f in scan.files)


# --------------------------------------------------------------------------
# the normal path
# --------------------------------------------------------------------------


def test_offload_to_two_destinations_copies_and_verifies_everything(card: Path, tmp_path: Path) -> None:
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    result = offload_card(
        source=card,
        destinations=[LocalDestination(d1, name="shuttle1"), LocalDestination(d2, name="shuttle2")],
        label=LABEL,
        algorithms=("md5", "sha1"),
    )

    for root in (d1, d2):
        assert_exact_copy(card, root / LABEL)
        assert partial_files(root) == []
    src = card_files(card)
    assert sorted(f.relpath for f in result.files) == sorted(src)
    for f in result.files:
        path = src[f.relpath]
        assert dict(f.hashes) == {
            "xxh128": xxh128_file(path),
            "md5": hashlib_file(path, "md5"),
            "sha1": hashlib_file(path, "sha1"),
        }
        assert [d.status for d in f.destinations] == [CopyStatus.VERIFIED, CopyStatus.VERIFIED]
        assert all(d.bytes_written == f.size and d.attempts == 1 for d in f.destinations)
    card_bytes = sum(p.stat().st_size for p in src.values())
    assert result.card_bytes == card_bytes
    assert result.source_bytes_read == card_bytes  # each source byte read exactly once
    assert [s.bytes_written for s in result.destinations] == [card_bytes, card_bytes]
    assert [s.bytes_verified for s in result.destinations] == [card_bytes, card_bytes]
    assert result.safe_to_format, result.not_safe_reasons()
    assert result.mb_per_second > 0


class OverlapProbe(LocalDestination):
    """Holds the read-back of ``first`` until some other file is begun (or
    30 s pass), and records whether that happened: it does only if the copy
    of the next batch runs while this batch is being read back."""

    def __init__(self, root: Path, first: str) -> None:
        super().__init__(root)
        self.first = first
        self.next_batch_begun = threading.Event()
        self.overlapped = False

    def open_writer(self, label: str) -> LocalCardWriter:
        writer = super().open_writer(label)
        begin, read_back = writer.begin, writer.read_back

        def hooked_begin(relpath: str, *, size: int, mtime_ns: int) -> LocalPendingCopy:
            if relpath != self.first:
                self.next_batch_begun.set()
            return begin(relpath, size=size, mtime_ns=mtime_ns)

        def hooked_read_back(pending: PendingCopy, **kwargs: Any) -> str:
            if pending.relpath == self.first:
                self.overlapped = self.next_batch_begun.wait(timeout=30)
            return read_back(pending, **kwargs)

        writer.begin = hooked_begin  # type: ignore[method-assign]
        writer.read_back = hooked_read_back  # type: ignore[method-assign]
        return writer


def test_read_back_of_a_batch_overlaps_the_copy_of_the_next(tmp_path: Path) -> None:
    # The speed of a one-disk offload depends on this overlap (bench/offload.py):
    # the read-back of batch 1 must not wait for, nor hold up, the copy of batch 2.
    rng = random.Random(11)
    card = write_card(tmp_path / "card", {"A.mov": rng.randbytes(300_000), "B.mov": rng.randbytes(300_000)})
    (tmp_path / "d").mkdir()
    probe = OverlapProbe(tmp_path / "d", first="A.mov")

    result = offload_card(source=card, destinations=[probe], label=LABEL, batch_files=1)

    assert probe.overlapped, "batch 2 was not begun while batch 1 was being read back"
    assert result.safe_to_format, result.not_safe_reasons()
    assert_exact_copy(card, tmp_path / "d" / LABEL)


def test_cancel_while_a_failing_destination_is_read_back_reports_its_failure(tmp_path: Path) -> None:
    # Batch 1 is read back (and its drive found gone) while batch 2 is copied;
    # the offload is cancelled during batch 2, once the read-back has failed.
    # Batch 1's copy must say why it failed, not merely "cancelled".
    rng = random.Random(12)
    card = write_card(tmp_path / "card", {"A.mov": rng.randbytes(200_000), "B.mov": rng.randbytes(200_000)})
    (tmp_path / "d").mkdir()
    cancel = threading.Event()
    read_back_failed = threading.Event()

    class GoneOnReadBack(LocalDestination):
        def open_writer(self, label: str) -> LocalCardWriter:
            writer = super().open_writer(label)
            begin = writer.begin

            def hooked_begin(relpath: str, *, size: int, mtime_ns: int) -> LocalPendingCopy:
                if relpath == "B.mov":
                    assert read_back_failed.wait(timeout=30), "batch 1 was never read back"
                    cancel.set()
                return begin(relpath, size=size, mtime_ns=mtime_ns)

            def gone(pending: PendingCopy, **kwargs: Any) -> str:
                read_back_failed.set()
                raise DestinationError("destination d vanished: reconnect it and re-run", reason="vanished")

            writer.begin = hooked_begin  # type: ignore[method-assign]
            writer.read_back = gone  # type: ignore[method-assign]
            return writer

    result = offload_card(
        source=card,
        destinations=[GoneOnReadBack(tmp_path / "d", name="d")],
        label=LABEL,
        batch_files=1,
        cancel=cancel,
    )

    assert result.cancelled
    outcome = {f.relpath: f.destinations[0] for f in result.files}
    assert outcome["A.mov"].status is CopyStatus.FAILED and "vanished" in outcome["A.mov"].message
    assert outcome["B.mov"].status in (CopyStatus.FAILED, CopyStatus.CANCELLED)
    assert card_files(tmp_path / "d" / LABEL) == {} and partial_files(tmp_path / "d") == []


def test_symlink_is_not_copied_and_card_is_not_safe(card: Path, tmp_path: Path) -> None:
    (card / "escape").symlink_to("/etc")
    dest = tmp_path / "d"
    dest.mkdir()
    result = offload_card(source=card, destinations=[LocalDestination(dest)], label=LABEL)
    assert not (dest / LABEL / "escape").exists() and not (dest / LABEL / "escape").is_symlink()
    assert all(s is CopyStatus.VERIFIED for s in statuses(result, str(dest)).values())
    assert not result.safe_to_format
    assert any("escape" in r and "symlink" in r for r in result.not_safe_reasons())


def test_empty_card_is_not_safe_to_format(tmp_path: Path) -> None:
    (tmp_path / "card").mkdir()
    (tmp_path / "d").mkdir()
    result = offload_card(
        source=tmp_path / "card", destinations=[LocalDestination(tmp_path / "d")], label=LABEL
    )
    assert result.files == ()
    assert not result.safe_to_format
    assert "no files" in result.not_safe_reasons()[0]


def test_progress_is_throttled_and_callbacks_run_in_calling_thread(tmp_path: Path) -> None:
    card = write_card(
        tmp_path / "card", {f"C{i}.mov": random.Random(i).randbytes(2 * 1024 * 1024) for i in range(8)}
    )
    (tmp_path / "d").mkdir()
    # Slow the destination down so the run lasts ~2 s and progress has something to throttle.
    dest = HookedDestination(tmp_path / "d", lambda pending, total: time.sleep(0.1))
    snaps: list[tuple[float, ProgressSnapshot]] = []
    files: list[str] = []
    threads: set[int] = set()

    def on_progress(s: ProgressSnapshot) -> None:
        threads.add(threading.get_ident())
        snaps.append((time.monotonic(), s))

    def on_file(f: object) -> None:
        threads.add(threading.get_ident())
        files.append(f.relpath)  # type: ignore[attr-defined]

    result = offload_card(
        source=card,
        destinations=[dest],
        label=LABEL,
        on_progress=on_progress,
        on_file=on_file,
        chunk_size=1024 * 1024,
    )

    assert result.safe_to_format
    assert threads == {threading.get_ident()}
    assert sorted(files) == sorted(card_files(card)) and len(files) == len(set(files))
    assert len(snaps) >= 4
    times = [t for t, _ in snaps[:-1]]  # the final "done" snapshot is forced, not throttled
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.24 for gap in gaps), gaps  # at most 4 per second
    fractions = [s.fraction for _, s in snaps]
    assert fractions == sorted(fractions)
    last = snaps[-1][1]
    assert (last.phase, last.fraction, last.files_done, last.files_total) == ("done", 1.0, 8, 8)
    assert last.bytes_total == last.bytes_copied == 16 * 1024 * 1024
    middle = [s for _, s in snaps[1:-1]]
    assert any(0 < s.fraction < 1 and s.eta_seconds is not None and s.bytes_per_second > 0 for s in middle)


# --------------------------------------------------------------------------
# existing files, resume, conflicts
# --------------------------------------------------------------------------


def test_identical_existing_file_is_verified_not_copied_again(card: Path, tmp_path: Path) -> None:
    dest = tmp_path / "d"
    (dest / LABEL / "DCIM").mkdir(parents=True)
    existing = dest / LABEL / "DCIM" / "A001C002_230101.mov"
    shutil.copy2(card / "DCIM" / "A001C002_230101.mov", existing)
    inode = existing.stat().st_ino

    result = offload_card(source=card, destinations=[LocalDestination(dest)], label=LABEL)

    status, _ = outcome(result, "DCIM/A001C002_230101.mov", str(dest))
    assert status is CopyStatus.SKIPPED_EXISTING_VERIFIED
    assert existing.stat().st_ino == inode  # not rewritten
    size = existing.stat().st_size
    assert result.destinations[0].bytes_written == result.card_bytes - size
    assert result.safe_to_format
    assert_exact_copy(card, dest / LABEL)


@pytest.mark.parametrize("kind", ["same_size_different_bytes", "different_size", "folder_in_the_way"])
def test_conflicting_existing_file_is_reported_and_never_overwritten(
    card: Path, tmp_path: Path, kind: str
) -> None:
    relpath = "DCIM/A001C001_230101.mov"
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d2.mkdir()
    target = d1 / LABEL / relpath
    target.parent.mkdir(parents=True)
    size = (card / relpath).stat().st_size
    if kind == "same_size_different_bytes":
        target.write_bytes(b"x" * size)
    elif kind == "different_size":
        target.write_bytes(b"x" * 10)
    else:
        target.mkdir()
        (target / "keep.txt").write_bytes(b"keep")
    before = tree(d1)
    content = target.read_bytes() if target.is_file() else None

    result = offload_card(
        source=card,
        destinations=[LocalDestination(d1, name="d1"), LocalDestination(d2, name="d2")],
        label=LABEL,
    )

    status, message = outcome(result, relpath, "d1")
    assert status is CopyStatus.CONFLICT
    assert relpath in message and "untouched" in message
    if content is not None:
        assert target.read_bytes() == content
    else:
        assert (target / "keep.txt").read_bytes() == b"keep"
    assert set(before) <= set(tree(d1))
    others = {k: v for k, v in statuses(result, "d1").items() if k != relpath}
    assert set(others.values()) == {CopyStatus.VERIFIED}
    assert set(statuses(result, "d2").values()) == {CopyStatus.VERIFIED}
    assert_exact_copy(card, d2 / LABEL)
    assert not result.safe_to_format
    assert partial_files(d1) == []


def test_file_appearing_at_the_final_name_during_copy_is_never_overwritten(
    card: Path, tmp_path: Path
) -> None:
    relpath = "DCIM/A001C002_230101.mov"
    intruder = tmp_path / "d" / LABEL / relpath
    (tmp_path / "d").mkdir()

    def someone_else_writes(pending: PendingCopy, total: int) -> None:
        if pending.relpath == relpath and not intruder.exists():
            intruder.write_bytes(b"written by another program")

    result = offload_card(
        source=card,
        destinations=[HookedDestination(tmp_path / "d", someone_else_writes, name="d")],
        label=LABEL,
    )
    status, message = outcome(result, relpath, "d")
    assert status is CopyStatus.CONFLICT and "nothing was overwritten" in message
    assert intruder.read_bytes() == b"written by another program"
    assert partial_files(tmp_path / "d") == []
    assert not result.safe_to_format


@pytest.mark.parametrize("fallback", ["renameat2", "check_then_rename"])
def test_no_hard_links_fallback_still_never_overwrites(
    card: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fallback: str
) -> None:
    """exFAT and some SMB mounts refuse link(2): commit falls back, still without clobbering."""
    import errno

    import copyengine.backends.local as local

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(local.os, "link", no_links)
    if fallback == "check_then_rename":
        monkeypatch.setattr(local, "_rename_noreplace", lambda src, dst: False)
    relpath = "DCIM/A001C002_230101.mov"
    intruder = tmp_path / "d" / LABEL / relpath
    (tmp_path / "d").mkdir()

    def someone_else_writes(pending: PendingCopy, total: int) -> None:
        if pending.relpath == relpath and not intruder.exists():
            intruder.write_bytes(b"written by another program")

    result = offload_card(
        source=card,
        destinations=[HookedDestination(tmp_path / "d", someone_else_writes, name="d")],
        label=LABEL,
    )
    assert statuses(result, "d")[relpath] is CopyStatus.CONFLICT
    assert intruder.read_bytes() == b"written by another program"
    others = {k: v for k, v in statuses(result, "d").items() if k != relpath}
    assert set(others.values()) == {CopyStatus.VERIFIED}
    for rel in others:
        assert (tmp_path / "d" / LABEL / rel).read_bytes() == (card / rel).read_bytes()
    assert partial_files(tmp_path / "d") == []


def test_leftover_temporary_files_are_removed(card: Path, tmp_path: Path) -> None:
    dest = tmp_path / "d"
    (dest / LABEL / "DCIM").mkdir(parents=True)
    leftover = dest / LABEL / "DCIM" / ".A001C001_230101.mov.reelvault-partial"
    leftover.write_bytes(b"half a clip")
    stray = dest / LABEL / ".orphan.reelvault-partial"  # its card file no longer exists
    stray.write_bytes(b"x")

    result = offload_card(source=card, destinations=[LocalDestination(dest)], label=LABEL)

    assert partial_files(dest) == []
    assert result.destinations[0].removed_leftovers == (
        ".orphan.reelvault-partial",
        "DCIM/.A001C001_230101.mov.reelvault-partial",
    )
    assert result.safe_to_format
    assert_exact_copy(card, dest / LABEL)


def test_offload_killed_midway_resumes_without_copying_twice(tmp_path: Path) -> None:
    rng = random.Random(7)
    card = write_card(
        tmp_path / "card",
        {f"CLIP/C{i:03d}.mov": rng.randbytes(rng.randint(1, 3) * 1024 * 1024) for i in range(30)},
    )
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from copyengine.backends import LocalDestination
            from copyengine.offload import offload_card
            offload_card(
                source=Path({str(card)!r}),
                destinations=[LocalDestination({str(d1)!r}), LocalDestination({str(d2)!r})],
                label={LABEL!r},
                batch_bytes=4 * 1024 * 1024,
                on_file=lambda f: print("done", f.relpath, flush=True),
            )
            print("finished", flush=True)
            """
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    done = 0
    while done < 8:
        line = child.stdout.readline()
        assert line.startswith("done"), f"child ended early: {line!r}"
        done += 1
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    # State after the kill: every file under its final name is already a
    # complete, exact copy (names are given only after verification).
    finals = {
        root: {rel: p for rel, p in card_files(root / LABEL).items() if not rel.endswith(PARTIAL_SUFFIX)}
        for root in (d1, d2)
    }
    for files in finals.values():
        for relpath, path in files.items():
            assert path.read_bytes() == (card / relpath).read_bytes(), relpath
    inodes = {(root, rel): p.stat().st_ino for root, files in finals.items() for rel, p in files.items()}
    leftovers = {
        root: sorted(p.relative_to(root / LABEL).as_posix() for p in partial_files(root)) for root in (d1, d2)
    }
    assert 8 <= min(len(f) for f in finals.values()) < 30  # killed in the middle

    result = offload_card(
        source=card,
        destinations=[LocalDestination(d1, name="d1"), LocalDestination(d2, name="d2")],
        label=LABEL,
        batch_bytes=4 * 1024 * 1024,
    )

    assert result.safe_to_format, result.not_safe_reasons()
    for root, name, summary in ((d1, "d1", result.destinations[0]), (d2, "d2", result.destinations[1])):
        assert_exact_copy(card, root / LABEL)
        assert partial_files(root) == []
        assert list(summary.removed_leftovers) == leftovers[root]
        st = statuses(result, name)
        for relpath in card_files(card):
            if relpath in finals[root]:  # copied before the kill: checked, not rewritten
                assert st[relpath] is CopyStatus.SKIPPED_EXISTING_VERIFIED
                assert (root / LABEL / relpath).stat().st_ino == inodes[(root, relpath)]
            else:
                assert st[relpath] is CopyStatus.VERIFIED
        missing = sum((card / r).stat().st_size for r in card_files(card) if r not in finals[root])
        assert summary.bytes_written == missing  # nothing copied twice
    assert result.source_bytes_read == result.card_bytes  # the re-run read each source byte once


# --------------------------------------------------------------------------
# MHL history
# --------------------------------------------------------------------------


def test_expected_hashes_from_mhl_history_are_compared(card: Path, tmp_path: Path) -> None:
    dest = tmp_path / "d"
    dest.mkdir()
    good, bad = "DCIM/A001C001_230101.mov", "DCIM/A001C002_230101.mov"
    expected = {
        good: {"md5": hashlib_file(card / good, "md5").upper()},  # MHL files may use upper case
        bad: {"xxh128": "0" * 32},
        "DCIM/A001C003_230101.mov": {"xxh128": "1" * 32},  # recorded, but gone from the card
        ".DS_Store": {"c4": "c4abc"},  # an algorithm we cannot compute
    }
    result = offload_card(
        source=card, destinations=[LocalDestination(dest)], label=LABEL, expected_hashes=expected
    )

    by_path = {f.relpath: f for f in result.files}
    assert "md5" in result.algorithms  # added because the history has md5
    assert by_path[good].mhl_mismatch is None
    assert by_path[good].hashes["md5"] == hashlib_file(card / good, "md5")
    assert by_path[bad].mhl_mismatch is not None and "SOURCE SUSPECT" in by_path[bad].mhl_mismatch
    assert xxh128_file(card / bad) in by_path[bad].mhl_mismatch
    assert by_path[".DS_Store"].mhl_mismatch is None and by_path[".DS_Store"].notes
    assert result.missing_from_card == ("DCIM/A001C003_230101.mov",)
    # The copies themselves are fine: they are what the card holds now.
    assert set(statuses(result, str(dest)).values()) == {CopyStatus.VERIFIED}
    assert not result.safe_to_format
    reasons = "\n".join(result.not_safe_reasons())
    assert bad in reasons and "A001C003" in reasons


def test_excluded_paths_are_left_out_and_listed(card: Path, tmp_path: Path) -> None:
    (card / "ascmhl" / "link").symlink_to("/etc/hostname")  # a problem, but inside the excluded folder
    dest = tmp_path / "d"
    dest.mkdir()

    def history(relpath: str) -> bool:
        return "ascmhl" in relpath.split("/")[:-1]

    result = offload_card(
        source=card,
        destinations=[LocalDestination(dest)],
        label=LABEL,
        exclude=history,
        expected_hashes={
            "ascmhl/0001_card.mhl": {"xxh128": "0" * 32}
        },  # excluded: neither checked nor "missing"
    )
    assert result.excluded == ("ascmhl/0001_card.mhl",)
    assert "ascmhl/0001_card.mhl" not in {f.relpath for f in result.files}
    assert not (dest / LABEL / "ascmhl").exists()
    assert result.scan_problems == () and result.missing_from_card == ()
    assert result.safe_to_format, result.not_safe_reasons()
    copied = card_files(dest / LABEL)
    assert sorted(copied) == sorted(p for p in card_files(card) if not history(p))


# --------------------------------------------------------------------------
# refusals: nothing written
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    [
        "dest_is_card",
        "dest_inside_card",
        "card_inside_target",
        "card_is_target",
        "dest_symlink_to_card",
        "two_same",
    ],
)
def test_overlapping_source_and_destination_are_refused(card: Path, tmp_path: Path, layout: str) -> None:
    other = tmp_path / "other"
    other.mkdir()
    source = card
    if layout == "dest_is_card":
        roots = [card]
    elif layout == "dest_inside_card":
        roots = [card / "DCIM"]
    elif layout == "card_inside_target":
        source = card / "DCIM"
        roots = [card.parent]
        (card.parent / LABEL).symlink_to(card)  # <root>/<label> is the card itself
    elif layout == "card_is_target":
        roots = [card.parent]
        card.rename(card.parent / LABEL)
        source = card.parent / LABEL
    elif layout == "dest_symlink_to_card":
        (tmp_path / "alias").symlink_to(card)
        roots = [tmp_path / "alias"]
    else:
        roots = [other, other]
    before = tree(tmp_path)
    with pytest.raises(OffloadRefusedError) as info:
        offload_card(
            source=source,
            destinations=[LocalDestination(r, name=f"d{i}") for i, r in enumerate(roots)],
            label=LABEL,
        )
    assert "Nothing was written" in str(info.value)
    assert tree(tmp_path) == before


@needs_root
def test_bind_mount_alias_of_the_card_is_refused(card: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.mkdir()
    subprocess.run(["mount", "--bind", str(card), str(alias)], check=True)
    try:
        before = tree(card)
        with pytest.raises(OffloadRefusedError):
            offload_card(source=card / "DCIM", destinations=[LocalDestination(alias)], label="DCIM")
        with pytest.raises(OffloadRefusedError):  # the alias is a different path: only the inode says so
            offload_card(source=card, destinations=[LocalDestination(alias)], label=LABEL)
        assert tree(card) == before
    finally:
        subprocess.run(["umount", str(alias)], check=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"label": "a/b"},
        {"label": ".."},
        {"label": ""},
        {"label": ".hidden"},
        {"batch_bytes": 0},
        {"chunk_size": 1000},
        {"chunk_size": 16 * 1024 * 1024},
        {"algorithms": ("crc32",)},
        {"destinations": []},
    ],
)
def test_bad_arguments_are_refused(card: Path, tmp_path: Path, kwargs: dict[str, object]) -> None:
    (tmp_path / "d").mkdir()
    args: dict[str, object] = {
        "source": card,
        "destinations": [LocalDestination(tmp_path / "d")],
        "label": LABEL,
    }
    args.update(kwargs)
    with pytest.raises(OffloadRefusedError):
        offload_card(**args)  # type: ignore[arg-type]
    assert list((tmp_path / "d").iterdir()) == []


def test_missing_destination_root_is_not_created(card: Path, tmp_path: Path) -> None:
    (tmp_path / "d2").mkdir()
    unmounted = tmp_path / "Volumes" / "SHUTTLE"
    result = offload_card(
        source=card,
        destinations=[
            LocalDestination(unmounted, name="shuttle"),
            LocalDestination(tmp_path / "d2", name="d2"),
        ],
        label=LABEL,
    )
    assert not unmounted.exists()
    summary = result.destinations[0]
    assert summary.failure is not None and "mounted" in summary.failure
    assert set(statuses(result, "shuttle").values()) == {CopyStatus.FAILED}
    assert set(statuses(result, "d2").values()) == {CopyStatus.VERIFIED}
    assert not result.safe_to_format


def test_concurrent_offload_to_same_folder_is_locked_out(card: Path, tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    busy = LocalDestination(tmp_path / "d1", name="busy")
    with busy.open_writer(LABEL):  # another offload holds it
        result = offload_card(
            source=card, destinations=[busy, LocalDestination(tmp_path / "d2", name="free")], label=LABEL
        )
    assert "another offload" in (result.destinations[0].failure or "")
    assert set(statuses(result, "busy").values()) == {CopyStatus.FAILED}
    assert set(statuses(result, "free").values()) == {CopyStatus.VERIFIED}
    assert card_files(tmp_path / "d1") == {}


# --------------------------------------------------------------------------
# faults
# --------------------------------------------------------------------------


@needs_root
def test_unreadable_source_file_real_eio(loop_card: LoopCard, tmp_path: Path) -> None:
    rng = random.Random(3)
    good = {"CLIP/A.mov": rng.randbytes(200_000), "CLIP/B.mov": rng.randbytes(300_000)}
    loop_card.create(good, "CLIP/Z_bad.mov", rng.randbytes(3_000_000))
    with pytest.raises(OSError):  # the fault is real: plain reads fail too
        (loop_card.root / "CLIP" / "Z_bad.mov").read_bytes()
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()

    result = offload_card(
        source=loop_card.root,
        destinations=[LocalDestination(d1, name="d1"), LocalDestination(d2, name="d2")],
        label=LABEL,
    )

    bad = next(f for f in result.files if f.relpath == "CLIP/Z_bad.mov")
    assert bad.source_error is not None and "CLIP/Z_bad.mov" in bad.source_error
    assert "Input/output error" in bad.source_error
    assert [d.status for d in bad.destinations] == [CopyStatus.FAILED, CopyStatus.FAILED]
    for root in (d1, d2):
        assert not (root / LABEL / "CLIP" / "Z_bad.mov").exists()
        assert partial_files(root) == []
        for relpath, data in good.items():
            assert (root / LABEL / relpath).read_bytes() == data
    for relpath in good:
        assert [d.status for f in result.files if f.relpath == relpath for d in f.destinations] == [
            CopyStatus.VERIFIED
        ] * 2
    assert not result.safe_to_format


def test_source_file_replaced_by_folder_after_scan(card: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    victim = card / "DCIM" / "A001C001_230101.mov"
    replaced = False

    def on_progress(s: ProgressSnapshot) -> None:
        nonlocal replaced
        if not replaced:  # the first snapshot comes after the scan, before any copy
            replaced = True
            victim.unlink()
            victim.mkdir()

    result = offload_card(
        source=card, destinations=[LocalDestination(tmp_path / "d")], label=LABEL, on_progress=on_progress
    )
    f = next(f for f in result.files if f.relpath == "DCIM/A001C001_230101.mov")
    assert f.source_error is not None and "no longer a regular file" in f.source_error
    assert f.destinations[0].status is CopyStatus.FAILED
    others = [g for g in result.files if g is not f]
    assert all(g.verified_everywhere for g in others)
    assert not (tmp_path / "d" / LABEL / "DCIM" / "A001C001_230101.mov").exists()
    assert not result.safe_to_format


@pytest.mark.parametrize("change", ["grows", "shrinks"])
def test_source_file_changing_size_during_copy_is_flagged(card: Path, tmp_path: Path, change: str) -> None:
    relpath = "DCIM/A001C002_230101.mov"  # 9 MiB: more than one chunk
    (tmp_path / "d").mkdir()
    changed = []

    def camera_still_writing(pending: PendingCopy, total: int) -> None:
        if pending.relpath == relpath and not changed:
            changed.append(True)
            if change == "grows":
                with open(card / relpath, "ab") as f:
                    f.write(b"more frames" * 100_000)
            else:
                os.truncate(card / relpath, 5 * 1024 * 1024)

    result = offload_card(
        source=card,
        destinations=[HookedDestination(tmp_path / "d", camera_still_writing, name="d")],
        label=LABEL,
        chunk_size=1024 * 1024,
    )
    f = next(f for f in result.files if f.relpath == relpath)
    assert f.source_error is not None and "changed size" in f.source_error
    assert f.destinations[0].status is CopyStatus.FAILED
    assert not (tmp_path / "d" / LABEL / relpath).exists()
    assert partial_files(tmp_path / "d") == []
    assert not result.safe_to_format


@needs_root
def test_destination_too_small_fails_fast(card: Path, tmp_path: Path, tmpfs: Callable[[str], Path]) -> None:
    small = tmpfs("1m")
    (tmp_path / "big").mkdir()
    result = offload_card(
        source=card,
        destinations=[LocalDestination(small, name="small"), LocalDestination(tmp_path / "big", name="big")],
        label=LABEL,
    )
    failure = result.destinations[0].failure or ""
    assert "destination full" in failure and "GB free" in failure
    assert set(statuses(result, "small").values()) == {CopyStatus.FAILED}
    assert set(statuses(result, "big").values()) == {CopyStatus.VERIFIED}
    assert card_files(small) == {} and partial_files(small) == []
    assert result.destinations[0].bytes_written == 0
    assert not result.safe_to_format


@needs_root
def test_destination_fills_up_during_copy(tmp_path: Path, tmpfs: Callable[[str], Path]) -> None:
    # 300 files of 3000 bytes = 900 kB: passes the free-space check of a 1 MiB
    # tmpfs, but each file takes a 4 KiB page, so the device really fills up.
    rng = random.Random(5)
    card = write_card(tmp_path / "card", {f"F/{i:04d}.dat": rng.randbytes(3000) for i in range(300)})
    small = tmpfs("1m")
    (tmp_path / "big").mkdir()

    result = offload_card(
        source=card,
        destinations=[LocalDestination(small, name="small"), LocalDestination(tmp_path / "big", name="big")],
        label=LABEL,
        batch_files=40,
    )

    failure = result.destinations[0].failure or ""
    assert failure.startswith("destination full") and "re-run" in failure, failure
    small_status = statuses(result, "small")
    verified = {p for p, s in small_status.items() if s is CopyStatus.VERIFIED}
    failed = {p for p, s in small_status.items() if s is CopyStatus.FAILED}
    assert verified and failed and verified | failed == set(small_status)
    on_small = card_files(small / LABEL)
    assert set(on_small) == verified  # no partial or unverified file is left counted
    for relpath, path in on_small.items():
        assert path.read_bytes() == (card / relpath).read_bytes()
    assert partial_files(small) == []
    assert set(statuses(result, "big").values()) == {CopyStatus.VERIFIED}
    assert_exact_copy(card, tmp_path / "big" / LABEL)
    assert not result.safe_to_format


@needs_root
def test_destination_unmounted_mid_copy(card: Path, tmp_path: Path, tmpfs: Callable[[str], Path]) -> None:
    # Under the mount point, on the system disk, a folder of the same name
    # (left by an earlier mistake): once the drive is gone, the path leads
    # there and only the device/inode identity tells the difference.
    underneath = tmp_path / "tmpfs0" / LABEL
    underneath.mkdir(parents=True)
    mnt = tmpfs("64m")
    assert mnt == underneath.parent and not (mnt / LABEL).exists()
    (tmp_path / "big").mkdir()

    yanked_at: list[int] = []
    yanked_during = "DCIM/sub dir/clip ü é 名前.wav"

    def unmount(pending: PendingCopy, total: int) -> None:
        if pending.relpath == yanked_during and not yanked_at:
            # Lazy unmount: like yanking the drive; open files stay writable
            # but the path no longer leads there.
            subprocess.run(["umount", "-l", str(mnt)], check=True)
            yanked_at.append(total)

    result = offload_card(
        source=card,
        destinations=[
            HookedDestination(mnt, unmount, name="yanked"),
            LocalDestination(tmp_path / "big", name="big"),
        ],
        label=LABEL,
        batch_files=1,
    )

    assert yanked_at, "the hook never ran"
    failure = result.destinations[0].failure or ""
    assert "vanished" in failure and "re-run" in failure, failure
    yanked = statuses(result, "yanked")
    # Batches are pipelined: C001 was copied, read back and its name made
    # durable before the file being written at the unmount was started.
    assert yanked["DCIM/A001C001_230101.mov"] is CopyStatus.VERIFIED
    # C002 was written but its read-back or its durable name came after the
    # unmount: it cannot be vouched for.
    assert yanked["DCIM/A001C002_230101.mov"] is CopyStatus.FAILED
    assert yanked[yanked_during] is CopyStatus.FAILED
    assert all(s is CopyStatus.FAILED for p, s in yanked.items() if p > yanked_during)
    # Nothing was written to the folder on the disk underneath.
    assert list(mnt.iterdir()) == [underneath] and list(underneath.iterdir()) == []
    assert set(statuses(result, "big").values()) == {CopyStatus.VERIFIED}
    assert_exact_copy(card, tmp_path / "big" / LABEL)
    assert not result.safe_to_format


def test_destination_folder_deleted_mid_copy(card: Path, tmp_path: Path) -> None:
    gone, big = tmp_path / "gone", tmp_path / "big"
    gone.mkdir()
    big.mkdir()

    def delete(pending: PendingCopy, total: int) -> None:
        if total >= 4 * 1024 * 1024 and (gone / LABEL).exists():
            shutil.rmtree(gone / LABEL)

    result = offload_card(
        source=card,
        destinations=[HookedDestination(gone, delete, name="gone"), LocalDestination(big, name="big")],
        label=LABEL,
    )
    assert "vanished" in (result.destinations[0].failure or "")
    assert set(statuses(result, "gone").values()) == {CopyStatus.FAILED}
    assert not (gone / LABEL).exists()  # not silently recreated
    assert set(statuses(result, "big").values()) == {CopyStatus.VERIFIED}
    assert_exact_copy(card, big / LABEL)


def test_corruption_between_write_and_verify_is_caught_and_copy_retried(card: Path, tmp_path: Path) -> None:
    victim = "DCIM/A001C002_230101.mov"
    (tmp_path / "d").mkdir()
    result = offload_card(
        source=card, destinations=[CorruptingDestination(tmp_path / "d", victim, times=1)], label=LABEL
    )
    f = next(f for f in result.files if f.relpath == victim)
    assert f.destinations[0].status is CopyStatus.VERIFIED
    assert f.destinations[0].attempts == 2
    assert f.destinations[0].bytes_written == 2 * f.size
    assert result.source_bytes_read == result.card_bytes + f.size  # re-read for the second copy
    assert_exact_copy(card, tmp_path / "d" / LABEL)
    assert result.safe_to_format


def test_corruption_twice_fails_the_copy(card: Path, tmp_path: Path) -> None:
    victim = "DCIM/A001C002_230101.mov"
    (tmp_path / "d").mkdir()
    result = offload_card(
        source=card, destinations=[CorruptingDestination(tmp_path / "d", victim, times=2)], label=LABEL
    )
    status, message = outcome(result, victim, str(tmp_path / "d"))
    assert status is CopyStatus.FAILED and "verification failed twice" in message
    assert not (tmp_path / "d" / LABEL / victim).exists()  # never given its final name
    assert partial_files(tmp_path / "d") == []
    assert not result.safe_to_format
    others = {p: s for p, s in statuses(result, str(tmp_path / "d")).items() if p != victim}
    assert set(others.values()) == {CopyStatus.VERIFIED}


def test_verify_copies_catches_later_corruption(card: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    dest = LocalDestination(tmp_path / "d")
    assert offload_card(source=card, destinations=[dest], label=LABEL).safe_to_format
    # Known hashes, computed independently (as the catalog would have them).
    known = {rel: {"xxh128": xxh128_file(p)} for rel, p in card_files(card).items()}

    clean = verify_copies(destination=dest, label=LABEL, expected=known)
    assert clean.all_ok and len(clean.checks) == len(known)

    flip_byte(tmp_path / "d" / LABEL / "DCIM" / "A001C001_230101.mov", offset=1000)
    (tmp_path / "d" / LABEL / "empty.txt").unlink()
    (tmp_path / "d" / LABEL / "extra.txt").write_text("added later")
    report = verify_copies(destination=dest, label=LABEL, expected=known)

    assert not report.all_ok
    assert {(c.relpath, c.status) for c in report.problems} == {
        ("DCIM/A001C001_230101.mov", "mismatch"),
        ("empty.txt", "missing"),
    }
    assert report.extra_files == ("extra.txt",)
    mismatch = next(c for c in report.problems if c.status == "mismatch")
    assert mismatch.actual == xxh128_file(tmp_path / "d" / LABEL / "DCIM" / "A001C001_230101.mov")


def test_cancel_mid_file_stops_cleanly(tmp_path: Path) -> None:
    rng = random.Random(11)
    card = write_card(
        tmp_path / "card",
        {"A_small.mov": rng.randbytes(100_000), "B_big.mov": rng.randbytes(40 * 1024 * 1024), "C.mov": b"c"},
    )
    (tmp_path / "d").mkdir()
    cancel = threading.Event()

    def press_cancel(pending: PendingCopy, total: int) -> None:
        if pending.relpath == "B_big.mov" and pending.bytes_written >= 8 * 1024 * 1024:
            cancel.set()

    result = offload_card(
        source=card,
        destinations=[HookedDestination(tmp_path / "d", press_cancel, name="d")],
        label=LABEL,
        cancel=cancel,
        batch_files=1,
    )

    assert result.cancelled and not result.safe_to_format
    assert "cancelled" in result.not_safe_reasons()[0]
    st = statuses(result, "d")
    assert st == {
        "A_small.mov": CopyStatus.VERIFIED,
        "B_big.mov": CopyStatus.CANCELLED,
        "C.mov": CopyStatus.CANCELLED,
    }
    assert partial_files(tmp_path / "d") == []
    assert sorted(card_files(tmp_path / "d" / LABEL)) == ["A_small.mov"]
    assert result.source_bytes_read < result.card_bytes


def test_callback_exception_aborts_cleanly_and_rerun_finishes(card: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    dest = LocalDestination(tmp_path / "d")

    def boom(f: object) -> None:
        raise RuntimeError("catalog is down")

    with pytest.raises(RuntimeError, match="catalog is down"):
        offload_card(source=card, destinations=[dest], label=LABEL, on_file=boom, batch_files=2)
    assert partial_files(tmp_path / "d") == []
    result = offload_card(source=card, destinations=[dest], label=LABEL)  # lock was released
    assert result.safe_to_format
    assert CopyStatus.SKIPPED_EXISTING_VERIFIED in statuses(result, str(tmp_path / "d")).values()
    assert_exact_copy(card, tmp_path / "d" / LABEL)


# --------------------------------------------------------------------------
# scale
# --------------------------------------------------------------------------


@pytest.mark.slow  # 15-35 s here: file creation alone costs ~0.4 ms on this VM's ext4
def test_ten_thousand_files(tmp_path: Path) -> None:
    rng = random.Random(99)
    card = tmp_path / "card"
    files = {
        f"DCIM/{i // 100:03d}/IMG_{i:05d}.ARW": rng.randbytes(rng.randint(0, 2000)) for i in range(10_000)
    }
    write_card(card, files)
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    started = time.monotonic()
    result = offload_card(source=card, destinations=[LocalDestination(d1), LocalDestination(d2)], label=LABEL)
    elapsed = time.monotonic() - started
    assert result.safe_to_format, result.not_safe_reasons()[:5]
    assert len(result.files) == 10_000
    for root in (d1, d2):
        copied = card_files(root / LABEL)
        assert len(copied) == 10_000
        for relpath, data in files.items():
            assert copied[relpath].read_bytes() == data
        assert partial_files(root) == []
    print(f"10,000 files to 2 destinations in {elapsed:.1f} s")


CHILD_4GB = """
import resource, sys
from pathlib import Path
from copyengine.backends import LocalDestination
from copyengine.offload import offload_card
card, dest = sys.argv[1:3]
r = offload_card(source=Path(card), destinations=[LocalDestination(dest)], label="A001")
# VmHWM, not ru_maxrss: on Linux ru_maxrss survives execve, so a child forked
# from pytest would report pytest's own peak.
try:
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(r.safe_to_format, r.source_bytes_read, r.card_bytes, peak_kb, f"{r.mb_per_second:.0f}", flush=True)
"""


@pytest.mark.slow
def test_four_gigabyte_file_with_bounded_memory(tmp_path: Path) -> None:
    size = 4 * 1024**3
    card = tmp_path / "card"
    (card / "CLIP").mkdir(parents=True)
    big = card / "CLIP" / "A001C001.mov"
    with open(big, "wb") as f:  # sparse, so it is quick to make; the copy is real
        f.truncate(size)
        for offset in (0, 12345, size // 2 + 7, size - 3):
            f.seek(offset)
            f.write(b"\xab\xcd\xef")
    (tmp_path / "d").mkdir()
    out = subprocess.run(
        [sys.executable, "-c", CHILD_4GB, str(card), str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    ).stdout.split()
    safe, read, card_bytes, peak_kb, mbps = out
    print(f"4 GiB file: {mbps} MB/s, peak RSS {int(peak_kb) / 1024:.0f} MiB")
    assert safe == "True"
    assert int(read) == int(card_bytes) == size
    assert int(peak_kb) < 200 * 1024
    copy = tmp_path / "d" / LABEL / "CLIP" / "A001C001.mov"
    assert copy.stat().st_size == size
    assert copy.stat().st_mtime_ns == big.stat().st_mtime_ns
    assert xxh128_file(copy) == xxh128_file(big)


def test_the_engine_copies_the_scan_it_is_given_and_refuses_another_cards(tmp_path: Path) -> None:
    card = write_card(tmp_path / "card", {"A.mov": b"a" * 5000, "B.mov": b"b" * 7000})
    scan = scan_card(card)
    (card / "C.mov").write_bytes(b"c" * 100)  # arrived after the scan: not part of this offload
    (tmp_path / "d").mkdir()

    result = offload_card(
        source=card, destinations=[LocalDestination(tmp_path / "d")], label=LABEL, scan=scan
    )

    assert result.safe_to_format, result.not_safe_reasons()
    assert sorted(f.relpath for f in result.files) == ["A.mov", "B.mov"]
    assert sorted(card_files(tmp_path / "d" / LABEL)) == ["A.mov", "B.mov"]
    other = write_card(tmp_path / "other", {"X.mov": b"x"})
    with pytest.raises(OffloadRefusedError, match="not of the card"):
        offload_card(
            source=card, destinations=[LocalDestination(tmp_path / "d")], label="A002", scan=scan_card(other)
        )


def resident_pages(path: Path) -> list[bool]:
    """Which pages of ``path`` are in the page cache: mincore(2) over a shared mapping, nothing written."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    size = path.stat().st_size
    vector = (ctypes.c_ubyte * ((size + mmap.PAGESIZE - 1) // mmap.PAGESIZE))()
    with path.open("r+b") as stream, mmap.mmap(stream.fileno(), size) as mapped:
        first = ctypes.c_char.from_buffer(mapped)
        try:
            found = libc.mincore(ctypes.c_void_p(ctypes.addressof(first)), ctypes.c_size_t(size), vector)
            assert found == 0, os.strerror(ctypes.get_errno())
        finally:
            del first  # the mapping cannot close while a ctypes object points into it
    return [bool(byte & 1) for byte in vector]


def test_a_copy_being_written_does_not_pile_up_in_the_page_cache(tmp_path: Path) -> None:
    # Streaming a card through the page cache until the batch's fsync let
    # gigabytes of dirty pages pile up; in a memory cgroup smaller than the
    # card the kernel then throttled the copy. Each chunk is now handed to the
    # device as it is written, and the one before it, once on the device,
    # leaves the cache: only the last chunk or two of a copy is ever resident.
    chunk = 8 * 1024 * 1024
    (tmp_path / "d").mkdir()
    writer = LocalDestination(tmp_path / "d", name="d").open_writer(LABEL)
    try:
        pending = writer.begin("A001C001.mov", size=6 * chunk, mtime_ns=0)
        data = memoryview(os.urandom(chunk))
        for _ in range(6):
            pending.write(data)
        assert isinstance(pending, LocalPendingCopy)
        resident = resident_pages(pending.temp)
        per_chunk = chunk // os.sysconf("SC_PAGE_SIZE")
        assert not any(resident[: 4 * per_chunk]), "the first four chunks are still in the page cache"
        assert any(resident[5 * per_chunk :]), "the check is real: the last chunk written is still cached"
        pending.close()
        assert writer.make_durable([pending]) == {}
        expected = xxhash.xxh3_128()
        for _ in range(6):
            expected.update(data)
        assert writer.read_back(pending, on_bytes=lambda n: None) == expected.hexdigest()
    finally:
        writer.close()

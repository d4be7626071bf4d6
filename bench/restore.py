"""Benchmark: Reelvault's verified restore of N MB against `cp` + `sync` + `xxhsum -c` on the same data.

    python bench/restore.py [--mb 500] [--files 10] [--repeat 2] [--dir /var/tmp]

Both sides do the same provable work: copy every file, make it durable, and
read it back from the device to check it against its XXH128. Reelvault does it
the way a restore job does (``copyengine.filecopy.copy_verified`` through the
folder backend: temporary name, hashing while copying, fsync, drop the cached
pages, re-hash, link into place, then one ASC MHL generation); the baseline is ``cp`` of the folder, ``sync``,
dropping the copies' cached pages, and ``xxhsum -H2 -c`` of a checksum list.
Source caches are dropped before every run so both read the source from disk.
The figure is the best of --repeat runs (other work on the machine adds noise).
Prints a table, then one JSON line. Never asserts anything about the times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script, not as part of a package

from copyengine import filecopy, hashing, mhl  # noqa: E402
from copyengine.backends import LocalDestination  # noqa: E402

MB = 1_000_000


def drop_cache(folder: Path) -> None:
    """Forget the (clean) cached pages of every file below ``folder``."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                hashing.drop_cache(fd)
            finally:
                os.close(fd)


def make_source(root: Path, total_mb: int, files: int) -> dict[str, str]:
    """Random clips adding up to ``total_mb``; returns {relative path: xxh128} (the catalog's hashes)."""
    size = total_mb * MB // files
    hashes = {}
    block = os.urandom(8 * 1024 * 1024)
    for index in range(files):
        relative = f"A001/A001C{index + 1:03d}_261102_R1AB.mov"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashing.new_hash("xxh128")
        with path.open("wb") as stream:
            salt = index.to_bytes(4, "little")  # every file differs
            stream.write(salt)
            hasher.update(salt)
            written = len(salt)
            while written < size:
                chunk = block[: size - written]
                stream.write(chunk)
                hasher.update(chunk)
                written += len(chunk)
            os.fsync(stream.fileno())
        hashes[relative] = hasher.hexdigest()
    return hashes


def run_reelvault(source: Path, target: Path, hashes: dict[str, str]) -> float:
    drop_cache(source)
    started = time.perf_counter()
    records = []
    reader = LocalDestination(source).open_reader("")
    with LocalDestination(target.parent).open_writer(target.name) as writer:
        for relative, digest in hashes.items():
            src = source / relative
            filecopy.copy_verified(
                reader=reader,
                path=relative,
                writer=writer,
                relpath=relative,
                expected_xxh128=digest,
                size=src.stat().st_size,
            )
            records.append(
                mhl.FileRecord(
                    path=relative, size=src.stat().st_size, mtime=datetime.now(UTC), hashes={"xxh128": digest}
                )
            )
    mhl.write_generation(target, files=records, creator=mhl.Creator(tool_version="bench"))
    return time.perf_counter() - started


def run_baseline(source: Path, target: Path, hashes: dict[str, str]) -> float:
    drop_cache(source)
    checksums = target.parent / f"{target.name}.xxh128"
    checksums.write_text("".join(f"{digest}  {relative}\n" for relative, digest in hashes.items()))
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    subprocess.run(["sync", "-f", str(target)], check=True)
    drop_cache(target)
    subprocess.run(["xxhsum", "-H2", "-q", "-c", str(checksums)], cwd=target, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--dir", default=None, help="Where to put the data (default: the system temp folder)."
    )
    args = parser.parse_args()
    if shutil.which("xxhsum") is None:
        sys.exit("xxhsum not found: apt-get install xxhash")
    with tempfile.TemporaryDirectory(prefix="reelvault-bench-restore-", dir=args.dir) as folder:
        root = Path(folder)
        source = root / "raid"
        hashes = make_source(source, args.mb, args.files)
        ours, theirs = [], []
        for turn in range(args.repeat):
            target = root / f"ours{turn}"
            ours.append(run_reelvault(source, target, hashes))
            shutil.rmtree(target)
            baseline = root / f"cp{turn}"
            theirs.append(run_baseline(source, baseline, hashes))
            shutil.rmtree(baseline)
    total = args.mb * MB
    best_ours, best_theirs = min(ours), min(theirs)
    rows = [
        ("reelvault restore (copy, fsync, read back, MHL)", best_ours),
        ("cp + sync + xxhsum -H2 -c (read back)", best_theirs),
    ]
    print(
        f"restore of {args.mb} MB in {args.files} files, best of {args.repeat}, source and target on one disk"
    )
    for label, seconds in rows:
        print(f"  {label:<52} {seconds:7.2f} s {total / seconds / MB:8.1f} MB/s")
    print(f"  ratio reelvault / baseline time: {best_ours / best_theirs:.2f}")
    print(
        json.dumps(
            {
                "bench": "restore",
                "mb": args.mb,
                "files": args.files,
                "reelvault_seconds": round(best_ours, 3),
                "reelvault_mb_per_second": round(total / best_ours / MB, 1),
                "baseline_seconds": round(best_theirs, 3),
                "baseline_mb_per_second": round(total / best_theirs / MB, 1),
                "runs": {"reelvault": [round(t, 3) for t in ours], "baseline": [round(t, 3) for t in theirs]},
            }
        )
    )


if __name__ == "__main__":
    main()

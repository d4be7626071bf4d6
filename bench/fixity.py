"""Benchmark: Reelvault's fixity audit read path against `xxhsum -c` and `ascmhl-debug verify`.

    python bench/fixity.py [--mb 1000] [--files 10] [--small 2000] [--pairs 3] [--dir /var/tmp]

1. Large files (a RAID's clips): the audit's read-and-hash path
   (``fixity.storage.LocalStore.hash`` over the volume's listing, exactly what
   ``fixity_run_execute`` calls per copy: large aligned chunks, XXH3-128,
   ``POSIX_FADV_DONTNEED`` on what it read) against ``xxhsum -H2 -c`` of a
   checksum list of the same files.
2. A card of --small small files with an ASC MHL history: the same audit path
   against ``ascmhl-debug verify`` of the folder.

The cached pages of every file are dropped before each contender, so both
read the disk. Contenders alternate (A B, B A, …) --pairs times; the table
shows the median and the spread (min-max) of each, and the ratio of medians.
After the audit, ``fincore`` counts the audited files' pages left in the page
cache (the audit should leave ~none: it must not evict running work's cache
by filling it). Peak memory is this process's maximum RSS. The database
writes of a real run (one ``copies_record`` per 100 files) are not included.
Prints a table, then one JSON line. Never asserts anything about the times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script, not as part of a package

from copyengine import hashing, mhl  # noqa: E402
from fixity.storage import LocalStore  # noqa: E402

MB = 1_000_000
ASCMHL_DEBUG = PROJECT_ROOT / ".venv-tools" / "bin" / "ascmhl-debug"
TOOL_ENV = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


def drop_cache(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                hashing.drop_cache(fd)
            finally:
                os.close(fd)


def make_large(root: Path, total_mb: int, files: int) -> dict[str, str]:
    size = total_mb * MB // files
    block = os.urandom(8 * 1024 * 1024)
    hashes = {}
    for index in range(files):
        relative = f"A001/A001C{index + 1:03d}_261102_R1AB.mov"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashing.new_hash("xxh128")
        with path.open("wb") as out:
            left = size
            while left:
                chunk = block[: min(left, len(block))]
                out.write(chunk)
                hasher.update(chunk)
                left -= len(chunk)
            out.write(index.to_bytes(4, "big"))  # every file differs
            hasher.update(index.to_bytes(4, "big"))
        hashes[relative] = hasher.hexdigest()
    return hashes


def make_small_card(root: Path, count: int) -> dict[str, str]:
    rng = random.Random(20261205)
    hashes, records = {}, []
    for index in range(count):
        relative = f"Clips/{index // 100:03d}/A001C{index:04d}_261205_R1AB.mov"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(1_000, 8_000))
        path.write_bytes(data)
        digest = hashing.new_hash("xxh128")
        digest.update(data)
        hashes[relative] = digest.hexdigest()
        records.append(
            mhl.FileRecord(
                path=relative,
                size=len(data),
                mtime=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                hashes={"xxh128": hashes[relative]},
            )
        )
    mhl.write_generation(root, files=records, creator=mhl.Creator(tool_version="bench"))
    return hashes


def audit(root: Path, expected: dict[str, str]) -> None:
    """What an audit run does per copy, for every file of the listing."""
    store = LocalStore(root)
    try:
        paths = [path for path in sorted(store.listing()) if path in expected]
        store.expect(paths)  # as the audit does with each batch of its plan
        for path in paths:
            if store.hash(path, on_bytes=lambda n: None) != expected[path]:
                raise SystemExit(f"audit found {path} changed")
    finally:
        store.close()


def xxhsum_check(root: Path, hashes: dict[str, str]) -> Callable[[], None]:
    listing = root.parent / f"{root.name}.xxh128"
    listing.write_text("".join(f"{digest}  {path}\n" for path, digest in hashes.items()))

    def run() -> None:
        subprocess.run(["xxhsum", "-H2", "-q", "-c", str(listing)], cwd=root, check=True)

    return run


def ascmhl_verify(root: Path) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(
            [str(ASCMHL_DEBUG), "verify", str(root)], env=TOOL_ENV, capture_output=True, check=True
        )

    return run


def pages_cached(root: Path) -> int:
    """Pages of the files below root in the page cache (fincore), or -1 when fincore is missing."""
    if shutil.which("fincore") is None:
        return -1
    files = [str(p) for p in root.rglob("*") if p.is_file() and "ascmhl" not in p.parts]
    out = subprocess.run(["fincore", "-bno", "PAGES", *files], capture_output=True, text=True, check=True)
    return sum(int(line.split()[0]) for line in out.stdout.split("\n") if line.strip())


def alternate(root: Path, contenders: dict[str, Callable[[], None]], pairs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for turn in range(pairs):
        for name in names if turn % 2 == 0 else reversed(names):
            drop_cache(root)
            started = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - started)
    return times


def row(name: str, seconds: list[float], nbytes: int) -> dict[str, float | str]:
    median = statistics.median(seconds)
    return {
        "contender": name,
        "median_s": round(median, 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "mb_per_s": round(nbytes / MB / median, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=1000, help="total size of the large files")
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--small", type=int, default=2000, help="small files on the MHL card")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--dir", default="/var/tmp", help="where to write the data (a real disk, not tmpfs)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="rv-fixity-bench-", dir=args.dir))
    try:
        large = base / "raid"
        hashes = make_large(large, args.mb, args.files)
        large_bytes = sum(p.stat().st_size for p in large.rglob("*") if p.is_file())
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        big = alternate(
            large,
            {"reelvault audit": lambda: audit(large, hashes), "xxhsum -H2 -c": xxhsum_check(large, hashes)},
            args.pairs,
        )
        rss_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        drop_cache(large)
        audit(large, hashes)
        left_after_audit = pages_cached(large)
        card = base / "card"
        small_hashes = make_small_card(card, args.small)
        small_bytes = sum(
            p.stat().st_size for p in card.rglob("*") if p.is_file() and "ascmhl" not in p.parts
        )
        contenders = {"reelvault audit": lambda: audit(card, small_hashes)}
        if ASCMHL_DEBUG.exists():
            contenders["ascmhl-debug verify"] = ascmhl_verify(card)
        small = alternate(card, contenders, args.pairs)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rows = [row(name, seconds, large_bytes) for name, seconds in big.items()]
    small_rows = [row(name, seconds, small_bytes) for name, seconds in small.items()]
    audit_speed = large_bytes / statistics.median(big["reelvault audit"])
    # Per pair (the two contenders of one turn saw the same machine): other tool's time / ours.
    pair_xxhsum = sorted(t / o for o, t in zip(big["reelvault audit"], big["xxhsum -H2 -c"], strict=True))
    pair_ascmhl = (
        sorted(t / o for o, t in zip(small["reelvault audit"], small["ascmhl-debug verify"], strict=True))
        if "ascmhl-debug verify" in small
        else []
    )
    result = {
        "large": {"bytes": large_bytes, "files": args.files, "rows": rows},
        "small": {"files": args.small, "bytes": small_bytes, "rows": small_rows},
        "ratio_vs_xxhsum": round(
            statistics.median(big["xxhsum -H2 -c"]) / statistics.median(big["reelvault audit"]), 2
        ),
        "ratio_vs_ascmhl": (
            round(
                statistics.median(small["ascmhl-debug verify"]) / statistics.median(small["reelvault audit"]),
                1,
            )
            if "ascmhl-debug verify" in small
            else None
        ),
        "pairs_vs_xxhsum": {
            "median": round(statistics.median(pair_xxhsum), 2),
            "min": round(pair_xxhsum[0], 2),
            "max": round(pair_xxhsum[-1], 2),
        },
        "pairs_vs_ascmhl": (
            {
                "median": round(statistics.median(pair_ascmhl), 1),
                "min": round(pair_ascmhl[0], 1),
                "max": round(pair_ascmhl[-1], 1),
            }
            if pair_ascmhl
            else None
        ),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "pages_left_in_cache_after_audit": left_after_audit,
        "peak_rss_mb": round(rss_peak_mb, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
        "days_for_100_tb": round(100e12 / audit_speed / 86400, 1),
        "pairs": args.pairs,
    }
    print(f"{large_bytes / MB:.0f} MB in {args.files} files, cache dropped before each, {args.pairs} pairs")
    for r in rows:
        spread = f"({r['min_s']:.3f}-{r['max_s']:.3f})"
        print(f"  {r['contender']:22} median {r['median_s']:7.3f} s  {spread}  {r['mb_per_s']:8.1f} MB/s")
    print(f"{args.small} small files ({small_bytes / MB:.1f} MB) with an ASC MHL history")
    for r in small_rows:
        spread = f"({r['min_s']:.3f}-{r['max_s']:.3f})"
        print(f"  {r['contender']:22} median {r['median_s']:7.3f} s  {spread}")
    print(
        f"audit vs xxhsum: {result['ratio_vs_xxhsum']}x; vs ascmhl-debug: {result['ratio_vs_ascmhl']}x; "
        f"pages left cached after an audit: {left_after_audit}; peak RSS {result['peak_rss_mb']} MB; "
        f"100 TB at this speed: {result['days_for_100_tb']} days"
    )
    print(
        "per pair (other tool / audit): vs xxhsum median {median}x ({min}-{max})".format(
            **result["pairs_vs_xxhsum"]
        )
        + (
            "; vs ascmhl-debug median {median}x ({min}-{max})".format(**result["pairs_vs_ascmhl"])
            if pair_ascmhl
            else ""
        )
        + f"; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

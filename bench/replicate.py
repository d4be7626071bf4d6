"""Benchmark: a replication job's per-file work, local → local, against `cp` + `sync` + `xxhsum -c`.

    python bench/replicate.py [--mb 500] [--files 10] [--pairs 5] [--dir /var/tmp] [--s3]

Both sides do the same provable work on the same data: copy every file from
the source volume, make it durable, drop the cached pages and read it back
from the device against its XXH128. Reelvault does it the way a replication
job does (``copyengine.filecopy.copy_stage`` through protection's storage
backends: the source hashed while read and compared with the catalog's hash,
temporary name; then, on a second thread while the next file is copied,
fsync and read-back; link into place once it matched); the baseline is
``cp -r``, ``sync``, dropping the copies' cached pages and ``xxhsum -H2 -c``
(which, unlike the job, never checks the *source* against the catalog).
Runs alternate (ours, baseline) in pairs so both see the same machine load;
the figure is the median of the per-pair ratios, with the lowest and highest
as the spread. Source caches are dropped before every run. Also reports the
bytes this process read from disk per byte replicated (source once +
read-back once = 2.0). Prints a table, then one JSON line; asserts nothing.

With ``--s3`` it measures local → S3 instead, against moto's standalone
server started in this process (real HTTP on 127.0.0.1): the job's path
(protection's S3 writer: streaming multipart, hash in the metadata, the
object read back with GET and hashed) against boto3's ``upload_file``
followed by ``download_file`` of every object and ``xxhsum -H2 -c``. moto
keeps objects in memory and shares this process's CPU, so the figures
compare the two ways of using one endpoint, not any real S3's speed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script, not as part of a package

from copyengine import filecopy  # noqa: E402
from copyengine.backends import LocalDestination  # noqa: E402

# The data generator, the cache drop and the baseline are the restore benchmark's (same work).
_spec = importlib.util.spec_from_file_location("bench_restore", Path(__file__).with_name("restore.py"))
assert _spec is not None and _spec.loader is not None
bench_restore = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_restore)

MB = 1_000_000


def read_bytes() -> int:
    """Bytes this process caused to be read from storage so far (/proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    return 0


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB (with --s3 it includes moto's objects)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MB
    return 0.0


def run_reelvault(
    source: Path, target: Path, hashes: dict[str, str], *, sequential: bool = False
) -> tuple[float, int]:
    """The job's per-file path: each file copied (source hashed and checked), then made durable and
    read back on a second thread while the next file is copied (``filecopy.ProveAhead``, as
    ``protection.services`` runs it); committed only after its read-back matched. With
    ``sequential`` the way jobs ran before: copy, fsync, read back, one file after the other."""
    bench_restore.drop_cache(source)
    before = read_bytes()
    started = time.perf_counter()
    reader = LocalDestination(source).open_reader("")
    with LocalDestination(target.parent).open_writer(target.name) as writer:
        if sequential:
            for relative, digest in hashes.items():
                filecopy.copy_verified(
                    reader=reader,
                    path=relative,
                    writer=writer,
                    relpath=relative,
                    expected_xxh128=digest,
                    size=(source / relative).stat().st_size,
                )
        else:
            copy_pipelined(reader, writer, source, hashes)
    return time.perf_counter() - started, read_bytes() - before


def copy_pipelined(
    reader: Any, writer: Any, source: Path, hashes: dict[str, str], *, tag: Any = None
) -> None:
    """Stage each file, read it back on the second thread while the next is staged, commit in order.

    ``tag(writer, xxh128)`` is called before each file (protection's ``tag_next`` for S3)."""

    def commit(proofs: list[tuple[filecopy.StagedCopy, BaseException | None]]) -> None:
        for staged, error in proofs:
            if error is not None:
                raise error
            filecopy.staged_commit(staged)

    with filecopy.ProveAhead(depth=1) as prover:
        for relative, digest in hashes.items():
            if tag is not None:
                tag(writer, digest)
            staged = filecopy.copy_stage(
                reader=reader,
                path=relative,
                writer=writer,
                relpath=relative,
                expected_xxh128=digest,
                size=(source / relative).stat().st_size,
            )
            if isinstance(staged, filecopy.StagedCopy):
                commit(prover.submit(staged))
        commit(prover.drain())


def run_reelvault_s3(client: Any, bucket: str, source: Path, hashes: dict[str, str], label: str) -> float:
    from protection.storage import TaggingS3Destination, tag_next

    bench_restore.drop_cache(source)
    started = time.perf_counter()
    reader = LocalDestination(source).open_reader("")
    with TaggingS3Destination(bucket, prefix="film", client=client).open_writer(label) as writer:
        copy_pipelined(reader, writer, source, hashes, tag=tag_next)
    return time.perf_counter() - started


def run_baseline_s3(
    client: Any, bucket: str, source: Path, hashes: dict[str, str], label: str, scratch: Path
) -> float:
    bench_restore.drop_cache(source)
    checksums = scratch.parent / f"{scratch.name}.xxh128"
    checksums.write_text("".join(f"{digest}  {relative}\n" for relative, digest in hashes.items()))
    started = time.perf_counter()
    for relative in hashes:
        client.upload_file(str(source / relative), bucket, f"base/{label}/{relative}")
    for relative in hashes:
        target = scratch / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, f"base/{label}/{relative}", str(target))
    subprocess.run(["xxhsum", "-H2", "-q", "-c", str(checksums)], cwd=scratch, check=True)
    return time.perf_counter() - started


def s3_pairs(root: Path, source: Path, hashes: dict[str, str], pairs: int) -> tuple[list[float], list[float]]:
    import socket

    import django

    # protection.storage reaches catalog.storage, which loads models: Django must be set up
    # (no database is used).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")
    django.setup()

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - moto accepts any key
        )
        client.create_bucket(Bucket="bench")
        ours, theirs = [], []
        for turn in range(pairs):
            ours.append(run_reelvault_s3(client, "bench", source, hashes, f"ours{turn}"))
            scratch = root / f"download{turn}"
            theirs.append(run_baseline_s3(client, "bench", source, hashes, f"base{turn}", scratch))
            shutil.rmtree(scratch)
        return ours, theirs
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument(
        "--dir", default=None, help="Where to put the data (default: the system temp folder)."
    )
    parser.add_argument("--s3", action="store_true", help="Local → S3 against moto's server instead.")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="Also time the old sequential path (copy, fsync, read back, file after file) in each turn.",
    )
    args = parser.parse_args()
    if shutil.which("xxhsum") is None:
        sys.exit("xxhsum not found: apt-get install xxhash")
    ours: list[float] = []
    theirs: list[float] = []
    reads: list[int] = []
    sequential: list[float] = []
    with tempfile.TemporaryDirectory(prefix="reelvault-bench-replicate-", dir=args.dir) as folder:
        root = Path(folder)
        source = root / "raid"
        hashes = bench_restore.make_source(source, args.mb, args.files)
        if args.s3:
            ours, theirs = s3_pairs(root, source, hashes, args.pairs)
        for turn in range(0 if args.s3 else args.pairs):
            target = root / f"lto{turn}"
            seconds, read = run_reelvault(source, target, hashes)
            ours.append(seconds)
            reads.append(read)
            shutil.rmtree(target)
            if args.sequential:
                target = root / f"seq{turn}"
                sequential.append(run_reelvault(source, target, hashes, sequential=True)[0])
                shutil.rmtree(target)
            baseline = root / f"cp{turn}"
            theirs.append(bench_restore.run_baseline(source, baseline, hashes))
            shutil.rmtree(baseline)
    total = args.mb * MB
    # Speedup per pair: baseline time / our time (> 1: we are faster).
    ratios = sorted(t / o for o, t in zip(ours, theirs, strict=True))
    median_ours, median_theirs = statistics.median(ours), statistics.median(theirs)
    where = "local → S3 (moto)" if args.s3 else "local → local"
    print(f"{where} replication of {args.mb} MB in {args.files} files, {args.pairs} alternating pairs")
    labels = (
        ("reelvault (multipart, GET read back)", "upload_file + download_file + xxhsum -c")
        if args.s3
        else ("reelvault (source verified, fsync, read back)", "cp -r + sync + drop cache + xxhsum -H2 -c")
    )
    for label, seconds in zip(labels, (median_ours, median_theirs), strict=True):
        print(f"  {label:<50} median {seconds:7.2f} s {total / seconds / MB:8.1f} MB/s")
    print(
        f"  speedup (baseline / reelvault) median {statistics.median(ratios):.2f}x "
        f"(spread {ratios[0]:.2f} to {ratios[-1]:.2f})"
    )
    if sequential:
        gains = sorted(s / o for o, s in zip(ours, sequential, strict=True))
        print(
            f"  {'reelvault, sequential (before the read-back thread)':<50} median "
            f"{statistics.median(sequential):7.2f} s {total / statistics.median(sequential) / MB:8.1f} MB/s; "
            f"speedup (baseline / sequential) median "
            f"{statistics.median(sorted(t / q for q, t in zip(sequential, theirs, strict=True))):.2f}x; "
            f"read-back thread gains {statistics.median(gains):.2f}x ({gains[0]:.2f} to {gains[-1]:.2f})"
        )
    print(f"  peak memory of this process (VmHWM): {peak_memory_mb():.0f} MB")
    print(f"  load average (1, 5, 15 min) at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if reads:
        print(f"  bytes read from disk per byte replicated: {statistics.median(reads) / total:.2f}")
    print(
        json.dumps(
            {
                "bench": "replicate-s3" if args.s3 else "replicate",
                "mb": args.mb,
                "files": args.files,
                "pairs": args.pairs,
                "speedup_median": round(statistics.median(ratios), 3),
                "speedup_min": round(ratios[0], 3),
                "speedup_max": round(ratios[-1], 3),
                "reelvault_seconds": [round(t, 3) for t in ours],
                "baseline_seconds": [round(t, 3) for t in theirs],
                "peak_memory_mb": round(peak_memory_mb()),
                "read_per_byte": round(statistics.median(reads) / total, 3) if reads else None,
                "sequential_seconds": [round(t, 3) for t in sequential],
                "loadavg": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()

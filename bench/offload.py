"""Benchmark: Reelvault's verified offload of a card to two destinations against what a user would script.

    python bench/offload.py [--size-mb 2048] [--dir /var/tmp] [--repeat 1] [--keep]

One run, everything on the disk that holds --dir:

1. Make a camera-card-like tree of N MB (a few large clips, many medium ones,
   some small proxies and a few hundred tiny sidecars), random content.
2. Measure the disk with ``dd`` and direct I/O (64 MiB blocks), and from that
   the physical floor of a verified offload to D=2 destinations:
   D*size/write + D*size/read (reading every copy back) + size/read (the card once).
   A plain buffered read from a cold cache is measured too: where it is much
   faster than direct I/O (virtual disks), "floor*" uses it for the reads.
3. The contenders, each starting with the page cache dropped (so the card
   comes from the disk) and with empty destinations:
   - reelvault: ``copyengine.offload.offload_card`` to two ``LocalDestination``s,
     xxh128, full read-back verification. It runs in a child process so its
     peak memory (VmHWM) is its own; that child also times the engine's steps
     and counts what its threads read from the device (/proc/thread-self/io).
   - naive: ``xxhsum -H2`` over every card file, ``cp -r`` to each destination,
     ``sync``, drop the page cache, ``xxhsum -c`` in each copy: the same proof
     (both copies read back from the disk), scripted.
   - reelvault, hashing off: the same offload with the hash function replaced
     by one that does nothing. Same code, same reads, writes, syncs and
     read-backs; only hashing is gone. Its copy steps (read, write to both,
     sync) are the plain copy we compare Reelvault's copy with hashing to:
     the difference is exactly what hashing costs. (``cp -r`` twice would
     read the card twice, the second time from the cache, and a simple
     Python loop does not overlap reading with writing the way the engine
     does: both would measure a different I/O pattern, not hashing.)
   - ascmhl: ``ascmhl create <card> -h xxh128``, the reference tool; it only
     hashes the card (no copy), for scale.

Each contender's CPU seconds (user + system, child processes included) are
shown beside its time. Needs no Django and no database. Needs root (or a
writable /proc/sys/vm/drop_caches) for the cleanest cache drops; otherwise it
falls back to posix_fadvise(DONTNEED) on every file and says which it used.
Each figure is the best of --repeat rounds; the naive/Reelvault ratio is also
given per round (same background load), which is steadier on a shared machine.
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
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script, not as part of a package

MB = 1_000_000
MIB = 1024 * 1024
DESTINATIONS = 2
CHUNK = 8 * MIB  # random data is written in chunks of this size
DD_BLOCK = 64 * MIB
ASCMHL = PROJECT_ROOT / ".venv-tools" / "bin" / "ascmhl"
# ascmhl asks GitHub for updates at every start; a closed local port makes that fail at once.
TOOL_ENV = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
# Steps of copyengine.offload._Run timed in the child (private names: if the engine
# renames them, the breakdown just shows fewer steps).
# Batches overlap: the previous batch is read back while this one is copied, so
# "verify wait" is only the read-back time the copy could not hide.
ENGINE_STEPS = {
    "_copy": "copy",  # read the card once, hash, write to every destination
    "_make_durable": "sync",  # one syncfs/fsync per destination per batch
    "_finish_verify": "verify wait",  # wait for the read-back of a batch, link into place, fsync folders
}


# --------------------------------------------------------------------------
# The card
# --------------------------------------------------------------------------


def plan_card(total: int, rng: random.Random) -> list[tuple[str, int]]:
    """(relative path, size) of a camera-card-like tree adding up to exactly ``total`` bytes."""
    plan = [(f"A001/META/A001C{i + 1:03d}_R1AB.xml", rng.randint(500, 32_000)) for i in range(300)]

    def fill(budget: int, low: int, high: int, name: str) -> None:
        index = 0
        while budget > 0:
            size = min(budget, rng.randint(low, high))
            index += 1
            plan.append((name.format(index), size))
            budget -= size

    fill(total * 10 // 100, 1 * MB, 8 * MB, "A001/PROXY/A001C{:03d}_R1AB_proxy.mp4")  # some small
    fill(total * 40 // 100, 16 * MB, 96 * MB, "A001/CLIP/A001C{:03d}_R1AB.mov")  # many medium
    rest = total - sum(size for _, size in plan)
    for index in range(3):  # a few large: the rest, in three
        plan.append((f"A001/CLIP/A001L{index + 1:03d}_R1AB.mov", rest // 3 + (rest % 3 if index == 0 else 0)))
    return plan


def make_card(card: Path, plan: list[tuple[str, int]]) -> None:
    """Write the files with fresh random bytes: nothing to compress or deduplicate."""
    for relative, size in plan:
        path = card / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as stream:
            left = size
            while left:
                left -= stream.write(os.urandom(min(left, CHUNK)))
    os.sync()


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


# --------------------------------------------------------------------------
# The disk
# --------------------------------------------------------------------------


def drop_caches(*folders: Path) -> str:
    """Make the next reads come from the device. Returns the method used.

    ``sync`` first: dirty pages cannot be dropped. Then the kernel's
    drop_caches if we may write it (root), else posix_fadvise(DONTNEED) on
    every file below ``folders``.
    """
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return "drop_caches"
    except OSError:
        for path in (path for folder in folders for path in files_under(folder)):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        return "fadvise"


def settle(folder: Path, *, quiet_for: float = 1.0, at_most: float = 20.0) -> None:
    """Sync, then wait until the disk under ``folder`` has been idle for ``quiet_for`` seconds.

    After gigabytes of writes and deletions the device (or, for a virtual disk,
    the host) keeps working for a while after ``sync`` returns; whoever ran next
    would pay for it. Gives up after ``at_most`` seconds (other work may keep
    the disk busy).
    """
    os.sync()
    device = folder.stat().st_dev
    stat = Path(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}/stat")
    if not stat.exists():
        return
    deadline = time.monotonic() + at_most
    busy_ms = stat.read_text().split()[9]  # io_ticks: milliseconds spent doing I/O
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_for and time.monotonic() < deadline:
        time.sleep(0.1)
        now_busy = stat.read_text().split()[9]
        if now_busy != busy_ms:
            busy_ms, quiet_since = now_busy, time.monotonic()


def run(command: list[str], *, cwd: Path | None = None) -> None:
    """Run a tool quietly; on failure stop with what it printed."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def shell(command: str, *, cwd: Path | None = None) -> None:
    run(["bash", "-o", "pipefail", "-c", command], cwd=cwd)


def measure_disk(card: Path, work: Path) -> dict[str, float]:
    """Sequential write and read speed of the disk, MB/s, with dd and direct I/O.

    The data written is the card itself (still in the page cache right after
    it was made), so it is as incompressible as what the offload writes.
    """
    probe = work / "dd-probe"
    card_size = sum(path.stat().st_size for path in files_under(card))
    block = DD_BLOCK if card_size >= DD_BLOCK else MIB
    count = card_size // block
    size = count * block

    def timed(command: str) -> float:
        start = time.perf_counter()
        # No pipefail: cat is cut off by design once dd has its blocks; the status is dd's.
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(
                f"dd failed in {work} ({result.stderr.strip()}); choose a --dir on a disk that "
                "supports direct I/O"
            )
        return time.perf_counter() - start

    write_s = timed(
        f"find '{card}' -type f -print0 | xargs -0 cat | "
        f"dd of='{probe}' bs={block} count={count} iflag=fullblock oflag=direct status=none"
    )
    if probe.stat().st_size != size:
        raise SystemExit(f"dd wrote {probe.stat().st_size} bytes instead of {size}")
    read_s = timed(f"dd if='{probe}' of=/dev/null bs={block} iflag=direct status=none")
    drop_caches(probe.parent)
    buffered_s = timed(f"dd if='{probe}' of=/dev/null bs={block} status=none")
    probe.unlink()
    os.sync()
    return {
        "block_MiB": block / MIB,
        "write_MBps": size / write_s / MB,
        "read_MBps": size / read_s / MB,
        "read_buffered_MBps": size / buffered_s / MB,
    }


# --------------------------------------------------------------------------
# Contender: Reelvault (parent side, then the child)
# --------------------------------------------------------------------------


def run_reelvault(card: Path, roots: list[Path], *, hashing: bool = True) -> dict[str, object]:
    command = [sys.executable, __file__, "--engine-child", str(card), *map(str, roots)]
    if not hashing:
        command.append("--no-hash")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the Reelvault offload failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def proc_figures(path: str) -> dict[str, int]:
    """``/proc/.../io`` or ``/proc/.../status`` as {field: integer} (status sizes stay in kB)."""
    figures = {}
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(":")
        words = value.split()
        if words and words[0].isdigit():
            figures[name] = int(words[0])
    return figures


def time_steps(cls: type, names: dict[str, str]) -> dict[str, float]:
    """Wrap methods of ``cls`` so that the seconds spent in each are added up."""
    spent = dict.fromkeys(names.values(), 0.0)
    for method, step in names.items():
        original = getattr(cls, method, None)
        if original is None:
            del spent[step]
            continue

        def timed(
            self: object, *args: object, _original: Callable = original, _step: str = step, **kwargs: object
        ) -> object:
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                spent[_step] += time.perf_counter() - start

        setattr(cls, method, timed)
    return spent


class NoHash:
    """Stands in for xxh128 when measuring what hashing costs: every file "hashes" the same."""

    def update(self, data: object, /) -> None:
        pass

    def hexdigest(self) -> str:
        return "0" * 32


def engine_child(card: Path, roots: list[Path], *, hashing_on: bool) -> None:
    """Runs in its own process: one offload, then one JSON line on stdout."""
    from copyengine import hashing, offload
    from copyengine.backends.local import LocalDestination

    if not hashing_on:
        hashing._FACTORIES[hashing.DEFAULT_ALGORITHM] = NoHash
    steps = time_steps(offload._Run, ENGINE_STEPS)
    destinations = [LocalDestination(root, name=f"dest{n + 1}") for n, root in enumerate(roots)]
    memory_before = proc_figures("/proc/self/status")["VmHWM"]
    thread_before = proc_figures("/proc/thread-self/io")
    process_before = proc_figures("/proc/self/io")
    start = time.perf_counter()
    result = offload.offload_card(
        source=card, destinations=destinations, label=card.name, algorithms=("xxh128",)
    )
    seconds = time.perf_counter() - start
    thread_after = proc_figures("/proc/thread-self/io")
    process_after = proc_figures("/proc/self/io")
    if not result.safe_to_format:
        raise SystemExit("offload not verified:\n" + "\n".join(result.not_safe_reasons()[:20]))
    steps["other"] = seconds - sum(steps.values())  # scan, opening the destinations, reports
    print(
        json.dumps(
            {
                "seconds": seconds,
                "files": len(result.files),
                "card_bytes": result.card_bytes,
                "source_bytes_read": result.source_bytes_read,
                # The calling thread reads the card; the verify threads read the copies.
                "source_device_read_bytes": thread_after["read_bytes"] - thread_before["read_bytes"],
                "device_read_bytes": process_after["read_bytes"] - process_before["read_bytes"],
                "device_write_bytes": process_after["write_bytes"] - process_before["write_bytes"],
                "peak_memory_MB": proc_figures("/proc/self/status")["VmHWM"] * 1024 / MB,
                "memory_before_MB": memory_before * 1024 / MB,
                "steps": steps,
            }
        )
    )


# --------------------------------------------------------------------------
# Contenders: naive script, ascmhl
# --------------------------------------------------------------------------


def children_inblock_bytes() -> int:
    """Bytes read from devices by finished child processes (ru_inblock is in 512-byte units)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_inblock * 512


def run_naive(card: Path, roots: list[Path], work: Path) -> dict[str, object]:
    sums = work / "card.xxh128"
    copies = [root / card.name for root in roots]
    start = time.perf_counter()
    inblock = children_inblock_bytes()
    shell(f"find . -type f -print0 | xargs -0 xxhsum -H2 > '{sums}'", cwd=card)
    hashed = time.perf_counter()
    for copy in copies:
        run(["cp", "-r", str(card), str(copy)])
    copied = time.perf_counter()
    source_device_read = children_inblock_bytes() - inblock
    run(["sync"])
    synced = time.perf_counter()
    drop_caches(*copies)  # so xxhsum -c reads the copies from the disk
    for copy in copies:
        run(["xxhsum", "-q", "-c", str(sums)], cwd=copy)
    done = time.perf_counter()
    return {
        "seconds": done - start,
        "source_device_read_bytes": source_device_read,
        "steps": {
            "hash card": hashed - start,
            "cp x2": copied - hashed,
            "sync": synced - copied,
            "drop + verify x2": done - synced,
        },
    }


def run_ascmhl(card: Path) -> dict[str, object]:
    start = time.perf_counter()
    result = subprocess.run(
        [str(ASCMHL), "create", str(card), "-h", "xxh128"], env=TOOL_ENV, capture_output=True, check=False
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"ascmhl create failed ({result.returncode}): {result.stderr.decode()}")
    shutil.rmtree(card / "ascmhl")  # not part of the card for the next round
    return {"seconds": seconds}


def xxh128_speed() -> float:
    """GB/s of xxh128 over an aligned buffer already in memory: what hashing costs this CPU."""
    from copyengine import hashing

    buffer = hashing.aligned_buffer(CHUNK)
    buffer.write(os.urandom(CHUNK))
    rounds = 64
    start = time.perf_counter()
    for _ in range(rounds):
        hasher = hashing.new_hash(hashing.DEFAULT_ALGORITHM)
        hasher.update(buffer)
        hasher.hexdigest()
    return rounds * CHUNK / (time.perf_counter() - start) / 1e9


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def with_cpu(run: Callable[..., dict[str, object]], *args: object) -> dict[str, object]:
    """Run a contender; add the CPU seconds (user + system) it used, child processes included."""

    def cpu() -> float:
        return sum(
            usage.ru_utime + usage.ru_stime
            for usage in (
                resource.getrusage(resource.RUSAGE_SELF),
                resource.getrusage(resource.RUSAGE_CHILDREN),
            )
        )

    before = cpu()
    figures = run(*args)
    return {**figures, "cpu_s": cpu() - before}


def fresh_roots(work: Path, name: str) -> list[Path]:
    """Empty destination roots for one contender, on the same disk as the card."""
    roots = [work / name / f"dest{n + 1}" for n in range(DESTINATIONS)]
    for root in roots:
        root.mkdir(parents=True)
    return roots


def bench(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """Make the card, then run each round; return every figure measured."""
    card = work / "card" / "A001R1AB"
    plan = plan_card(args.size_mb * MB, random.Random(20260302))
    print(f"making a {args.size_mb} MB card of {len(plan)} files in {card} ...", file=sys.stderr)
    make_card(card, plan)

    contenders: dict[str, Callable[[list[Path]], dict[str, object]]] = {
        "reelvault": lambda roots: run_reelvault(card, roots),
        "reelvault_no_hash": lambda roots: run_reelvault(card, roots, hashing=False),
        "naive": lambda roots: run_naive(card, roots, work),
    }
    disks: list[dict[str, float]] = []
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in [*contenders, "ascmhl"]}
    cache_drop = ""
    for round_ in range(args.repeat):
        print(f"round {round_ + 1}/{args.repeat} ...", file=sys.stderr)
        if round_ > 0:  # measure_disk feeds dd from the card, which must be in the cache
            shell(f"find '{card}' -type f -print0 | xargs -0 cat > /dev/null")
        settle(work)
        disks.append(measure_disk(card, work))
        # Each round starts with another contender, so that none always gets the same slot.
        names = list(contenders)
        shift = round_ % len(names)
        for position, name in enumerate(names[shift:] + names[:shift]):
            roots = fresh_roots(work, name)
            settle(work)
            cache_drop = drop_caches(card)
            runs[name].append({**with_cpu(contenders[name], roots), "position": position})
            shutil.rmtree(work / name)
        if ASCMHL.exists():
            settle(work)
            cache_drop = drop_caches(card)
            runs["ascmhl"].append(with_cpu(run_ascmhl, card))

    return {
        "plan": plan,
        "disk": {key: max(d[key] for d in disks) for key in disks[0]},  # the best the disk did
        "best": {name: min(found, key=lambda r: r["seconds"]) for name, found in runs.items() if found},
        "runs": runs,
        "cache_drop": cache_drop,
        "xxh128_GBps": xxh128_speed(),
    }


def rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item) for item in value]
    return value


def report(args: argparse.Namespace, measured: dict) -> None:
    """Print the table, then one JSON line with every figure."""
    plan, disk, best = measured["plan"], measured["disk"], measured["best"]
    mb = args.size_mb  # the card, in MB
    writes = DESTINATIONS * mb / disk["write_MBps"]
    floor = writes + (DESTINATIONS + 1) * mb / disk["read_MBps"]
    # The same with the speed of a plain read (buffered, with readahead) from a cold cache: on
    # some disks, virtual ones especially, it is well above what direct I/O shows.
    floor_buffered = writes + (DESTINATIONS + 1) * mb / disk["read_buffered_MBps"]
    ours, no_hash, naive = best["reelvault"], best["reelvault_no_hash"], best["naive"]
    theirs = best.get("ascmhl")
    card_bytes = ours["card_bytes"]

    def copy_steps(run: dict) -> float:  # read + (hash) + write, then sync
        return run["steps"].get("copy", 0.0) + run["steps"].get("sync", 0.0)

    overhead_copy = 100 * (copy_steps(ours) / copy_steps(no_hash) - 1)
    overhead_total = 100 * (ours["seconds"] / no_hash["seconds"] - 1)
    # CPU seconds to hash the card once and both copies, as a share of the offload.
    hash_cpu = 100 * (DESTINATIONS + 1) * mb / 1000 / measured["xxh128_GBps"] / ours["seconds"]
    speedup = naive["seconds"] / ours["seconds"]
    read_ratio = ours["source_bytes_read"] / card_bytes
    largest = max(size for _, size in plan)

    def row(label: str, seconds: float, note: str = "", *, offload: bool = True) -> None:
        versus = f"{seconds / floor:6.2f}x {seconds / floor_buffered:6.2f}x" if offload else " " * 15
        print(f"  {label:<46} {seconds:7.2f} s {mb / seconds:7.1f} MB/s {versus}  {note}")

    def steps(run: dict) -> str:
        found = ", ".join(f"{step} {seconds:.2f}" for step, seconds in run.get("steps", {}).items())
        return f"cpu {run['cpu_s']:.1f}" + (f" | {found}" if found else "")

    print(
        f"offload of {mb} MB ({len(plan)} files, largest {largest / MB:.0f} MB) to {DESTINATIONS} "
        f"destinations on one disk; best of {args.repeat}; cache dropped with {measured['cache_drop']}"
    )
    print(
        f"  disk (dd, direct I/O, {disk['block_MiB']:.0f} MiB blocks): write {disk['write_MBps']:.0f} MB/s, "
        f"read {disk['read_MBps']:.0f} MB/s (buffered cold read: {disk['read_buffered_MBps']:.0f} MB/s)"
    )
    print(f"  {'':<46} {'time':>9} {'card rate':>12} {'/floor':>7} {'/floor*':>7}  cpu (s) | steps (s)")
    row("floor: 2 writes, 2 read-backs, 1 read (direct)", floor)
    row("floor*: same, reads at buffered cold speed", floor_buffered)
    row("reelvault offload_card, verified", ours["seconds"], steps(ours))
    row("reelvault, hashing off (same I/O)", no_hash["seconds"], steps(no_hash))
    row("naive: xxhsum, cp x2, sync, xxhsum -c x2", naive["seconds"], steps(naive))
    if theirs:
        row("ascmhl create -h xxh128 (hashes the card only)", theirs["seconds"], steps(theirs), offload=False)
    print(f"  speedup, naive time / reelvault time: {speedup:.2f}x (goal >= 1.2x)")
    print(
        f"  card bytes read by reelvault: {ours['source_bytes_read']:,} of {card_bytes:,} "
        f"({read_ratio:.4f}x); from the device by its reading thread: {ours['source_device_read_bytes']:,}"
    )
    print(
        f"  device I/O, reelvault process: read {ours['device_read_bytes'] / card_bytes:.2f}x the card "
        f"(once + {DESTINATIONS} read-backs), wrote {ours['device_write_bytes'] / card_bytes:.2f}x; "
        f"naive hash + cp x2: read {naive['source_device_read_bytes'] / card_bytes:.2f}x (cp reads the cache)"
    )
    print(
        f"  hashing overhead: copy+sync {copy_steps(ours):.2f} s vs {copy_steps(no_hash):.2f} s hashing off "
        f"= {overhead_copy:+.1f}% (goal <= 10%); whole offload {overhead_total:+.1f}%; "
        f"xxh128 {measured['xxh128_GBps']:.1f} GB/s in memory = {hash_cpu:.1f}% of the offload as CPU"
    )
    print(
        f"  reelvault peak memory (VmHWM): {ours['peak_memory_MB']:.0f} MB "
        f"({ours['memory_before_MB']:.0f} MB after imports, before the offload) (goal < 200 MB)"
    )

    def figures(run: dict | None, *, offload: bool = True) -> dict | None:
        if run is None:
            return None
        found = {**run, "MBps": mb / run["seconds"]}
        if offload:
            found["over_floor"] = run["seconds"] / floor
            found["over_floor_buffered"] = run["seconds"] / floor_buffered
        return found

    print(
        json.dumps(
            rounded(
                {
                    "bench": "offload",
                    "size_mb": mb,
                    "files": len(plan),
                    "largest_file_mb": largest / MB,
                    "destinations": DESTINATIONS,
                    "repeat": args.repeat,
                    "cache_drop": measured["cache_drop"],
                    "disk": disk,
                    "floor_s": floor,
                    "floor_buffered_s": floor_buffered,
                    "reelvault": figures(ours),
                    "reelvault_no_hash": figures(no_hash),
                    "naive": figures(naive),
                    "ascmhl": figures(theirs, offload=False),
                    "speedup_vs_naive": speedup,
                    # Same round, so the same background load: less noisy than the best-of ratio.
                    "speedup_per_round": [
                        n["seconds"] / r["seconds"]
                        for n, r in zip(measured["runs"]["naive"], measured["runs"]["reelvault"], strict=True)
                    ],
                    "source_read_ratio": read_ratio,
                    "hashing_overhead_copy_pct": overhead_copy,
                    "hashing_overhead_total_pct": overhead_total,
                    "hashing_cpu_pct": hash_cpu,
                    "xxh128_GBps": measured["xxh128_GBps"],
                    "peak_memory_MB": ours["peak_memory_MB"],
                    "runs_s": {
                        name: [r["seconds"] for r in found] for name, found in measured["runs"].items()
                    },
                }
            )
        )
    )


# --------------------------------------------------------------------------
# Scenarios as a user meets them: the whole command, a card larger than
# memory, a cart of separate devices. Paired runs, medians, load average.
# --------------------------------------------------------------------------

PROJECT_CODE = "BENCH"
CGROUP_MEMORY = Path("/sys/fs/cgroup/memory")
BLKIO = Path("/sys/fs/cgroup/blkio")


def load_average() -> float:
    return os.getloadavg()[0]


def make_clip_card(card: Path, total: int, clips: int) -> None:
    """An ARRI-like card: ``clips`` clips of equal size adding up to ``total`` bytes, random content."""
    card.mkdir(parents=True, exist_ok=True)
    for index in range(clips):
        size = total // clips + (total % clips if index == 0 else 0)
        with (card / f"{card.name[:4]}C{index + 1:03d}_260302_{card.name[-4:]}.mxf").open("wb") as stream:
            left = size
            while left:
                left -= stream.write(os.urandom(min(left, CHUNK)))
    os.sync()


class LoopDisk:
    """An ext4 file system on a loop device (direct I/O to its image), optionally rate limited.

    The limits are blkio throttle rules of the root cgroup for this device
    number, so they apply to every process and to the kernel's writeback too
    (cgroup v1 throttles buffered writeback only at the root). They are
    removed, and the device detached, on ``close``: the next user of this
    loop number must not inherit them.
    """

    def __init__(self, image: Path, mount: Path, size: int, *, read_bps: int = 0, write_bps: int = 0) -> None:
        self.image, self.mount = image, mount
        with image.open("wb") as stream:
            stream.truncate(size)
        run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", str(image)])
        found = subprocess.run(
            ["losetup", "-f", "--show", "--direct-io=on", str(image)],
            capture_output=True,
            text=True,
            check=True,
        )
        self.device = found.stdout.strip()
        rdev = Path(self.device).stat().st_rdev
        self.number = f"{os.major(rdev)}:{os.minor(rdev)}"
        self.name = Path(self.device).name
        mount.mkdir(parents=True, exist_ok=True)
        run(["mount", self.device, str(mount)])
        self.limits = {"read": read_bps, "write": write_bps}
        for kind, bps in self.limits.items():
            if bps:
                (BLKIO / f"blkio.throttle.{kind}_bps_device").write_text(f"{self.number} {bps}\n")

    def read_bytes(self) -> int:
        """Bytes read from this device since it was attached (/sys/block/<dev>/stat, 512-byte sectors)."""
        return int(Path(f"/sys/block/{self.name}/stat").read_text().split()[2]) * 512

    def measure(self, size: int) -> dict[str, float]:
        """dd with direct I/O: what the device really does (write, then read), MB/s."""
        probe = self.mount / "dd-probe"
        count = max(1, size // DD_BLOCK)

        def timed(command: list[str]) -> float:
            start = time.perf_counter()
            run(command)
            return time.perf_counter() - start

        write_s = timed(
            [
                "dd",
                "if=/dev/zero",
                f"of={probe}",
                f"bs={DD_BLOCK}",
                f"count={count}",
                "oflag=direct",
                "status=none",
            ]
        )
        read_s = timed(["dd", f"if={probe}", "of=/dev/null", f"bs={DD_BLOCK}", "iflag=direct", "status=none"])
        probe.unlink()
        return {"write_MBps": count * DD_BLOCK / write_s / MB, "read_MBps": count * DD_BLOCK / read_s / MB}

    def close(self) -> None:
        for kind, bps in self.limits.items():
            if bps:
                (BLKIO / f"blkio.throttle.{kind}_bps_device").write_text(f"{self.number} 0\n")
        subprocess.run(["umount", str(self.mount)], capture_output=True, check=False)
        subprocess.run(["losetup", "-d", self.device], capture_output=True, check=False)
        self.image.unlink(missing_ok=True)


class MemoryCgroup:
    """A cgroup v1 memory group whose limit bounds the page cache of what runs in it."""

    def __init__(self, name: str, limit: int) -> None:
        self.path = CGROUP_MEMORY / name
        self.path.mkdir(exist_ok=True)
        (self.path / "memory.limit_in_bytes").write_text(str(limit))
        self.limit = limit

    def enter(self) -> None:
        """preexec_fn of a child: move it into this group before it runs anything."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def close(self) -> None:
        try:
            (self.path / "memory.force_empty").write_text("0")
        except OSError:
            pass
        try:
            self.path.rmdir()
        except OSError:
            pass


def django_env(work: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["REELVAULT_VOLUME_ROOTS"] = str(work)
    env["DJANGO_SETTINGS_MODULE"] = "reelvault.settings"
    # manage.py starts Django itself unless --warm: a `make run` on this machine must not answer.
    env["REELVAULT_COMMAND_SERVER"] = "off"
    env["REELVAULT_COMMAND_SOCKET"] = str(work / "commands.sock")
    return env


class CommandServer:
    """``manage.py command_server`` as ``make run`` runs it, for --warm: the command forks from it.

    The fork's reads are not the bench's children's: they are counted from
    the server's /proc/<pid>/io, which takes in what its reaped children read.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**env, "REELVAULT_COMMAND_SERVER": "on"}
        self.process = subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "manage.py"), "command_server"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if "command server ready" in line:
                return
        raise SystemExit(f"the command server did not start (exit {self.process.wait()})")

    def read_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/io").read_text().splitlines():
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def ensure_project(env: dict[str, str]) -> None:
    code = (
        "import django; django.setup()\n"
        "from catalog.models import Project\n"
        "from catalog.services import project_create\n"
        f"if not Project.objects.filter(code={PROJECT_CODE!r}).exists():\n"
        f"    project_create(actor=None, code={PROJECT_CODE!r}, name='Offload benchmark')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"could not create project {PROJECT_CODE} (is DATABASE_URL set?):\n{result.stderr}")


def side_command(
    card: Path, roots: list[Path], env: dict[str, str], cgroup: MemoryCgroup | None
) -> dict[str, Any]:
    """``manage.py offload … --json`` as a DIT types it, timed from process start to exit."""
    command = [sys.executable, str(PROJECT_ROOT / "manage.py"), "offload", "--project", PROJECT_CODE]
    command += ["--source", str(card), *(arg for root in roots for arg in ("--dest", str(root))), "--json"]
    start = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=cgroup.enter if cgroup else None,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"manage.py offload failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "engine_seconds": summary["seconds"]}


NAIVE_SCRIPT = """
set -e -o pipefail
cd "$CARD"
find . -type f -print0 | xargs -0 xxhsum -H2 > "$SUMS"
for root in "$@"; do cp -r "$CARD" "$root/"; done
sync
echo 3 > /proc/sys/vm/drop_caches
for root in "$@"; do (cd "$root/$(basename "$CARD")" && xxhsum -q -c "$SUMS"); done
"""


def side_naive(
    card: Path, roots: list[Path], env: dict[str, str], cgroup: MemoryCgroup | None
) -> dict[str, Any]:
    """The script a user would write, run as one shell process (in the cgroup when there is one)."""
    sums = roots[0].parent / "card.xxh128"
    start = time.perf_counter()
    result = subprocess.run(
        ["bash", "-c", NAIVE_SCRIPT, "naive", *map(str, roots)],
        env={**os.environ, "CARD": str(card), "SUMS": str(sums)},
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=cgroup.enter if cgroup else None,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"the naive script failed ({result.returncode}):\n{result.stderr}")
    sums.unlink()
    return {"seconds": seconds}


def paired(
    name: str,
    pairs: int,
    card: Path,
    destination_parents: list[Path],
    env: dict[str, str],
    *,
    cgroup: MemoryCgroup | None = None,
    card_disk: LoopDisk | None = None,
    server: CommandServer | None = None,
) -> dict[str, Any]:
    """``pairs`` alternating pairs (Reelvault first in even pairs); every pair is kept.

    With ``server``, ``manage.py offload`` runs in a fork of that command server.
    """
    sides = {"reelvault": side_command, "naive": side_naive}
    if server is not None:
        env = server.env

    def device_read() -> int:
        return children_inblock_bytes() + (server.read_bytes() if server is not None else 0)

    rows = []
    for parent in destination_parents:
        parent.mkdir(parents=True, exist_ok=True)
    for pair in range(pairs):
        order = ["reelvault", "naive"] if pair % 2 == 0 else ["naive", "reelvault"]
        row: dict[str, Any] = {"first": order[0]}
        for side in order:
            # Folder names become volume labels of the project: unique across runs.
            tag = f"{name}-{pair}-{side}-{os.getpid()}"
            roots = [parent / f"{tag}-D{n + 1}" for n, parent in enumerate(destination_parents)]
            if side == "naive":
                for root in roots:
                    root.mkdir(parents=True)
            settle(destination_parents[0])
            drop_caches()
            load = load_average()
            card_read = card_disk.read_bytes() if card_disk else 0
            inblock = device_read()
            figures = sides[side](card, roots, env, cgroup)
            figures["load"] = load
            figures["device_read_bytes"] = device_read() - inblock
            if card_disk:
                figures["card_read_bytes"] = card_disk.read_bytes() - card_read
            row[side] = figures
            for root in roots:
                shutil.rmtree(root, ignore_errors=True)
        row["speedup"] = row["naive"]["seconds"] / row["reelvault"]["seconds"]
        rows.append(row)
        print(
            f"  {name} pair {pair + 1}/{pairs}: reelvault {row['reelvault']['seconds']:.2f} s, "
            f"naive {row['naive']['seconds']:.2f} s, {row['speedup']:.2f}x, load {load:.1f}"
            + (
                f", card read: reelvault {row['reelvault']['card_read_bytes'] / MIB:,.0f} MiB, "
                f"naive {row['naive']['card_read_bytes'] / MIB:,.0f} MiB"
                if card_disk
                else ""
            ),
            file=sys.stderr,
        )
    written = len(destination_parents) * sum(path.stat().st_size for path in files_under(card))
    return summarize(rows, written=written)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(rows: list[dict[str, Any]], *, written: int) -> dict[str, Any]:
    """Medians with spread; ``written`` is what each side writes (every destination's copy).

    ``volume_ratio`` is the bytes each side moved through the disks (read,
    counted per process, plus written), naive over Reelvault: what reading
    the card once saves. A speed-up beyond it comes from overlapping reads
    with writes (one disk lets them share its bandwidth only so far).
    """
    summary: dict[str, Any] = {
        "volume_ratio": spread(
            [
                (row["naive"]["device_read_bytes"] + written)
                / (row["reelvault"]["device_read_bytes"] + written)
                for row in rows
            ]
        ),
        "pairs": rows,
        "speedup": spread([row["speedup"] for row in rows]),
        "reelvault_s": spread([row["reelvault"]["seconds"] for row in rows]),
        "naive_s": spread([row["naive"]["seconds"] for row in rows]),
        "engine_s": spread([row["reelvault"]["engine_seconds"] for row in rows]),
        "load": spread([row[side]["load"] for row in rows for side in ("reelvault", "naive")]),
    }
    if "card_read_bytes" in rows[0]["reelvault"]:
        summary["card_read_bytes"] = {
            side: statistics.median(row[side]["card_read_bytes"] for row in rows)
            for side in ("reelvault", "naive")
        }
    return summary


def scenario_command(args: argparse.Namespace, work: Path, env: dict[str, str], mib: int) -> dict[str, Any]:
    """1: the whole command against the naive script, everything on the disk that holds --dir.

    With --warm the command runs as on a ``make run`` machine: in a fork of the command server.
    """
    card = work / f"card-{mib}" / "A001R1AB"
    print(f"making a {mib} MiB card of {args.clips} clips ...", file=sys.stderr)
    make_clip_card(card, mib * MIB, args.clips)
    server = CommandServer(env) if args.warm else None
    try:
        name = f"{mib}MiB" + ("-warm" if server else "")
        found = paired(name, args.pairs, card, [work / "dest", work / "dest"], env, server=server)
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(card.parent, ignore_errors=True)
    return {"card_MiB": mib, "clips": args.clips, "warm": bool(server), **found}


def scenario_memory(
    args: argparse.Namespace, work: Path, env: dict[str, str], *, reader_mbps: int = 0
) -> dict[str, Any]:
    """2: a card larger than memory. Both sides run in a memory cgroup well below the card's size.

    With ``reader_mbps`` 0 the card's loop device reads as fast as the one
    virtual disk that also takes the copies (card and copies share it); with a
    speed, the card device is rate limited like a card reader (checked with
    dd) and the copies go to the host disk, as on a real machine where the card
    sits in a reader of its own.
    """
    mib, limit = args.memcg_card_mib, args.memcg_limit_mib * MIB
    disk = LoopDisk(work / "card.img", work / "mnt-card", mib * MIB + 1024 * MIB, read_bps=reader_mbps * MB)
    cgroup = MemoryCgroup("rv-speed-bench", limit)
    measured: dict[str, float] = {}
    try:
        card = disk.mount / "A002R1AB"
        print(
            f"making a {mib} MiB card on {disk.device}; memory cgroup limit {limit // MIB} MiB ...",
            file=sys.stderr,
        )
        make_clip_card(card, mib * MIB, args.clips)
        if reader_mbps:
            measured = disk.measure(512 * MIB)
            print(
                f"  dd, direct I/O, card reader: read {measured['read_MBps']:.0f} MB/s (set: {reader_mbps})",
                file=sys.stderr,
            )
        found = paired(
            "memcg-reader" if reader_mbps else "memcg",
            args.pairs,
            card,
            [work / "dest", work / "dest"],
            env,
            cgroup=cgroup,
            card_disk=disk,
        )
    finally:
        cgroup.close()
        disk.close()
    extra: dict[str, Any] = {}
    if reader_mbps:
        # The card reader's own time: the card read once at its dd speed.
        floor = mib * MIB / MB / measured["read_MBps"]
        extra = {
            "reader_set_MBps": reader_mbps,
            "reader_dd_MBps": measured["read_MBps"],
            "floor_s": floor,
            "over_floor": spread([row["reelvault"]["seconds"] / floor for row in found["pairs"]]),
        }
    return {"card_MiB": mib, "clips": args.clips, "memory_limit_MiB": limit // MIB, **extra, **found}


# Realistic, distinct speeds (MB/s): the card reader, a RAID, a shuttle SSD (writes slower than reads).
CART = {
    "card": {"read": 300, "write": 0},
    "raid": {"read": 500, "write": 500},
    "shuttle": {"read": 400, "write": 200},
}


def scenario_cart(args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """3: card and destinations on separate rate-limited devices, in a memory cgroup (a card > RAM)."""
    mib, limit = args.cart_card_mib, args.cart_limit_mib * MIB
    disks: dict[str, LoopDisk] = {}
    cgroup = MemoryCgroup("rv-speed-cart", limit)
    try:
        for name, speed in CART.items():
            # Room for the card and the dd probe, or for one side's copy (removed after each side).
            size = mib * MIB + 1024 * MIB
            disks[name] = LoopDisk(
                work / f"{name}.img",
                work / f"mnt-{name}",
                size,
                read_bps=speed["read"] * MB,
                write_bps=speed["write"] * MB,
            )
        card = disks["card"].mount / "A003R1AB"
        print(f"making a {mib} MiB card on the card reader ({disks['card'].device}) ...", file=sys.stderr)
        make_clip_card(card, mib * MIB, args.clips)
        measured = {name: disk.measure(min(mib, 512) * MIB) for name, disk in disks.items()}
        for name, speeds in measured.items():
            print(
                f"  dd, direct I/O, {name}: write {speeds['write_MBps']:.0f} MB/s, "
                f"read {speeds['read_MBps']:.0f} MB/s"
                f" (set: write {CART[name]['write'] or 'unlimited'}, read {CART[name]['read']})",
                file=sys.stderr,
            )
        size_mb = mib * MIB / MB
        busy = {
            "card": size_mb / measured["card"]["read_MBps"],
            **{
                name: size_mb / measured[name]["write_MBps"] + size_mb / measured[name]["read_MBps"]
                for name in ("raid", "shuttle")
            },
        }
        found = paired(
            "cart",
            args.pairs,
            card,
            [disks["raid"].mount, disks["shuttle"].mount],
            env,
            cgroup=cgroup,
            card_disk=disks["card"],
        )
    finally:
        cgroup.close()
        for disk in disks.values():
            disk.close()
    floor = max(busy.values())
    return {
        "card_MiB": mib,
        "clips": args.clips,
        "memory_limit_MiB": limit // MIB,
        "set_MBps": CART,
        "dd_MBps": measured,
        "busy_s": busy,
        "floor_s": floor,
        "over_floor": spread([row["reelvault"]["seconds"] / floor for row in found["pairs"]]),
        **found,
    }


def report_scenarios(found: dict[str, dict[str, Any]]) -> None:
    def line(label: str, figures: dict[str, Any]) -> None:
        s, r, n, ld = figures["speedup"], figures["reelvault_s"], figures["naive_s"], figures["load"]
        print(
            f"  {label:<34} reelvault {r['median']:6.2f} s ({r['min']:.2f}-{r['max']:.2f})  "
            f"naive {n['median']:6.2f} s ({n['min']:.2f}-{n['max']:.2f})  "
            f"speedup {s['median']:.2f}x ({s['min']:.2f}-{s['max']:.2f})  load {ld['median']:.1f} "
            f"({ld['min']:.1f}-{ld['max']:.1f})"
        )
        volume = figures["volume_ratio"]["median"]
        print(
            f"      bytes moved through the disks, naive / reelvault: {volume:.2f}x "
            "(what reading the card once saves; more than this comes from overlapping reads and writes)"
        )
        for index, row in enumerate(figures["pairs"]):
            print(
                f"      pair {index + 1} ({row['first']} first): {row['reelvault']['seconds']:.2f} s vs "
                f"{row['naive']['seconds']:.2f} s = {row['speedup']:.2f}x "
                f"(engine {row['reelvault']['engine_seconds']:.2f} s; load {row['reelvault']['load']:.1f}/"
                f"{row['naive']['load']:.1f})"
            )
        if "card_read_bytes" in figures:
            read = figures["card_read_bytes"]
            print(
                f"      bytes read from the card device (median): "
                f"reelvault {read['reelvault'] / MIB:,.0f} MiB, "
                f"naive {read['naive'] / MIB:,.0f} MiB (card {figures['card_MiB']:,} MiB)"
            )

    print(
        "whole command (process start to exit) against the naive script; "
        "medians of alternating pairs (min-max)"
    )
    for name, figures in found.items():
        label = {
            "memcg": f"card > memory ({figures.get('card_MiB')} MiB, "
            f"{figures.get('memory_limit_MiB')} MiB cgroup)",
            "memcg-reader": f"card > memory, card reader ({figures.get('card_MiB')} MiB, "
            f"{figures.get('reader_set_MBps')} MB/s)",
            "cart": f"cart ({figures.get('card_MiB')} MiB, separate devices)",
        }.get(
            name,
            f"one disk, {figures['card_MiB']} MiB card, {figures['clips']} clips"
            + (", command server" if figures.get("warm") else ""),
        )
        line(label, figures)
        if name == "memcg-reader":
            o = figures["over_floor"]
            print(
                f"      floor (the card read once at the reader's dd speed, "
                f"{figures['reader_dd_MBps']:.0f} MB/s): {figures['floor_s']:.2f} s; "
                f"reelvault / floor {o['median']:.2f}x ({o['min']:.2f}-{o['max']:.2f})"
            )
        if name == "cart":
            o = figures["over_floor"]
            busy = ", ".join(f"{device} {seconds:.2f} s" for device, seconds in figures["busy_s"].items())
            print(
                f"      floor (busiest device at its dd speed): {figures['floor_s']:.2f} s [{busy}]; "
                f"reelvault / floor {o['median']:.2f}x ({o['min']:.2f}-{o['max']:.2f})"
            )
    print(json.dumps(rounded({"bench": "offload-scenarios", "scenarios": found})))


def scenarios(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        sys.exit("the scenarios need root: drop_caches, cgroups, loop devices and blkio limits")
    work = Path(tempfile.mkdtemp(prefix="rv-bench-", dir=args.dir))
    env = django_env(work)
    ensure_project(env)
    found: dict[str, dict[str, Any]] = {}
    try:
        for name in args.scenario:
            if name == "command":
                for mib in args.command_card_mib:
                    key = f"command-{mib}" + ("-warm" if args.warm else "")
                    found[key] = scenario_command(args, work, env, mib)
            elif name == "memcg":
                found["memcg"] = scenario_memory(args, work, env)
            elif name == "memcg-reader":
                found["memcg-reader"] = scenario_memory(args, work, env, reader_mbps=args.reader_mbps)
            elif name == "cart":
                found["cart"] = scenario_cart(args, work, env)
            # Each scenario's figures as soon as it ends: a later one may fail.
            print(json.dumps(rounded({name: found[list(found)[-1]]})), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report_scenarios(found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario",
        nargs="+",
        default=["command", "memcg", "memcg-reader", "cart"],
        choices=["command", "memcg", "memcg-reader", "cart", "engine"],
        help="what to run (default: the three scenarios a user meets; 'engine' times offload_card alone)",
    )
    parser.add_argument("--pairs", type=int, default=5, help="alternating pairs per scenario")
    parser.add_argument("--clips", type=int, default=6, help="clips on a generated card")
    parser.add_argument(
        "--command-card-mib", type=int, nargs="+", default=[1024, 4096], help="card sizes of scenario 1"
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="command: run manage.py offload in a fork of a command server, as on a `make run` machine",
    )
    parser.add_argument("--memcg-card-mib", type=int, default=4096)
    parser.add_argument("--memcg-limit-mib", type=int, default=1024)
    parser.add_argument(
        "--reader-mbps", type=int, default=300, help="memcg-reader: the card reader's read speed, MB/s"
    )
    parser.add_argument("--cart-card-mib", type=int, default=1024)
    parser.add_argument("--cart-limit-mib", type=int, default=384)
    parser.add_argument("--size-mb", type=int, default=2048, help="engine: card size in MB (10^6 bytes)")
    parser.add_argument("--dir", default="/var/tmp", help="parent of the work folder; must be on a disk")
    parser.add_argument(
        "--repeat", type=int, default=1, help="engine: rounds; each figure is the best round's"
    )
    parser.add_argument(
        "--keep", action="store_true", help="engine: keep the work folder (its path is printed)"
    )
    parser.add_argument("--engine-child", nargs="+", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-hash", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_child:
        card, *roots = args.engine_child
        engine_child(card, roots, hashing_on=not args.no_hash)
        return
    if shutil.which("xxhsum") is None:
        sys.exit("xxhsum not found: apt-get install xxhash")
    kind = subprocess.run(["stat", "-f", "-c", "%T", args.dir], capture_output=True, text=True).stdout.strip()
    if kind in ("tmpfs", "ramfs"):
        sys.exit(f"{args.dir} is in memory ({kind}): choose a --dir on a disk")
    if "engine" not in args.scenario:
        scenarios(args)
        return
    if args.size_mb < 64:
        parser.error("--size-mb must be at least 64")
    free = shutil.disk_usage(args.dir).free
    if free < 3.5 * args.size_mb * MB:
        sys.exit(f"{args.dir} has {free / 1e9:.1f} GB free; needs about {3.5 * args.size_mb / 1000:.1f} GB")

    work = Path(tempfile.mkdtemp(prefix="reelvault-bench-offload-", dir=args.dir))
    try:
        measured = bench(args, work)
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(args, measured)


if __name__ == "__main__":
    main()

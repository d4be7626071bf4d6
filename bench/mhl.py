"""Benchmark: Reelvault's ASC MHL writer + verifier against the ASC reference tool.

    python bench/mhl.py [--files 2000] [--generations 50] [--repeat 3]

Scenarios, each on fresh copies of the same generated card of small files:

- card: no history yet. Reelvault ``write_generation`` (the copy engine has
  already hashed the files) + ``verify_folder`` (re-hashes everything) vs
  ``ascmhl create -h xxh128`` (hashes and writes).
- long: a history of G generations exists; time one more generation the same
  way. "cold" starts with an empty parse cache (a process that never read
  this history); "warm" has read it before (a worker that wrote it).

The reference tool runs from .venv-tools as a subprocess, so its figures
include interpreter start-up; that cost is printed on its own. Each figure is
the best of --repeat runs, because other work on the machine adds noise.
Prints a table, then one JSON line. Never asserts anything about the times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script, not as part of a package

from copyengine import mhl  # noqa: E402
from copyengine.hashing import hash_file  # noqa: E402

ASCMHL = PROJECT_ROOT / ".venv-tools" / "bin" / "ascmhl"
ASCMHL_DEBUG = PROJECT_ROOT / ".venv-tools" / "bin" / "ascmhl-debug"
# ascmhl asks GitHub for updates at every start; a closed local port makes that fail at once.
TOOL_ENV = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
CREATOR = mhl.Creator(tool_version="bench")


def make_card(root: Path, count: int) -> None:
    """A camera-card-like tree: 100 clips per folder, each with a small XML sidecar every tenth."""
    rng = random.Random(20260302)
    for index in range(count):
        folder = root / "Clips" / f"{index // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"A001C{index:04d}_260302_R1AB.mov" if index % 10 else f"A001C{index:04d}_260302_R1AB.xml"
        (folder / name).write_bytes(rng.randbytes(rng.randint(1_000, 8_000)))


def hash_records(root: Path) -> list[mhl.FileRecord]:
    """What the copy engine hands over: paths, sizes, mtimes and hashes computed while copying."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and "ascmhl" not in path.relative_to(root).parts:
            stat = path.stat()
            found.append(
                mhl.FileRecord(
                    path.relative_to(root).as_posix(),
                    stat.st_size,
                    datetime.fromtimestamp(stat.st_mtime, UTC),
                    hash_file(path),
                )
            )
    return found


def best_of(
    repeat: int, prepare: Callable[[], Path], run: Callable[[Path], dict[str, float]]
) -> dict[str, float]:
    """Run ``run`` on a freshly prepared folder ``repeat`` times; keep the fastest run's figures."""
    runs = [run(prepare()) for _ in range(repeat)]
    return min(runs, key=lambda figures: figures["total_s"])


def time_reelvault(records: list[mhl.FileRecord], *, warm: bool) -> Callable[[Path], dict[str, float]]:
    def run(root: Path) -> dict[str, float]:
        mhl.clear_parse_cache()
        if warm:
            mhl.read_history(root)  # as if this process had written or read the history before
        start = time.perf_counter()
        mhl.write_generation(root, files=records, creator=CREATOR)
        written = time.perf_counter()
        report = mhl.verify_folder(root)
        done = time.perf_counter()
        if not report.ok:
            raise SystemExit(f"verification failed in {root}: {report.counts()}")
        return {"write_s": written - start, "verify_s": done - written, "total_s": done - start}

    return run


def time_ascmhl(root: Path) -> dict[str, float]:
    start = time.perf_counter()
    result = subprocess.run(
        [str(ASCMHL), "create", str(root), "-h", "xxh128"], env=TOOL_ENV, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"ascmhl create failed ({result.returncode}): {result.stderr.decode()}")
    return {"total_s": elapsed}


def ascmhl_startup(repeat: int) -> float:
    """Wall time of ``ascmhl --version``: interpreter start, imports, the update check thread."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(ASCMHL), "--version"], env=TOOL_ENV, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return min(times)


def whole_process_verify(card: Path, pairs: int, work: Path) -> dict[str, object] | None:
    """``manage.py mhl_verify`` against ``ascmhl-debug verify`` on one card, each a fresh process.

    What a DIT meets: interpreter start, imports, Django set-up, the verify,
    exit. Three sides, their order rotated each round, every round kept with
    the load average at each: ``cold`` is manage.py starting Django itself
    (no command server), ``warm`` is manage.py with a command server running
    (``make run`` starts one; the bench starts its own), ``ascmhl_debug`` the
    reference tool. The card gets one generation first (``ascmhl create``).
    The folder is on no registered volume, so nothing is recorded. Start-up
    alone is timed the same way with ``manage.py version`` (Django set up,
    the command found and run, nothing else). Before each verify the card's
    pages are evicted from the page cache (``evict``). Needs DATABASE_URL and
    REDIS_URL (Django starts); None without them.
    """
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")) or not ASCMHL_DEBUG.exists():
        return None
    subprocess.run(
        [str(ASCMHL), "create", str(card), "-h", "xxh128"], env=TOOL_ENV, capture_output=True, check=True
    )
    env = {key: value for key, value in TOOL_ENV.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["REELVAULT_COMMAND_SOCKET"] = str(work / "commands.sock")
    cold_env = {**env, "REELVAULT_COMMAND_SERVER": "off"}
    manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
    sides = {
        "cold": ([*manage, "mhl_verify", str(card)], cold_env),
        "warm": ([*manage, "mhl_verify", str(card)], env),
        "ascmhl_debug": ([str(ASCMHL_DEBUG), "verify", str(card)], env),
    }
    startup = {"cold": ([*manage, "version"], cold_env), "warm": ([*manage, "version"], env)}
    subprocess.run(sides["cold"][0], env=cold_env, capture_output=True, check=False)  # bytecode cached
    server = subprocess.Popen(
        [*manage, "command_server"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "command server ready" in line:
                break
        else:
            raise SystemExit(f"the command server did not start (exit {server.wait()})")
        return {
            "verify": rounds(sides, pairs, against="ascmhl_debug", before=lambda: evict(card)),
            "startup": rounds(startup, pairs, against="cold"),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def evict(folder: Path) -> None:
    """Drop ``folder``'s files from the page cache, so the next reader gets them from the device.

    Our verify reads from the device anyway (it drops each file's pages before
    reading it); without this, ``ascmhl-debug`` would read what the run before
    it left in the cache. The programs themselves stay cached, as on a DIT's
    machine where the tools ran before and the card just arrived.
    """
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def rounds(
    sides: dict[str, tuple[list[str], dict[str, str]]],
    count: int,
    *,
    against: str,
    before: Callable[[], None] = lambda: None,
) -> dict[str, object]:
    """Run each side once per round, the order rotated each round; per-round ratios ``against``/side.

    ``before`` runs before each side (untimed).
    """
    names = list(sides)
    rows = []
    for index in range(count):
        order = names[index % len(names) :] + names[: index % len(names)]
        row: dict[str, float] = {}
        for side in order:
            command, env = sides[side]
            before()
            row[f"{side}_load"] = os.getloadavg()[0]
            start = time.perf_counter()
            result = subprocess.run(command, env=env, capture_output=True, check=False)
            row[side] = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(
                    f"{' '.join(command)} failed ({result.returncode}): {result.stderr.decode()}"
                )
        for side in names:
            if side != against:
                row[f"speedup_{side}"] = row[against] / row[side]
        rows.append(row)

    def spread(key: str) -> dict[str, float]:
        values = [row[key] for row in rows]
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    return {
        "rounds": rows,
        **{f"{side}_s": spread(side) for side in names},
        **{f"speedup_{side}": spread(f"speedup_{side}") for side in names if side != against},
        "load": {"median": statistics.median(r[f"{side}_load"] for r in rows for side in names)},
    }


def fresh_copy(source: Path, target: Path) -> Callable[[], Path]:
    def prepare() -> Path:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        return target

    return prepare


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000, help="files on the generated card")
    parser.add_argument("--generations", type=int, default=50, help="length of the long history")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    parser.add_argument("--pairs", type=int, default=5, help="alternating pairs of the whole-process verify")
    args = parser.parse_args()
    have_tool = ASCMHL.exists()

    with tempfile.TemporaryDirectory(prefix="reelvault-bench-") as temporary:
        work = Path(temporary)
        card = work / "A001R1AB"
        make_card(card, args.files)
        records = hash_records(card)

        # Card: no history yet.
        card_ours = best_of(
            args.repeat, fresh_copy(card, work / "ours" / card.name), time_reelvault(records, warm=False)
        )
        card_theirs = (
            best_of(args.repeat, fresh_copy(card, work / "theirs" / card.name), time_ascmhl)
            if have_tool
            else None
        )

        # Long history: G generations written by Reelvault, one a minute apart.
        long_card = work / "long" / card.name
        shutil.copytree(card, long_card)
        first = datetime.now(UTC) - timedelta(minutes=args.generations)
        for number in range(args.generations):
            mhl.write_generation(
                long_card, files=records, creator=CREATOR, now=first + timedelta(minutes=number)
            )
        long_cold = best_of(
            args.repeat, fresh_copy(long_card, work / "ours" / card.name), time_reelvault(records, warm=False)
        )
        long_warm = best_of(
            args.repeat, fresh_copy(long_card, work / "ours" / card.name), time_reelvault(records, warm=True)
        )
        long_theirs = (
            best_of(args.repeat, fresh_copy(long_card, work / "theirs" / card.name), time_ascmhl)
            if have_tool
            else None
        )
        startup = ascmhl_startup(args.repeat) if have_tool else None
        whole = whole_process_verify(fresh_copy(card, work / "whole" / card.name)(), args.pairs, work)

    def speedup(ours: dict[str, float], theirs: dict[str, float] | None) -> float | None:
        return round(theirs["total_s"] / ours["total_s"], 1) if theirs else None

    rows = [
        (f"card: {args.files} files, first generation", card_ours, card_theirs),
        (f"long: {args.generations} generations, +1 (cold)", long_cold, long_theirs),
        (f"long: {args.generations} generations, +1 (warm)", long_warm, long_theirs),
    ]
    print(f"{'scenario':<42} {'write':>8} {'verify':>8} {'total':>8} {'ascmhl':>8} {'speedup':>8}")
    for label, ours, theirs in rows:
        reference = f"{theirs['total_s']:8.3f}" if theirs else f"{'n/a':>8}"
        ratio = speedup(ours, theirs)
        print(
            f"{label:<42} {ours['write_s']:8.3f} {ours['verify_s']:8.3f} {ours['total_s']:8.3f} {reference} "
            + (f"{ratio:7.1f}x" if ratio else f"{'n/a':>8}")
        )
    print(
        "seconds, best of", args.repeat, "| ascmhl start-up alone:", f"{startup:.3f} s" if startup else "n/a"
    )
    if whole is not None:
        verify, startup_rounds = whole["verify"], whole["startup"]
        t = verify["ascmhl_debug_s"]
        print(
            f"whole process, verify {args.files} files, {args.pairs} rounds (order rotated), "
            "medians (min-max), "
            f"load {verify['load']['median']:.1f}: ascmhl-debug verify {t['median']:.3f} s "
            f"({t['min']:.3f}-{t['max']:.3f})"
        )
        for side, label in (("warm", "with the command server"), ("cold", "starting Django itself")):
            r, x = verify[f"{side}_s"], verify[f"speedup_{side}"]
            print(
                f"    manage.py mhl_verify, {label}: {r['median']:.3f} s ({r['min']:.3f}-{r['max']:.3f}), "
                f"{x['median']:.2f}x ascmhl-debug ({x['min']:.2f}-{x['max']:.2f})"
            )
        for index, row in enumerate(verify["rounds"]):
            print(
                f"    round {index + 1}: warm {row['warm']:.3f} s, cold {row['cold']:.3f} s, "
                f"ascmhl-debug {row['ascmhl_debug']:.3f} s = {row['speedup_warm']:.2f}x / "
                f"{row['speedup_cold']:.2f}x (load {row['warm_load']:.1f})"
            )
        w, c, x = startup_rounds["warm_s"], startup_rounds["cold_s"], startup_rounds["speedup_warm"]
        print(
            f"start-up (manage.py version, whole process): with the command server {w['median']:.3f} s "
            f"({w['min']:.3f}-{w['max']:.3f}), starting Django itself {c['median']:.3f} s "
            f"({c['min']:.3f}-{c['max']:.3f}); {x['median']:.1f}x ({x['min']:.1f}-{x['max']:.1f})"
        )
    else:
        print("(no whole-process figures: set DATABASE_URL and REDIS_URL so that manage.py can start)")
    if not have_tool:
        print(f"(no reference figures: {ASCMHL} is missing; run `make test` once to install it)")

    figures: dict[str, object] = {
        "files": args.files,
        "generations": args.generations,
        "repeat": args.repeat,
        "ascmhl_startup_s": round(startup, 4) if startup else None,
        "whole_process_verify": whole,
    }
    for name, (_, ours, theirs) in zip(("card", "long_cold", "long_warm"), rows, strict=True):
        figures[name] = {
            **{key: round(value, 4) for key, value in ours.items()},
            "ascmhl_create_s": round(theirs["total_s"], 4) if theirs else None,
            "speedup": speedup(ours, theirs),
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

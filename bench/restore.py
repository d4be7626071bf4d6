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

    python bench/restore.py --scene [--mb 512] [--files 8] [--pairs 5]

The restore as a person meets it, through the catalog (needs DATABASE_URL and
REDIS_URL, and root for the cache drops): a card is offloaded with
``manage.py offload`` and its clips put in scene 12; then, in alternating
pairs, Reelvault's whole path from request to verified (an editor's
``restore_request_create`` for the scene, an admin's approval, the runner
``restore_request_run``: copy, fsync, read back from the device, ASC MHL)
against ``cp -r`` of the same clips from the volume, ``sync``, dropping the
page cache and ``xxhsum -c``. The page cache is dropped before each side;
one restore runs first, uncounted (the web process and the worker that serve a
real request are long-lived). Medians of the pairs with spread and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


def drop_all_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def scene_bench(args: argparse.Namespace) -> None:
    """Request-to-verified restore of a scene against cp + sync + cache drop + xxhsum -c."""
    work = Path(tempfile.mkdtemp(prefix="rv-bench-restore-", dir=args.dir or "/var/tmp"))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "reelvault.settings",
            "REELVAULT_VOLUME_ROOTS": str(work),
            "REELVAULT_RESTORE_ROOTS": str(work / "restore"),
        }
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from catalog.models import Clip, Project
    from catalog.permissions import RoleName
    from catalog.services import membership_set, project_create
    from restore.models import RestoreRequest
    from restore.services import requests as restore_requests
    from restore.services import runner

    try:
        code = f"RB{os.getpid() % 100000}"
        project = project_create(actor=None, code=code, name="Restore benchmark", required_copies=1)
        users = get_user_model().objects
        editor = users.create_user(username=f"{code.lower()}-editor", password=None)
        admin = users.create_user(username=f"{code.lower()}-admin", password=None)
        membership_set(actor=None, project=project, user=editor, role=RoleName.EDITOR)
        membership_set(actor=None, project=project, user=admin, role=RoleName.ADMIN)
        card = work / "card" / "A012R1AB"
        hashes = make_source(card, args.mb, args.files)
        raid = work / "raid"
        command = [sys.executable, str(PROJECT_ROOT / "manage.py"), "offload", "--project", code]
        result = subprocess.run(
            [*command, "--source", str(card), "--dest", str(raid), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"offload of the bench card failed:\n{result.stdout}{result.stderr}")
        Clip.objects.filter(project=project).update(scene="12")
        (work / "restore").mkdir()
        restore_requests.restore_target_create(
            actor=admin, project=project, name="bench", path=str(work / "restore")
        )
        copies = raid / card.name
        sums = work / "scene.xxh128"
        sums.write_text("".join(f"{digest}  {relative}\n" for relative, digest in hashes.items()))

        def reelvault() -> float:
            start = time.perf_counter()
            request = restore_requests.restore_request_create(
                actor=editor,
                project=Project.objects.get(pk=project.pk),
                selection=restore_requests.Selection(scene="12"),
                target="bench",
                reason="benchmark",
            )
            restore_requests.restore_request_approve(actor=admin, restore=request)
            done = runner.restore_request_run(request_id=request.pk)
            seconds = time.perf_counter() - start
            if done is None or done.state != RestoreRequest.State.VERIFIED:
                raise SystemExit(f"the restore did not verify: {done and done.state} {done and done.error}")
            shutil.rmtree(Path(done.target.path) / done.folder)
            return seconds

        def baseline() -> float:
            target = work / "restore" / "cp"
            start = time.perf_counter()
            subprocess.run(["cp", "-r", str(copies), str(target)], check=True)
            subprocess.run(["sync"], check=True)
            drop_all_caches()
            subprocess.run(["xxhsum", "-H2", "-q", "-c", str(sums)], cwd=target.parent / "cp", check=True)
            seconds = time.perf_counter() - start
            shutil.rmtree(target)
            return seconds

        # One restore first, not counted: a real request is served by a web process and a
        # worker that are long-lived, with Celery, the broker connection and the runner loaded.
        reelvault()
        rows = []
        for pair in range(args.pairs):
            row: dict[str, float] = {}
            order = [("reelvault", reelvault), ("cp", baseline)]
            for name, side in order if pair % 2 == 0 else order[::-1]:
                drop_all_caches()
                row[f"{name}_load"] = os.getloadavg()[0]
                row[name] = side()
            row["ratio"] = row["cp"] / row["reelvault"]
            rows.append(row)
            print(
                f"  pair {pair + 1}: reelvault {row['reelvault']:.2f} s, cp+sync+xxhsum {row['cp']:.2f} s, "
                f"{row['ratio']:.2f}x (load {row['reelvault_load']:.1f}/{row['cp_load']:.1f})",
                file=sys.stderr,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def spread(key: str) -> dict[str, float]:
        values = [row[key] for row in rows]
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    figures = {key: spread(key) for key in ("reelvault", "cp", "ratio")}
    load = statistics.median(row[k] for row in rows for k in ("reelvault_load", "cp_load"))
    print(
        f"restore of scene 12 ({args.mb} MB in {args.files} clips), request to verified, page cache dropped "
        f"before each side; medians of {args.pairs} alternating pairs (min-max), load {load:.1f}"
    )
    for label, key in (
        ("reelvault request -> approve -> run -> verified", "reelvault"),
        ("cp + sync + drop + xxhsum -c", "cp"),
    ):
        f = figures[key]
        print(f"  {label:<50} {f['median']:7.2f} s ({f['min']:.2f}-{f['max']:.2f})")
    r = figures["ratio"]
    print(f"  cp time / reelvault time: {r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})")
    print(
        json.dumps(
            {
                "bench": "restore-scene",
                "mb": args.mb,
                "files": args.files,
                "load": load,
                **figures,
                "pairs": rows,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--scene", action="store_true", help="the whole request-to-verified path (see above)")
    parser.add_argument("--pairs", type=int, default=5, help="--scene: alternating pairs")
    parser.add_argument(
        "--dir", default=None, help="Where to put the data (default: the system temp folder)."
    )
    args = parser.parse_args()
    if shutil.which("xxhsum") is None:
        sys.exit("xxhsum not found: apt-get install xxhash")
    if args.scene:
        scene_bench(args)
        return
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

"""Benchmark: editors searching through gunicorn while offloads run, on 127.0.0.1.

    python bench/load.py [--editors 20] [--seconds 60] [--database-url URL] [--redis-url URL]
                         [--card-mb 64] [--keep]

1. Creates (drops and re-creates) its own database, by default
   ``postgresql://postgres@127.0.0.1:5432/reelvault_load`` (``--database-url`` or
   ``BENCH_DATABASE_URL``), migrates it and seeds the demo (``seed_demo``: 300
   clips over 3 days, the demo users). It never touches DATABASE_URL's database.
   The broker is ``--redis-url`` (default ``REDIS_URL``); its queues for the bench
   host are purged before and after.
2. Starts the production shape's processes on 127.0.0.1: gunicorn
   (``--workers 4 --threads 4``, as docker-compose.yml) on a free port and one
   Celery worker (concurrency 2) for the host ``bench-load``.
3. Writes a camera card of ``--card-mb`` MB and registers two RAID volumes,
   then keeps two offloads running for the whole window: the demo DIT starts
   them through the API, and each one that finishes is replaced by a new one
   (its copies are removed to keep the disk use bounded).
4. ``--editors`` threads, each with its own API token (the demo editor), send
   searches to ``/api/clips/`` back to back (a mix of free text, scene and
   take, camera, circled takes, copy counts) for ``--seconds``.

Prints throughput, p50/p95/p99 latency (milliseconds, client side: network
and queueing included), errors (any answer but 200, or no answer), the
offloads finished during the window, then one JSON line. Never asserts anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/reelvault_load"
HOST = "bench-load"
PASSWORD = "bench-load-password"  # noqa: S105  # the throw-away demo users of its own database
SEARCHES = [
    "q=A001",
    "q=rooftop",
    "scene=12",
    "scene=12&take=2",
    "camera=A",
    "camera=B&reel=B001",
    "circled=true",
    "copies_lt=2",
    "day=1&ordering=timecode",
    "q=C003",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database(url: str, *, drop_only: bool = False) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, check=True)


def _request(base: str, path: str, *, token: str, data: dict[str, Any] | None = None) -> tuple[int, Any]:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(  # noqa: S310  # 127.0.0.1 only
        base + path,
        data=body,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST" if data is not None else "GET",
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:300]


def _token(base: str, username: str) -> str:
    req = urllib.request.Request(  # noqa: S310
        base + "/api/auth/token/",
        data=json.dumps({"username": username, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as answer:  # noqa: S310
        return str(json.loads(answer.read())["token"])


def _wait_http(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/login/", timeout=2).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


class Offloads(threading.Thread):
    """Keep two offloads running until stopped; count those that finished."""

    def __init__(self, base: str, token: str, card: Path, raids: list[Path]) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.card, self.raids = base, token, card, raids
        self.stop = threading.Event()
        self.finished: list[str] = []
        self.errors: list[str] = []
        self.running: dict[int, str] = {}
        self.n = 0

    def _start(self) -> None:
        self.n += 1
        label = f"L{self.n:03d}"
        status, body = _request(
            self.base,
            "/api/offloads/",
            token=self.token,
            data={"project": "DEMO", "source": str(self.card), "destinations": ["LOAD-RAID-1", "LOAD-RAID-2"],
                  "label": label},
        )  # fmt: skip
        if status == 201:
            self.running[int(body["id"])] = label
        else:
            self.errors.append(f"start {label}: {status} {body!r}")
            time.sleep(1)

    def run(self) -> None:
        while not self.stop.is_set():
            while len(self.running) < 2 and not self.stop.is_set():
                self._start()
            for job_id, label in list(self.running.items()):
                status, body = _request(self.base, f"/api/offloads/{job_id}/", token=self.token)
                if status == 200 and body["state"] not in ("queued", "running"):
                    del self.running[job_id]
                    self.finished.append(f"{label}:{body['state']}")
                    for raid in self.raids:
                        shutil.rmtree(raid / label, ignore_errors=True)
            self.stop.wait(0.5)


def _editor(
    base: str, token: str, until: float, latencies: list[float], errors: list[str], seed: int
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        query = rng.choice(SEARCHES)
        start = time.perf_counter()
        try:
            status, _ = _request(base, f"/api/clips/?project=DEMO&{query}", token=token)
        except OSError as exc:
            status = 0
            errors.append(f"{query}: {exc}")
        elapsed = (time.perf_counter() - start) * 1000
        if status == 200:
            latencies.append(elapsed)
        elif status:
            errors.append(f"{query}: HTTP {status}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--editors", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--card-mb", type=int, default=64)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="reelvault-load-"))
    cards, raids = work / "cards", [work / "raid1", work / "raid2"]
    card = cards / "A001"
    card.mkdir(parents=True)
    for raid in raids:
        raid.mkdir()
    files = 4
    for i in range(files):
        (card / f"A001C00{i + 1}_261102_R1AB.mov").write_bytes(
            os.urandom(args.card_mb * 1024 * 1024 // files)
        )
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "DJANGO_SETTINGS_MODULE": "reelvault.settings",
        "REELVAULT_HOSTNAME": HOST,
        "REELVAULT_INGEST_ROOTS": str(cards),
        "REELVAULT_DEMO_PASSWORD": PASSWORD,
        "REELVAULT_VAR_DIR": str(work / "var"),
        "REELVAULT_AUDIT_ANCHOR_PATH": str(work / "anchors.jsonl"),
    }
    _database(args.database_url)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo")
    for n, raid in enumerate(raids, start=1):
        _manage(
            env, "shell", "-c",
            "from catalog.models import Project, Volume; "
            f"Volume.objects.create(project=Project.objects.get(code='DEMO'), label='LOAD-RAID-{n}', "
            f"kind=Volume.Kind.RAID, location={str(raid)!r}, host={HOST!r})",
        )  # fmt: skip
    purge = [sys.executable, "-m", "celery", "-A", "reelvault", "purge", "-f", "-Q", f"host.{HOST},default"]
    subprocess.run(purge, cwd=PROJECT_ROOT, env=env, check=False, capture_output=True)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    logs = work / "logs"
    logs.mkdir()
    processes = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "reelvault.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "4", "--threads", "4"],
            cwd=PROJECT_ROOT, env=env, stdout=(logs / "web.log").open("wb"), stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "reelvault", "worker", "--queues", f"host.{HOST},default",
             "--hostname", f"load@{HOST}", "--concurrency", "2", "--without-mingle", "--without-gossip"],
            cwd=PROJECT_ROOT, env=env, stdout=(logs / "worker.log").open("wb"), stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    try:
        _wait_http(base, time.monotonic() + 60)
        dit = _token(base, "dit")
        editor_tokens = [_token(base, "editor") for _ in range(args.editors)]
        offloads = Offloads(base, dit, card, raids)
        offloads.start()
        while not offloads.running and not offloads.errors:
            time.sleep(0.2)
        latencies: list[float] = []
        errors: list[str] = []
        started = time.monotonic()
        until = started + args.seconds
        threads = [
            threading.Thread(target=_editor, args=(base, token, until, latencies, errors, n))
            for n, token in enumerate(editor_tokens)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        offloads.stop.set()
        offloads.join(timeout=120)
        load = os.getloadavg()[0]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(purge, cwd=PROJECT_ROOT, env=env, check=False, capture_output=True)
        if not args.keep:
            _database(args.database_url, drop_only=True)
        shutil.rmtree(work, ignore_errors=True)

    figures = {
        "editors": args.editors,
        "seconds": round(elapsed, 1),
        "requests": len(latencies) + len(errors),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "errors": len(errors),
        "offloads_finished": len(offloads.finished),
        "offload_states": sorted({s.split(":")[1] for s in offloads.finished}),
        "offload_errors": offloads.errors[:5],
        "card_mb": args.card_mb,
        "load_average_1min": round(load, 2),
    }
    print(
        f"{args.editors} editors searching for {figures['seconds']} s while two offloads ran (gunicorn 4x4):"
    )
    print(f"  requests {figures['requests']}, throughput {figures['throughput_rps']} searches/s")
    print(f"  latency p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms")
    print(f"  errors {figures['errors']}{': ' + '; '.join(errors[:5]) if errors else ''}")
    print(f"  offloads finished during the window: {figures['offloads_finished']} ({args.card_mb} MB cards)")
    print(f"  load average (1 min) at the end: {figures['load_average_1min']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

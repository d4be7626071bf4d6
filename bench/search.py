"""Benchmark: clip search through the real server at N clips (default a million).

    python bench/search.py [--clips 1000000] [--database-url URL] [--runs 20] [--rounds 3]
                           [--workers 2] [--keep] [--url http://127.0.0.1:8000 --token KEY]
                           [--port 8765] [--in-process] [--only TEXT]

1. Creates (drops and re-creates) its own database, by default
   ``postgresql://postgres@127.0.0.1:5432/reelvault_bench`` (``--database-url`` or
   ``BENCH_DATABASE_URL``), migrates it and seeds the demo project, users and
   volumes (``seed_demo --clips 0``). It never touches DATABASE_URL's database.
   ``--keep`` reuses a loaded database (it still migrates it).
2. Loads N clips into the demo project with ``COPY`` (``--workers`` parallel
   streams), with the metadata of 100 productions: 50 shoot days of 200 clips
   each, 150 scenes, 30 cast members and 25 locations per production; cameras
   A-D, rolls numbered on through the catalog, takes, circled takes, lenses,
   codecs, notes. Every clip gets one media file with two or three copies; the
   last ten shoot days are still being backed up and a few copies are corrupt,
   so about 0.7% of clips are short of verified copies. The clip load (into the
   fully indexed table) gives the load rate. Files and copies are loaded with the
   copy-count triggers off (``session_replication_role = replica``, as pg_restore
   does) because each clip row already carries its count; a sample is then checked
   against a recount, and the triggers' own cost is measured on a batch of new
   copies recorded through catalog.copies, the one writer ingest uses.
3. ``VACUUM (ANALYZE)``, as autovacuum would after a load.
4. Times the searches of ``typical_searches`` (ten narrow ones, then issue 17's:
   broad free-text prefixes, every sort order of a broad search, everything,
   page 50, partial actor and location names, and the search page's HTML with its
   facets) through a real server over HTTP on 127.0.0.1: gunicorn started here as
   ``make run`` starts it (2 workers x 4 threads, port ``--port``), or the server
   at ``--url``, which must use the benchmark's database. The API is called with
   the demo editor's token (``--token`` or one made here), the page with a session
   made here. ``--in-process`` also times them with Django's test client. One
   warm-up each, then ``--rounds`` rounds of ``--runs`` runs of each, interleaved,
   in alternating order. Each search reports the p50 of all runs and, as its p95,
   the median of its rounds' p95s with their spread (lowest-highest), not its best
   round: the machine is shared, and the load average is printed with the figures.
5. Runs ``EXPLAIN (ANALYZE)`` on every SQL statement each search sent that reads
   ``catalog_clip`` (under the same planner settings) and reports any sequential
   scan of it, any JIT, and the statements' execution time ("SQL ms").

Prints a table, then one JSON line of the figures. Never asserts anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))  # run as a script, not as part of a package

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/reelvault_bench"
CLIPS_PER_DAY = 200
DAYS_PER_PRODUCTION = 50
PRODUCTIONS = 100
SCENES_PER_PRODUCTION = 150
CAST_PER_PRODUCTION = 30
LOCATIONS_PER_PRODUCTION = 25
BACKING_UP_DAYS = 10
FIRST_DAY = date(2010, 1, 4)
TARGET_P95_MS = 50.0
TARGET_PAGE_P95_MS = 150.0
TARGET_LOAD_RATE = 5_000.0

FIRST_NAMES = (
    "Ava Ben Chloe Dev Elena Finn Grace Hugo Iris Jonah Kira Liam Maya Noah Olive Pablo Quinn Rosa "
    "Sami Tessa Umar Vera Wes Xena Yusuf Zoe Amara Bruno Cleo Dario Esme Felix Gia Hector Ines Jules "
    "Kofi Lena Milo Nadia Oscar Priya Rafe Sofia Theo Una Viktor Willa Yara Zane Anouk Basil Celine "
    "Dmitri Edie Farah Gus Hana Ivo Juno"
).split()
SURNAMES = (
    "Stone Okafor Martin Patel Rossi Walsh Lee Moreau Tanaka Novak Silva Brennan Kowalski Haddad "
    "Lindqvist Mensah Ortega Fischer Quinn Romano Sato Varga Whitlock Yilmaz Zhou Abara Bianchi "
    "Castillo Dubois Eriksen Ferreira Gallagher Horvat Ibrahim Jansen Kaur Lombardi Mwangi Nakamura "
    "Oyelaran Petrov Rahman Schneider Takahashi Ueda Vasquez Wagner Xu Young Zielinski Achebe "
    "Bergstrom Chen Delacroix Eze Fontaine Grieve Hale Ito Jovanovic"
).split()
PLACES = (
    "Harbour Rooftop Diner Warehouse Forest Station Chapel Motel Quarry Lighthouse Market Library "
    "Garage Bridge Farmhouse Tunnel Courthouse Casino Greenhouse Pier Stadium Museum Bakery "
    "Laundromat Observatory Cannery Ballroom Boathouse Brewery Cemetery Cinema Dockyard Embassy "
    "Factory Gallery Gym Hangar Hospital Hotel Mill Mine Monastery Office Orchard Palace Prison Ranch "
    "Refinery School Subway"
).split()
PLACE_KINDS = (
    "North South East West Upper Lower Old New Night Day Interior Exterior Main Back Front Side Inner "
    "Outer High Low Little Grand Hidden Lost Burnt Frozen Quiet Red Blue Green Golden Silver Iron "
    "Stone Glass River Lake Hill Valley Coast Bay Park Square Street Avenue Lane Road Yard Court"
).split()
LENSES = [
    f"{series} {mm}mm"
    for series in ("Signature Prime", "Ultra Prime", "Master Prime")
    for mm in (18, 25, 35, 50, 75, 100)
]
LENSES += ["Optimo 24-290", "Optimo 15-40", "Alura 45-250", "Cooke S4 32mm", "Cooke S4 65mm"]
NOTES = (
    "Boom in frame at end",
    "Soft focus on the push-in",
    "False start",
    "Best performance, use this one",
    "Plane overhead, wild line needed",
    "Rain tower visible camera left",
    "Night exterior, wet down",
    "Pickup from the top of the line",
)
CODECS = {"A": ("ARRIRAW", "4608x3164"), "B": ("ARRIRAW", "4608x3164"), "C": ("ProRes 4444 XQ", "4448x3096")}
CODECS["D"] = ("X-OCN ST", "6054x4054")

CLIP_COLUMNS = (
    "id name camera reel scene take circled cast location lens start_tc fps duration_frames codec resolution "
    "notes extra created_at modified_at project_id day_id card_id min_verified_copies"
).split()
CLIP_COPY_SQL = f"COPY catalog_clip ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in CLIP_COLUMNS)}) FROM STDIN"


def actor(index: int) -> str:
    return f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {SURNAMES[index // len(FIRST_NAMES) % len(SURNAMES)]}"


def location(index: int) -> str:
    return f"{PLACE_KINDS[index // len(PLACES) % len(PLACE_KINDS)]} {PLACES[index % len(PLACES)]}"


@dataclass(frozen=True)
class Plan:
    clips: int
    project_id: int
    day_ids: dict[int, int]  # day index -> ShootDay id
    volume_ids: dict[str, int]
    now: datetime

    @property
    def days(self) -> int:
        return math.ceil(self.clips / CLIPS_PER_DAY)


def day_clips(plan: Plan, day_index: int) -> Iterator[tuple[Any, ...]]:
    """The clip rows of one shoot day (deterministic: seeded by the day)."""
    rng = random.Random(day_index)
    production = day_index // DAYS_PER_PRODUCTION % PRODUCTIONS
    shot = FIRST_DAY + timedelta(days=day_index)
    stamp = shot.strftime("%y%m%d")
    scenes = [production * SCENES_PER_PRODUCTION + s + 1 for s in rng.sample(range(SCENES_PER_PRODUCTION), 3)]
    locations = [location(production * LOCATIONS_PER_PRODUCTION + j) for j in rng.sample(range(25), 2)]
    cast = [actor(production * CAST_PER_PRODUCTION + j) for j in range(CAST_PER_PRODUCTION)]
    fps = "25.000" if production % 5 == 0 else "23.976" if production % 3 == 0 else "24.000"
    created = datetime(shot.year, shot.month, shot.day, 20, 0, tzinfo=UTC) + timedelta(days=1)
    backing_up = day_index >= plan.days - BACKING_UP_DAYS
    numbers: dict[str, int] = {}
    first = day_index * CLIPS_PER_DAY
    for within in range(min(CLIPS_PER_DAY, plan.clips - first)):
        clip_id = first + within + 1
        camera = rng.choices("ABCD", weights=(50, 35, 10, 5))[0]
        numbers[camera] = numbers.get(camera, 0) + 1
        roll = day_index * 2 + (numbers[camera] - 1) // 100 + 1
        reel = f"{camera}{roll:03d}"
        name = f"{reel}C{numbers[camera]:03d}_{stamp}_R{(clip_id * 2654435761) % 65536:04X}"
        scene = str(scenes[within * len(scenes) // CLIPS_PER_DAY]) + rng.choice(("", "", "", "", "A", "B"))
        in_shot = [cast[0]] if rng.random() < 0.4 else []
        in_shot += [cast[1]] if rng.random() < 0.3 else []
        in_shot += [cast[2]] if rng.random() < 0.25 else []
        in_shot += rng.sample(cast[3:], rng.choice((0, 0, 1, 1, 2)))
        modified = created
        if rng.random() < 0.003:
            modified = plan.now - timedelta(seconds=rng.uniform(0, 7 * 86400))
        if backing_up or rng.random() < 0.005:
            copies = 1
        else:
            copies = 3 if clip_id % 3 == 0 else 2
        codec, resolution = CODECS[camera]
        yield (
            clip_id,
            name,
            camera,
            reel,
            scene,
            str(min(15, 1 + int(rng.expovariate(0.35)))),
            rng.random() < 0.25,
            in_shot,
            locations[(within // 40) % len(locations)],
            rng.choice(LENSES),
            f"{7 + within * 12 // CLIPS_PER_DAY:02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}:00",
            fps,
            rng.randint(240, 7200),
            codec,
            resolution,
            rng.choice(NOTES) if rng.random() < 0.1 else "",
            "{}",
            created,
            modified,
            plan.project_id,
            plan.day_ids[day_index],
            None,
            copies,
        )


def file_and_copy_rows(plan: Plan, day_index: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """One media file per clip and its copies, matching the clip's ``min_verified_copies``."""
    raid, shuttle, offsite = (plan.volume_ids[label] for label in ("RAID-01", "SHUTTLE-01", "SHUTTLE-02"))
    for row in day_clips(plan, day_index):
        clip_id, name, reel, copies, created = row[0], row[1], row[3], row[-1], row[17]
        digest = f"{clip_id * 0x9E3779B97F4A7C15 % (1 << 128):032x}"
        path = f"{reel}/{name}.mxf"
        file_row = (clip_id, clip_id, path, 2_000_000_000 + clip_id, digest, "", "", created)
        good = ("verified", digest, created)
        states = [(raid, *good)]
        if copies == 1:
            bad = "copying" if day_index >= plan.days - BACKING_UP_DAYS else "corrupt"
            states.append((shuttle, bad, "", None))
        else:
            states.append((shuttle, *good))
            if copies == 3:
                states.append((offsite, *good))
        copy_rows = [
            (clip_id * 3 + n, clip_id, volume, f"BENCH/{path}", state, found, at, "", created)
            for n, (volume, state, found, at) in enumerate(states)
        ]
        yield file_row, copy_rows


def _connect(settings_db: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        dbname=settings_db["NAME"],
        user=settings_db["USER"] or None,
        password=settings_db["PASSWORD"] or None,
        host=settings_db["HOST"] or None,
        port=settings_db["PORT"] or None,
        autocommit=False,
    )


def _parallel(workers: int, days: int, work: Any) -> None:
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            work(range(worker, days, workers))
        except BaseException as exc:  # reported after join
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def load(plan: Plan, workers: int) -> dict[str, float]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    figures: dict[str, float] = {}

    def load_clips(day_range: range) -> None:
        with _connect(db) as conn:
            for chunk_start in range(0, len(day_range), 100):
                with conn.cursor() as cur:
                    with cur.copy(CLIP_COPY_SQL) as copy:
                        for day_index in day_range[chunk_start : chunk_start + 100]:
                            for row in day_clips(plan, day_index):
                                copy.write_row(row)
                conn.commit()

    started = time.perf_counter()
    _parallel(workers, plan.days, load_clips)
    figures["clip_load_s"] = time.perf_counter() - started

    replica = {"ok": True}

    def load_files(day_range: range) -> None:
        with _connect(db) as conn:
            try:
                conn.execute("SET session_replication_role = replica")
            except Exception:  # not a superuser: load with the triggers on
                conn.rollback()
                replica["ok"] = False
            for chunk_start in range(0, len(day_range), 100):
                files: list[tuple[Any, ...]] = []
                copies: list[tuple[Any, ...]] = []
                for day_index in day_range[chunk_start : chunk_start + 100]:
                    for file_row, copy_rows in file_and_copy_rows(plan, day_index):
                        files.append(file_row)
                        copies.extend(copy_rows)
                with conn.cursor() as cur:
                    file_sql = (
                        "COPY catalog_mediafile (id, clip_id, relative_path, size, xxh128, md5, sha1, "
                        "created_at) FROM STDIN"
                    )
                    with cur.copy(file_sql) as copy:
                        for row in files:
                            copy.write_row(row)
                    copy_sql = (
                        "COPY catalog_copy (id, media_file_id, volume_id, path, state, hash_found, "
                        "verified_at, last_error, updated_at) FROM STDIN"
                    )
                    with cur.copy(copy_sql) as copy:
                        for row in copies:
                            copy.write_row(row)
                conn.commit()

    started = time.perf_counter()
    _parallel(workers, plan.days, load_files)
    figures["file_copy_load_s"] = time.perf_counter() - started
    figures["triggers_off_for_files"] = 1.0 if replica["ok"] else 0.0

    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("catalog_clip", "catalog_mediafile", "catalog_copy"):
            cursor.execute(  # fixed table names, no input
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
    return figures


def check_counts(sample: int) -> int:
    """Clips (of a random sample) whose maintained copy count differs from a recount."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM (
              SELECT c.min_verified_copies,
                coalesce((SELECT min(n) FROM (
                  SELECT count(DISTINCT cp.volume_id)
                         FILTER (WHERE cp.state = 'verified' AND v.kind <> 'card') AS n
                  FROM catalog_mediafile mf LEFT JOIN catalog_copy cp ON cp.media_file_id = mf.id
                  LEFT JOIN catalog_volume v ON v.id = cp.volume_id
                  WHERE mf.clip_id = c.id GROUP BY mf.id) AS per_file), 0) AS recount
              FROM catalog_clip c WHERE c.id IN (
                SELECT (1 + floor(random() * (SELECT max(id) FROM catalog_clip)))::bigint
                FROM generate_series(1, %s))
            ) AS s WHERE s.min_verified_copies <> s.recount
            """,
            [sample],
        )
        row = cursor.fetchone()
        return int(row[0]) if row else 0


def trigger_cost(plan: Plan, batches: int = 20, per_batch: int = 50) -> float:
    """Copies/s recorded through catalog.copies (the one writer ingest uses), copy-count triggers on."""
    from django.db import transaction

    from catalog.copies import CopyCheck, Found, copies_record
    from catalog.models import MediaFile, Volume

    volume = Volume.objects.get(pk=plan.volume_ids["SHUTTLE-02"])
    files = list(
        MediaFile.objects.filter(clip__min_verified_copies=2)
        .exclude(copies__volume_id=volume.pk)
        .order_by("id")[: batches * per_batch]
    )
    started = time.perf_counter()
    for start in range(0, len(files), per_batch):
        checks = [
            CopyCheck(
                media_file=media_file,
                path=f"BENCH/{media_file.relative_path}",
                found=Found.PROVEN,
                hash_found=media_file.xxh128,
            )
            for media_file in files[start : start + per_batch]
        ]
        with transaction.atomic():
            copies_record(actor=None, volume=volume, checks=checks, source="The search benchmark")
    elapsed = time.perf_counter() - started
    return len(files) / elapsed if elapsed else 0.0


@dataclass(frozen=True)
class Search:
    name: str
    params: dict[str, str]
    path: str = "/api/clips/"  # "/search/" times the page's HTML with its facets

    @property
    def is_page(self) -> bool:
        return self.path == "/search/"


def typical_searches(plan: Plan) -> list[Search]:
    """The searches an editor runs, on values that exist in the loaded data.

    Ten narrow ones (a few to a few thousand matches), then the broad ones of
    issue 17: free-text prefixes matching 10^4-10^5 clips, every sort order of a
    broad search, everything, a deep page, partial actor and location names, and
    the search page's HTML with its facet counts.
    """
    from catalog.models import Clip

    probe = Clip.objects.select_related("day").get(pk=plan.clips // 2 + 123)
    with_cast = (
        Clip.objects.filter(pk__gte=plan.clips // 3).exclude(cast=[]).exclude(notes="").order_by("pk").first()
    )
    assert with_cast is not None
    since = (plan.now - timedelta(days=3)).date().isoformat()
    parts = re.match(r"([A-Z]\d+)(C\d{3})", probe.name)  # reel, clip number: A5001, C064
    assert parts is not None, probe.name
    day = str(probe.day.number if probe.day else 1)
    searches = [
        Search("scene + take", {"project": "DEMO", "scene": probe.scene, "take": probe.take}),
        Search("actor", {"cast": with_cast.cast[0]}),
        Search("location", {"location": probe.location}),
        Search("free text", {"q": f"{with_cast.cast[0].split()[-1]} {with_cast.location.split()[-1]}"}),
        Search("partial name", {"q": parts.group(1) + parts.group(2)[:2]}),
        Search("clip number + day", {"q": parts.group(2), "day": day}),
        Search(
            "circled takes of a day",
            {"project": "DEMO", "day": day, "circled": "true", "ordering": "timecode"},
        ),
        Search("fewer than 2 verified copies", {"project": "DEMO", "copies_lt": "2"}),
        Search("camera + roll", {"camera": probe.camera, "reel": probe.reel}),
        Search("modified since", {"modified_since": since, "ordering": "-modified"}),
        # Broad free text (issue 17).
        Search("broad prefix", {"q": "C01"}),
        Search("broad word, by day", {"q": "rain", "ordering": "day"}),
        Search("two words, by timecode", {"q": "wet down", "ordering": "timecode"}),
        Search("two words", {"q": "night exterior"}),
    ]
    # Every sort order, both directions, of a broad search (q=C01 is "name").
    for ordering in ("-name", "timecode", "-timecode", "day", "-day", "modified", "-modified"):
        searches.append(Search(f"broad prefix, {ordering}", {"q": "C01", "ordering": ordering}))
    searches += [
        Search("everything", {}),
        Search("everything, -day", {"ordering": "-day"}),
        Search("broad prefix, page 50", {"q": "C01", "page": "50"}),
        Search("everything, timecode, page 50", {"ordering": "timecode", "page": "50"}),
        # Partial names in the actor and location filters.
        Search("actor, full name", {"cast": "ava stone"}),
        Search("actor, first name", {"cast": "Ava"}),
        Search("location, partial", {"location": "harb"}),
        # The search page: HTML, facet counts, project list, saved searches.
        Search("page: broad prefix", {"q": "C01"}, "/search/"),
        Search("page: everything", {}, "/search/"),
        Search("page: actor, first name", {"cast": "Ava"}, "/search/"),
        Search("page: actor", {"cast": with_cast.cast[0]}, "/search/"),
    ]
    return searches


def explain(sql: str) -> tuple[list[str], bool, float]:
    """Sequential scans of catalog_clip in the plan, whether JIT compiled anything, execution ms."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    document = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
    seq: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == "catalog_clip":
            seq.append(f"Seq Scan on catalog_clip ({node.get('Actual Rows')} rows)")
        for child in node.get("Plans", []):
            walk(child)

    walk(document["Plan"])
    return seq, bool(document.get("JIT", {}).get("Functions")), float(document.get("Execution Time", 0.0))


def percentile(sorted_times: list[float], fraction: float) -> float:
    return sorted_times[max(0, math.ceil(fraction * len(sorted_times)) - 1)]


class InProcess:
    """Django's test client in this process: server time without the network."""

    label = "in process"

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        self.client = Client()
        self.client.force_login(get_user_model().objects.get(username="editor"))

    def get(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        response = self.client.get(path, params)
        return response.status_code, response.content

    def close(self) -> None:
        pass


class OverHttp:
    """A keep-alive HTTP connection to a running server, as the demo editor.

    The API gets ``Authorization: Token …``; the search page (a Django view, no
    token authentication) gets a session cookie made here in the same database.
    """

    label = "over HTTP"

    def __init__(self, url: str, token: str, session: str) -> None:
        import http.client

        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=60
        )
        self.api_headers = {"Authorization": f"Token {token}"}
        self.page_headers = {"Cookie": f"sessionid={session}"}

    def get(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        from urllib.parse import urlencode

        target = f"{path}?{urlencode(params)}" if params else path
        headers = self.page_headers if path.startswith("/search/") else self.api_headers
        self.connection.request("GET", target, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def editor_credentials() -> tuple[str, str]:
    """The demo editor's API token and a fresh logged-in session key (both in the bench database)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    editor = get_user_model().objects.get(username="editor")
    token, _ = Token.objects.get_or_create(user=editor)
    session = SessionStore()
    session[SESSION_KEY] = str(editor.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = editor.get_session_auth_hash()
    session.create()
    return token.key, str(session.session_key)


def start_gunicorn(database_url: str, port: int, log: Path) -> Any:
    """gunicorn as ``make run`` starts it (Procfile: 2 workers x 4 threads), on 127.0.0.1:port."""
    import subprocess
    import urllib.error
    import urllib.request

    env = {**os.environ, "DATABASE_URL": database_url}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(  # our own venv's gunicorn, fixed arguments
        [
            str(gunicorn),
            "reelvault.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            str(log),
            "--graceful-timeout",
            "10",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited ({process.returncode}); see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/", timeout=2)  # local server
            return process
        except urllib.error.HTTPError:
            return process  # it answers (401/403 without credentials)
        except OSError:
            time.sleep(0.3)
    process.terminate()
    sys.exit(f"gunicorn did not answer on port {port} within 60 s; see {log}")


def summarize(rounds: list[list[float]]) -> dict[str, float]:
    """p50 of all runs; p95 as the median of the rounds' p95s, with their spread (lowest, highest)."""
    pooled = sorted(t for round_times in rounds for t in round_times)
    p95s = sorted(percentile(sorted(round_times), 0.95) for round_times in rounds)
    return {
        "p50_ms": round(statistics.median(pooled), 1),
        "p95_ms": round(statistics.median(p95s), 1),
        "p95_low_ms": round(p95s[0], 1),
        "p95_high_ms": round(p95s[-1], 1),
        "p95_all_runs_ms": round(percentile(pooled, 0.95), 1),
    }


def measure(searches: list[Search], client: Any, runs: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Time every search ``runs`` times per round for ``rounds`` rounds, the searches interleaved.

    Other work on a shared machine comes in bursts: interleaving spreads a burst
    over all the searches, and the searches run in alternating order (forwards,
    then backwards) so none always follows the same neighbour. Each search
    reports the median of its rounds' p95s and their spread, not its best round.
    """
    for search in searches:
        status, body = client.get(search.path, search.params)  # warm-up
        if status == 429:
            sys.exit(
                f"bench/search.py: {search.name}: 429 Too Many Requests. The server throttles the "
                "benchmark: raise its throttle rate in the environment of this command (the gunicorn "
                "started here inherits it) or of the server at --url."
            )
        assert status == 200, (search.name, status, body[:300])
    times: dict[str, list[list[float]]] = {search.name: [] for search in searches}
    for round_number in range(rounds):
        order = searches if round_number % 2 == 0 else searches[::-1]
        for search in searches:
            times[search.name].append([])
        for _ in range(runs):
            for search in order:
                started = time.perf_counter()
                client.get(search.path, search.params)
                times[search.name][-1].append((time.perf_counter() - started) * 1000)
    return {search.name: summarize(times[search.name]) for search in searches}


def explain_searches(searches: list[Search]) -> dict[str, dict[str, Any]]:
    """Matches, queries and the EXPLAIN ANALYZE of every statement reading catalog_clip, per search."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username="editor"))
    results: dict[str, dict[str, Any]] = {}
    for search in searches:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(search.path, search.params)
        count: Any = None
        if not search.is_page:
            body = response.json()
            count = body["count"] if body.get("count_exact", True) else f"> {body['count']:,}"
        seq_scans: list[str] = []
        jit = False
        sql_ms = 0.0
        for query in captured.captured_queries:
            setting = re.match(r"SELECT set_config\('(\w+)', '(\w+)', true\)", query["sql"])
            if setting:  # a walk in sort order switches bitmap scans off for its statements: so do we
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, %s, false)", setting.groups())
            elif "catalog_clip" in query["sql"]:
                found, compiled, executed = explain(query["sql"])
                seq_scans += found
                jit = jit or compiled
                sql_ms += executed
        results[search.name] = {
            "params": search.params,
            "path": search.path,
            "count": count,
            "queries": len(captured.captured_queries),
            "clip_sql_ms": round(sql_ms, 2),
            "seq_scans": seq_scans,
            "jit": jit,
        }
    return results


def print_table(
    title: str, searches: list[Search], timed: dict[str, dict[str, Any]], plans: dict[str, Any]
) -> None:
    print(f"\n{title}")
    print(f"{'search':<34} {'matches':>10} {'q':>3} {'p50':>7} {'p95':>7} {'spread':>13} {'SQL ms':>7}  plan")
    for search in searches:
        t, p = timed[search.name], plans[search.name]
        count = p["count"]
        matches = "page" if count is None else f"{count:,}" if isinstance(count, int) else str(count)
        note = "; ".join(p["seq_scans"]) or "no seq scan of catalog_clip"
        if p["jit"]:
            note += " (JIT)"
        spread = f"{t['p95_low_ms']:.0f}-{t['p95_high_ms']:.0f}"
        print(
            f"{search.name:<34} {matches:>10} {p['queries']:>3} {t['p50_ms']:>7.1f} {t['p95_ms']:>7.1f} "
            f"{spread:>13} {p['clip_sql_ms']:>7.1f}  {note}"
        )


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--runs", type=int, default=20, help="timed runs per search per round (default 20)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds; p95 is the median of the rounds' (default 3)"
    )
    parser.add_argument(
        "--url",
        help="time this running server (e.g. http://127.0.0.1:8000) instead of starting gunicorn; "
        "it must use the benchmark's database",
    )
    parser.add_argument("--token", help="API token for --url (default: the demo editor's, made here)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port of the gunicorn started here (default 8765)"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="also time in process (Django's test client, no network)"
    )
    parser.add_argument("--only", help="time only searches whose name contains this text")
    parser.add_argument("--workers", type=int, default=2, help="parallel COPY streams (default 2)")
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database: skip drop and load")
    args = parser.parse_args()
    if args.database_url == os.environ.get("DATABASE_URL"):
        sys.exit("bench/search.py: --database-url is DATABASE_URL; use a separate database (it is dropped)")

    # The demo seeding writes volume identity files and cards under VAR_DIR: one
    # directory per benchmark database, so a fresh database never meets the drives
    # of another one (custody refuses a drive whose identity it does not know).
    database_name = urlsplit(args.database_url).path.lstrip("/")
    bench_var = Path(tempfile.gettempdir()) / f"reelvault-bench-{database_name}"
    if not args.keep:
        recreate_database(args.database_url)
        shutil.rmtree(bench_var, ignore_errors=True)  # this benchmark's own scratch directory
    os.environ.setdefault("REELVAULT_VAR_DIR", str(bench_var))
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("REELVAULT_DEMO_PASSWORD", secrets.token_urlsafe(16))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from catalog.models import Project, ShootDay

    call_command("migrate", verbosity=0)
    call_command("seed_demo", clips=0, days=0, verbosity=0)
    project = Project.objects.get(code="DEMO")
    now = datetime.now(UTC)
    figures: dict[str, Any] = {"clips": args.clips}
    if args.keep:
        day_ids = dict(project.days.values_list("number", "id"))
        plan = Plan(args.clips, project.pk, {n - 1: i for n, i in day_ids.items()}, {}, now)
    else:
        days = ShootDay.objects.bulk_create(
            ShootDay(project=project, number=d + 1, date=FIRST_DAY + timedelta(days=d))
            for d in range(math.ceil(args.clips / CLIPS_PER_DAY))
        )
        volumes = dict(project.volumes.values_list("label", "id"))
        plan = Plan(args.clips, project.pk, {d.number - 1: d.pk for d in days}, volumes, now)
        print(
            f"loading {args.clips:,} clips into {connection.settings_dict['NAME']} ({args.workers} streams)…"
        )
        figures.update(load(plan, args.workers))
        figures["load_clips_per_s"] = round(args.clips / figures["clip_load_s"], 1)
        figures["load_files_copies_per_s"] = round(args.clips / figures["file_copy_load_s"], 1)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) catalog_clip, catalog_mediafile, catalog_copy, catalog_shootday")
        figures["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
        figures["count_mismatches_in_10000_sample"] = check_counts(10_000)
        figures["orm_copy_writes_with_triggers_per_s"] = round(trigger_cost(plan), 1)
        print(
            f"loaded: {figures['load_clips_per_s']:,.0f} clips/s ({figures['clip_load_s']:.0f} s); "
            f"files+copies {figures['file_copy_load_s']:.0f} s; "
            f"VACUUM ANALYZE {figures['vacuum_analyze_s']} s"
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('catalog_clip'))")
        figures["clip_table_with_indexes"] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('catalog_clip'))")
        figures["clip_table_heap"] = cursor.fetchone()[0]
    searches = typical_searches(plan)
    if args.only:
        searches = [s for s in searches if args.only in s.name]
    plans = explain_searches(searches)
    figures["load_average_before_searches"] = [round(x, 2) for x in os.getloadavg()]
    clients: list[Any] = []
    server = None
    if args.in_process:
        clients.append(InProcess())
    token, session = editor_credentials()
    if args.url:
        clients.append(OverHttp(args.url, args.token or token, session))
    else:
        log = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-search-gunicorn.log"
        server = start_gunicorn(args.database_url, args.port, log)
        clients.append(OverHttp(f"http://127.0.0.1:{args.port}", args.token or token, session))
    try:
        for client in clients:
            timed = measure(searches, client, args.runs, args.rounds)
            label = "http" if isinstance(client, OverHttp) else "in_process"
            print_table(
                f"{client.label}: {args.rounds} rounds x {args.runs} runs (ms; p95 = median of the rounds', "
                "spread = lowest-highest round p95)",
                searches,
                timed,
                plans,
            )
            figures[label] = timed
            api = [timed[s.name]["p95_ms"] for s in searches if not s.is_page]
            pages = [timed[s.name]["p95_ms"] for s in searches if s.is_page]
            figures[f"{label}_worst_search_p95_ms"] = max(api, default=0.0)
            figures[f"{label}_worst_page_p95_ms"] = max(pages, default=0.0)
            client.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    figures["load_average_after_searches"] = [round(x, 2) for x in os.getloadavg()]
    figures["plans"] = plans
    figures["seq_scans"] = sum(len(p["seq_scans"]) for p in plans.values())
    main_label = "http" if "http" in figures else "in_process"
    figures["targets_met"] = bool(
        figures[f"{main_label}_worst_search_p95_ms"] <= TARGET_P95_MS
        and figures[f"{main_label}_worst_page_p95_ms"] <= TARGET_PAGE_P95_MS
        and (args.keep or figures["load_clips_per_s"] >= TARGET_LOAD_RATE)
    )
    print(
        f"\nworst search p95 {figures[f'{main_label}_worst_search_p95_ms']} ms (target {TARGET_P95_MS:.0f}), "
        f"worst page p95 {figures[f'{main_label}_worst_page_p95_ms']} ms (target {TARGET_PAGE_P95_MS:.0f}); "
        f"load average {figures['load_average_before_searches']} -> {figures['load_average_after_searches']}"
    )
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()

"""No job strands: a broker down at enqueue, a lost message, a host without a worker, a database down.

Real Redis, real PostgreSQL, real worker processes; "down" is a real address
where nothing listens.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from alerts.models import Alert
from catalog.models import Volume
from ingest import services
from ingest.models import OffloadJob
from reelvault.celery import app
from tests.fixtures import WorkerProcess, World, child_env
from tests.ingest.conftest import write_card

pytestmark = pytest.mark.integration
NOTHING_LISTENS = "redis://127.0.0.1:9/0"  # port 9 (discard) is closed here


def _card_and_raid(world: World, tmp_path: Path, label: str) -> tuple[Path, Path]:
    cards = tmp_path / "cards"
    card = write_card(cards / label, {f"{label}C001_261102_R1AB.mov": os.urandom(50_000)})
    (tmp_path / "raid").mkdir(exist_ok=True)
    Volume.objects.get_or_create(
        project=world.project,
        label="RAID-Q",
        defaults={
            "kind": Volume.Kind.RAID,
            "location": str(tmp_path / "raid"),
            "host": settings.REELVAULT_HOSTNAME,
        },
    )
    return cards, card


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point Celery at an address where nothing listens (and drop its cached connections)."""
    monkeypatch.setattr(app.conf, "broker_url", NOTHING_LISTENS)
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield


def test_broker_down_at_enqueue_answers_503_and_a_retry_goes_through(
    transactional_db: None, world: World, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cards, card = _card_and_raid(world, tmp_path, "Q001")
    body = {"project": "FILM", "source": str(card), "destinations": ["RAID-Q"]}
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        request.getfixturevalue("broker_down")
        response = world.client("dit").post("/api/offloads/", body, format="json")
        assert response.status_code == 503, response.content
        assert "job queue (Redis) did not take the job" in response.json()["detail"]
        job = OffloadJob.objects.get(label="Q001")
        assert job.state == OffloadJob.State.FAILED and "did not take the job" in job.error
        # The page says the same, not a server error.
        page = world.client("dit").post(
            "/p/FILM/offloads/new/", {"source": str(card), "destinations": ["RAID-Q"]}
        )
        assert page.status_code in (200, 503)  # 200: the form refused it before enqueueing
    # The broker is back (the fixture is undone at the end of the test: restore it now).
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        retry = world.client("dit").post("/api/offloads/", body, format="json")
    assert retry.status_code == 201, retry.content
    _purge(f"host.{settings.REELVAULT_HOSTNAME}")


def _purge(queue: str) -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


def test_beat_sends_a_lost_queued_job_again_and_a_worker_runs_it(
    world: World, tmp_path: Path, celery_worker_proc: WorkerProcess, settings: Any
) -> None:
    _cards, card = _card_and_raid(world, tmp_path, "Q002")
    # Queued in the database, in no queue: as after a Redis restart that lost its data.
    job = services.offload_job_create(
        actor=world.users["dit"],
        project=world.project,
        source=card,
        destinations=[Volume.objects.get(label="RAID-Q")],
        within_ingest_roots=False,
        enqueue=False,
    )
    OffloadJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    settings.REELVAULT_JOB_STALE_SECONDS = 60
    call_command("waiting_jobs_check")
    deadline = time.monotonic() + 120
    while OffloadJob.objects.get(pk=job.pk).state not in OffloadJob.FINISHED:
        assert time.monotonic() < deadline, "the re-sent job did not run"
        time.sleep(0.2)
    ran = OffloadJob.objects.get(pk=job.pk)
    # Incomplete only because one RAID is short of the project's two-copy policy: the file was copied.
    assert ran.state in (OffloadJob.State.COMPLETED, OffloadJob.State.INCOMPLETE) and ran.files_done == 1


def test_a_job_waiting_for_a_host_without_a_worker_raises_an_alert_and_shows_on_healthz(
    world: World, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = OffloadJob.objects.create(
        project=world.project, card=world.volume, label="B007", source_path="/cards/B007", host="cart-b"
    )
    OffloadJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    settings.REELVAULT_QUEUE_ALERT_SECONDS = 600
    call_command("waiting_jobs_check")
    assert "host.cart-b: NO WORKER; 1 job(s) waiting" in capsys.readouterr().out
    alert = Alert.objects.get(key=f"queue.unserved:host.cart-b:project:{world.project.pk}")
    assert "no worker serves it" in alert.title and "Start the worker on cart-b" in alert.body
    assert alert.details["items"] == ["offload of card B007"]
    health = Client().get("/healthz")
    assert health.status_code == 503
    assert health.json()["host_queues"]["host.cart-b"]["served"] is False
    assert health.json()["host_queues"]["host.cart-b"]["waiting"] == 1
    page = world.client("producer").get("/p/FILM/dashboard/")
    assert (
        b"Job queues" in page.content
        and b"no worker" in page.content
        and b"offload of card B007" in page.content
    )
    # The job goes (cancelled here; started elsewhere alike): the alert resolves itself.
    services.offload_job_cancel(actor=world.users["dit"], job=job)
    call_command("waiting_jobs_check")
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_without_database(tmp_path: Path) -> Iterator[str]:
    """gunicorn serving Reelvault with a database address where nothing listens."""
    port = _free_port()
    env = child_env(
        DATABASE_URL="postgresql://postgres@127.0.0.1:9/reelvault", REELVAULT_VAR_DIR=str(tmp_path)
    )
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "reelvault.wsgi", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_with_the_database_down_pages_and_api_answer_503(server_without_database: str) -> None:
    import urllib.error
    import urllib.request

    def get(path: str, **headers: str) -> tuple[int, str]:
        req = urllib.request.Request(server_without_database + path, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    status, text = get("/p/FILM/", Cookie="sessionid=" + "a1" * 16)  # a well-formed key: it is looked up
    assert status == 503 and "The catalog database is not answering" in text and "<nav" not in text
    status, text = get("/api/clips/", Authorization="Token 0123456789abcdef")
    assert status == 503 and '"detail"' in text and "not answering" in text
    status, text = get("/healthz")
    assert status == 503 and "database unreachable" in text

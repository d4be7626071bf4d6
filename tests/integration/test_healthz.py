"""GET /healthz reports database, broker and worker, with a real worker process."""

from __future__ import annotations

import pytest
from django.test import Client

from reelvault.celery import app
from tests.fixtures import WorkerProcess


@pytest.mark.integration
def test_healthz_is_200_with_a_live_worker(celery_worker_proc: WorkerProcess) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "broker", "worker")} == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
    }
    # The worker's host queue is listed as served.
    assert body["host_queues"][celery_worker_proc.queue]["served"] is True


def test_healthz_names_the_missing_worker(db: None) -> None:
    response = Client().get("/healthz")
    # No worker consumes in this test (a stray one from another run would answer).
    if response.status_code == 200:
        pytest.skip("a Celery worker from another process is answering pings on this broker")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert "no Celery worker" in body["worker"]


def test_healthz_names_an_unreachable_broker(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real broker address with nothing listening (port 9 is closed here).
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("broker unreachable")

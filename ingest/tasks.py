"""Celery wrappers: take ids, call one service. Routing is chosen by the service at enqueue time."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from core.jobs import JOB_OPTIONS
from ingest import services


@shared_task(
    name="ingest.offload_job_run",
    bind=True,
    **JOB_OPTIONS,
    # A killed worker's job is redelivered (acks_late + reject_on_worker_lost);
    # the claim's stale-heartbeat rule lets the new run resume it.
    soft_time_limit=24 * 3600,
)
def offload_job_run_task(self: Any, job_id: int) -> None:
    try:
        services.offload_job_run(job_id=job_id)
    except OperationalError:
        raise  # transient: retried with backoff
    except Exception as exc:
        # Anything else is a bug or an unexpected fault: fail the job loudly
        # instead of leaving it "running" forever.
        services.offload_job_fail(job_id=job_id, message=f"internal error: {exc!r}; see the worker log")
        raise


@shared_task(name="ingest.offload_jobs_recover", acks_late=True, ignore_result=True)
def offload_jobs_recover_task() -> None:
    services.offload_jobs_recover()


@shared_task(name="ingest.cards_watch_dispatch", acks_late=True, ignore_result=True)
def cards_watch_dispatch_task() -> None:
    from ingest import presets

    presets.cards_watch_dispatch()


@shared_task(name="ingest.cards_watch", acks_late=True, ignore_result=True, soft_time_limit=120)
def cards_watch_task(host: str) -> None:
    from ingest import presets

    presets.cards_watch(host=host)

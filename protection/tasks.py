"""Celery wrappers: take ids, call one service. The service picks the host queue at enqueue time."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from core.jobs import JOB_OPTIONS
from protection import services


@shared_task(
    name="protection.replication_job_run",
    bind=True,
    **JOB_OPTIONS,
    # A killed worker's job is resumed by replication_jobs_recover (stale
    # heartbeat); the claim makes a redelivery after that harmless.
    soft_time_limit=24 * 3600,
)
def replication_job_run_task(self: Any, job_id: int) -> None:
    try:
        services.replication_job_run(job_id=job_id)
    except OperationalError:
        raise  # transient: retried with backoff
    except Exception as exc:
        services.replication_job_fail(job_id=job_id, message=f"internal error: {exc!r}; see the worker log")
        raise


@shared_task(name="protection.replication_jobs_recover", acks_late=True, ignore_result=True)
def replication_jobs_recover_task() -> None:
    services.replication_jobs_recover()

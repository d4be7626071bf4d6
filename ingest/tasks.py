"""Celery wrappers: take ids, call one service. Routing is chosen by the service at enqueue time."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from ingest import services
from reelvault.celery import JOB_OPTIONS


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


@shared_task(
    name="ingest.clip_metadata_extract",
    bind=True,
    **JOB_OPTIONS,
    # ffprobe and ffmpeg each stop after 60 s (catalog/probe.py); the hard limit
    # stays below metadata.EXTRACTION_STALE so a killed job is claimed again.
    soft_time_limit=240,
    time_limit=300,
)
def clip_metadata_extract_task(self: Any, clip_id: int) -> None:
    from ingest import metadata

    try:
        metadata.clip_metadata_extract_run(clip_id=clip_id, retry=self.request.retries > 0)
    except OperationalError:
        raise  # transient: retried with backoff; the retry takes back its running job
    except Exception as exc:
        metadata.clip_metadata_extract_fail(
            clip_id=clip_id, message=f"internal error: {exc!r}; see the worker log"
        )
        raise


@shared_task(name="ingest.clip_metadata_recover", acks_late=True, ignore_result=True)
def clip_metadata_recover_task() -> None:
    from ingest import metadata

    metadata.clip_metadata_recover()

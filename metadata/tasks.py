"""Celery wrappers of metadata extraction: take ids, call one service.

The task names keep their ``ingest.`` prefix: queued messages and beat route by name.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from core.jobs import JOB_OPTIONS
from metadata import extraction


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
    try:
        extraction.clip_metadata_extract_run(clip_id=clip_id, retry=self.request.retries > 0)
    except OperationalError:
        raise  # transient: retried with backoff; the retry takes back its running job
    except Exception as exc:
        extraction.clip_metadata_extract_fail(
            clip_id=clip_id, message=f"internal error: {exc!r}; see the worker log"
        )
        raise


@shared_task(name="ingest.clip_metadata_recover", acks_late=True, ignore_result=True)
def clip_metadata_recover_task() -> None:
    extraction.clip_metadata_recover()

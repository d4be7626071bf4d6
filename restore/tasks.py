"""Celery wrappers: take ids, call one service. The service picks the host queue at enqueue time."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from core.jobs import JOB_OPTIONS
from restore import services


@shared_task(
    name="restore.restore_request_run",
    bind=True,
    **JOB_OPTIONS,
    # A killed worker's job is resumed by restore_requests_recover (stale
    # heartbeat); the claim makes a redelivery after that harmless.
    soft_time_limit=24 * 3600,
)
def restore_request_run_task(self: Any, request_id: int) -> None:
    try:
        services.restore_request_run(request_id=request_id)
    except OperationalError:
        raise  # transient: retried with backoff
    except Exception as exc:
        # A bug or an unexpected fault: fail the job loudly instead of leaving it running.
        services.restore_request_fail(
            request_id=request_id, message=f"internal error: {exc!r}; see the worker log"
        )
        raise


@shared_task(name="restore.restore_requests_recover", acks_late=True, ignore_result=True)
def restore_requests_recover_task() -> None:
    services.restore_requests_recover()


@shared_task(name="restore.restore_drills_due", acks_late=True, ignore_result=True)
def restore_drills_due_task() -> None:
    services.restore_drills_due()


@shared_task(name="restore.restore_requests_expire", acks_late=True, ignore_result=True)
def restore_requests_expire_task() -> None:
    services.restore_requests_expire()

"""Celery wrappers: take ids, call one service. The service picks the host queue at enqueue time."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from core.jobs import JOB_OPTIONS
from fixity import services


@shared_task(
    name="fixity.fixity_run_execute",
    bind=True,
    **JOB_OPTIONS,
    # A killed worker's run is resumed by fixity_runs_recover (stale heartbeat);
    # the claim makes a redelivery after that harmless.
    soft_time_limit=48 * 3600,
)
def fixity_run_execute_task(self: Any, run_id: int) -> None:
    try:
        services.fixity_run_execute(run_id=run_id)
    except OperationalError:
        raise  # transient: retried with backoff
    except Exception as exc:
        services.fixity_run_fail(run_id=run_id, message=f"internal error: {exc!r}; see the worker log")
        raise


@shared_task(name="fixity.fixity_repair", bind=True, **JOB_OPTIONS, soft_time_limit=24 * 3600)
def fixity_repair_task(self: Any, run_id: int) -> None:
    services.fixity_repair_run(run_id=run_id)


@shared_task(name="fixity.fixity_audits_due", acks_late=True, ignore_result=True)
def fixity_audits_due_task() -> None:
    services.fixity_audits_due()


@shared_task(name="fixity.fixity_runs_recover", acks_late=True, ignore_result=True)
def fixity_runs_recover_task() -> None:
    services.fixity_runs_recover()

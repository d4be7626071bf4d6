"""Celery wrappers for drive health: beat dispatches, each host's worker reads its own drives.

A check is an observation, not a job with state: running it twice stores two
readings and changes nothing else, so there is no row to claim.
"""

from __future__ import annotations

from celery import shared_task

from core.jobs import JOB_OPTIONS
from custody import services


@shared_task(name="custody.drive_health_dispatch", acks_late=True, ignore_result=True)
def drive_health_dispatch_task() -> None:
    services.drive_health_dispatch()


@shared_task(
    name="custody.drive_health_check",
    acks_late=True,
    ignore_result=True,
    # smartctl on every drive of a cart, each bounded by REELVAULT_SMARTCTL_TIMEOUT.
    soft_time_limit=30 * 60,
)
def drive_health_check_task(host: str) -> None:
    services.drive_health_check(host=host)


# JOB_OPTIONS: a deadlock or lost connection (OperationalError) is retried
# with backoff and logged as one "retry" line; re-running is safe.
@shared_task(name="custody.capacity_dispatch", **JOB_OPTIONS)
def capacity_dispatch_task() -> None:
    services.capacity_dispatch()


@shared_task(name="custody.volume_capacity_report", **JOB_OPTIONS, soft_time_limit=120)
def volume_capacity_report_task(host: str) -> None:
    services.volume_capacity_report(host=host)

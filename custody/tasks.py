"""Celery wrappers for drive health: beat dispatches, each host's worker reads its own drives.

A check is an observation, not a job with state: running it twice stores two
readings and changes nothing else, so there is no row to claim.
"""

from __future__ import annotations

from celery import shared_task

import core.jobs  # noqa: F401  (loads the project's Celery app before a task is defined)
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


@shared_task(name="custody.capacity_dispatch", acks_late=True, ignore_result=True)
def capacity_dispatch_task() -> None:
    services.capacity_dispatch()


@shared_task(name="custody.volume_capacity_report", acks_late=True, ignore_result=True, soft_time_limit=120)
def volume_capacity_report_task(host: str) -> None:
    services.volume_capacity_report(host=host)

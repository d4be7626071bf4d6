"""The reliability options every job task shares.

Acknowledge only after the work is done (so a killed worker's job is
redelivered), retry transient database errors with backoff a bounded number of
times, and keep results in database rows. Each task's body claims its row, so a
redelivered or retried task is safe.
"""

from __future__ import annotations

from typing import Any

from django.db import OperationalError

JOB_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
    "ignore_result": True,
}

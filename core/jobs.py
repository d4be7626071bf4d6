"""The reliability options every job task shares.

Acknowledge only after the work is done (so a killed worker's job is
redelivered), retry transient database errors with backoff a bounded number of
times, and keep results in database rows. Each task's body claims its row, so a
redelivered or retried task is safe.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import OperationalError

# The project's Celery app is not imported at start-up (reelvault/__init__.py
# loads it on first use), yet a task must find it when it is sent: without it
# Celery would make a default app talking AMQP to localhost. Every tasks
# module imports this one before it defines a task, so the app is loaded, and
# current, before any task can be sent. Named in settings because core may not
# import the project package.
import_module(settings.REELVAULT_CELERY_APP)

JOB_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
    "ignore_result": True,
}

"""The Celery application. Workers start with ``-Q host.$(hostname),default``."""

from __future__ import annotations

import os

from celery import Celery
from django.db import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")

app = Celery("reelvault")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The options every job task shares: acknowledge only after the work is done
# (so a killed worker's job is redelivered), retry transient database errors
# with backoff a bounded number of times, and keep results in database rows.
# Each task's body claims its row, so a redelivered or retried task is safe.
JOB_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
    "ignore_result": True,
}

"""The Celery application. Workers start with ``-Q host.$(hostname),default``."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")

app = Celery("reelvault")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The daily report at REELVAULT_DAILY_REPORT_TIME (checked in settings), local
# time. Here rather than in settings.CELERY_BEAT_SCHEDULE so that settings need
# not import celery.schedules: only beat reads this.
_hour, _minute = (int(part) for part in settings.REELVAULT_DAILY_REPORT_TIME.split(":"))
app.conf.beat_schedule = {
    **settings.CELERY_BEAT_SCHEDULE,
    "dashboard-daily-reports": {
        "task": "dashboard.daily_reports_run",
        "schedule": crontab(hour=_hour, minute=_minute),
    },
}

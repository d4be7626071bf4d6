"""The Celery application. Workers start with ``-Q host.$(hostname),default``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")

app = Celery("reelvault")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""Celery wrappers of the producer's view: the daily reports and their email."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.jobs import JOB_OPTIONS
from dashboard import services


@shared_task(
    name="dashboard.daily_reports_run",
    **JOB_OPTIONS,
    soft_time_limit=1800,
)
def daily_reports_run_task() -> None:
    services.daily_reports_run()


@shared_task(
    name="dashboard.report_deliveries_send",
    bind=True,
    **JOB_OPTIONS,
    soft_time_limit=600,
)
def report_deliveries_send_task(self: Any, delivery_ids: list[int]) -> None:
    services.report_deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="dashboard.report_deliveries_send_pending", acks_late=True, ignore_result=True)
def report_deliveries_send_pending_task() -> None:
    services.report_deliveries_send_pending()

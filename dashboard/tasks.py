"""Celery wrappers of the producer's view: the daily reports (their email goes through the alerts outbox)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from alerts.outbox import deliveries_send_pending
from core.jobs import JOB_OPTIONS
from dashboard import services


@shared_task(
    name="dashboard.daily_reports_run",
    **JOB_OPTIONS,
    soft_time_limit=1800,
)
def daily_reports_run_task() -> None:
    services.daily_reports_run()


# Names of the report outbox the alerts outbox replaced: messages already
# queued under them, and beat schedules not yet reloaded, sweep the outbox
# (their ids were of rows migration alerts/0003 copied under new ids).
@shared_task(name="dashboard.report_deliveries_send", acks_late=True, ignore_result=True, soft_time_limit=600)
def report_deliveries_send_task(*args: Any, **kwargs: Any) -> None:
    deliveries_send_pending()


@shared_task(name="dashboard.report_deliveries_send_pending", acks_late=True, ignore_result=True)
def report_deliveries_send_pending_task() -> None:
    deliveries_send_pending()


@shared_task(name="dashboard.waiting_jobs_check", acks_late=True, ignore_result=True, soft_time_limit=120)
def waiting_jobs_check_task() -> None:
    """Send lost queued jobs again; alert on jobs waiting for a host no worker serves."""
    from dashboard.waiting import waiting_jobs_check

    waiting_jobs_check()

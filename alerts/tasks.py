"""Celery wrappers for notification and alert delivery, escalation and the periodic checks."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from alerts import checks, services
from core.jobs import JOB_OPTIONS


@shared_task(
    name="alerts.notifications_deliver",
    bind=True,
    **JOB_OPTIONS,
    soft_time_limit=300,
)
def notifications_deliver_task(self: Any, notification_ids: list[int]) -> None:
    services.notifications_deliver(notification_ids=notification_ids)


@shared_task(name="alerts.notifications_deliver_pending", acks_late=True, ignore_result=True)
def notifications_deliver_pending_task() -> None:
    services.notifications_deliver_pending()


@shared_task(
    name="alerts.alert_deliveries_send",
    bind=True,
    **JOB_OPTIONS,
    soft_time_limit=120,
)
def alert_deliveries_send_task(self: Any, delivery_ids: list[int]) -> None:
    services.alert_deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="alerts.alert_deliveries_send_pending", acks_late=True, ignore_result=True)
def alert_deliveries_send_pending_task() -> None:
    services.alert_deliveries_send_pending()


@shared_task(name="alerts.alerts_escalate", acks_late=True, ignore_result=True, soft_time_limit=300)
def alerts_escalate_task() -> None:
    services.alerts_escalate()


@shared_task(name="alerts.policy_gaps_check", acks_late=True, ignore_result=True, soft_time_limit=600)
def policy_gaps_check_task() -> None:
    checks.policy_gaps_check()


@shared_task(name="alerts.volumes_check", acks_late=True, ignore_result=True, soft_time_limit=300)
def volumes_check_task() -> None:
    checks.volumes_check()

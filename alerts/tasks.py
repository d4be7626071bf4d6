"""Celery wrappers for the outbox (email and webhook delivery), escalation and the periodic checks."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from alerts import checks, outbox, services
from core.jobs import JOB_OPTIONS


@shared_task(
    name="alerts.deliveries_send",
    bind=True,
    **JOB_OPTIONS,
    soft_time_limit=600,
)
def deliveries_send_task(self: Any, delivery_ids: list[int]) -> None:
    outbox.deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="alerts.deliveries_send_pending", acks_late=True, ignore_result=True, soft_time_limit=600)
def deliveries_send_pending_task() -> None:
    outbox.deliveries_send_pending()


# Names of the three outboxes this one replaced: messages already queued under
# them, and beat schedules not yet reloaded, still land somewhere. Their ids
# were of rows that migration alerts/0003 copied under new ids, so the
# per-row tasks sweep instead of sending by id.
@shared_task(name="alerts.notifications_deliver", acks_late=True, ignore_result=True, soft_time_limit=600)
def notifications_deliver_task(*args: Any, **kwargs: Any) -> None:
    outbox.deliveries_send_pending()


@shared_task(name="alerts.notifications_deliver_pending", acks_late=True, ignore_result=True)
def notifications_deliver_pending_task() -> None:
    outbox.deliveries_send_pending()


@shared_task(name="alerts.alert_deliveries_send", acks_late=True, ignore_result=True, soft_time_limit=600)
def alert_deliveries_send_task(*args: Any, **kwargs: Any) -> None:
    outbox.deliveries_send_pending()


@shared_task(name="alerts.alert_deliveries_send_pending", acks_late=True, ignore_result=True)
def alert_deliveries_send_pending_task() -> None:
    outbox.deliveries_send_pending()


# Retried on OperationalError (a deadlock, a lost connection): each climb is claimed, so re-running is safe.
@shared_task(name="alerts.alerts_escalate", **JOB_OPTIONS, soft_time_limit=300)
def alerts_escalate_task() -> None:
    services.alerts_escalate()


@shared_task(name="alerts.policy_gaps_check", acks_late=True, ignore_result=True, soft_time_limit=600)
def policy_gaps_check_task() -> None:
    checks.policy_gaps_check()


@shared_task(name="alerts.volumes_check", acks_late=True, ignore_result=True, soft_time_limit=300)
def volumes_check_task() -> None:
    checks.volumes_check()

"""Queue names, declared once.

Jobs that read or write a local volume must run on the host where that volume
is mounted: they go to ``host.<hostname>``, chosen by the service when it
enqueues the job. Everything else goes to ``default``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from django.conf import settings


class Queue(StrEnum):
    DEFAULT = "default"


def host_queue(hostname: str | None = None) -> str:
    """The queue consumed only by workers on ``hostname`` (this host by default)."""
    return f"host.{hostname or settings.REELVAULT_HOSTNAME}"


QUEUE_DOWN = (
    "the job queue (Redis) did not take the job: {error}. Nothing was started; "
    "try again when GET /healthz says the broker is ok"
)


class QueueUnavailable(Exception):
    """The broker did not accept a job. Pages and API answer 503 with this message."""


def job_enqueue(task: Any, *, args: Sequence[int], queue: str) -> None:
    """Send a job to its queue, or raise QueueUnavailable when the broker does not take it.

    A few quick publish retries, then give up: a request must not hang for
    minutes on a broker that is down (Celery's default retry policy).
    """
    # Here, not at the top: kombu (with amqp) is 20 ms that a command which
    # sends no job should not pay at start-up.
    from kombu.exceptions import OperationalError as BrokerError

    try:
        task.apply_async(
            args=list(args),
            queue=queue,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
    except (BrokerError, OSError) as exc:
        raise QueueUnavailable(QUEUE_DOWN.format(error=exc)) from exc

"""Jobs waiting in the host queues: which worker serves each queue, lost messages sent again,
and an alert when a job waits for a host that has no live worker.

Offloads and restores are routed to ``host.<name>``, the queue of the host
that mounts the volume (core/queues.py). Two things could leave one waiting
for ever, silently:

1. its message was lost (Redis restarted without its data, a queue purged):
   the job is "queued" in the database but in no queue. Beat sends it again
   when its host's queue is empty and a worker serves it; the task's claim makes
   a duplicate harmless.
2. no worker serves its host (the cart is off, the worker crashed): after
   ``REELVAULT_QUEUE_ALERT_SECONDS`` the project's admins, producers and DITs
   get an alert naming the host; it resolves itself once the job starts.

`/healthz` and the dashboard show each host queue, its workers and what waits on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_raise, alert_resolve_key
from catalog.models import Project
from core.queues import QueueUnavailable, host_queue, job_enqueue
from ingest.models import OffloadJob
from restore.models import RestoreRequest

log = logging.getLogger(__name__)
ALERT_KEY = "queue.unserved"


@dataclass(frozen=True)
class WaitingJob:
    kind: str  # "offload" or "restore"
    id: int
    project: Project
    queue: str
    what: str
    since: datetime
    link: str


@dataclass
class HostQueue:
    name: str
    workers: list[str] = field(default_factory=list)
    waiting: list[WaitingJob] = field(default_factory=list)

    @property
    def served(self) -> bool:
        return bool(self.workers)

    @property
    def oldest(self) -> datetime | None:
        return min((job.since for job in self.waiting), default=None)

    def as_json(self) -> dict[str, object]:
        oldest = self.oldest
        return {
            "workers": self.workers,
            "served": self.served,
            "waiting": len(self.waiting),
            "oldest_waiting_seconds": int((timezone.now() - oldest).total_seconds()) if oldest else 0,
        }


def queues_served(*, timeout: float = 1.0) -> dict[str, list[str]] | None:
    """Queue name -> the live workers consuming it (asked over the broker); None when it cannot be asked."""
    try:
        replies = current_app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # kombu raises transport-specific errors when the broker is down
        log.warning("could not ask the workers for their queues", exc_info=True)
        return None
    served: dict[str, list[str]] = {}
    for node, queues in replies.items():
        for queue in queues or []:
            served.setdefault(str(queue["name"]), []).append(node)
    return served


def waiting_jobs() -> list[WaitingJob]:
    """Offloads and restores queued in the database and not started yet, oldest first."""
    jobs = [
        WaitingJob(
            "offload",
            job.pk,
            job.project,
            host_queue(job.host),
            f"offload of card {job.label}",
            job.created_at,
            reverse("offload-detail", args=[job.pk]),
        )
        for job in OffloadJob.objects.filter(state=OffloadJob.State.QUEUED).select_related("project")
    ]
    jobs += [
        WaitingJob(
            "restore",
            restore.pk,
            restore.project,
            host_queue(restore.host or None),
            f"restore #{restore.pk}",
            restore.queued_at or restore.created_at,
            reverse("restore-detail", args=[restore.pk]),
        )
        for restore in RestoreRequest.objects.filter(state=RestoreRequest.State.QUEUED).select_related(
            "project"
        )
    ]
    return sorted(jobs, key=lambda job: job.since)


def host_queues(
    *, served: dict[str, list[str]] | None = None, jobs: Iterable[WaitingJob] | None = None
) -> list[HostQueue]:
    """Every host queue a worker serves or a job waits on, by name (the default queue too)."""
    served = queues_served() if served is None else served
    queues: dict[str, HostQueue] = {}
    for name, workers in (served or {}).items():
        queues[name] = HostQueue(name, sorted(workers))
    for job in waiting_jobs() if jobs is None else jobs:
        queues.setdefault(job.queue, HostQueue(job.queue)).waiting.append(job)
    return [queues[name] for name in sorted(queues)]


def _queue_length(name: str) -> int | None:
    """Messages waiting in the broker's queue (None when it cannot be read)."""
    try:
        with current_app.connection_for_write() as conn:
            return int(conn.default_channel.queue_declare(queue=name, passive=True).message_count)
    except Exception as exc:
        # Redis has no empty queues: a queue never used (or drained) "does not exist".
        return 0 if "NOT_FOUND" in str(exc) or "no queue" in str(exc).lower() else None


@dataclass
class WaitingCheck:
    resent: list[WaitingJob] = field(default_factory=list)
    alerted: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    broker_down: bool = False


def _alert_key(queue: str, project: Project) -> str:
    return f"{ALERT_KEY}:{queue}:project:{project.pk}"


def waiting_jobs_check(*, now: datetime | None = None) -> WaitingCheck:
    """Beat's check of waiting jobs: send lost ones again, alert on jobs no worker can run."""
    now = now or timezone.now()
    result = WaitingCheck()
    served = queues_served()
    if served is None:
        result.broker_down = True  # nothing can be re-sent; /healthz says so
        return result
    resend_after = timedelta(seconds=settings.REELVAULT_JOB_STALE_SECONDS)
    alert_after = timedelta(seconds=settings.REELVAULT_QUEUE_ALERT_SECONDS)
    problems: set[str] = set()
    for queue in host_queues(served=served):
        stale = [job for job in queue.waiting if now - job.since >= resend_after]
        if queue.served and stale and _queue_length(queue.name) == 0:
            for job in stale:
                task = "ingest.offload_job_run" if job.kind == "offload" else "restore.restore_request_run"
                try:
                    job_enqueue(current_app.tasks[task], args=[job.id], queue=queue.name)
                except QueueUnavailable:
                    result.broker_down = True
                    return result
                result.resent.append(job)
        if queue.served:
            continue
        overdue = [job for job in queue.waiting if now - job.since >= alert_after]
        for project in {job.project.pk: job.project for job in overdue}.values():
            mine = [job for job in overdue if job.project.pk == project.pk]
            key = _alert_key(queue.name, project)
            problems.add(key)
            host = queue.name.removeprefix("host.")
            minutes = int((now - min(job.since for job in mine)).total_seconds() // 60)
            alert_raise(
                project=project,
                key=key,
                kind=ALERT_KEY,
                severity=Alert.Severity.WARNING,
                title=f"{len(mine)} job(s) waiting {minutes} min for host {host}: no worker serves it",
                body=(
                    f"No live Celery worker consumes the queue {queue.name}, so these jobs cannot start. "
                    f"Start the worker on {host} (celery -A reelvault worker --queues {queue.name},default), "
                    "or cancel the jobs."
                ),
                link=mine[0].link,
                items=[job.what for job in mine],
            )
            result.alerted.append(key)
    for key in (
        Alert.objects.filter(key__startswith=f"{ALERT_KEY}:")
        .exclude(state=Alert.State.RESOLVED)
        .values_list("key", flat=True)
    ):
        if key not in problems and alert_resolve_key(
            key=key, resolution="a worker serves the queue again, or nothing waits on it"
        ):
            result.resolved.append(key)
    return result

"""Run beat's check of waiting jobs now: re-send lost ones, alert on hosts with no worker."""

from __future__ import annotations

from typing import Any

from core.commands import ReelvaultCommand
from dashboard.waiting import host_queues, waiting_jobs_check


class Command(ReelvaultCommand):
    help = (
        "Show each host queue and its workers; re-send queued jobs that were lost; alert on unserved hosts."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = waiting_jobs_check()
        if result.broker_down:
            self.stderr.write("the broker (Redis) does not answer: nothing could be checked or sent")
            raise SystemExit(1)
        for queue in host_queues():
            workers = ", ".join(queue.workers) if queue.workers else "NO WORKER"
            self.stdout.write(f"{queue.name}: {workers}; {len(queue.waiting)} job(s) waiting")
        for job in result.resent:
            self.stdout.write(f"sent again: {job.what} to {job.queue}")
        for key in result.alerted:
            self.stdout.write(f"alert: {key}")
        for key in result.resolved:
            self.stdout.write(f"resolved: {key}")

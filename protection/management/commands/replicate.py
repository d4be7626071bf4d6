"""python manage.py replicate --project CODE [--card LABEL | --day N]

Plans the copies the project's replication rules still need for a card or a
shoot day, runs the jobs this host can run in this process with a progress
bar (no worker needed), and queues the others on their hosts. Exits 0 when
every job it ran verified every file.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from catalog.models import Project
from core.commands import ReelvaultCommand
from protection import services
from protection.models import ReplicationJob


class Command(ReelvaultCommand):
    help = "Replicate a card's or a shoot day's files to where the project's rules and policy want them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="Project code, e.g. DEMO.")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--card", help="Camera card label, e.g. A001.")
        which.add_argument("--day", type=int, help="Shoot day number.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=options["project"].upper()).first()
        if project is None:
            raise CommandError(f"no project {options['project']}")
        card = None
        if options["card"]:
            card = project.volumes.filter(label__iexact=options["card"], kind="card").first()
            if card is None:
                raise CommandError(f"project {project.code} has no camera card {options['card']}")
        try:
            planned = services.replication_request(
                actor=None, project=project, card=card, day=options["day"], enqueue=False
            )
        except services.ProtectionError as exc:
            raise CommandError(str(exc)) from exc
        for gap in planned.unreachable[:20]:
            self.stderr.write(f"cannot plan: {gap}")
        if not planned.jobs:
            self.stdout.write("Nothing to replicate: every rule is already met for these files.")
            raise SystemExit(1 if planned.unreachable else 0)
        here = settings.REELVAULT_HOSTNAME
        mine = [j for j in planned.jobs if j.host in ("", here)]
        for job in planned.jobs:
            if job not in mine:
                services.replication_job_enqueue(job=job)
                self.stdout.write(
                    f"Replication {job.pk} to {job.destination.label}: queued on host {job.host}"
                )
        failed = False
        for job in mine:
            job.refresh_from_db()
            bar = tqdm(
                total=job.size_bytes,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                dynamic_ncols=True,
                desc=f"→ {job.destination.label}",
            )

            def progress(snapshot: ReplicationJob, bar: Any = bar) -> None:
                bar.n = min(snapshot.bytes_done, bar.total)
                bar.set_postfix_str(f"{snapshot.files_done}/{snapshot.file_count} files")
                bar.refresh()

            started = time.monotonic()
            finished = services.replication_job_run(job_id=job.pk, on_progress=progress)
            if finished is None:  # a worker took it first: follow it
                finished = self._follow(job, bar)
            bar.n = finished.bytes_done
            bar.close()
            seconds = time.monotonic() - started
            self.stdout.write(
                f"Replication {finished.pk} to {finished.destination.label}: {finished.get_state_display()}, "
                f"{finished.files_done} of {finished.file_count} files in {seconds:.1f} s"
            )
            if finished.state != ReplicationJob.State.VERIFIED:
                failed = True
                self.stderr.write(finished.error or finished.get_state_display())
        if failed or planned.unreachable:
            raise SystemExit(1)

    def _follow(self, job: ReplicationJob, bar: Any) -> ReplicationJob:
        while True:
            job.refresh_from_db()
            bar.n = min(job.bytes_done, bar.total)
            bar.refresh()
            if job.state not in (ReplicationJob.State.QUEUED, ReplicationJob.State.RUNNING):
                return job
            time.sleep(0.5)

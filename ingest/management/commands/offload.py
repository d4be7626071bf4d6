"""python manage.py offload --project CODE --source PATH --dest PATH_OR_LABEL [--dest ...]

Runs the offload in this process (no worker needed) with a live progress bar,
and exits 0 only when every file is verified on every destination.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from catalog.models import Project, Volume
from copyengine.offload import ProgressSnapshot
from core.commands import ReelvaultCommand, modules_preload
from ingest import selectors, services
from ingest.models import OffloadJob

# Needed only once the card is copied, to enqueue the clips' metadata extraction
# (Celery, kombu, the Redis client): loaded while the engine reads the card.
PRELOAD = (
    "metadata.tasks",
    "celery.canvas",
    "celery.app.routes",
    "kombu.transport.redis",
    "celery.events.dispatcher",
)


def _sending_warm() -> None:
    """Make the first send after the copy cheap: finalize the Celery app and connect to the broker.

    Finalizing imports every app's tasks module (Celery's autodiscovery) and
    the first send opens the Redis connection: about 0.2 s each after the
    engine returned, spent here in the background while the engine reads the
    card; and so is loading the result backend. Nothing is sent.
    """
    from metadata.tasks import clip_metadata_extract_task

    app = clip_metadata_extract_task.app  # evaluating the shared task finalizes the app
    app.backend  # noqa: B018 - loads the result backend class (an entry-point scan) that every send reads
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)


class Command(ReelvaultCommand):
    help = "Offload a camera card to one or more destinations, verifying every copy by reading it back."
    warm_modules = PRELOAD

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="Project code, e.g. DEMO.")
        parser.add_argument("--source", required=True, type=Path, help="The mounted card (a folder).")
        parser.add_argument(
            "--dest", action="append", required=True, help="A destination folder or registered volume label."
        )
        parser.add_argument("--label", help="Card label (default: the source folder's name).")
        parser.add_argument(
            "--hash",
            action="append",
            default=[],
            choices=["xxh128", "md5", "sha1"],
            help="Extra hash algorithms (XXH3-128 is always computed).",
        )
        parser.add_argument("--day", type=int, help="Shoot day number the card belongs to.")
        parser.add_argument(
            "--confirm-warning",
            action="store_true",
            help="Write to destinations whose drive health is warning (recorded); failing ones are refused.",
        )
        parser.add_argument("--json", action="store_true", help="End with one machine-readable JSON summary.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=options["project"].upper()).first()
        if project is None:
            raise CommandError(f"no project {options['project']}: create it first (admin or seed_demo)")
        source: Path = options["source"].absolute()
        for dest in options["dest"]:
            if "/" in dest:
                try:
                    services.check_no_overlap(source=source, destination=Path(dest).absolute())
                except services.OffloadError as exc:
                    raise CommandError(str(exc)) from exc
        destinations = [self._destination(project, d) for d in options["dest"]]
        day = None
        if options["day"] is not None:
            day = project.days.filter(number=options["day"]).first()
            if day is None:
                raise CommandError(f"project {project.code} has no shoot day {options['day']}")
        try:
            job = services.offload_job_create(
                actor=None,
                project=project,
                source=source,
                destinations=destinations,
                label=options["label"],
                algorithms=options["hash"],
                day=day,
                within_ingest_roots=False,
                enqueue=False,
                confirm_warning=options["confirm_warning"],
            )
        except services.OffloadError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(
            total=0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=options["json"],
            dynamic_ncols=True,
            desc=job.label,
        )

        def progress(snapshot: ProgressSnapshot) -> None:
            bar.total = snapshot.bytes_total
            bar.n = snapshot.bytes_done
            bar.set_postfix_str(f"{snapshot.phase} {snapshot.files_done}/{snapshot.files_total} files")
            bar.refresh()

        modules_preload(PRELOAD, then=_sending_warm)
        finished = services.offload_job_run(job_id=job.pk, on_progress=progress)
        bar.close()
        if finished is None:
            # Offloads on one host run one after the other: this one waits for the running one and
            # then runs on this host's worker (README "Offload").
            self.stderr.write(
                f"another offload is running on this host: {job.label} is queued behind it and runs on this "
                f"host's worker when it ends; follow it at /offloads/{job.pk}/ or cancel it there"
            )
            raise SystemExit(3)
        job = finished or OffloadJob.objects.get(pk=job.pk)
        self._report(job, as_json=options["json"])
        if not job.safe_to_format:
            raise SystemExit(1)

    def _destination(self, project: Project, value: str) -> Volume:
        volume = project.volumes.filter(label__iexact=value).first()
        if volume is not None:
            return volume
        path = Path(value)
        if not path.is_absolute() and "/" not in value and not path.exists():
            raise CommandError(f"{value} is neither a volume of {project.code} nor a folder")
        try:
            return services.volume_for_path(actor=None, project=project, path=path.absolute())
        except services.OffloadError as exc:
            raise CommandError(str(exc)) from exc

    def _report(self, job: OffloadJob, *, as_json: bool) -> None:
        summary = selectors.offload_summary(job=job)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "job": job.pk,
                        "card": job.label,
                        "state": job.state,
                        "safe_to_format": job.safe_to_format,
                        "files": summary.get("files", 0),
                        "bytes": summary.get("bytes", 0),
                        "seconds": summary.get("seconds", 0),
                        "mb_per_second": summary.get("mb_per_second", 0),
                        "source_bytes_read": job.source_bytes_read,
                        "destinations": summary.get("destinations", {}),
                        "failures": summary.get("not_safe_reasons", []) or ([job.error] if job.error else []),
                    }
                )
            )
            return
        self.stdout.write(
            f"{job.label}: {summary.get('files', 0)} files, {summary.get('bytes', 0) / 1e6:.1f} MB in "
            f"{summary.get('seconds', 0):.1f} s ({summary.get('mb_per_second', 0):.0f} MB/s)"
        )
        for name, dest in summary.get("destinations", {}).items():
            self.stdout.write(
                f"  {name}: {dest['state']}" + (f" — {dest['failure']}" if dest["failure"] else "")
            )
        if job.safe_to_format:
            self.stdout.write(self.style.SUCCESS(f"SAFE TO FORMAT: every file of {job.label} is verified."))
        else:
            self.stderr.write(f"NOT SAFE TO FORMAT card {job.label} ({job.state}):")
            for reason in summary.get("not_safe_reasons", [])[:50] or [job.error]:
                self.stderr.write(f"  - {reason}")

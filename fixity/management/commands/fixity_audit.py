"""``manage.py fixity_audit VOLUME [--full | --sample N | --budget-gb N]``: audit a volume here, now."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from tqdm import tqdm

from catalog.models import Volume
from core.commands import ReelvaultCommand
from fixity import services
from fixity.models import FixityRun
from formats.units import format_bytes


class Command(ReelvaultCommand):
    help = (
        "Audit one volume here and now: re-hash its copies (oldest proofs first within a budget, all "
        "with --full, N at random with --sample), reconcile it with the catalog and print the report. "
        "VOLUME is PROJECT/LABEL or the volume's id. Exits 1 when a problem was found."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("volume", help="PROJECT/LABEL (e.g. DEMO/RAID-1) or the volume's id")
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--full", action="store_true", help="check every copy on the volume")
        kind.add_argument("--sample", type=int, metavar="N", help="check N copies chosen at random")
        kind.add_argument("--budget-gb", type=float, metavar="N", help="check at most N GB (oldest first)")

    def _volume(self, value: str) -> Volume:
        code, _, label = value.partition("/")
        volume = (
            Volume.objects.filter(project__code__iexact=code, label__iexact=label).first()
            if label
            else Volume.objects.filter(pk=int(value)).first()
            if value.isdigit()
            else None
        )
        if volume is None:
            raise CommandError(f"no volume {value}: give PROJECT/LABEL or the volume's id")
        return volume

    def handle(self, *args: Any, **options: Any) -> None:
        volume = self._volume(options["volume"])
        kind = (
            FixityRun.Kind.FULL
            if options["full"]
            else FixityRun.Kind.SAMPLE
            if options["sample"]
            else FixityRun.Kind.INCREMENTAL
        )
        budget = int(options["budget_gb"] * 10**9) if options["budget_gb"] else None
        try:
            run = services.fixity_run_request(
                actor=None,
                volume=volume,
                kind=kind,
                sample_size=options["sample"],
                budget_bytes=budget,
                enqueue=False,
            )
        except services.FixityError as exc:
            raise CommandError(str(exc)) from exc
        bar = tqdm(
            total=0, unit="B", unit_scale=True, dynamic_ncols=True, desc=volume.label, file=self.stderr
        )

        def progress(snapshot: FixityRun) -> None:
            bar.total = snapshot.plan_bytes
            bar.n = snapshot.bytes_checked
            bar.set_postfix_str(f"{snapshot.files_checked}/{len(snapshot.plan)} files")
            bar.refresh()

        finished = services.fixity_run_execute(run_id=run.pk, on_progress=progress)
        bar.close()
        run = finished or FixityRun.objects.get(pk=run.pk)
        self._report(run)
        if run.state != FixityRun.State.FINISHED or run.corrupt or run.missing:
            raise SystemExit(1)

    def _report(self, run: FixityRun) -> None:
        speed = run.bytes_per_second
        self.stdout.write(
            f"Audit {run.pk} of {run.volume.label}: {run.get_state_display()}. "
            f"{run.files_checked} files, {format_bytes(run.bytes_checked)} checked in {run.seconds:.1f} s"
            + (f" ({format_bytes(speed)}/s)" if speed else "")
            + f". Proven {run.proven}, corrupt {run.corrupt}, missing {run.missing}, "
            f"extra {run.extra}, moved {run.moved}."
        )
        if run.error:
            self.stdout.write(run.error)
        for finding in run.findings[:200]:
            self.stdout.write(f"  {finding['kind']:8} {finding['path']}: {finding['detail']}")

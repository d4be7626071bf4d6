"""python manage.py mhl_verify PATH: verify a folder against its ASC MHL history (ours or another tool's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from copyengine import mhl
from core import prelude
from core.commands import ReelvaultCommand
from ingest import services


class Command(ReelvaultCommand):
    help = "Re-hash every file under PATH and compare it with the ASC MHL history; exit 1 on any problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["path"].absolute()
        try:
            # Begun by manage.py while Django set up (core/prelude.py), else verified here.
            report = prelude.take(
                "mhl_verify", root, lambda: mhl.verify_folder(root, drop_cache=True, workers=2)
            )
        except mhl.MHLError as exc:
            raise CommandError(str(exc)) from exc
        for check in report.files:
            if check.status is not mhl.FileStatus.OK:
                self.stderr.write(f"{check.status.value.upper():9} {check.path}  {check.message}")
        for problem in report.problems:
            self.stderr.write(f"CHAIN     {problem.file}: {problem.message}")
        counts = ", ".join(f"{n} {status.value}" for status, n in sorted(report.counts().items()))
        recorded = services.mhl_verify_record(actor=None, root=root, report=report)
        if recorded.volume is not None:
            self.stdout.write(
                f"catalog: volume {recorded.volume.label}: {recorded.verified} copies proven, "
                f"{recorded.corrupt} corrupt, {recorded.missing} missing"
                + (
                    f", {recorded.unproven} left unproven (the history has no XXH3-128 to compare)"
                    if recorded.unproven
                    else ""
                )
            )
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"{root}: OK ({counts or 'no files'})"))
            return
        self.stderr.write(f"{root}: FAILED ({counts}; {len(report.problems)} chain problems)")
        raise SystemExit(1)

"""python manage.py ale_export --project CODE [--day N] [--card LABEL] OUT.ale|OUT.csv

Writes the clips of a shoot day and/or card (all of the project's clips when
neither is given) as an ALE for Avid Media Composer and DaVinci Resolve, or as
CSV, chosen by the output file's extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from catalog.models import Project
from core.commands import ReelvaultCommand
from metadata.ale_export import clips_export


class Command(ReelvaultCommand):
    help = "Export clips of a day or card as ALE (.ale) or CSV (.csv)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="Project code, e.g. DEMO.")
        parser.add_argument("--day", type=int, help="Shoot day number.")
        parser.add_argument("--card", help="Card label, e.g. A001.")
        parser.add_argument("out", type=Path, help="Output file: .ale or .csv.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=options["project"].upper()).first()
        if project is None:
            raise CommandError(f"no project {options['project']}")
        out: Path = options["out"]
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in ("ale", "csv"):
            raise CommandError(f"{out}: the output file must end in .ale or .csv")
        day = card = None
        if options["day"] is not None:
            day = project.days.filter(number=options["day"]).first()
            if day is None:
                raise CommandError(f"project {project.code} has no shoot day {options['day']}")
        if options["card"]:
            card = project.volumes.filter(label__iexact=options["card"]).first()
            if card is None:
                raise CommandError(f"project {project.code} has no card {options['card']}")
        try:
            export = clips_export(actor=None, project=project, fmt=fmt, day=day, card=card)  # type: ignore[arg-type]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            out.write_bytes(export.data)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from exc
        self.stdout.write(f"{out}: {export.clips} clips written as {fmt.upper()}")

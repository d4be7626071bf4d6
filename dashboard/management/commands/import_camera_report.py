"""Record the cards a camera report (ZoeLog JSON) lists as expected on their shoot days."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from catalog.models import Project, ShootDay
from core.commands import ReelvaultCommand
from dashboard import services


class Command(ReelvaultCommand):
    help = "Import a camera report (JSON): its cards become the expected cards of their shoot days."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code", help="Project code.")
        parser.add_argument("report", type=Path, help="The camera report, e.g. a ZoeLog JSON export.")
        parser.add_argument(
            "--day", type=int, help="Shoot day number for every card (else by shooting date)."
        )
        parser.add_argument("--unit", default="main", help="Unit of --day (default main).")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=options["code"].upper()).first()
        if project is None:
            raise CommandError(f"no project {options['code']}")
        path: Path = options["report"]
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        day = None
        if options["day"] is not None:
            day = ShootDay.objects.filter(
                project=project, number=options["day"], unit=options["unit"]
            ).first()
            if day is None:
                raise CommandError(f"{project.code} has no day {options['day']} ({options['unit']} unit)")
        try:
            imported = services.camera_report_import(
                actor=None, project=project, report=report, source=path.name, day=day
            )
        except services.DashboardError as exc:
            raise CommandError(str(exc)) from exc
        for target, cards in imported.by_day.items():
            self.stdout.write(f"{target}: expecting {', '.join(card.label for card in cards)}")

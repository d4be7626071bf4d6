"""Run a restore drill of a project now, or set its schedule.

manage.py restore_drill DEMO [--tier warm] [--clips 3]
manage.py restore_drill DEMO --schedule 168 [--clips 3]     # every 168 h from beat; 0 pauses it
manage.py restore_drill DEMO --schedule 720 --scenario tier_loss --tier hot --day-rule rotate
manage.py restore_drill DEMO --schedule 168 --scenario card_corruption
manage.py restore_drill DEMO --scenario tier_loss --tier hot [--day 2]   # or --site HOST
manage.py restore_drill DEMO --scenario card_corruption [--card A001]
manage.py restore_drill DEMO --scenario local_failure [--day 2]
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from catalog.models import Project
from core.commands import ReelvaultCommand
from restore import services
from restore.models import DrillSchedule, RestoreDrill


class Command(ReelvaultCommand):
    help = "Start a restore drill (random clips from one tier to the scratch target); a worker runs it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("project", help="Project code.")
        parser.add_argument("--tier", choices=["hot", "warm", "cold"], default="", help="Default: next.")
        parser.add_argument("--clips", type=int, default=None, help="How many clips to sample.")
        parser.add_argument(
            "--scenario",
            choices=RestoreDrill.Scenario.values,
            default=RestoreDrill.Scenario.SAMPLE,
            help="sample (default), card_corruption, tier_loss (--tier or --site), local_failure.",
        )
        parser.add_argument(
            "--day", type=int, default=None, help="Scenarios: the shoot day (default: latest)."
        )
        parser.add_argument(
            "--card", default="", help="Card corruption: the card (default: latest verified)."
        )
        parser.add_argument("--site", default="", help="Loss of a site: the host whose volumes are lost.")
        parser.add_argument(
            "--schedule",
            type=int,
            default=None,
            metavar="HOURS",
            help="Set the interval of the scenario's schedule (with its --tier/--site); 0 pauses it.",
        )
        parser.add_argument(
            "--day-rule",
            choices=DrillSchedule.DayRule.values,
            default=DrillSchedule.DayRule.LATEST,
            help="Scheduled whole-day drills: latest (default), rotate (each day in turn) or random.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=str(options["project"]).upper()).first()
        if project is None:
            raise CommandError(f"no project {options['project']}")
        if options["schedule"] is not None:
            hours = options["schedule"]
            try:
                schedule = services.drill_schedule_set(
                    actor=None,
                    project=project,
                    spec=services.ScheduleSpec(
                        scenario=options["scenario"],
                        interval_hours=hours or 24 * 7,
                        sample_clips=options["clips"] or 3,
                        tier=options["tier"],
                        site=options["site"],
                        day_rule=options["day_rule"],
                        enabled=hours > 0,
                    ),
                )
            except services.RestoreError as exc:
                raise CommandError(str(exc)) from exc
            state = schedule.every if schedule.enabled else "paused"
            self.stdout.write(
                self.style.SUCCESS(f"{schedule.get_scenario_display()} drills of {project.code}: {state}")
            )
            return
        try:
            if options["scenario"] != RestoreDrill.Scenario.SAMPLE:
                drill = services.restore_drill_scenario_start(
                    actor=None,
                    project=project,
                    scenario=options["scenario"],
                    day=options["day"],
                    card=options["card"],
                    tier=options["tier"],
                    site=options["site"],
                )
                holes = (
                    f"; {len(drill.unrecoverable)} clip(s) cannot be restored at all"
                    if drill.unrecoverable
                    else ""
                )
                self.stdout.write(
                    self.style.SUCCESS(
                        f"drill {drill.pk} of {project.code} started: {drill.get_scenario_display()}, lost "
                        f"{drill.lost}; {len(drill.clips)} clips to restore{holes}"
                    )
                )
                return
            drill = services.restore_drill_start(
                actor=None, project=project, tier=options["tier"], sample_clips=options["clips"]
            )
        except services.RestoreError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"drill {drill.pk} of {project.code} started: {drill.tier} tier, {len(drill.clips)} clips, "
                f"{drill.bytes} bytes; restore {drill.request_id} queued"
            )
        )

"""Create the practice project PRACTICE (built like the demo) with three things broken on purpose.

Trainees recover them; the time each recovery took is measured from the system's own records
(see ``recovery.services.practice_check``). Running the command again breaks nothing more: it
reports each scenario, recovered or not, and how long its recovery took.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from catalog.models import Project
from core.commands import ReelvaultCommand
from recovery.models import PracticeScenario
from recovery.services import practice_break, practice_check
from reelvault.management.commands.seed_demo import seed_catalog

PRACTICE_CODE = "PRACTICE"


class Command(ReelvaultCommand):
    help = (
        "Create the practice project PRACTICE with a corrupted card copy, a failed drive and a missing "
        "shuttle; run again to see how long each recovery took."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--code", default=PRACTICE_CODE, help="Project code (default PRACTICE).")
        parser.add_argument("--clips", type=int, default=24, help="How many clips (default 24).")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"].upper()
        project, _days, _created, _files = seed_catalog(
            code=code,
            name="Practice (safe to break)",
            days=2,
            clips=options["clips"],
            volumes_root=settings.VAR_DIR / "volumes" / code.lower(),
            write=self.stdout.write,
        )
        if not PracticeScenario.objects.filter(project=project).exists():
            self._break(project)
        for scenario in practice_check(project=project):
            seconds = scenario.seconds_to_recover
            status = "not recovered yet" if seconds is None else f"recovered in {seconds:.0f} s"
            self.stdout.write(f"{scenario.get_kind_display():<20} {scenario.title}: {status}")
            if seconds is None:
                self.stdout.write(f"  {scenario.hint}")

    def _break(self, project: Project) -> None:
        volumes = {v.label: v for v in project.volumes.all()}
        dit = get_user_model().objects.get(username="dit")  # seeded with the project, one user per role
        # 1. A card copy whose bytes rot on the shuttle; 2. the RAID's drive fails;
        # 3. the off-site shuttle left with the courier and never arrived.
        for kind, label in (
            (PracticeScenario.Kind.CORRUPT_COPY, "SHUTTLE-01"),
            (PracticeScenario.Kind.FAILED_DRIVE, "RAID-01"),
            (PracticeScenario.Kind.MISSING_SHUTTLE, "SHUTTLE-02"),
        ):
            practice_break(actor=dit, project=project, kind=kind, volume=volumes[label])

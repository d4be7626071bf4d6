"""Create the practice project PRACTICE (built like the demo) with three things broken on purpose.

Trainees recover them; the time each recovery took is measured from the system's own records
(see ``recovery.services.practice_check``). Running the command again breaks nothing more: it
reports each scenario, recovered or not, and how long its recovery took.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xxhash
from django.conf import settings
from django.contrib.auth import get_user_model

from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import Copy, Project, Volume
from catalog.services import volume_update
from core.commands import ReelvaultCommand
from custody.services import handoff_create
from recovery.models import PracticeScenario
from recovery.services import practice_check, practice_scenario_record
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
        shuttle, raid, offsite = volumes["SHUTTLE-01"], volumes["RAID-01"], volumes["SHUTTLE-02"]

        # 1. A card copy whose bytes rot on the shuttle: one byte flipped, recorded corrupt by a check.
        copy = (
            Copy.objects.filter(volume=shuttle, state=Copy.State.VERIFIED)
            .select_related("media_file")
            .order_by("media_file__relative_path")
            .first()
        )
        if copy is not None:
            target = Path(shuttle.location) / copy.path
            data = bytearray(target.read_bytes())
            data[len(data) // 2] ^= 0xFF
            temporary = target.with_name(f".{target.name}.practice")
            temporary.write_bytes(bytes(data))
            temporary.replace(target)  # a practice copy on a practice volume, never a camera original
            copies_record(
                actor=None,
                volume=shuttle,
                checks=[
                    CopyCheck(
                        media_file=copy.media_file,
                        path=copy.path,
                        found=Found.CORRUPT,
                        hash_found=xxhash.xxh3_128(target.read_bytes()).hexdigest(),
                        error="hash mismatch (practice: a byte was flipped on purpose)",
                    )
                ],
                source="The practice seeding",
            )
            practice_scenario_record(
                project=project,
                kind=PracticeScenario.Kind.CORRUPT_COPY,
                title=f"{copy.media_file.relative_path} is corrupt on {shuttle.label}",
                hint="Restore the file from another copy onto the shuttle and re-verify it.",
                volume=shuttle,
                media_file=copy.media_file,
            )

        # 2. The RAID's drive fails: every file on it needs a verified copy on another hot drive.
        volume_update(actor=None, volume=raid, changes={"health": Volume.Health.FAILING})
        practice_scenario_record(
            project=project,
            kind=PracticeScenario.Kind.FAILED_DRIVE,
            title=f"{raid.label} reports a failing drive",
            hint=f"Register a replacement hot volume and copy every file of {raid.label} to it, verified.",
            volume=raid,
        )

        # 3. The off-site shuttle left with the courier and never arrived.
        dit = get_user_model().objects.get(username="dit")  # seeded with the project, one user per role
        handoff_create(
            actor=dit, volume=offsite, from_place="Set", to_place="Courier to the vault", condition="sealed"
        )
        volume_update(actor=None, volume=offsite, changes={"online": False})
        practice_scenario_record(
            project=project,
            kind=PracticeScenario.Kind.MISSING_SHUTTLE,
            title=f"{offsite.label} is missing in transit",
            hint=f"Find {offsite.label}: receive its handoff and bring it back online.",
            volume=offsite,
        )

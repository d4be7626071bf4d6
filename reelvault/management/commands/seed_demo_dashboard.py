"""Put the demo project in the states the producer's view is about. Run after seed_demo; idempotent.

- Day 1 becomes complete: its copies that failed a check were copied again
  (now verified), and its clips short of copies get one on SHUTTLE-02. The
  producer can sign it off.
- Day 2 keeps its corrupt copies: refused, and an alert says so.
- Day 3 (still copying) gets a camera report listing A003, B003 and C003;
  C003 has not arrived.
- The demo producer subscribes to the daily report.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import xxhash
from django.core.management.base import CommandError
from django.db import transaction

from alerts.hooks import copy_problem
from alerts.models import Alert
from catalog.audit import audit_record
from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import Copy, MediaFile, Project, ShootDay, Volume
from catalog.policy import short_clips
from core.commands import ReelvaultCommand
from dashboard.models import ExpectedCard, ReportSubscription
from reelvault.management.commands.seed_demo import demo_content, demo_copy_path, write_demo_bytes

DEMO = "DEMO"


class Command(ReelvaultCommand):
    help = "Give DEMO a complete day, a refused day, a missing card and an alert. Run after seed_demo."

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=DEMO).first()
        if project is None:
            raise CommandError("no DEMO project: run `manage.py seed_demo` first")
        days = {day.number: day for day in ShootDay.objects.filter(project=project, unit="main")}
        if len(days) < 3:
            raise CommandError("the demo needs its three shoot days: run `manage.py seed_demo` first")
        repaired = self._complete(project, days[1])
        self._expected(days[3])
        alerted = self._alert(project, days[2])
        subscribed = self._subscribe(project)
        self.stdout.write(
            f"DEMO: day 1 complete ({repaired} copies made good), day 3 expects card C003, "
            f"{alerted} corrupt copies on day 2 alerted, {subscribed} subscriber(s) to the daily report"
        )

    @transaction.atomic
    def _complete(self, project: Project, day: ShootDay) -> int:
        """Copy the bad copies again and give short clips a copy on SHUTTLE-02, proven by read-back."""
        checks: dict[Volume, list[CopyCheck]] = defaultdict(list)
        for copy in Copy.objects.filter(
            media_file__clip__day=day, state__in=[Copy.State.CORRUPT, Copy.State.FAILED, Copy.State.MISSING]
        ).select_related("media_file__clip", "volume"):
            checks[copy.volume].append(_copy_again(copy.volume, copy.media_file, copy.path))
        spare = project.volumes.filter(label="SHUTTLE-02").first()
        short = [clip.id for clip in short_clips(day_ids=[day.pk], limit=10_000)]
        if spare is not None:
            for media_file in (
                MediaFile.objects.filter(clip_id__in=short)
                .exclude(copies__volume=spare)
                .select_related("clip__day")
            ):
                day_of = media_file.clip.day if media_file.clip is not None else None
                checks[spare].append(
                    _copy_again(spare, media_file, demo_copy_path(project, media_file, day_of))
                )
        for volume, volume_checks in checks.items():
            copies_record(
                actor=None, volume=volume, checks=volume_checks, source="The demo dashboard seeding"
            )
        repaired = sum(len(c) for c in checks.values())
        if repaired:
            audit_record(
                actor=None, action="demo.seed_dashboard", obj=day, project=project, after={"copies": repaired}
            )
        return repaired

    def _expected(self, day: ShootDay) -> None:
        for label, camera in (("A003", "A"), ("B003", "B"), ("C003", "C")):
            ExpectedCard.objects.get_or_create(
                day=day, label=label, defaults={"camera": camera, "source": "demo camera report"}
            )

    def _alert(self, project: Project, day: ShootDay) -> int:
        corrupt = list(
            Copy.objects.filter(media_file__clip__day=day, state=Copy.State.CORRUPT).select_related(
                "volume", "media_file"
            )
        )
        # Raised once: a second `make run` must not count another occurrence (or reopen it once resolved).
        if corrupt and not Alert.objects.filter(project=project, kind=f"copy.{Copy.State.CORRUPT}").exists():
            volume = corrupt[0].volume
            copy_problem(
                project=project,
                volume=volume,
                state=Copy.State.CORRUPT,
                # The copies' paths on the volume, as catalog.copies announces them.
                paths=[c.path for c in corrupt if c.volume_id == volume.pk],
                body=f"The last check of {volume.label} found copies of day {day.number} changed since they "
                "were verified. Make new copies to restore the protection level.",
                link=f"/p/{project.code}/days/{day.number}/",
            )
        return len(corrupt)

    def _subscribe(self, project: Project) -> int:
        for membership in project.memberships.filter(role_id="producer").select_related("user"):
            ReportSubscription.objects.get_or_create(project=project, user=membership.user)
        return ReportSubscription.objects.filter(project=project).count()


def _copy_again(volume: Volume, media_file: MediaFile, path: str) -> CopyCheck:
    """Write the demo bytes of the file to the volume and read them back: a copy with its proof."""
    target = Path(volume.location) / path
    target.unlink(missing_ok=True)
    write_demo_bytes(
        target, demo_content(media_file.clip.name if media_file.clip else media_file.relative_path)
    )
    found = xxhash.xxh3_128(target.read_bytes()).hexdigest()
    return CopyCheck(media_file=media_file, path=path, found=Found.PROVEN, hash_found=found)

"""python manage.py clip_metadata --project CODE [--card LABEL] [--day N] [--clip NAME ...] [--enqueue]

Re-runs metadata extraction (ffprobe, sidecars, names, thumbnail, validation) for
the clips of a card or day, in this process by default, or as worker jobs
routed to the hosts holding the copies with --enqueue.
"""

from __future__ import annotations

import shutil
from typing import Any

from django.core.management.base import CommandError, CommandParser

from catalog.models import Project
from core.commands import ReelvaultCommand
from metadata import extraction as metadata
from metadata.models import ReviewItem


class Command(ReelvaultCommand):
    help = "Extract clip metadata again for a card, a day or named clips."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="Project code, e.g. DEMO.")
        parser.add_argument("--card", help="Card label, e.g. A001.")
        parser.add_argument("--day", type=int, help="Shoot day number.")
        parser.add_argument("--clip", action="append", default=[], help="A clip name (repeatable).")
        parser.add_argument(
            "--enqueue", action="store_true", help="Send worker jobs instead of extracting in this process."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=options["project"].upper()).first()
        if project is None:
            raise CommandError(f"no project {options['project']}")
        card = day = None
        if options["card"]:
            card = project.volumes.filter(label__iexact=options["card"]).first()
            if card is None:
                raise CommandError(f"project {project.code} has no card {options['card']}")
        if options["day"] is not None:
            day = project.days.filter(number=options["day"]).first()
            if day is None:
                raise CommandError(f"project {project.code} has no shoot day {options['day']}")
        if card is None and day is None and not options["clip"]:
            raise CommandError("name a --card, a --day or --clip names")
        if options["enqueue"]:
            sent = metadata.clip_metadata_rerun(
                actor=None, project=project, card=card, day=day, names=options["clip"]
            )
            for queue, count in sorted(sent.items()):
                self.stdout.write(f"{count} clips queued on {queue}")
            return
        clip_ids = metadata.clips_for(project=project, card=card, day=day, names=options["clip"])
        if not clip_ids:
            raise CommandError("no clips match")
        if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
            self.stderr.write(
                "warning: ffprobe/ffmpeg are not installed: install Debian's ffmpeg package "
                "(apt-get install ffmpeg). Clips are still cataloged; each gets a review item."
            )
        for clip in metadata.clip_metadata_extract_now(clip_ids=clip_ids):
            problems = ReviewItem.objects.filter(clip=clip, state=ReviewItem.State.OPEN).count()
            self.stdout.write(
                f"{clip.name}: {clip.codec or '?'} {clip.resolution or '?'} {clip.fps or '?'} fps, "
                f"TC {clip.start_tc or '?'}, {problems} open review items"
            )

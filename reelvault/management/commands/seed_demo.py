"""Create the demo project, its users (one per role), days, volumes and clips. Idempotent."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import xxhash
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from catalog import services
from catalog.audit import audit_record
from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import Clip, MediaFile, Project, ShootDay, Volume
from catalog.permissions import RoleName
from core.commands import ReelvaultCommand
from ingest import presets
from ingest.models import OffloadPreset
from reelvault import demo_media

DEMO_CODE = "DEMO"
FIRST_DAY = date(2026, 11, 2)
CAST = ["Ava Stone", "Ben Okafor", "Chloe Martin", "Dev Patel", "Elena Rossi", "Finn Walsh", "Grace Lee"]
LOCATIONS = ["Warehouse", "Harbour", "Rooftop", "Diner", "Forest road", "Apartment 4B", "Stage 2"]
LENSES = [
    "Signature Prime 25mm",
    "Signature Prime 35mm",
    "Signature Prime 50mm",
    "Ultra Prime 85mm",
    "Optimo 24-290",
]


class Command(ReelvaultCommand):
    help = "Create the demo project DEMO with one user per role. Safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--clips", type=int, default=300, help="How many demo clips (default 300).")
        parser.add_argument("--days", type=int, default=3, help="How many shoot days (default 3).")
        parser.add_argument(
            "--extract",
            choices=["queue", "now", "no"],
            default="queue",
            help="Metadata extraction (ffprobe, poster frames) of the new demo clips: worker jobs (default), "
            "in this process, or none.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project, days, created, files = seed_catalog(
            code=DEMO_CODE,
            name="Demo Feature",
            days=options["days"],
            clips=options["clips"],
            volumes_root=settings.VAR_DIR / "volumes",
            write=self.stdout.write,
        )
        self._restore_targets(project)
        seed_offload_preset(project)
        self._demo_card()
        self._extract(project, mode=options["extract"])
        if len(days) >= 3:
            # The producer's view: a camera report, the daily report subscription, the day-2 alert.
            call_command("seed_demo_dashboard", stdout=self.stdout)
        call_command("seed_demo_custody", stdout=self.stdout)  # identifiers, handoffs, drive health
        self.stdout.write(
            self.style.SUCCESS(
                f"demo project {project.code}: {len(days)} days, {project.volumes.count()} volumes, "
                f"{project.clips.count()} clips ({created} new, {files} new files with copies)"
            )
        )

    def _restore_targets(self, project: Project) -> None:
        """Restore targets editorial, vfx and scratch under var/restore/, and a weekly restore drill."""
        from restore.models import DrillSchedule
        from restore.services import ScheduleSpec, drill_schedule_set, restore_target_create

        for name in ("editorial", "vfx", "scratch"):
            path = settings.VAR_DIR / "restore" / name
            path.mkdir(parents=True, exist_ok=True)
            if not project.restore_targets.filter(name=name).exists():
                restore_target_create(
                    actor=None,
                    project=project,
                    name=name,
                    path=str(path),
                    host=settings.REELVAULT_HOSTNAME,
                    scratch=name == "scratch",
                )
        if not DrillSchedule.objects.filter(project=project).exists():
            drill_schedule_set(actor=None, project=project, spec=ScheduleSpec(interval_hours=24 * 7))

    def _extract(self, project: Project, *, mode: str) -> None:
        """Probe the demo clips and make their poster frames, once: only clips never extracted.

        A restart finds every clip extracted (or queued) and asks for nothing.
        Without ffmpeg the clips are stand-in bytes: extraction would only put
        them in the review queue as unreadable, so it is not asked for.
        """
        from metadata.extraction import clip_metadata_enqueue, clip_metadata_extract_now

        if not demo_media.is_real_media():
            self.stdout.write(
                self.style.WARNING(
                    "ffmpeg not found: the demo clips are stand-in bytes, without thumbnails or technical "
                    "metadata. Install ffmpeg (Debian: apt install ffmpeg), delete var/ and run again "
                    "for playable demo media."
                )
            )
            return
        if mode == "no":
            return
        clip_ids = list(
            project.clips.filter(metadata_extraction__isnull=True, files__isnull=False)
            .values_list("pk", flat=True)
            .distinct()
        )
        if not clip_ids:
            return
        if mode == "now":
            clip_metadata_extract_now(clip_ids=clip_ids)
            self.stdout.write(f"demo clips probed, poster frames made: {len(clip_ids)}")
        else:
            clip_metadata_enqueue(clip_ids=clip_ids)
            self.stdout.write(f"demo clips queued for probing and poster frames: {len(clip_ids)}")

    def _demo_card(self) -> None:
        """A camera card under the first ingest root, so a DIT can try an offload from the browser."""
        root = settings.REELVAULT_INGEST_ROOTS[0] / "A004"
        if root.exists():
            return
        for clip in range(1, 7):
            path = root / f"A004C{clip:03d}_261105_R7XK.mov"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(demo_media.clip_media(path.stem))
        self.stdout.write(f"demo card to offload: {root}")


def seed_catalog(
    *, code: str, name: str, days: int, clips: int, volumes_root: Path, write: Callable[[str], Any]
) -> tuple[Project, list[ShootDay], int, int]:
    """A project like the demo under ``code``: users, days, volumes, clips, files with copies. Idempotent.

    Returns the project, its days, and how many clips and files were new.
    """
    project = Project.objects.filter(code=code).first() or services.project_create(
        actor=None, code=code, name=name
    )
    seed_users(project, write=write)
    shoot_days = seed_days(project, days)
    seed_volumes(project, volumes_root=volumes_root)
    created = seed_clips(project, shoot_days, clips)
    files = seed_files_and_copies(project)
    return project, shoot_days, created, files


def seed_users(project: Project, *, write: Callable[[str], Any]) -> None:
    user_model = get_user_model()
    fixed = settings.REELVAULT_DEMO_PASSWORD
    generated: dict[str, str] = {}
    for role in RoleName:
        user = user_model.objects.filter(username=role.value).first()
        if user is None:
            password = fixed or secrets.token_urlsafe(12)
            if not fixed:
                generated[role.value] = password
            user = user_model.objects.create_user(
                username=role.value,
                email=f"{role.value}@demo.reelvault.local",
                password=password,
                is_staff=role is RoleName.ADMIN,
            )
        elif fixed and not user.check_password(fixed):
            user.set_password(fixed)
            user.save(update_fields=["password"])
        if not project.memberships.filter(user=user, role_id=role.value).exists():
            services.membership_set(actor=None, project=project, user=user, role=role)
    if generated:
        # Printed once, when the users are created; never stored in the code or on disk.
        write("Demo users created. Their passwords (shown only this once):")
        for name, password in generated.items():
            write(f"  {name:<9} {password}")


def seed_days(project: Project, count: int) -> list[ShootDay]:
    days = []
    for number in range(1, count + 1):
        day = project.days.filter(number=number, unit="main").first() or services.shoot_day_create(
            actor=None, project=project, number=number, day_date=FIRST_DAY + timedelta(days=number - 1)
        )
        days.append(day)
    return days


def seed_volumes(project: Project, *, volumes_root: Path) -> None:
    """RAID-01 (hot), SHUTTLE-01 and SHUTTLE-02 (warm, off-site): a folder each under ``volumes_root``."""
    specs = [
        ("RAID-01", Volume.Kind.RAID, Volume.Tier.HOT, False),
        ("SHUTTLE-01", Volume.Kind.SHUTTLE, Volume.Tier.WARM, False),
        ("SHUTTLE-02", Volume.Kind.SHUTTLE, Volume.Tier.WARM, True),
    ]
    for label, kind, tier, offsite in specs:
        if project.volumes.filter(label__iexact=label).exists():
            continue
        path = volumes_root / label.lower()
        path.mkdir(parents=True, exist_ok=True)
        services.volume_register(
            actor=None,
            project=project,
            label=label,
            kind=kind,
            tier=tier,
            offsite=offsite,
            host=settings.REELVAULT_HOSTNAME,
            location=str(path),
        )


def seed_clips(project: Project, days: list[ShootDay], count: int) -> int:
    """Catalog-only demo clips with varied metadata, so pages have something to show.

    A fixed random seed keeps names stable, so a second run adds nothing.
    """
    rng = random.Random(20261102)  # noqa: S311 - demo data, not security
    clips = []
    for index in range(count):
        day = days[index * len(days) // max(count, 1)] if days else None
        camera = "AB"[index % 2]
        roll = 1 + (day.number - 1 if day else 0)
        clip_no = index // 2 + 1
        stamp = (day.date if day else FIRST_DAY).strftime("%y%m%d")
        scene = str(rng.randint(1, 40)) + rng.choice(["", "", "", "A", "B"])
        clips.append(
            Clip(
                project=project,
                day=day,
                name=f"{camera}{roll:03d}C{clip_no:03d}_{stamp}_R{rng.randint(0, 0xFFF):03X}",
                camera=camera,
                reel=f"{camera}{roll:03d}",
                scene=scene,
                take=str(rng.randint(1, 6)),
                circled=rng.random() < 0.3,
                cast=rng.sample(CAST, rng.randint(0, 3)),
                location=rng.choice(LOCATIONS),
                lens=rng.choice(LENSES),
                start_tc=f"{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}:00",
                fps="24.000",
                duration_frames=rng.randint(240, 4800),
                # Codec follows the camera (not the random stream, so names stay stable).
                codec="ProRes 4444 XQ" if camera == "A" else "ARRIRAW",
                resolution="4448x3096" if camera == "A" else "4608x3164",
                notes=rng.choice(["", "", "Boom in frame at end", "Soft focus"]),
            )
        )
    existing = set(project.clips.values_list("name", flat=True))
    new = [clip for clip in clips if clip.name not in existing]
    if new:
        with transaction.atomic():
            Clip.objects.bulk_create(new)
            audit_record(actor=None, action="demo.seed_clips", project=project, after={"clips": len(new)})
    return len(new)


# The demo project's offload preset folder template: the seeded copies use the same layout,
# so a card offloaded in the demo lands beside the seeded ones (README "Offload").
DEMO_FOLDER_TEMPLATE = "{project}/Day{day:03}/{card}"


def demo_copy_path(project: Project, media_file: MediaFile, day: ShootDay | None) -> str:
    """Where a seeded file's copy lies on a volume: the folder template, with the reel as the card."""
    return f"{project.code}/Day{day.number if day else 1:03d}/{media_file.relative_path}"


def seed_offload_preset(project: Project) -> None:
    """The demo's offload preset (once): RAID-01 and SHUTTLE-01, MD5 too, the shared folder layout."""
    if OffloadPreset.objects.filter(project=project).exists():
        return
    presets.offload_preset_save(
        actor=None,
        project=project,
        destinations=list(project.volumes.filter(label__in=["RAID-01", "SHUTTLE-01"])),
        algorithms=["md5"],
        folder_template=DEMO_FOLDER_TEMPLATE,
        day_rule=OffloadPreset.DayRule.RECORDED,
        auto_start=False,
    )


def seed_files_and_copies(project: Project) -> int:
    """One media file per demo clip that has none, with real bytes behind every copy.

    Each file is a tiny camera-like movie (``demo_content``) written
    to every volume where its copy is verified, so restores, drills and
    fixity checks of the demo work on real data. The last shoot day is still
    being backed up, so its clips are short of verified copies; a few copies
    of day 2 hold flipped bytes and are recorded corrupt; day 1 is complete. The copy-count
    triggers keep ``Clip.min_verified_copies`` up to date.
    """
    labels = ["RAID-01", "SHUTTLE-01", "SHUTTLE-02"]
    volumes = {v.label: v for v in project.volumes.filter(label__in=labels)}
    if len(volumes) < len(labels):
        return 0
    clips = list(project.clips.filter(files__isnull=True).select_related("day").order_by("name"))
    if not clips:
        return 0
    last_day = project.days.order_by("-number").values_list("number", flat=True).first()
    contents = [demo_content(clip.name) for clip in clips]
    files = [
        MediaFile(
            clip=clip,
            relative_path=f"{clip.reel}/{clip.name}.mov",
            size=len(content),
            xxh128=xxhash.xxh3_128(content).hexdigest(),
        )
        for clip, content in zip(clips, contents, strict=True)
    ]
    checks: dict[str, list[CopyCheck]] = {label: [] for label in labels}
    for index, (clip, media_file, content) in enumerate(zip(clips, files, contents, strict=True)):
        shot = clip.day.date if clip.day else FIRST_DAY
        proven = datetime.combine(shot + timedelta(days=1), time(7, 30), tzinfo=UTC)
        found = {"RAID-01": Found.PROVEN}
        if clip.day is not None and clip.day.number == last_day:
            found["SHUTTLE-01"] = Found.COPYING if index % 2 else Found.PROVEN
        else:
            # Day 1 is complete (the producer can sign it off); day 2 has a
            # few copies that failed a later check, so it is refused.
            bad = clip.day is not None and clip.day.number == 2 and index % 37 == 5
            found["SHUTTLE-01"] = Found.CORRUPT if bad else Found.PROVEN
            if index % 3 == 0:
                found["SHUTTLE-02"] = Found.PROVEN
        for label, outcome in found.items():
            path = demo_copy_path(project, media_file, clip.day)
            if outcome is Found.COPYING:  # unfinished copies are absent from their volume
                checks[label].append(CopyCheck(media_file=media_file, path=path, found=outcome))
                continue
            data = bytes([content[0] ^ 0xFF]) + content[1:] if outcome is Found.CORRUPT else content
            target = Path(volumes[label].location) / path
            write_demo_bytes(target, data)
            checks[label].append(
                CopyCheck(
                    media_file=media_file,
                    path=path,
                    found=outcome,
                    hash_found=xxhash.xxh3_128(target.read_bytes()).hexdigest(),  # the proof: read back
                    error="hash mismatch at the last check" if outcome is Found.CORRUPT else "",
                    checked_at=proven,
                )
            )
    with transaction.atomic():
        MediaFile.objects.bulk_create(files)
        for label, volume_checks in checks.items():
            if not volume_checks:
                continue
            copies_record(actor=None, volume=volumes[label], checks=volume_checks, source="The demo seeding")
        audit_record(
            actor=None,
            action="demo.seed_files",
            project=project,
            after={"files": len(files), "copies": sum(len(c) for c in checks.values())},
        )
    return len(files)


def demo_content(clip_name: str) -> bytes:
    """The bytes of a demo clip's file: a tiny ffmpeg-made movie of its roll, unique to the clip
    (``reelvault/demo_media.py``; stand-in bytes without ffmpeg). The same on every run, so any run
    can rewrite them."""
    return demo_media.clip_media(clip_name)


def write_demo_bytes(path: Path, data: bytes) -> None:
    """Put a copy's bytes on its volume, unless a file is already there."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

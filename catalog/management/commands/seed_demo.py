"""Create the demo project, its users (one per role), days, volumes and clips. Idempotent."""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from catalog import services
from catalog.audit import audit_record
from catalog.models import Clip, Project, ShootDay, Volume
from catalog.permissions import RoleName
from reelvault.commands import ReelvaultCommand

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

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=DEMO_CODE).first() or services.project_create(
            actor=None, code=DEMO_CODE, name="Demo Feature"
        )
        self._users(project)
        days = self._days(project, options["days"])
        self._volumes(project)
        created = self._clips(project, days, options["clips"])
        self.stdout.write(
            self.style.SUCCESS(
                f"demo project {project.code}: {len(days)} days, {project.volumes.count()} volumes, "
                f"{project.clips.count()} clips ({created} new)"
            )
        )

    def _users(self, project: Project) -> None:
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
            self.stdout.write("Demo users created. Their passwords (shown only this once):")
            for name, password in generated.items():
                self.stdout.write(f"  {name:<9} {password}")

    def _days(self, project: Project, count: int) -> list[ShootDay]:
        days = []
        for number in range(1, count + 1):
            day = project.days.filter(number=number, unit="main").first() or services.shoot_day_create(
                actor=None, project=project, number=number, day_date=FIRST_DAY + timedelta(days=number - 1)
            )
            days.append(day)
        return days

    def _volumes(self, project: Project) -> None:
        volumes_root = settings.VAR_DIR / "volumes"
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

    def _clips(self, project: Project, days: list[ShootDay], count: int) -> int:
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
                    codec="ProRes 4444 XQ",
                    resolution="4448x3096",
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

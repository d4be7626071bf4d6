"""A production with days in every state, built through the ORM (the catalog's triggers keep counts).

FILM's policy here is 3 verified copies on 2 kinds of media with 1 off-site.
Volumes: RAID-A (raid), NAS-1 (nas), RAID-B (raid), RAID-C (raid, off-site),
LTO-1 (lto, off-site), SHUTTLE-1 (shuttle, on-site), plus camera cards.

- day 1: complete. Cards A001 and B001 offloaded (completed jobs), 3 clips
  that each meet the policy. Ready to sign off.
- day 2: one clip of card A002 is short (2 of 3 copies); the camera report
  also expects C002, never offloaded.
- day 3: card A003's offload ended incomplete, a copy is corrupt, an offload
  of B003 is running, one open review item.
- day 4: nothing shot yet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.utils import timezone

from catalog.models import Clip, Copy, MediaFile, Project, ShootDay, Volume
from dashboard.models import ExpectedCard
from ingest.models import OffloadJob
from metadata.models import ReviewItem
from tests.fixtures import VolumeFactory, World

TB = 10**12


@dataclass
class Site:
    world: World
    project: Project
    days: dict[int, ShootDay]
    volumes: dict[str, Volume]
    cards: dict[str, Volume] = field(default_factory=dict)
    clips: dict[str, Clip] = field(default_factory=dict)

    def card(self, label: str) -> Volume:
        if label not in self.cards:
            self.cards[label] = VolumeFactory(
                project=self.project, label=label, kind=Volume.Kind.CARD, location=f"/cards/{label}"
            )
        return self.cards[label]

    def clip(
        self,
        name: str,
        *,
        day: int,
        card: str | None,
        copies: dict[str, str] | list[dict[str, str]],
        size: int = TB // 10,
    ) -> Clip:
        """A clip with one file per mapping in ``copies`` (volume label -> copy state)."""
        per_file = copies if isinstance(copies, list) else [copies]
        card_volume = self.card(card) if card else None
        clip = Clip.objects.create(
            project=self.project,
            day=self.days[day],
            card=card_volume,
            name=name,
            reel=name[:4],
            camera=name[0],
        )
        for index, states in enumerate(per_file):
            digest = hashlib.blake2b(f"{name}/{index}".encode(), digest_size=16).hexdigest()
            media_file = MediaFile.objects.create(
                clip=clip, card=card_volume, relative_path=f"{name}_{index}.mov", size=size, xxh128=digest
            )
            for label, state in states.items():
                volume = self.volumes.get(label) or self.card(label)
                verified = state == Copy.State.VERIFIED
                Copy.objects.create(
                    media_file=media_file,
                    volume=volume,
                    path=f"{name}/{index}.mov",
                    state=state,
                    hash_found=digest if verified else "",
                    verified_at=timezone.now() if verified else None,
                )
        self.clips[name] = clip
        return clip

    def job(self, card: str, *, day: int, state: str, **fields: object) -> OffloadJob:
        return OffloadJob.objects.create(
            project=self.project,
            card=self.card(card),
            label=card,
            source_path=f"/cards/{card}",
            host="testhost",
            day=self.days[day],
            state=state,
            **fields,
        )


FULL = {"RAID-A": "verified", "NAS-1": "verified", "LTO-1": "verified"}


def build_site(world: World, *, days: int = 4) -> Site:
    project = world.project
    project.required_copies, project.required_media_kinds, project.required_offsite = 3, 2, 1
    project.save()
    world.volume.delete()  # the world's RAID-A, recreated below with the others
    volumes = {
        "RAID-A": VolumeFactory(project=project, label="RAID-A", kind=Volume.Kind.RAID),
        "NAS-1": VolumeFactory(project=project, label="NAS-1", kind=Volume.Kind.NAS),
        "RAID-B": VolumeFactory(project=project, label="RAID-B", kind=Volume.Kind.RAID),
        "RAID-C": VolumeFactory(project=project, label="RAID-C", kind=Volume.Kind.RAID, offsite=True),
        "LTO-1": VolumeFactory(project=project, label="LTO-1", kind=Volume.Kind.LTO, offsite=True),
        "SHUTTLE-1": VolumeFactory(project=project, label="SHUTTLE-1", kind=Volume.Kind.SHUTTLE),
    }
    first = date(2026, 11, 2)
    shoot_days = {
        n: ShootDay.objects.create(project=project, number=n, date=first + timedelta(days=n - 1))
        for n in range(1, days + 1)
    }
    site = Site(world=world, project=project, days=shoot_days, volumes=volumes)
    # Day 1: complete.
    site.job("A001", day=1, state="completed", safe_to_format=True, source_bytes_read=2 * TB // 10)
    site.job("B001", day=1, state="completed", safe_to_format=True, source_bytes_read=TB // 10)
    site.clip("A001C001", day=1, card="A001", copies=FULL)
    site.clip("A001C002", day=1, card="A001", copies=[FULL, FULL])
    site.clip("B001C001", day=1, card="B001", copies=FULL)
    if days < 2:
        return site
    # Day 2: one clip short of copies, a card still to come.
    site.job("A002", day=2, state="completed", safe_to_format=True)
    site.clip("A002C001", day=2, card="A002", copies=FULL)
    site.clip("A002C002", day=2, card="A002", copies={"RAID-A": "verified", "LTO-1": "verified"})
    ExpectedCard.objects.create(day=shoot_days[2], label="A2", camera="A", clips=2)
    ExpectedCard.objects.create(day=shoot_days[2], label="C002", camera="C", clips=4)
    if days < 3:
        return site
    # Day 3: an incomplete offload, a corrupt copy, an offload running, an open review item.
    site.job("A003", day=3, state="incomplete", error="", summary={"not_safe_reasons": ["x"]})
    site.job("B003", day=3, state="running", bytes_done=250, bytes_total=1000)
    bad = site.clip(
        "A003C001", day=3, card="A003", copies={"RAID-A": "verified", "NAS-1": "corrupt", "LTO-1": "failed"}
    )
    ReviewItem.objects.create(
        project=project,
        clip=bad,
        kind="required",
        fingerprint=f"clip:{bad.pk}:required:scene",
        message="no scene",
    )
    return site


@pytest.fixture
def site(world: World) -> Site:
    return build_site(world)

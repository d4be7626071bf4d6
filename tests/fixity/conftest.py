"""Fixity fixtures: a project whose files have verified copies, as real files, on a RAID and a shuttle."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.models import Clip, Copy, MediaFile, Volume
from tests.copyengine.conftest import flip_byte, xxh128_bytes
from tests.fixtures import ClipFactory, ShootDayFactory, VolumeFactory, World
from tests.restore.conftest import Workers, wait_for, workers

# Shared with the restore and copy-engine tests (workers: real Celery workers on our host's queue).
__all__ = ["Workers", "flip_byte", "wait_for", "workers", "xxh128_bytes"]

PROVEN_AT = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)


@dataclass
class Vault:
    """Files of card A001 with verified copies on a hot RAID and a warm shuttle (both folders here)."""

    world: World
    root: Path
    host: str
    raid: Volume
    shuttle: Volume
    card: Volume
    files: list[MediaFile] = field(default_factory=list)
    content: dict[int, bytes] = field(default_factory=dict)

    def path(self, media_file: MediaFile, volume: Volume) -> Path:
        return Path(volume.location) / Copy.objects.get(media_file=media_file, volume=volume).path

    def copy(self, media_file: MediaFile, volume: Volume) -> Copy:
        return Copy.objects.get(media_file=media_file, volume=volume)


def add_volume_copies(vault: Vault, volume: Volume) -> None:
    for media_file in vault.files:
        path = Path(volume.location) / vault.card.label / media_file.relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(vault.content[media_file.pk])
        Copy.objects.create(
            media_file=media_file,
            volume=volume,
            path=f"{vault.card.label}/{media_file.relative_path}",
            state=Copy.State.VERIFIED,
            hash_found=media_file.xxh128,
            verified_at=PROVEN_AT,
        )


def build_vault(
    world: World, root: Path, *, host: str, sizes: tuple[int, ...] = (300_000, 70_000, 150_000, 5)
) -> Vault:
    raid = world.volume
    raid.location, raid.host, raid.tier = str(root / "raid"), host, Volume.Tier.HOT
    raid.save()
    shuttle = VolumeFactory(
        project=world.project,
        label="SHUTTLE-A",
        kind=Volume.Kind.SHUTTLE,
        tier=Volume.Tier.WARM,
        host=host,
        location=str(root / "shuttle"),
    )
    card = VolumeFactory(
        project=world.project, label="A001", kind=Volume.Kind.CARD, host=host, location="/cards/A001"
    )
    day = ShootDayFactory(project=world.project, number=1)
    vault = Vault(world, root, host, raid, shuttle, card)
    clips: list[Clip] = []
    for index, size in enumerate(sizes):
        clip = ClipFactory(project=world.project, day=day, card=card, name=f"A001C{index + 1:03d}_X")
        clips.append(clip)
        data = os.urandom(size)
        media_file = MediaFile.objects.create(
            clip=clip,
            card=card,
            relative_path=f"{clip.name}/{clip.name}.mov",
            size=size,
            mtime=PROVEN_AT,
            xxh128=xxh128_bytes(data),
        )
        vault.files.append(media_file)
        vault.content[media_file.pk] = data
    for volume in (raid, shuttle):
        Path(volume.location).mkdir(parents=True)
        add_volume_copies(vault, volume)
    return vault


@pytest.fixture
def host(settings: object) -> str:
    name = f"fx-{uuid.uuid4().hex[:8]}"
    settings.REELVAULT_HOSTNAME = name  # type: ignore[attr-defined]
    return name


@pytest.fixture
def vault(world: World, tmp_path: Path, host: str) -> Vault:
    return build_vault(world, tmp_path / "media", host=host)

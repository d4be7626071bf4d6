"""Protection fixtures: real files on a hot RAID, destination volumes and groups, moto, workers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Clip, Copy, MediaFile, Volume
from protection.models import ReplicationRule, VolumeGroup
from tests.copyengine.conftest import flip_byte, s3_endpoint, xxh128_bytes
from tests.fixtures import ClipFactory, ShootDayFactory, VolumeFactory, World
from tests.restore.conftest import Workers, wait_for, xxh128_file

__all__ = ["Workers", "flip_byte", "s3_endpoint", "wait_for", "xxh128_file"]  # shared with the tests here

MTIME = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)


@dataclass
class Footage:
    world: World
    root: Path
    host: str
    raid: Volume
    card: Volume
    clips: list[Clip] = field(default_factory=list)
    files: list[MediaFile] = field(default_factory=list)
    content: dict[int, bytes] = field(default_factory=dict)

    def volume(self, label: str, kind: str, tier: str, **kw: Any) -> Volume:
        folder = self.root / label.lower()
        folder.mkdir(parents=True, exist_ok=True)
        defaults: dict[str, Any] = {"health": "healthy", "host": self.host, "location": str(folder)}
        return VolumeFactory(
            project=self.world.project, label=label, kind=kind, tier=tier, **{**defaults, **kw}
        )

    def place(self, volume: Volume) -> None:
        """Write every file to the volume and record a verified copy there."""
        for media_file in self.files:
            path = Path(volume.location) / self.card.label / media_file.relative_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.content[media_file.pk])
            Copy.objects.create(
                media_file=media_file,
                volume=volume,
                path=f"{self.card.label}/{media_file.relative_path}",
                state=Copy.State.VERIFIED,
                hash_found=media_file.xxh128,
                verified_at=MTIME,
            )

    def group(self, name: str, *volumes: Volume) -> VolumeGroup:
        group = VolumeGroup.objects.create(project=self.world.project, name=name)
        group.volumes.set(volumes)
        return group

    def rule(self, destination: VolumeGroup, *, tier: str = "hot") -> ReplicationRule:
        return ReplicationRule.objects.create(
            project=self.world.project, source_tier=tier, destination=destination
        )


def build_footage(world: World, root: Path, *, host: str, sizes: list[list[int]] | None = None) -> Footage:
    sizes = sizes or [[300_000, 70_000], [150_000]]
    raid = world.volume
    raid.location, raid.host, raid.tier, raid.health, raid.site = (
        str(root / "raid"),
        host,
        Volume.Tier.HOT,
        "healthy",
        "set cart",
    )
    raid.save()
    card = VolumeFactory(
        project=world.project, label="A001", kind=Volume.Kind.CARD, host=host, location="/c/A001"
    )
    day = ShootDayFactory(project=world.project, number=1)
    footage = Footage(world, root, host, raid, card)
    for index, file_sizes in enumerate(sizes):
        clip = ClipFactory(
            project=world.project, day=day, card=card, scene="42", name=f"A001C{index + 1:03d}_X"
        )
        footage.clips.append(clip)
        for number, size in enumerate(file_sizes):
            data = os.urandom(size)
            relpath = f"{clip.name}/{clip.name}_{number}.mov"
            media_file = MediaFile.objects.create(
                clip=clip, card=card, relative_path=relpath, size=size, mtime=MTIME, xxh128=xxh128_bytes(data)
            )
            footage.files.append(media_file)
            footage.content[media_file.pk] = data
    footage.place(raid)
    return footage


@pytest.fixture
def host(settings: Any) -> str:
    """A host name of our own, so our jobs go to a queue no other test run consumes."""
    name = f"pt-{uuid.uuid4().hex[:8]}"
    settings.REELVAULT_HOSTNAME = name
    return name


@pytest.fixture
def footage(world: World, tmp_path: Path, host: str) -> Footage:
    return build_footage(world, tmp_path / "media", host=host)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client for the test, and the same endpoint and credentials for the code (boto3's own settings)."""
    boto3 = pytest.importorskip("boto3")
    for name, value in {
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def workers(transactional_db: None, host: str, tmp_path: Path) -> Iterator[Workers]:
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir()
    pool = Workers(host, log_dir)
    try:
        yield pool
    finally:
        for worker in pool.started:
            if worker.process.poll() is None:
                worker.process.terminate()
                try:
                    worker.process.wait(timeout=20)
                except Exception:
                    worker.kill()

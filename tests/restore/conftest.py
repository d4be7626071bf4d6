"""Restore fixtures: real files on disk for every copy, restore targets, a real worker on a private queue."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xxhash

from catalog.models import Clip, Copy, MediaFile, Volume
from restore.models import RestoreTarget
from tests.copyengine.conftest import flip_byte, partial_files, tmpfs, xxh128_bytes
from tests.fixtures import ClipFactory, ShootDayFactory, VolumeFactory, WorkerProcess, World, start_worker

ASCMHL_DEBUG = Path(__file__).resolve().parents[2] / ".venv-tools" / "bin" / "ascmhl-debug"
MTIME = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)

__all__ = ["flip_byte", "partial_files", "tmpfs", "xxh128_bytes"]  # used by the tests here


def xxh128_file(path: Path) -> str:
    hasher = xxhash.xxh3_128()
    with path.open("rb") as stream:
        while chunk := stream.read(4 * 1024 * 1024):
            hasher.update(chunk)
    return hasher.hexdigest()


@dataclass
class Media:
    """A project with real media: each file has a verified copy on a hot RAID and a warm shuttle."""

    world: World
    root: Path
    host: str
    raid: Volume
    shuttle: Volume
    card: Volume
    targets: dict[str, RestoreTarget]
    clips: list[Clip]
    files: list[MediaFile] = field(default_factory=list)
    content: dict[int, bytes] = field(default_factory=dict)

    def copy_path(self, media_file: MediaFile, volume: Volume) -> Path:
        copy = Copy.objects.get(media_file=media_file, volume=volume)
        return Path(volume.location) / copy.path

    def restored(self, folder: str, media_file: MediaFile, target: str = "editorial") -> Path:
        return Path(self.targets[target].path) / folder / self.card.label / media_file.relative_path


def build_media(world: World, root: Path, *, host: str, sizes: list[list[int]] | None = None) -> Media:
    """Clips of scene 42 on day 1, their files written to disk on two volumes with verified copies."""
    sizes = sizes or [[300_000, 70_000], [150_000]]
    raid = world.volume
    raid.location, raid.host, raid.tier, raid.health = str(root / "raid"), host, Volume.Tier.HOT, "healthy"
    raid.save()
    shuttle = VolumeFactory(
        project=world.project,
        label="SHUTTLE-A",
        kind=Volume.Kind.SHUTTLE,
        tier=Volume.Tier.WARM,
        health="healthy",
        host=host,
        location=str(root / "shuttle"),
    )
    card = VolumeFactory(
        project=world.project, label="A001", kind=Volume.Kind.CARD, host=host, location="/cards/A001"
    )
    day = ShootDayFactory(project=world.project, number=1)
    targets = {}
    for name in ("editorial", "vfx", "scratch"):
        folder = root / "targets" / name
        folder.mkdir(parents=True)
        targets[name] = RestoreTarget.objects.create(
            project=world.project, name=name, host=host, path=str(folder), scratch=name == "scratch"
        )
    media = Media(world, root, host, raid, shuttle, card, targets, clips=[])
    for index, file_sizes in enumerate(sizes):
        clip = ClipFactory(
            project=world.project, day=day, card=card, scene="42", name=f"A001C{index + 1:03d}_X"
        )
        media.clips.append(clip)
        for number, size in enumerate(file_sizes):
            data = os.urandom(size)
            relpath = f"{clip.name}/{clip.name}_{number}.mov"
            media_file = MediaFile.objects.create(
                clip=clip, card=card, relative_path=relpath, size=size, mtime=MTIME, xxh128=xxh128_bytes(data)
            )
            media.files.append(media_file)
            media.content[media_file.pk] = data
            for volume in (raid, shuttle):
                path = Path(volume.location) / card.label / relpath
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                Copy.objects.create(
                    media_file=media_file,
                    volume=volume,
                    path=f"{card.label}/{relpath}",
                    state=Copy.State.VERIFIED,
                    hash_found=media_file.xxh128,
                    verified_at=MTIME,
                )
    return media


@pytest.fixture
def host(settings: object) -> str:
    """A host name of our own, so our jobs go to a queue no other test run consumes."""
    name = f"rt-{uuid.uuid4().hex[:8]}"
    settings.REELVAULT_HOSTNAME = name  # type: ignore[attr-defined]
    return name


@pytest.fixture
def media(world: World, tmp_path: Path, host: str) -> Media:
    return build_media(world, tmp_path / "media", host=host)


@dataclass
class Workers:
    host: str
    log_dir: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def start(self) -> WorkerProcess:
        worker = start_worker(self.host, str(self.log_dir / f"worker{len(self.started)}.log"))
        self.started.append(worker)
        return worker

    def kill(self, worker: WorkerProcess) -> None:
        worker.kill()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def workers(transactional_db: None, host: str, tmp_path: Path) -> Iterator[Workers]:
    """Real `celery worker` processes consuming host.<our host>, started on demand."""
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
                except subprocess.TimeoutExpired:
                    worker.kill()


def wait_for(predicate: Callable[[], bool], *, timeout: float = 60, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {message or predicate}")

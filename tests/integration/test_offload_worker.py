"""Offloads started through the API run on a real Celery worker; a worker killed mid-offload is resumed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from catalog.models import Copy, MediaFile, Volume
from ingest import services
from ingest.models import OffloadJob
from tests.fixtures import WorkerProcess, World, start_worker
from tests.ingest.conftest import partial_files, write_card, xxh128_file

pytestmark = pytest.mark.integration

OLD_NS = 1_600_000_000_000_000_000  # a folder time that is clearly not now


def wait_for(job_id: int, predicate: str, timeout: float = 120) -> OffloadJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = OffloadJob.objects.get(pk=job_id)
        if predicate == "finished" and job.state in OffloadJob.FINISHED:
            return job
        if predicate == "copying" and job.state == OffloadJob.State.RUNNING and job.files_done >= 2:
            return job
        time.sleep(0.1)
    raise AssertionError(
        f"offload {job_id} did not reach {predicate!r} in {timeout} s: {job.state} {job.error}"
    )


def volumes(world: World, tmp_path: Path) -> list[Volume]:
    result = []
    for label in ("RAID-1", "SHUTTLE-1"):
        folder = tmp_path / label.lower()
        folder.mkdir()
        result.append(
            Volume.objects.create(
                project=world.project,
                label=label,
                kind=Volume.Kind.RAID,
                location=str(folder),
                host=settings.REELVAULT_HOSTNAME,
            )
        )
    return result


def test_dit_starts_an_offload_through_the_api_and_a_worker_verifies_it(
    world: World, celery_worker_proc: WorkerProcess, tmp_path: Path
) -> None:
    cards = tmp_path / "cards"
    card = write_card(
        cards / "B001", {f"B001C00{i}_261102_R2CD.mov": os.urandom(200_000 + i) for i in range(1, 6)}
    )
    raid, shuttle = volumes(world, tmp_path)
    with override_settings(REELVAULT_INGEST_ROOTS=[cards]):
        response = world.client("dit").post(
            "/api/offloads/",
            {
                "project": "FILM",
                "source": str(card),
                "destinations": ["RAID-1", "SHUTTLE-1"],
                "hashes": ["md5"],
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    job = wait_for(response.json()["id"], "finished")
    assert job.state == OffloadJob.State.COMPLETED and job.safe_to_format, job.summary
    for media_file in MediaFile.objects.filter(card__label="B001"):
        assert media_file.xxh128 == xxh128_file(card / media_file.relative_path)
        assert set(media_file.copies.values_list("volume__label", "state")) == {
            ("RAID-1", "verified"),
            ("SHUTTLE-1", "verified"),
        }
    detail = world.client("producer").get(f"/api/offloads/{job.pk}/").json()
    assert detail["state"] == "completed" and detail["safe_to_format"] is True
    page = world.client("dit").get(f"/offloads/{job.pk}/").content.decode()
    assert "SAFE TO FORMAT" in page.upper()
    assert (Path(raid.location) / "B001" / "ascmhl" / "ascmhl_chain.xml").exists()
    assert (Path(shuttle.location) / "B001" / "ascmhl" / "ascmhl_chain.xml").exists()


def test_a_worker_killed_mid_offload_is_resumed_without_recopying_finished_batches(
    world: World, transactional_db: None, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Small batches so some are final before the kill; a short stale time so
    # the dead runner is noticed quickly.
    # Progress written at every engine report, so the test sees files done while the job runs.
    env = {
        "REELVAULT_OFFLOAD_BATCH_MB": "16",
        "REELVAULT_JOB_STALE_SECONDS": "2",
        "REELVAULT_OFFLOAD_PROGRESS_MS": "0",
    }
    os.environ.update(env)
    log = str(tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        files = {f"C001C{i:03d}_261102_R3EF.mov": os.urandom(8 * 1024 * 1024) for i in range(1, 25)}
        card = write_card(tmp_path / "cards" / "C001", files)
        (card / "XDROOT" / "Edit").mkdir(parents=True)  # empty folders the camera needs
        os.utime(card / "XDROOT" / "Edit", ns=(OLD_NS, OLD_NS))
        os.utime(card / "XDROOT", ns=(OLD_NS, OLD_NS))
        destinations = volumes(world, tmp_path)
        first = start_worker(settings.REELVAULT_HOSTNAME, log)
        job = services.offload_job_create(
            actor=world.users["dit"],
            project=world.project,
            source=card,
            destinations=destinations,
            within_ingest_roots=False,
        )
        try:
            wait_for(job.pk, "copying")
        finally:
            first.kill()  # also when the wait failed: a live worker would take later tests' jobs
        second = start_worker(settings.REELVAULT_HOSTNAME, log)
        try:
            time.sleep(2.5)
            with override_settings(REELVAULT_JOB_STALE_SECONDS=2):
                assert services.offload_jobs_recover() == [job.pk]
            job = wait_for(job.pk, "finished", timeout=180)
        finally:
            second.process.terminate()
            second.process.wait(timeout=30)
    finally:
        for name in env:
            os.environ.pop(name, None)
    assert job.state == OffloadJob.State.COMPLETED, job.summary
    assert job.safe_to_format
    card_bytes = sum(len(data) for data in files.values())
    for summary in job.summary["destinations"].values():
        # The resumed run wrote only what the killed one had not finished.
        assert summary["bytes_written"] < card_bytes
    for volume in destinations:
        assert not partial_files(Path(volume.location))
        for name, data in files.items():
            assert (Path(volume.location) / "C001" / name).read_bytes() == data
        for folder in ("XDROOT", "XDROOT/Edit"):  # made, and dated as on the card, after the resume too
            assert (Path(volume.location) / "C001" / folder).stat().st_mtime_ns == OLD_NS
    assert Copy.objects.filter(state=Copy.State.VERIFIED, media_file__card__label="C001").count() == 2 * len(
        files
    )
    assert job.attempts == 2

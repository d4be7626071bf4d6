"""A preset starts an offload on its own when a card appears, on a real worker; pause and resume on it too."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import Copy, Volume
from ingest import presets
from ingest.models import CardSighting, OffloadJob, OffloadPreset
from ingest.tasks import cards_watch_task
from tests.fixtures import World, local_volumes, start_worker
from tests.ingest.conftest import write_card

pytestmark = pytest.mark.integration


def wait_until(what: str, predicate: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def dests(world: World, tmp_path: Path) -> list[Volume]:
    return local_volumes(world.project, tmp_path)


def test_a_new_card_is_offloaded_by_the_preset_once_on_a_host_that_opts_in(
    transactional_db: None, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    volumes = dests(world, tmp_path)
    presets.offload_preset_save(
        actor=world.users["dit"],
        project=world.project,
        destinations=volumes,
        algorithms=["md5"],
        folder_template="{project}/Day{day:03}/{card}",
        day_rule="recorded",
        auto_start=True,
    )
    # The worker is this host with auto offload on; this test process keeps it off.
    monkeypatch.setenv("REELVAULT_INGEST_ROOTS", str(cards))
    monkeypatch.setenv("REELVAULT_AUTO_OFFLOAD", "1")
    worker = start_worker(settings.REELVAULT_HOSTNAME, str(tmp_path / "worker.log"))
    try:
        assert presets.cards_watch_dispatch() == [settings.REELVAULT_HOSTNAME]
        time.sleep(1)
        assert not OffloadJob.objects.exists()  # no card yet: nothing to start

        write_card(cards / "A001", {f"A001C00{i}_261102_R1AB.mov": os.urandom(150_000 + i) for i in range(3)})
        presets.cards_watch_dispatch()
        wait_until("an offload of A001", lambda: OffloadJob.objects.filter(label="A001").exists())
        job = OffloadJob.objects.get(label="A001")
        wait_until(
            "the offload to finish", lambda: OffloadJob.objects.get(pk=job.pk).state in OffloadJob.FINISHED
        )
        job.refresh_from_db()
        assert job.state == OffloadJob.State.COMPLETED, (job.error, job.summary)
        assert job.preset == OffloadPreset.objects.get(project=world.project) and job.created_by is None
        assert job.folder == "FILM/Day001/A001" and "md5" in job.algorithms
        assert Copy.objects.filter(state="verified", path__startswith="FILM/Day001/A001/").count() == 6

        # The same card still mounted, and asked twice more: never a second offload.
        cards_watch_task.apply_async(
            args=[settings.REELVAULT_HOSTNAME], queue=f"host.{settings.REELVAULT_HOSTNAME}"
        )
        presets.cards_watch_dispatch()
        time.sleep(3)
        assert OffloadJob.objects.filter(label="A001").count() == 1
        assert CardSighting.objects.filter(label="A001").count() == 1
    finally:
        worker.kill()


def test_offloads_queued_on_one_host_run_in_turn_and_a_paused_one_resumes(
    transactional_db: None, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import services

    cards = tmp_path / "cards"
    volumes = dests(world, tmp_path)
    for label in ("B001", "B002", "B003"):
        write_card(cards / label, {f"{label}C001_261102_R1AB.mov": os.urandom(400_000)})
    monkeypatch.setattr(settings, "REELVAULT_INGEST_ROOTS", [cards])
    jobs = [
        services.offload_job_create(
            actor=world.users["dit"],
            project=world.project,
            source=cards / label,
            destinations=volumes,
            enqueue=False,
        )
        for label in ("B001", "B002", "B003")
    ]
    services.offload_job_pause(actor=world.users["dit"], job=jobs[1])  # queued: paused at once
    for job in jobs:
        services._offload_job_enqueue(job_id=job.pk, queue=f"host.{settings.REELVAULT_HOSTNAME}")
    worker = start_worker(settings.REELVAULT_HOSTNAME, str(tmp_path / "worker.log"))
    try:
        first, third = jobs[0].pk, jobs[2].pk
        wait_until(
            "B001 and B003 to finish",
            lambda: (
                set(OffloadJob.objects.filter(pk__in=[first, third]).values_list("state", flat=True))
                == {"completed"}
            ),
        )
        runs = OffloadJob.objects.filter(pk__in=[first, third]).order_by("started_at")
        earlier, later = list(runs)
        assert earlier.finished_at is not None and later.started_at is not None
        assert later.started_at >= earlier.finished_at  # one after the other, never side by side
        assert OffloadJob.objects.get(pk=jobs[1].pk).state == OffloadJob.State.PAUSED
        services.offload_job_resume(actor=world.users["dit"], job=jobs[1])
        wait_until("B002 to finish", lambda: OffloadJob.objects.get(pk=jobs[1].pk).state == "completed")
    finally:
        worker.kill()

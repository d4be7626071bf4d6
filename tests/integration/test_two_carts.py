"""Two carts, one catalog (issue 12, point 10): jobs run on the host that mounts their folders.

Two real Celery workers with different ``REELVAULT_HOSTNAME``s share the
test database and broker, each consuming its own ``host.<name>`` queue (plus
``default``) and allowed to write only under its own folders
(``REELVAULT_VOLUME_ROOTS``/``REELVAULT_RESTORE_ROOTS`` of that worker). Which
worker ran a job is read from the workers' own logs and from the audit log,
never assumed.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from catalog.models import AuditEvent, Volume
from ingest.models import OffloadJob
from restore.models import RestoreRequest
from tests.fixtures import WorkerProcess, World, start_worker
from tests.ingest.conftest import write_card
from tests.restore.conftest import build_media, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Cart:
    """One host: its name, its folders, its worker and the worker's log."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.log = root.parent / f"{name}.log"
        self.worker: WorkerProcess | None = None

    def start(self, settings: Any) -> None:
        # The worker inherits these roots (tests.fixtures.child_env): it may write only under its own folders.
        saved = settings.REELVAULT_VOLUME_ROOTS, settings.REELVAULT_RESTORE_ROOTS
        settings.REELVAULT_VOLUME_ROOTS = settings.REELVAULT_RESTORE_ROOTS = [self.root]
        try:
            self.worker = start_worker(self.name, str(self.log))
        finally:
            settings.REELVAULT_VOLUME_ROOTS, settings.REELVAULT_RESTORE_ROOTS = saved

    def ran(self, task: str) -> bool:
        return self.log.exists() and f"Task {task}[" in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.worker is not None and self.worker.process.poll() is None:
            self.worker.process.terminate()
            try:
                self.worker.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()


@pytest.fixture
def carts(tmp_path: Path, settings: Any) -> Iterator[tuple[Cart, Cart]]:
    settings.REELVAULT_HOSTNAME = f"web-{uuid.uuid4().hex[:6]}"  # the web server mounts nothing
    tag = uuid.uuid4().hex[:6]
    a, b = Cart(f"cart-a-{tag}", tmp_path / "a"), Cart(f"cart-b-{tag}", tmp_path / "b")
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _offload_b_card(world: World, b: Cart, label: str, destination: str = "RAID-B") -> int:
    card = write_card(
        b.root / "cards" / label, {f"{label}C00{i}_261102_R1AB.mov": os.urandom(50_000) for i in (1, 2)}
    )
    Volume.objects.get_or_create(
        project=world.project,
        label=label,
        defaults={"kind": Volume.Kind.CARD, "host": b.name, "location": str(card)},
    )
    with override_settings(REELVAULT_INGEST_ROOTS=[b.root / "cards"]):
        response = world.client("dit").post(
            "/api/offloads/",
            {"project": "FILM", "source": str(card), "destinations": [destination]},
            format="json",
        )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def _restore_to_a(world: World) -> int:
    response = world.client("editor").post(
        "/api/restores/", {"clips": {"scene": "42"}, "target": "editorial", "reason": "cut"}, format="json"
    )
    assert response.status_code == 201, response.content
    restore_id = int(response.json()["id"])
    approved = world.client("admin").post(f"/api/restores/{restore_id}/approve/", {"comment": "ok"})
    assert approved.status_code == 200, approved.content
    return restore_id


def _finished_offload(job_id: int) -> bool:
    return OffloadJob.objects.get(pk=job_id).state in OffloadJob.FINISHED


def _finished_restore(restore_id: int) -> bool:
    return RestoreRequest.objects.get(pk=restore_id).state in RestoreRequest.FINISHED


def test_each_job_runs_on_the_cart_that_mounts_it_and_a_dead_cart_holds_only_its_own(
    world: World, carts: tuple[Cart, Cart], settings: Any
) -> None:
    a, b = carts
    media = build_media(world, a.root, host=a.name)  # copies on cart A's RAID and shuttle, its targets
    media.targets["editorial"].refresh_from_db()
    assert media.targets["editorial"].host == a.name
    (b.root / "raid").mkdir(parents=True)
    Volume.objects.create(
        project=world.project,
        label="RAID-B",
        kind=Volume.Kind.RAID,
        host=b.name,
        location=str(b.root / "raid"),
    )
    a.start(settings)
    b.start(settings)

    # 1. An offload of B's card runs on B only; a restore to A's target on A only.
    job_id = _offload_b_card(world, b, "B001")
    restore_id = _restore_to_a(world)
    wait_for(lambda: _finished_offload(job_id), timeout=120, message="offload on cart B")
    wait_for(lambda: _finished_restore(restore_id), timeout=120, message="restore on cart A")
    job = OffloadJob.objects.get(pk=job_id)
    assert job.state == "incomplete" or job.state == "completed", (job.error, job.summary)
    assert job.host == b.name and (b.root / "raid" / "B001" / "B001C001_261102_R1AB.mov").exists()
    assert b.ran("ingest.offload_job_run") and not a.ran("ingest.offload_job_run")
    restore = RestoreRequest.objects.get(pk=restore_id)
    assert restore.state == "verified", restore.error
    assert a.ran("restore.restore_request_run") and not b.ran("restore.restore_request_run")
    start = AuditEvent.objects.get(action="restore.start", object_id=str(restore_id))
    assert start.after["host"] == a.name

    # A job routed to B for a volume only A mounts is refused by B: it writes only under its own folders.
    crossed = _offload_b_card(world, b, "B003", destination="RAID-A")
    wait_for(lambda: _finished_offload(crossed), timeout=120, message="offload to A's RAID on cart B")
    refused = OffloadJob.objects.get(pk=crossed)
    assert refused.state == "failed" and "outside this host's volume roots" in refused.error
    assert not (a.root / "raid" / "B003").exists()

    # 2. Cart B dies: its new job waits in its queue, while cart A's jobs go on.
    assert b.worker is not None
    b.worker.kill()
    waiting = _offload_b_card(world, b, "B002")
    second = _restore_to_a(world)
    wait_for(lambda: _finished_restore(second), timeout=120, message="second restore on cart A")
    assert RestoreRequest.objects.get(pk=second).state == "verified"
    time.sleep(2)  # give a wrongly routed job every chance to be picked up by A
    assert OffloadJob.objects.get(pk=waiting).state == "queued"
    assert not (b.root / "raid" / "B002").exists()
    assert not a.ran("ingest.offload_job_run")

    # 3. Cart B comes back: the job that waited for it runs there.
    b.log.rename(b.log.with_suffix(".first.log"))
    b.start(settings)
    wait_for(lambda: _finished_offload(waiting), timeout=120, message="offload after cart B came back")
    assert (b.root / "raid" / "B002" / "B002C001_261102_R1AB.mov").exists()
    assert b.ran("ingest.offload_job_run") and not a.ran("ingest.offload_job_run")

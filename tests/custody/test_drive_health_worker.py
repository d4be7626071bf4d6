"""Beat's dispatch reaches a real worker on this cart's host queue, which reads the fake smartctl."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from alerts.models import Alert
from catalog.models import Volume
from custody import services
from custody.models import SmartReading, VolumeRecord
from tests.custody.conftest import FakeSmartctl, queue_purge
from tests.fixtures import VolumeFactory, World, start_worker


def test_the_host_worker_reads_a_failing_raid_and_raises_the_alert(
    transactional_db: None,
    world: World,
    drive: Path,
    tmp_path: Path,
    fake_smartctl: FakeSmartctl,
    samples: Path,
) -> None:
    # A cart name of its own, so no other worker consumes its queue.
    cart = f"cart-{uuid.uuid4().hex[:8]}"
    device = tmp_path / "dev-sdc"
    device.touch()
    raid = VolumeFactory(
        project=world.project, label="RAID-01", host=cart, location=str(drive), health="healthy"
    )
    VolumeRecord.objects.create(
        volume=raid, project=world.project, identifier="FILM-RD-001", device=str(device)
    )
    fake_smartctl(samples / "smartctl" / "scrutiny_smart-fail2.json", exit_code=216)  # inherited PATH
    worker = start_worker(cart, str(tmp_path / "worker.log"))
    try:
        assert cart in services.drive_health_dispatch()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not SmartReading.objects.filter(volume=raid).exists():
            time.sleep(0.2)
    finally:
        worker.process.terminate()
        worker.process.wait(timeout=30)
        queue_purge(f"host.{world.volume.host}")  # the fixture's RAID lives on a host no worker serves

    reading = SmartReading.objects.get(volume=raid)
    assert (reading.host, reading.verdict) == (cart, "failing")
    assert Volume.objects.get(pk=raid.pk).health == "failing"
    assert Alert.objects.get(kind="drive.failing").project == world.project

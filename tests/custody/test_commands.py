"""Commands: the demo's custody data, and reading drive health now on this host."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command

from alerts.models import Alert
from catalog.models import Volume
from custody.identity import IDENTITY_FILE
from custody.models import Handoff, SmartReading, VolumeRecord
from tests.custody.conftest import FakeSmartctl
from tests.fixtures import VolumeFactory, World


def test_seed_demo_registers_identifiers_handoffs_and_health_once(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_INGEST_ROOTS = [tmp_path / "cards"]
    settings.REELVAULT_DEMO_PASSWORD = "demo-password-for-tests"
    for _ in range(2):
        call_command("seed_demo", "--clips", "4", "--days", "1", stdout=StringIO())

    records = {r.volume.label: r for r in VolumeRecord.objects.select_related("volume")}
    assert {label: r.identifier for label, r in records.items()} == {
        "RAID-01": "DEMO-RD-001",
        "SHUTTLE-01": "DEMO-SH-001",
        "SHUTTLE-02": "DEMO-SH-002",
    }
    identity = json.loads((Path(records["SHUTTLE-02"].volume.location) / IDENTITY_FILE).read_text())
    assert identity["identifier"] == "DEMO-SH-002"
    assert sorted(Handoff.objects.values_list("state", flat=True)) == ["in_transit", "received"]
    assert dict(
        Volume.objects.filter(label__in=["RAID-01", "SHUTTLE-01"]).values_list("label", "health")
    ) == {
        "RAID-01": "healthy",
        "SHUTTLE-01": "warning",
    }
    assert SmartReading.objects.count() == 2
    assert Alert.objects.filter(kind="drive.warning").count() == 1


def test_drive_health_reads_this_hosts_drives_now(
    world: World, drive: Path, tmp_path: Path, fake_smartctl: FakeSmartctl, samples: Path, settings: Any
) -> None:
    device = tmp_path / "dev-sdb"
    device.touch()
    volume = VolumeFactory(
        project=world.project, label="RAID-01", host=settings.REELVAULT_HOSTNAME, location=str(drive)
    )
    VolumeRecord.objects.create(
        volume=volume, project=world.project, identifier="FILM-RD-001", device=str(device)
    )
    fake_smartctl(samples / "smartctl" / "exporter_SEAGATE_ST373453LC_26.json")
    out = StringIO()

    call_command("drive_health", stdout=out)

    assert "RAID-01: failing" in out.getvalue()
    assert "536 uncorrected SCSI read/write/verify errors" in out.getvalue()
    assert Volume.objects.get(pk=volume.pk).health == "failing"

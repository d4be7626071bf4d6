"""Drive health: the host's check runs a (fake) smartctl on PATH, stores readings, sets health, alerts.

The check is called the way the host's worker calls it (``drive_health_check``
with this host's name); ``test_drive_health_worker.py`` runs it in a real worker.
Outputs are the real smartctl JSON files in ../shared/samples/smartctl/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from alerts.models import Alert
from catalog.models import AuditEvent, Volume
from custody import services
from custody.models import SmartReading, VolumeRecord
from tests.custody.conftest import FakeSmartctl
from tests.fixtures import VolumeFactory, World

USB_BRIDGE = """{
  "json_format_version": [1, 0],
  "smartctl": {"version": [7, 3], "argv": ["smartctl", "--json", "-a", "/dev/sdb"],
    "messages": [{"string": "/dev/sdb: Unknown USB bridge [0x152d:0x0578 (0x209)]", "severity": "error"},
                 {"string": "Please specify device type with the -d option.", "severity": "information"}],
    "exit_status": 1},
  "device": {"name": "/dev/sdb", "info_name": "/dev/sdb", "type": "scsi", "protocol": "SCSI"}
}"""


@pytest.fixture
def raid(world: World, drive: Path, tmp_path: Path) -> Volume:
    """A RAID mounted on this host; its SMART device is a path that exists (the fake ignores it)."""
    device = tmp_path / "dev-sdb"
    device.touch()
    volume = VolumeFactory(
        project=world.project, label="RAID-01", host=settings.REELVAULT_HOSTNAME, location=str(drive)
    )
    VolumeRecord.objects.create(
        volume=volume, project=world.project, identifier="FILM-RD-001", device=str(device)
    )
    return volume


def _check() -> None:
    services.drive_health_check(host=settings.REELVAULT_HOSTNAME)


@pytest.mark.parametrize(
    ("sample", "verdict"),
    [
        ("exporter_WDC_WD20EFRX-68EUZN0_17.json", "healthy"),
        ("exporter_SAMSUNG_MZVL21T0HCLR-00B00_23.json", "healthy"),
        ("exporter_ST3500418AS_12.json", "warning"),
        ("exporter_SEAGATE_ST373453LC_26.json", "failing"),
        ("scrutiny_smart-fail2.json", "failing"),
        ("scrutiny_smart-nvme-failed.json", "failing"),
        ("scrutiny_smart-fail.json", "unknown"),
    ],
)
def test_a_real_smartctl_output_sets_the_volume_health(
    raid: Volume, fake_smartctl: FakeSmartctl, samples: Path, sample: str, verdict: str
) -> None:
    calls = fake_smartctl(samples / "smartctl" / sample)

    _check()

    raid.refresh_from_db()
    reading = SmartReading.objects.get(volume=raid)
    assert (raid.health, reading.verdict) == (verdict, verdict)
    assert reading.host == settings.REELVAULT_HOSTNAME
    assert calls.read_text().split() == ["--json", "-a", VolumeRecord.objects.get().device]


def test_a_drive_turning_failing_raises_a_critical_alert_once(
    raid: Volume, fake_smartctl: FakeSmartctl, samples: Path
) -> None:
    Volume.objects.filter(pk=raid.pk).update(health="healthy")
    fake_smartctl(samples / "smartctl" / "scrutiny_smart-fail2.json", exit_code=216)

    _check()
    _check()  # still failing: one more reading, no new alert

    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.link) == ("drive.failing", "critical", f"/volumes/{raid.pk}/")
    assert "FILM-RD-001" in alert.title
    assert "Reallocated_Sector_Ct" in alert.body
    assert SmartReading.objects.filter(volume=raid).count() == 2
    event = AuditEvent.objects.get(action="volume.health")
    assert (event.before, event.after["health"]) == ({"health": "healthy"}, "failing")


def test_a_drive_turning_warning_alerts_and_the_page_shows_why(
    world: World, raid: Volume, fake_smartctl: FakeSmartctl, samples: Path
) -> None:
    fake_smartctl(samples / "smartctl" / "exporter_ST3500418AS_12.json")

    _check()

    assert Alert.objects.get().severity == "warning"
    page = world.client("viewer").get(f"/volumes/{raid.pk}/").content.decode()
    assert "304 reallocated sectors" in page
    assert "Warning" in page


def test_a_usb_bridge_that_hides_smart_is_unknown_never_healthy(
    raid: Volume, fake_smartctl: FakeSmartctl
) -> None:
    Volume.objects.filter(pk=raid.pk).update(health="healthy")
    fake_smartctl(USB_BRIDGE, exit_code=1)

    _check()

    raid.refresh_from_db()
    assert raid.health == "unknown"
    assert "SMART status not reported" in SmartReading.objects.get().reasons[0]
    assert not Alert.objects.exists()


def test_exit_status_bits_are_read_not_raised(
    raid: Volume, fake_smartctl: FakeSmartctl, samples: Path
) -> None:
    # Bit 3 ("disk failing") with the NVMe sample that says so.
    fake_smartctl(
        samples / "smartctl" / "exporter_nvme-null-SAMSUNG_MZWLL3T2HAJQ-00005-nvme0.json", exit_code=8
    )

    _check()

    reading = SmartReading.objects.get()
    assert (reading.verdict, reading.exit_status, reading.error) == ("failing", 8, "")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "was not found on PATH"),
        ("garbage", "not JSON"),
        ("timeout", "did not finish within 1 s"),
        ("vanished", "has vanished"),
        ("not-smartctl", "no 'smartctl' object"),
    ],
)
def test_faults_are_clear_readings_never_crashes(
    raid: Volume,
    fake_smartctl: FakeSmartctl,
    settings: Any,
    setup: str,
    expected: str,
) -> None:
    if setup == "missing":
        settings.REELVAULT_SMARTCTL = "smartctl-not-installed-here"
    elif setup == "garbage":
        fake_smartctl("Segmentation fault\n\x00\x01garbage", exit_code=139)
    elif setup == "timeout":
        settings.REELVAULT_SMARTCTL_TIMEOUT = 1
        fake_smartctl("{}", sleep=5)
    elif setup == "vanished":
        VolumeRecord.objects.filter(volume=raid).update(device="/dev/reelvault-unplugged-sdz")
        fake_smartctl("{}")
    else:
        fake_smartctl('{"device": {"name": "/dev/sdb"}}')

    _check()

    reading = SmartReading.objects.get(volume=raid)
    raid.refresh_from_db()
    assert reading.verdict == "unknown"
    assert expected in reading.error
    assert raid.health == "unknown"
    assert not Alert.objects.exists()


def test_a_fault_does_not_clear_a_failing_verdict(raid: Volume, fake_smartctl: FakeSmartctl) -> None:
    Volume.objects.filter(pk=raid.pk).update(health="failing")
    fake_smartctl("not json at all")

    _check()

    raid.refresh_from_db()
    assert raid.health == "failing"
    assert SmartReading.objects.get().verdict == "unknown"


def test_only_mounted_drive_volumes_of_this_host_are_read(
    world: World, raid: Volume, fake_smartctl: FakeSmartctl, samples: Path
) -> None:
    VolumeFactory(project=world.project, label="AWAY", host="another-cart", location=raid.location)
    VolumeFactory(
        project=world.project, label="UNMOUNTED", host=settings.REELVAULT_HOSTNAME, location="/gone/x"
    )
    VolumeFactory(
        project=world.project,
        label="BUCKET",
        kind="s3",
        host=settings.REELVAULT_HOSTNAME,
        location=raid.location,
    )
    fake_smartctl(samples / "smartctl" / "scrutiny_smart-ata-full.json")

    _check()
    services.drive_health_check(host="another-cart")  # misrouted: this host does not read other hosts' drives

    assert list(SmartReading.objects.values_list("volume__label", flat=True)) == ["RAID-01"]


def test_a_volume_without_a_device_is_resolved_from_its_mount_point(
    world: World, drive: Path, fake_smartctl: FakeSmartctl, samples: Path
) -> None:
    volume = VolumeFactory(project=world.project, host=settings.REELVAULT_HOSTNAME, location=str(drive))
    fake_smartctl(samples / "smartctl" / "scrutiny_smart-ata-full.json")

    _check()

    reading = SmartReading.objects.get(volume=volume)
    # Either the drive behind the test's temporary folder was read, or why not is said in a sentence.
    assert reading.device.startswith("/dev/") or "mount" in reading.error or "vanished" in reading.error

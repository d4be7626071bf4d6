"""Give the demo volumes identifiers, custody handoffs and a health history. Run after seed_demo; idempotent.

- RAID-01, SHUTTLE-01 and SHUTTLE-02 get identifiers (DEMO-RD-001, DEMO-SH-001,
  DEMO-SH-002) and identity files, and asset details.
- SHUTTLE-02 went to the vault with two seals and was received intact;
  SHUTTLE-01 is in transit from the DIT to the producer.
- RAID-01 reads healthy and SHUTTLE-01 shows growing reallocated sectors
  (warning, with its alert): readings as smartctl would give them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from catalog.models import Project
from core.commands import ReelvaultCommand
from custody import services
from custody.models import Handoff, SmartReading, VolumeRecord
from formats.smart import parse_smartctl

DEMO = "DEMO"
DETAILS = {
    "RAID-01": {
        "site": "DIT cart",
        "owner": "Production",
        "drive_model": "OWC ThunderBay 8",
        "serial": "TB8-2291",
    },
    "SHUTTLE-01": {"site": "Set", "owner": "Rental house", "drive_model": "G-Drive 4TB", "serial": "WX41A72"},
    "SHUTTLE-02": {"site": "Vault", "owner": "Production", "drive_model": "G-Drive 4TB", "serial": "WX41B13"},
}


def _smartctl(model: str, serial: str, hours: int, reallocated: int) -> dict[str, Any]:
    """A smartctl --json answer of an ATA drive, as the demo host's drives would give it."""
    return {
        "smartctl": {"version": [7, 4], "exit_status": 0},
        "device": {"name": "/dev/sdb", "type": "sat", "protocol": "ATA"},
        "model_name": model,
        "serial_number": serial,
        "smart_status": {"passed": True},
        "power_on_time": {"hours": hours},
        "temperature": {"current": 36},
        "ata_smart_attributes": {
            "table": [
                {
                    "id": 5,
                    "name": "Reallocated_Sector_Ct",
                    "value": 100,
                    "thresh": 10,
                    "raw": {"value": reallocated},
                }
            ]
        },
    }


class Command(ReelvaultCommand):
    help = "Give the demo volumes identifiers, handoffs and SMART readings. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.get(code=DEMO)
        users = {u.username: u for u in get_user_model().objects.filter(username__in=["dit", "producer"])}
        records: dict[str, VolumeRecord] = {}
        for volume in project.volumes.filter(label__in=list(DETAILS)).order_by("label"):
            record = services.volume_record_attach(actor=None, volume=volume)
            if not record.site:
                record = services.volume_record_update(
                    actor=None, record=record, changes=DETAILS[volume.label]
                )
            records[volume.label] = record
        if not Handoff.objects.filter(project=project).exists() and "SHUTTLE-02" in records:
            vault = services.handoff_create(
                actor=users.get("dit"),
                volume=records["SHUTTLE-02"].volume,
                from_user=users.get("dit"),
                to_place="Vault",
                where="Stage 2 loading dock",
                seals=["DEMO-0001", "DEMO-0002"],
                condition="Pelican case, sealed",
            )
            services.handoff_receive(
                actor=users.get("dit"), handoff=vault, seals_found=["DEMO-0001", "DEMO-0002"]
            )
            services.handoff_create(
                actor=users.get("dit"),
                volume=records["SHUTTLE-01"].volume,
                from_user=users.get("dit"),
                to_user=users.get("producer"),
                where="Set, unit base",
                seals=["DEMO-0003", "DEMO-0004"],
                condition="Sealed bag",
            )
        for label, hours, reallocated in (("RAID-01", 2140, 0), ("SHUTTLE-01", 18770, 24)):
            drive = records.get(label)
            if drive is None or SmartReading.objects.filter(volume=drive.volume).exists():
                continue
            health = parse_smartctl(_smartctl(drive.drive_model, drive.volume.serial, hours, reallocated))
            services.volume_health_store(
                volume_id=drive.volume_id,
                host=settings.REELVAULT_HOSTNAME,
                results=[services.DriveResult("/dev/sdb", health)],
            )
        self.stdout.write(
            f"demo custody: {VolumeRecord.objects.filter(project=project).count()} volumes with identifiers, "
            f"{Handoff.objects.filter(project=project).count()} handoffs"
        )

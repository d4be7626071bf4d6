"""Live capacity: hosts report what they mount, silence means offline, forecasts and quotas."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert
from catalog.models import AuditEvent, Copy, MediaFile, ShootDay, Volume
from custody import services
from custody.identity import IDENTITY_FILE
from custody.models import CapacityQuota, CapacityReading, Handoff
from tests.custody.conftest import queue_purge
from tests.fixtures import PERSONAS, VolumeFactory, World, start_worker

TB = 10**12


def _wait(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_beat_asks_each_host_and_silence_means_offline_unless_in_transit(
    transactional_db: None, world: World, tmp_path: Path
) -> None:
    cart = f"cart-{uuid.uuid4().hex[:8]}"
    mounted = tmp_path / "raid"
    mounted.mkdir()
    raid = VolumeFactory(
        project=world.project, label="RAID-01", host=cart, location=str(mounted), online=False
    )
    unplugged = VolumeFactory(
        project=world.project,
        label="SH-01",
        kind=Volume.Kind.SHUTTLE,
        host=cart,
        location=str(tmp_path / "gone"),
        online=True,
    )
    # Two volumes on a host whose worker stopped reporting ten minutes ago.
    silent = VolumeFactory(project=world.project, label="RAID-02", host="cart-dead", online=True)
    moving = VolumeFactory(
        project=world.project, label="SH-02", kind=Volume.Kind.RAID, host="cart-dead", online=True
    )
    long_ago = timezone.now() - timedelta(minutes=10)
    for volume in (silent, moving):
        CapacityReading.objects.create(
            volume=volume, taken_at=long_ago, host="cart-dead", online=True, free_bytes=1, total_bytes=2
        )
    Handoff.objects.create(
        volume=moving, project=world.project, from_place="Set", to_place="Lab", handed_at=long_ago
    )

    worker = start_worker(cart, str(tmp_path / "worker.log"))
    try:
        assert cart in services.capacity_dispatch()
        _wait(lambda: CapacityReading.objects.filter(volume=unplugged).exists())
        _wait(lambda: CapacityReading.objects.filter(volume=raid).exists())
    finally:
        worker.process.terminate()
        worker.process.wait(timeout=30)
        for host in ("cart-dead", world.volume.host):
            queue_purge(f"host.{host}")

    raid.refresh_from_db()
    usage = shutil.disk_usage(mounted)
    reading = CapacityReading.objects.get(volume=raid)
    assert (reading.host, reading.online, reading.total_bytes) == (cart, True, usage.total)
    assert raid.online and raid.capacity_bytes == usage.total and raid.free_bytes == reading.free_bytes
    unplugged.refresh_from_db()
    assert not unplugged.online
    assert "is not mounted on" in CapacityReading.objects.get(volume=unplugged).problem
    silent.refresh_from_db()
    moving.refresh_from_db()
    assert not silent.online and not moving.online
    # The RAID that went silent is a problem; the one in transit is expected to be unreachable.
    alert = Alert.objects.get(kind="volume.unreachable")
    assert alert.key == f"volume.unreachable:{silent.pk}" and "has not reported it since" in alert.body
    offline = AuditEvent.objects.filter(action="volume.offline").values_list("object_id", flat=True)
    assert set(offline) == {str(unplugged.pk), str(silent.pk), str(moving.pk)}


def test_a_volume_fuller_than_the_threshold_raises_the_space_alert(world: World, tmp_path: Path) -> None:
    mounted = tmp_path / "raid"
    mounted.mkdir()
    raid = VolumeFactory(
        project=world.project, label="RAID-01", host=settings.REELVAULT_HOSTNAME, location=str(mounted)
    )

    with override_settings(REELVAULT_VOLUME_FULL_PERCENT=0):  # any real disk is "full" at 0 %
        services.volume_capacity_report(host=settings.REELVAULT_HOSTNAME)

    alert = Alert.objects.get(kind="volume.near_full")
    assert alert.key == f"volume.near_full:{raid.pk}" and "RAID-01" in alert.title


def test_two_hosts_claiming_one_identity_is_an_alert_and_the_impostor_is_offline(
    world: World, tmp_path: Path
) -> None:
    elsewhere = services.volume_record_register(
        actor=None, project=world.project, kind=Volume.Kind.RAID, location="/mnt/raid", host="cart-a"
    )
    Volume.objects.filter(pk=elsewhere.volume_id).update(online=True)
    here = tmp_path / "raid"
    here.mkdir()
    local = VolumeFactory(
        project=world.project, label="RAID-LOCAL", host=settings.REELVAULT_HOSTNAME, location=str(here)
    )
    # A clone of cart-a's RAID (same identity file) mounted here as RAID-LOCAL.
    from custody.identity import Identity, identity_write

    identity_write(here, Identity(elsewhere.identity, elsewhere.identifier, "FILM"))
    assert (here / IDENTITY_FILE).exists()

    services.volume_capacity_report(host=settings.REELVAULT_HOSTNAME)

    local.refresh_from_db()
    assert not local.online
    assert f"is the drive {elsewhere.identifier}" in CapacityReading.objects.get(volume=local).problem
    alert = Alert.objects.get(kind="custody.identity_clash")
    assert alert.severity == "critical" and elsewhere.identifier in alert.title
    assert f"{settings.REELVAULT_HOSTNAME}:{here}" in alert.body and "cart-a reports it online" in alert.body


def _history(volume: Volume, *, total: int, used_then: int, used_now: int) -> None:
    now = timezone.now()
    for taken_at, used in ((now - timedelta(days=4), used_then), (now - timedelta(minutes=1), used_now)):
        CapacityReading.objects.create(
            volume=volume,
            taken_at=taken_at,
            host="cart",
            online=True,
            free_bytes=total - used,
            total_bytes=total,
        )
    Volume.objects.filter(pk=volume.pk).update(free_bytes=total - used_now, capacity_bytes=total, online=True)


def test_the_forecast_is_on_the_volume_page_and_the_dashboard(world: World) -> None:
    record = services.volume_record_register(
        actor=None, project=world.project, kind=Volume.Kind.RAID, location="/mnt/raid01", host="cart"
    )
    # 4.5 TB written over three shoot days; 4.5 TB left: about three more shoot days.
    _history(record.volume, total=10 * TB, used_then=1 * TB, used_now=int(5.5 * TB))
    today = timezone.localdate()
    for number, back in enumerate((3, 2, 1), start=1):
        ShootDay.objects.create(project=world.project, number=number, date=today - timedelta(days=back))
    expected = (
        f"{record.identifier} is full in about 3 shoot days at the last 5 days' rate (1.5 TB a shoot day)"
    )

    page = unescape(world.client("viewer").get(f"/volumes/{record.volume_id}/").content.decode())
    dashboard = unescape(world.client("producer").get("/p/FILM/dashboard/").content.decode())
    registry = unescape(world.client("editor").get("/p/FILM/volumes/").content.decode())

    assert expected in page and expected in dashboard and expected in registry
    assert "4.5 TB of 10.0 TB" in dashboard


def test_without_shoot_days_the_forecast_counts_calendar_days(world: World) -> None:
    raid = VolumeFactory(project=world.project, label="RAID-09")
    _history(raid, total=10 * TB, used_then=2 * TB, used_now=6 * TB)

    page = unescape(world.client("viewer").get(f"/volumes/{raid.pk}/").content.decode())

    assert "RAID-09 is full in about 4 days at the last 5 days' rate" in page


def _copies(world: World, volume: Volume, size: int, count: int) -> None:
    card = VolumeFactory(project=world.project, label="A001", kind=Volume.Kind.CARD)
    day = ShootDay.objects.create(project=world.project, number=1, date=timezone.localdate())
    world.clip.day = day
    world.clip.save()
    for n in range(count):
        media_file = MediaFile.objects.create(
            clip=world.clip, card=card, relative_path=f"f{n}.mov", size=size, xxh128=f"{n:032x}"
        )
        Copy.objects.create(
            media_file=media_file,
            volume=volume,
            path=f"A001/f{n}.mov",
            state="verified",
            hash_found=media_file.xxh128,
            verified_at=timezone.now(),
        )


@pytest.mark.parametrize("persona", PERSONAS)
def test_setting_a_quota_needs_a_dit_or_admin(world: World, persona: str) -> None:
    response = world.client(persona).post(
        "/p/FILM/volumes/quota/", {"kind": "raid", "quota_bytes": "40 TB", "planned_bytes_per_day": "2 TB"}
    )
    allowed = persona in ("admin", "dit")
    expected = 302 if allowed else 404 if persona == "outsider" else 403
    assert response.status_code == expected
    assert CapacityQuota.objects.filter(project=world.project).exists() is allowed
    refused = AuditEvent.objects.filter(action="custody.quota_refused").exists()
    assert refused is (expected == 403)
    if allowed:
        assert AuditEvent.objects.get(action="custody.quota").after["quota_bytes"] == 40 * TB


def test_a_quota_flags_overuse_and_drift_from_plan(world: World) -> None:
    dit = world.client("dit")
    dit.post(
        "/p/FILM/volumes/quota/", {"kind": "raid", "quota_bytes": "3 GB", "planned_bytes_per_day": "2 GB"}
    )
    dit.post("/p/FILM/volumes/quota/", {"kind": "lto", "quota_bytes": "1 TB"})
    _copies(world, world.volume, size=10**9, count=4)  # 4 GB on RAIDs in one shoot day

    page = world.client("viewer").get("/p/FILM/volumes/").content.decode()

    assert "4.0 GB (133%)" in page and "over quota" in page and "+100% from plan" in page
    assert "No quota set." not in page and "on plan" in page  # the LTO quota, unused, is on plan


def test_an_empty_mount_point_is_not_the_drive_and_a_drive_seen_first_is_labelled(
    world: World, tmp_path: Path
) -> None:
    mount_point = tmp_path / "raid"
    record = services.volume_record_register(
        actor=None,
        project=world.project,
        kind=Volume.Kind.RAID,
        location=str(mount_point),
        host=settings.REELVAULT_HOSTNAME,
    )  # registered while unplugged: no identity file yet
    mount_point.mkdir()  # the empty mount point left when the drive is not mounted

    services.volume_capacity_report(host=settings.REELVAULT_HOSTNAME)

    assert not Volume.objects.get(pk=record.volume_id).online
    assert "is an empty folder, not the drive" in CapacityReading.objects.get(volume=record.volume).problem

    (mount_point / "A001").mkdir()  # the drive, with data on it, is mounted there
    services.volume_capacity_report(host=settings.REELVAULT_HOSTNAME)

    assert Volume.objects.get(pk=record.volume_id).online
    assert str(record.identity) in (mount_point / IDENTITY_FILE).read_text()

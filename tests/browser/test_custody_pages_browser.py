"""The custody pages this issue added, as a browser shows them: capacity, forecast, quotas, a card's life.

Screenshots go to ``artifacts/custody-*.png`` for a person to look at.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from catalog.models import ShootDay, Volume
from custody import services as custody
from custody.models import CapacityReading
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import World
from tests.ingest.conftest import write_card

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

TB = 10**12
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_capacity_forecast_quota_and_card_lifecycle_pages(
    transactional_db: None, world: World, tmp_path: Path, live_server: Any, browser: Browser
) -> None:
    project = world.project
    project.required_copies, project.required_media_kinds, project.required_offsite = 2, 1, 0
    project.save()
    today = timezone.localdate()
    for number, back in enumerate((3, 2, 1), start=1):
        ShootDay.objects.create(project=project, number=number, date=today - timedelta(days=back))
    raid = custody.volume_record_register(
        actor=None, project=project, kind=Volume.Kind.RAID, location="/mnt/raid01", host="cart-1"
    )
    now = timezone.now()
    for taken_at, used in ((now - timedelta(days=4), 1 * TB), (now - timedelta(minutes=1), int(5.5 * TB))):
        CapacityReading.objects.create(
            volume=raid.volume,
            taken_at=taken_at,
            host="cart-1",
            online=True,
            free_bytes=10 * TB - used,
            total_bytes=10 * TB,
        )
    Volume.objects.filter(pk=raid.volume_id).update(free_bytes=int(4.5 * TB), capacity_bytes=10 * TB)
    custody.capacity_quota_set(
        actor=None, project=project, kind=Volume.Kind.RAID, quota_bytes=500_000, planned_bytes_per_day=400_000
    )
    card = write_card(tmp_path / "cards" / "A001", {"A001C001_261102_R1AB.mov": b"a" * 300_000})
    call_command(
        "offload",
        *("--project", "FILM", "--source", str(card), "--day", "3", "--json"),
        *("--dest", str(tmp_path / "raid-a"), "--dest", str(tmp_path / "raid-b")),
        stdout=io.StringIO(),
    )
    card_volume = Volume.objects.get(label="A001")
    ARTIFACTS.mkdir(exist_ok=True)

    try:
        dit = log_in(browser, live_server.url, "dit")
        dit.goto(f"{live_server.url}/p/FILM/volumes/")
        expect(dit.locator("#quota-h")).to_be_visible()
        expect(dit.locator("body")).to_contain_text("over quota")
        expect(dit.locator("table.capacity")).to_contain_text(
            "FILM-RD-001 is full in about 3 shoot days at the last 5 days' rate"
        )
        dit.screenshot(path=str(ARTIFACTS / "custody-registry-capacity.png"), full_page=True)

        dit.goto(f"{live_server.url}/volumes/{raid.volume_id}/")
        expect(dit.locator("body")).to_contain_text("Forecast")
        dit.screenshot(path=str(ARTIFACTS / "custody-volume-forecast.png"), full_page=True)
        assert not ISO.search(dit.content())

        dit.goto(f"{live_server.url}/volumes/{card_volume.pk}/")
        expect(dit.locator("#card-h")).to_have_text("Card lifecycle")
        expect(dit.locator("body")).to_contain_text("day 3: not signed off")
        dit.fill("#id_camera", "A")
        dit.get_by_role("button", name="Confirm formatted and returned to camera").click()
        expect(dit.locator(".messages")).to_contain_text("recorded as formatted and returned to camera")
        expect(dit.locator("body")).to_contain_text("by dit, back to camera A")
        dit.screenshot(path=str(ARTIFACTS / "custody-card-lifecycle.png"), full_page=True)
        assert not ISO.search(dit.content())

        producer = log_in(browser, live_server.url, "producer")
        producer.goto(f"{live_server.url}/p/FILM/dashboard/")
        expect(producer.locator("#volumes-h")).to_be_visible()
        expect(producer.locator("table.capacity")).to_contain_text("4.5 TB of 10.0 TB")
        producer.screenshot(path=str(ARTIFACTS / "custody-dashboard-volumes.png"), full_page=True)
    finally:
        connections.close_all()

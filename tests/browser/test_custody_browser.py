"""Issue 15's "Done when", end to end: a real Chromium, a real Celery worker and a real beat.

A DIT registers a shuttle in the browser and prints its label, hands it over
with two seal numbers; the producer receives it and confirms one correct and
one different seal (the volume is flagged and an alert raised). Meanwhile
beat sends the drive-health and capacity checks to this cart's worker, which
runs a fake ``smartctl`` (first on its PATH) printing a real failing SMART
output for the RAID: the RAID turns failing with an alert, and the DIT's
offload onto it is refused in the browser. Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections

from alerts.models import Alert
from catalog.models import AuditEvent, Volume
from custody import services as custody
from custody.models import Handoff, SmartReading, VolumeRecord
from ingest.models import OffloadJob
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.custody.conftest import FakeSmartctl, fake_smartctl, queue_purge  # noqa: F401  (fixture)
from tests.fixtures import World, child_env, start_worker
from tests.ingest.conftest import write_card

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.integration, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

#: How long the worker and beat may take (ms): generous, the machine is shared.
WORKER_TIMEOUT = 90_000


@pytest.fixture
def cart(settings: Any) -> str:
    """This cart's host name, of our own, so no other worker consumes its queue."""
    name = f"cb-{uuid.uuid4().hex[:8]}"
    settings.REELVAULT_HOSTNAME = name
    return name


def _beat(tmp_path: Path) -> subprocess.Popen[bytes]:
    """`celery beat` with the custody checks every two seconds (the rest of the schedule as deployed)."""
    log = (tmp_path / "beat.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "reelvault",
            "beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
            "--loglevel",
            "INFO",
        ],
        env=child_env(REELVAULT_SMART_CHECK_SECONDS="2", REELVAULT_CAPACITY_REPORT_SECONDS="2"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _pdf_text(data: bytes) -> bytes:
    """The PDF's content streams, inflated, to look for the label's text."""
    found = b""
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        try:
            found += zlib.decompress(stream)
        except zlib.error:
            found += stream
    return found


def test_register_label_hand_over_seal_mismatch_failing_raid_and_refused_offload(
    transactional_db: None,
    world: World,
    cart: str,
    tmp_path: Path,
    fake_smartctl: FakeSmartctl,  # noqa: F811
    samples: Path,
    settings: Any,
    live_server: Any,
    browser: Browser,
) -> None:
    # The cart: a RAID mounted here behind /dev/sdc (a file standing for it), a card to offload.
    raid_root = tmp_path / "mnt" / "raid"
    raid_root.mkdir(parents=True)
    device = tmp_path / "dev-sdc"
    device.touch()
    raid = custody.volume_record_register(
        actor=None,
        project=world.project,
        kind=Volume.Kind.RAID,
        location=str(raid_root),
        host=cart,
        device=str(device),
    )
    Volume.objects.filter(pk=raid.volume_id).update(health=Volume.Health.HEALTHY, online=False)
    cards = tmp_path / "cards"
    write_card(cards / "A001", {"A001C001_261102_R1AB.mov": b"x" * 100_000})
    settings.REELVAULT_INGEST_ROOTS = [cards]
    fake_smartctl(samples / "smartctl" / "scrutiny_smart-fail2.json", exit_code=216)
    ARTIFACTS.mkdir(exist_ok=True)

    worker = start_worker(cart, str(tmp_path / "worker.log"))
    beat = _beat(tmp_path)
    try:
        shuttle_id = _dit_registers_prints_and_hands_over(world, live_server.url, browser)
        _producer_receives_with_one_different_seal(live_server.url, browser, shuttle_id)
        _raid_turns_failing_and_the_offload_is_refused(raid, live_server.url, browser, tmp_path)
    finally:
        connections.close_all()
        for process in (beat, worker.process):
            process.terminate()
            process.wait(timeout=30)
        queue_purge(f"host.{world.volume.host}")  # the fixture's RAID lives on a host no worker serves


def _dit_registers_prints_and_hands_over(world: World, base_url: str, browser: Browser) -> int:
    dit = log_in(browser, base_url, "dit")
    dit.get_by_role("link", name="Volumes", exact=True).first.click()
    expect(dit.get_by_role("heading", level=1)).to_have_text("Volumes and drives of FILM")
    dit.get_by_role("link", name="Register a volume").click()
    dit.select_option("#id_kind", "shuttle")
    dit.fill("#id_host", "")  # a shuttle on a shelf: offline is normal
    dit.fill("#id_location", "/media/dit/SHUTTLE")
    dit.fill("#id_capacity_bytes", "2 TB")
    dit.fill("#id_serial", "WX41A")
    dit.fill("#id_owner", "Rental house")
    dit.get_by_role("button", name="Register").click()
    expect(dit.get_by_role("heading", level=1)).to_contain_text("FILM-SH-001")
    record = VolumeRecord.objects.get(identifier="FILM-SH-001")

    # Its label: a PDF sheet carrying the identifier.
    href = dit.get_by_role("link", name="Print its label (PDF)").get_attribute("href")
    assert href is not None
    label = dit.request.get(f"{base_url}{href}")
    assert label.status == 200 and label.headers["content-type"] == "application/pdf"
    assert label.body().startswith(b"%PDF") and b"FILM-SH-001" in _pdf_text(label.body())

    # Handed over to the producer with two seals: in transit.
    dit.get_by_role("link", name="Hand over").click()
    dit.select_option("#id_to_user", label="producer")
    dit.fill("#id_where", "Set, stage 4")
    dit.fill("#id_seals", "S-100, S-101")
    dit.fill("#id_condition", "sealed case")
    dit.get_by_role("button", name="Hand over").click()
    expect(dit.locator("p.warn").first).to_contain_text("In transit")
    dit.screenshot(path=str(ARTIFACTS / "custody-in-transit.png"), full_page=True)
    dit.close()
    assert Handoff.objects.get().seals_applied == ["S-100", "S-101"]
    return record.volume_id


def _producer_receives_with_one_different_seal(base_url: str, browser: Browser, shuttle_id: int) -> None:
    producer = log_in(browser, base_url, "producer")
    producer.goto(f"{base_url}/volumes/{shuttle_id}/")
    producer.get_by_role("link", name="Confirm receipt").click()
    expect(producer.locator("body")).not_to_contain_text("S-101")  # the expected seals are not shown
    producer.fill("#id_seals_found", "S-100 S-199")
    producer.get_by_role("button", name="Confirm receipt").click()
    expect(producer.locator(".messages")).to_contain_text("Seal mismatch")
    expect(producer.get_by_role("alert").first).to_contain_text("seal S-101 applied but not found")
    expect(producer.locator("body")).to_contain_text("seal S-199 found but never applied")
    producer.screenshot(path=str(ARTIFACTS / "custody-seal-mismatch.png"), full_page=True)
    producer.close()

    handoff = Handoff.objects.get()
    assert handoff.state == "received" and handoff.seal_mismatch and handoff.seals_found == ["S-100", "S-199"]
    alert = Alert.objects.get(kind="custody.seal_mismatch")
    assert alert.severity == "critical" and "FILM-SH-001" in alert.title
    assert AuditEvent.objects.filter(action="custody.receive").count() == 1


def _raid_turns_failing_and_the_offload_is_refused(
    raid: VolumeRecord, base_url: str, browser: Browser, tmp_path: Path
) -> None:
    # Beat → dispatch on the default queue → the cart's worker on host.<cart>: SMART and capacity.
    deadline = time.monotonic() + WORKER_TIMEOUT / 1000
    while time.monotonic() < deadline:
        volume = Volume.objects.get(pk=raid.volume_id)
        if volume.health == Volume.Health.FAILING and volume.online:
            break
        time.sleep(0.5)
    volume = Volume.objects.get(pk=raid.volume_id)
    logs = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert volume.health == Volume.Health.FAILING, logs
    assert volume.online and volume.free_bytes is not None, logs  # reported by the cart, not set by hand
    reading = SmartReading.objects.filter(volume=volume).first()
    assert reading is not None and reading.verdict == "failing" and reading.device.endswith("dev-sdc")
    alert = Alert.objects.get(kind="drive.failing")
    assert alert.severity == "critical" and "FILM-RD-001" in alert.title

    dit: Page = log_in(browser, base_url, "dit")
    dit.goto(f"{base_url}/volumes/{raid.volume_id}/")
    expect(dit.locator("dd .health-failing").first).to_have_text("Failing")
    dit.screenshot(path=str(ARTIFACTS / "custody-raid-failing.png"), full_page=True)
    dit.goto(f"{base_url}/p/FILM/offloads/new/")
    dit.get_by_label("FILM-RD-001 (RAID) — drive health failing").check()
    dit.get_by_label("Write to a drive in warning health anyway").check()  # does not help a failing one
    dit.get_by_role("button", name="Start offload").click()
    expect(dit.get_by_role("alert").first).to_contain_text("FILM-RD-001: the drive health is failing")
    dit.screenshot(path=str(ARTIFACTS / "custody-offload-refused.png"), full_page=True)
    dit.close()
    assert not OffloadJob.objects.exists()
    assert not (Path(raid.volume.location) / "A001").exists()

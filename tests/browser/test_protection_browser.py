"""The protection pages in a real Chromium: policy and tiers per day, rules, the queue, a job's report.

Screenshots go to ``artifacts/protection-*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from catalog.models import Project, Volume
from protection import services
from protection.models import DestinationSettings, ReplicationJob
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.protection.conftest import Footage, build_footage, host

__all__ = ["host"]  # the fixture: a host queue of our own

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.django_db(transaction=True)]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
#: The machine is shared and often loaded: give each page time (ms), asserting nothing about speed.
PAGE_TIMEOUT = 30_000


@pytest.fixture
def scene(world: Any, tmp_path: Path, host: str) -> Footage:
    footage = build_footage(world, tmp_path / "media", host=host)
    Project.objects.filter(pk=world.project.pk).update(
        required_copies=3, required_media_kinds=2, required_offsite=1, required_sites=2, worm_tiers=["cold"]
    )
    shuttle = footage.volume("SHUTTLE-01", Volume.Kind.SHUTTLE, Volume.Tier.WARM, site="set cart")
    vault = footage.volume(
        "VAULT-NAS", Volume.Kind.NAS, Volume.Tier.COLD, site="post house", offsite=True, worm=True
    )
    DestinationSettings.objects.create(volume=vault, max_mb_per_second=0)
    footage.rule(footage.group("shuttles", shuttle))
    footage.rule(footage.group("vault", vault))
    planned = services.replication_request(
        actor=None, project=world.project, card=footage.card, enqueue=False
    )
    for job in planned.jobs:
        if job.destination == vault:
            Volume.objects.filter(pk=vault.pk).update(location=str(tmp_path / "not-mounted"))
        services.replication_job_run(job_id=job.pk)
    return footage


def test_the_protection_pages_show_tiers_queue_and_report(
    scene: Footage, browser: Browser, live_server: Any
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "dit")
    page.set_default_timeout(PAGE_TIMEOUT)
    expect.set_options(timeout=PAGE_TIMEOUT)
    page.goto(f"{live_server.url}/p/FILM/")
    page.get_by_role("link", name="Protection and replication").click()
    expect(page.get_by_role("heading", name="Protection of FILM")).to_be_visible()
    expect(page.get_by_text("✓ all")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "protection-home.png"), full_page=True)

    page.get_by_role("link", name="Replication queue").click()
    expect(page.get_by_text("is not mounted")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "protection-queue.png"), full_page=True)

    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("queued again")).to_be_visible()
    verified = ReplicationJob.objects.get(destination__label="SHUTTLE-01")
    page.get_by_role("link", name=f"Replication {verified.pk}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Replication {verified.pk} to SHUTTLE-01")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "protection-job.png"), full_page=True)

"""The fixity pages in Chromium: a DIT starts a full audit, reads the report; screenshots for review."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from fixity.models import FixityRun
from tests.browser.conftest import ARTIFACTS, browser, log_in, requires_chromium
from tests.fixity.conftest import Vault, flip_byte

__all__ = ["browser"]  # the Chromium fixture, shared with the other browser tests

pytestmark = [pytest.mark.browser, requires_chromium, pytest.mark.django_db(transaction=True)]


def test_fixity_pages_in_a_browser(vault: Vault, live_server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    flip_byte(vault.path(vault.files[0], vault.raid))
    vault.path(vault.files[2], vault.raid).unlink()
    (Path(vault.raid.location) / "A001" / "hand copy.mov").write_bytes(b"x" * 4000)
    with contextlib.suppress(SystemExit):  # a non-zero exit reports problems; the run is checked below
        call_command("fixity_audit", "FILM/RAID-A", "--full", stdout=io.StringIO(), stderr=io.StringIO())
    shuttle = Path(vault.shuttle.location)
    shuttle.rename(shuttle.with_name("in-the-van"))
    with contextlib.suppress(SystemExit):  # a non-zero exit reports problems; the run is checked below
        call_command("fixity_audit", "FILM/SHUTTLE-A", stdout=io.StringIO(), stderr=io.StringIO())
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "dit")
    page.get_by_role("link", name="Fixity").click()
    expect(page.get_by_role("heading", name="Fixity audits — FILM")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "fixity-overview.png"), full_page=True)
    page.get_by_role("link", name="RAID-A").first.click()
    expect(page.get_by_text("1 corrupt, 1 missing copies")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "fixity-volume.png"), full_page=True)
    run = FixityRun.objects.filter(volume=vault.raid).latest("pk")
    page.goto(f"{live_server.url}/fixity-runs/{run.pk}/")
    expect(page.get_by_role("heading", name="Corrupt copies (1)")).to_be_visible()
    expect(page.get_by_text("Read every copy back and hash it")).to_be_visible()  # how it checked
    page.screenshot(path=str(ARTIFACTS / "fixity-run.png"), full_page=True)
    page.goto(f"{live_server.url}/volumes/{vault.shuttle.pk}/fixity/")
    expect(page.get_by_text("Unreachable since")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "fixity-unreachable.png"), full_page=True)

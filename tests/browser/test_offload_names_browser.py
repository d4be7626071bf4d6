"""The offload page says which files ASC MHL could not record, with their names readable (issue 12, point 3).

A card with a Latin-1 name and a backslash in a name is offloaded by the
command; the DIT's page in Chromium lists both under "Not in the ASC MHL
history", the Latin-1 byte shown as ``\\xE9``, not as an empty box. A
screenshot is saved as ``artifacts/offload-names.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ingest.models import OffloadJob
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import World
from tests.ingest.test_offload_command import run_offload

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.mark.django_db(transaction=True)
def test_the_offload_page_lists_the_names_the_history_cannot_record(
    world: World, tmp_path: Path, live_server: object, browser: Browser
) -> None:
    card = tmp_path / "cards" / "A001"
    card.mkdir(parents=True)
    (card / os.fsdecode(b"A001C003_caf\xe9.mov")).write_bytes(b"3" * 5000)
    (card / "A001C004_take\\2.mov").write_bytes(b"4" * 6000)
    (card / "A001C005_261102_R1AB.mov").write_bytes(b"5" * 7000)
    run_offload("--project", "FILM", "--source", str(card), "--dest", str(tmp_path / "raid"))
    job = OffloadJob.objects.get(label="A001")

    page = log_in(browser, str(live_server), "dit")
    page.goto(f"{live_server}/offloads/{job.pk}/")
    section = page.get_by_role("heading", name="Not in the ASC MHL history")
    expect(section).to_be_visible()
    expect(page.get_by_text("A001C003_caf\\xE9.mov", exact=True)).to_be_visible()
    expect(page.get_by_text("A001C004_take\\2.mov", exact=True)).to_be_visible()
    expect(page.get_by_text("its name is not UTF-8").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "offload-names.png"), full_page=True)

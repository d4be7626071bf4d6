"""The transfer report as a DIT hands it over: the page in Chromium at 1280 and 820 px, and the PDF.

Screenshots: ``artifacts/transfer-report-<width>.png``; the PDF is saved as
``artifacts/transfer-report.pdf`` and its first page rendered with poppler's
``pdftoppm`` as ``artifacts/transfer-report-pdf-1.png``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import World
from tests.ingest.test_transfer_report import CLIPS, offload_with_poster_frames

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [
    pytest.mark.browser,
    requires_chromium,
    pytest.mark.skipif(
        not shutil.which("ffmpeg") or not shutil.which("pdftoppm"), reason="needs ffmpeg, poppler"
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


# An image's natural width once the browser has finished with it: 0 for a broken one.
LOADED_WIDTH = """img => img.complete ? img.naturalWidth : new Promise(done => {
    img.addEventListener("load", () => done(img.naturalWidth));
    img.addEventListener("error", () => done(0));
})"""


@pytest.mark.django_db(transaction=True)
def test_the_transfer_report_reads_as_a_hand_off_document(
    world: World, tmp_path: Path, live_server: object, browser: Browser, settings: Any
) -> None:
    job, _card = offload_with_poster_frames(world, tmp_path, settings)
    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, str(live_server), "dit")
    for width in (1280, 820):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/offloads/{job.pk}/report/")
        expect(page.get_by_role("heading", name="Production")).to_be_visible()
        expect(page.get_by_text("Dana Imaging")).to_be_visible()
        expect(page.get_by_role("columnheader", name="SHA-1")).to_be_visible()
        for name in CLIPS:
            poster = page.get_by_role("img", name=name, exact=True)
            expect(poster).to_be_visible()
            # A real poster frame, not a broken link: its width once loaded (visible comes before loaded).
            assert poster.evaluate(LOADED_WIDTH) > 0
        page.screenshot(path=str(ARTIFACTS / f"transfer-report-{width}.png"), full_page=True)

    pdf = page.request.get(f"{live_server}/offloads/{job.pk}/report.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    (ARTIFACTS / "transfer-report.pdf").write_bytes(pdf.body())
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(ARTIFACTS / "transfer-report.pdf"),
         str(ARTIFACTS / "transfer-report-pdf")],
        check=True, timeout=60,
    )  # fmt: skip
    assert (ARTIFACTS / "transfer-report-pdf-1.png").stat().st_size > 10_000
